"""The benchmark contract on python-socketio's ``ASGIApp`` under uvicorn (uvloop, httptools)."""

from __future__ import annotations

import os

import socketio

from bench.servers._uvicorn import serve
from bench.servers.psio_app import make

app = socketio.ASGIApp(make("asgi"))

if __name__ == "__main__":
    serve(app, int(os.environ.get("PORT", "3000")))
