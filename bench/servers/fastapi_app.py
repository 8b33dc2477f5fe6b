"""The HTTP scenario's app: FastAPI with one JSON route, ``GET /api/item/{item_id}``.

The same app is served by ``tether serve`` beside Socket.IO (``tether_hosted.py``) and by
uvicorn alone (``fastapi_uvicorn.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

api = FastAPI()


@api.get("/api/item/{item_id}")
async def item(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "name": f"item {item_id}", "price": 9.5, "tags": ["a", "b"]}
