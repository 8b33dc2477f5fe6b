"""Flask and Django beside tether in one process, on one port: the WSGI app through
``a2wsgi.WSGIMiddleware`` as tether's ``other_asgi_app``, under uvicorn. Their views run in
a2wsgi's worker threads and emit to a room with tether's API, which hands the emit to the
server's loop (and read the server's state through ``run_coroutine_threadsafe``)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import types
import urllib.request
from typing import Any

import django
import flask
from a2wsgi import WSGIMiddleware
from django.conf import settings

import tether
from tests.compat.support import uvicorn_serving
from tether import Client


def flask_app(io: tether.Server) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.post("/notify/<room>")
    def notify(room: str) -> Any:
        io.to(room).emit("news", flask.request.get_json(), "from flask")
        return {"sent": room}

    @app.get("/count")
    def count() -> Any:
        loop = io.serving_loop
        assert loop is not None
        found = asyncio.run_coroutine_threadsafe(io.fetch_sockets(), loop).result(5)
        return {"sockets": len(found)}

    return app


def django_app(io: tether.Server) -> Any:
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    def notify(request: HttpRequest, room: str) -> JsonResponse:
        io.to(room).emit("news", json.loads(request.body), "from django")
        return JsonResponse({"sent": room})

    urls = types.ModuleType("tether_test_django_urls")
    urls.urlpatterns = [path("notify/<str:room>", notify)]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test",
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=urls.__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()
    else:
        settings.ROOT_URLCONF = urls.__name__
    return get_wsgi_application()


def post(url: str, data: Any) -> Any:
    request = urllib.request.Request(
        url, json.dumps(data).encode(), {"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


async def _run(make_app: Any, framework: str) -> None:
    io = tether.Server()
    # the threads the server's work ran in (its listeners see it): the loop's only
    workers: set[int] = set()

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> None:
        socket.join(room)
        socket.on_any_outgoing(lambda *args: workers.add(threading.get_ident()))

    asgi = tether.ASGIApp(io, other_asgi_app=WSGIMiddleware(make_app(io)))
    async with uvicorn_serving(asgi) as port:
        base = f"http://127.0.0.1:{port}"
        inside, outside = Client(reconnection=False), Client(reconnection=False)
        news: asyncio.Queue[Any] = asyncio.Queue()
        inside.on("news", lambda *args: news.put_nowait(args))
        outside.on("news", lambda *args: news.put_nowait(("outside", *args)))
        for client in (inside, outside):
            await client.connect(base)
        await inside.emit_with_ack("join", "room-1", timeout=5)
        # many requests at once: a2wsgi's threads emit concurrently
        answers = await asyncio.gather(
            *(asyncio.to_thread(post, f"{base}/notify/room-1", {"n": n}) for n in range(20))
        )
        assert answers == [{"sent": "room-1"}] * 20
        got = [await asyncio.wait_for(news.get(), 5) for _ in range(20)]
        assert sorted(args[0]["n"] for args in got) == list(range(20))
        assert {args[1] for args in got} == {f"from {framework}"}
        assert news.empty()  # the client outside the room got nothing
        assert workers == {threading.get_ident()}
        if framework == "flask":
            assert await asyncio.to_thread(get, f"{base}/count") == {"sockets": 2}
        for client in (inside, outside):
            await client.disconnect()


async def test_flask_view_emits_to_a_room() -> None:
    await _run(flask_app, "flask")


async def test_django_view_emits_to_a_room() -> None:
    await _run(django_app, "django")
