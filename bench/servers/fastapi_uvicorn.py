"""The HTTP scenario's FastAPI app alone under uvicorn (uvloop, httptools): the reference."""

from __future__ import annotations

import os

from bench.servers._uvicorn import serve
from bench.servers.fastapi_app import api

if __name__ == "__main__":
    serve(api, int(os.environ.get("PORT", "3000")))
