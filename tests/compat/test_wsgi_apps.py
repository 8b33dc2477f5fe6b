"""Flask and Django beside tether in one process, on one port: the WSGI app through
``a2wsgi.WSGIMiddleware`` as tether's ``other_asgi_app``, under uvicorn; and on tether's
native server (``io.serve``) through a small glue of this test (:class:`WsgiOnNative`: a
Router app running each request in a thread). Their views run in worker threads and emit to
a room with tether's API, which hands the emit to the server's loop (and read the server's
state through ``run_coroutine_threadsafe``)."""

from __future__ import annotations

import asyncio
import contextlib
import io as io_module
import json
import sys
import threading
import types
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
import flask
import pytest
from a2wsgi import WSGIMiddleware
from django.conf import settings

import tether
from tests.compat.support import uvicorn_serving
from tests.support import serving
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

    # a module of its own per server: Django caches the resolver of each URLconf name
    urls = types.ModuleType(f"tether_test_django_urls_{id(io)}")
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


class WsgiOnNative:
    """Test glue: a WSGI app mounted on tether's native server (after the engine), each
    request run in a thread pool of its own."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.tasks: set[asyncio.Task[None]] = set()
        self.pool = ThreadPoolExecutor(8, "wsgi")

    def handles(self, path: str) -> bool:
        return True

    def handle_request(self, request: Any, responder: Any) -> None:
        loop = asyncio.get_running_loop()

        async def run() -> None:
            status, headers, body = await loop.run_in_executor(self.pool, self._call, request)
            responder.send(status, headers, body)

        task = loop.create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False)

    def handle_upgrade(self, upgrade: Any) -> None:
        upgrade.reject(404, [("Content-Type", "text/plain")], b"Not Found")

    def _call(self, request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        host, _, port = request.headers.get("host", "127.0.0.1:80").partition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "SERVER_NAME": host,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": request.client[0] if request.client else "",
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.input": io_module.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": request.scheme,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [int(status.split()[0]), headers]
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return started[0], started[1], body


def post(url: str, data: Any) -> Any:
    request = urllib.request.Request(
        url, json.dumps(data).encode(), {"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@contextlib.asynccontextmanager
async def hosted(io: tether.Server, wsgi: Any, how: str) -> AsyncIterator[int]:
    if how == "uvicorn":
        async with uvicorn_serving(tether.ASGIApp(io, other_asgi_app=WSGIMiddleware(wsgi))) as port:
            yield port
    else:
        io.router.mount(WsgiOnNative(wsgi))
        async with serving(io) as port:
            yield port


async def _run(make_app: Any, framework: str, how: str) -> None:
    io = tether.Server()
    # the threads the server's work ran in (its listeners see it): the loop's only
    workers: set[int] = set()

    @io.on("join")
    def join(socket: tether.Socket, room: str) -> None:
        socket.join(room)
        socket.on_any_outgoing(lambda *args: workers.add(threading.get_ident()))

    async with hosted(io, make_app(io), how) as port:
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


@pytest.mark.parametrize("how", ["uvicorn", "native"])
async def test_flask_view_emits_to_a_room(how: str) -> None:
    await _run(flask_app, "flask", how)


@pytest.mark.parametrize("how", ["uvicorn", "native"])
async def test_django_view_emits_to_a_room(how: str) -> None:
    await _run(django_app, "django", how)
