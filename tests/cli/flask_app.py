"""A Flask (WSGI) app through a2wsgi, hosted by ``tether serve tests.cli.flask_app:app``."""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from flask import Flask, request

import tether

io = tether.Server()

flask = Flask(__name__)


@flask.post("/echo")
def echo() -> dict[str, object]:
    return {"framework": "flask", "body": request.get_data(as_text=True)}


app = tether.ASGIApp(io, other_asgi_app=WSGIMiddleware(flask))  # type: ignore[arg-type]
