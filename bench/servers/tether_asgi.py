"""The benchmark contract on tether's compatible path: ``tether.ASGIApp`` under uvicorn.

The handlers are the native contract's (``tether_contract.io``); only the server differs:
uvicorn with uvloop, httptools and its ``websockets`` WebSocket implementation.
"""

from __future__ import annotations

import os

import tether
from bench.servers._uvicorn import serve
from bench.servers.tether_contract import io

app = tether.ASGIApp(io)

if __name__ == "__main__":
    serve(app, int(os.environ.get("PORT", "3000")))
