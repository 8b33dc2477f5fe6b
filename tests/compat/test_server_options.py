"""AsyncServer's options and the less common parts of the API, on tether, driven by
python-socketio's own client: ``always_connect``, ``namespaces="*"`` with ``"*"``
handlers, the engine options, ``ASGIApp``'s ``socketio_path``, ``static_files`` and
lifespan hooks, ``get_environ``, ``transport``, ``call`` timeouts, what is refused."""

from __future__ import annotations

import asyncio
import pathlib
import urllib.request
from typing import Any

import pytest
import socketio as psio

from tests.compat.support import tether_serving, uvicorn_serving
from tests.support import serving
from tether.compat import socketio


def test_options_map_to_tethers_server() -> None:
    sio = socketio.AsyncServer(
        cors_allowed_origins="https://example.com",
        ping_interval=(7, 3),
        ping_timeout=4,
        max_http_buffer_size=1234,
        transports=["websocket"],
        cookie="sid-cookie",
        compression_threshold=10,  # python-socketio's, no use here: accepted
        connection_state_recovery=True,  # tether's own
    )
    options = sio.tether_server.engine.options
    assert options.ping_interval == 7 and options.ping_timeout == 4
    assert options.max_http_buffer_size == 1234 and options.transports == ("websocket",)
    assert options.cookie == "sid-cookie"
    assert list(options.cors.origins) == ["https://example.com"] and options.cors.credentials
    assert sio.tether_server.recovery is not None
    with pytest.raises(TypeError):
        socketio.AsyncServer(no_such_option=1)
    with pytest.raises(ValueError, match="async_mode"):
        socketio.AsyncServer(async_mode="eventlet")
    assert socketio.AsyncServer(serializer="msgpack").tether_server.codec.name == "msgpack"
    with pytest.raises(ValueError, match="serializer"):
        socketio.AsyncServer(serializer="pickle")
    with pytest.raises(ValueError, match="auth"):
        sio.instrument()
    with pytest.raises(NotImplementedError):
        sio.attach(object())


async def test_any_namespace_always_connect_and_catch_alls() -> None:
    sio = socketio.AsyncServer(namespaces="*", always_connect=True)
    seen: dict[str, Any] = {}

    @sio.on("connect", namespace="*")
    async def connect(namespace: str, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        seen["environ"] = sio.get_environ(sid, namespace)
        seen["transport"] = sio.transport(sid, namespace)
        return namespace != "/refused"

    @sio.on("*", namespace="*")
    async def anything(event: str, namespace: str, sid: str, *args: Any) -> list[Any]:
        return [namespace, event, *args]

    @sio.on("slow", namespace="*")
    async def slow(namespace: str, sid: str) -> str:
        return await sio.call("never_answered", to=sid, namespace=namespace, timeout=0.1)

    async with serving(sio.tether_server) as port:
        url = f"http://127.0.0.1:{port}"
        client = psio.AsyncClient(reconnection=False)
        disconnected = asyncio.Event()
        client.on("disconnect", lambda *a: disconnected.set(), namespace="/refused")
        await client.connect(
            url + "/?x=1",
            namespaces=["/anything", "/refused"],
            headers={"X-Test": "yes"},
            wait_timeout=3,
        )
        # always_connect: /refused connected first, then disconnected by the refusal
        await asyncio.wait_for(disconnected.wait(), 5)
        assert await client.call("hello", (1, 2), namespace="/anything") == [
            "/anything",
            "hello",
            1,
            2,
        ]
        environ = seen["environ"]
        assert environ["HTTP_X_TEST"] == "yes" and "x=1" in environ["QUERY_STRING"]
        assert environ["REQUEST_METHOD"] == "GET" and environ["REMOTE_ADDR"] == "127.0.0.1"
        assert seen["transport"] in ("polling", "websocket")
        # a call the client answers too late: the server's TimeoutError in the handler
        # (logged), so the event's own ack never comes
        answered = asyncio.Event()

        async def late() -> str:
            await asyncio.sleep(0.3)
            answered.set()
            return "too late"

        client.on("never_answered", late, namespace="/anything")
        with pytest.raises(psio.exceptions.TimeoutError):
            await client.call("slow", namespace="/anything", timeout=0.5)
        assert answered.is_set()
        with pytest.raises(ValueError, match="callback"):
            await sio.emit("x", callback=lambda: None)
        await client.disconnect()


async def test_asgi_app_path_static_files_and_lifespan(tmp_path: pathlib.Path) -> None:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("no")
    events: list[str] = []

    async def started() -> None:
        events.append("startup")

    sio = socketio.AsyncServer()
    sio.on("echo", lambda sid, data: data)
    app = socketio.ASGIApp(
        sio,
        static_files={"/": str(tmp_path / "index.html"), "/static": str(tmp_path / "public")},
        socketio_path="custom/io",
        on_startup=started,
        on_shutdown=lambda: events.append("shutdown"),
    )
    async with uvicorn_serving(app) as port:
        base = f"http://127.0.0.1:{port}"

        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(base + path, timeout=5) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, ""

        assert await asyncio.to_thread(get, "/") == (200, "<h1>home</h1>")
        assert await asyncio.to_thread(get, "/static/app.js") == (200, "console.log(1)")
        assert (await asyncio.to_thread(get, "/static/../secret.txt"))[0] == 404
        assert (await asyncio.to_thread(get, "/custom/io/socket.io.js"))[0] == 200
        client = psio.AsyncClient(reconnection=False)
        await client.connect(base, socketio_path="custom/io", wait_timeout=3)
        assert await client.call("echo", "hi") == "hi"
        await client.disconnect()
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_asgi_app_under_tether_serve(tmp_path: pathlib.Path) -> None:
    """The same options with the native server hosting the app (static files and hooks sit in
    front of the other app, so the host serves them)."""
    (tmp_path / "index.html").write_text("<h1>native</h1>")
    (tmp_path / "served.py").write_text(
        "import pathlib\n"
        "from tether.compat import socketio\n"
        "sio = socketio.AsyncServer()\n"
        "sio.on('echo', lambda sid, data: data)\n"
        "def started():\n"
        "    pathlib.Path('started').write_text('yes')\n"
        "app = socketio.ASGIApp(sio, static_files={'/': 'index.html'},\n"
        "                       socketio_path='custom/io', on_startup=started)\n"
    )
    async with tether_serving("served:app", tmp_path) as port:
        base = f"http://127.0.0.1:{port}"

        def get(path: str) -> str:
            with urllib.request.urlopen(base + path, timeout=5) as response:
                return str(response.read().decode())

        assert await asyncio.to_thread(get, "/") == "<h1>native</h1>"
        client = psio.AsyncClient(reconnection=False)
        await client.connect(base, socketio_path="custom/io", wait_timeout=3)
        assert await client.call("echo", "native") == "native"
        await client.disconnect()
        assert (tmp_path / "started").read_text() == "yes"


@pytest.mark.parametrize("how", ["dict", "list", "async function"])
async def test_instrument_for_the_admin_ui(how: str) -> None:
    """python-socketio's ``instrument`` on tether's admin: plain credentials compared whole."""
    credentials = {"username": "admin", "password": "secret"}
    sio = socketio.AsyncServer()

    async def allowed(auth: dict[str, Any]) -> bool:
        return auth == credentials

    auth: Any = {"dict": credentials, "list": [{"username": "x"}, credentials]}.get(how, allowed)
    sio.instrument(auth=auth, mode="development", server_id="compat")
    async with serving(sio.tether_server) as port:
        url = f"http://127.0.0.1:{port}"
        refused = psio.AsyncClient(reconnection=False)
        with pytest.raises(psio.exceptions.ConnectionError):
            await refused.connect(
                url, namespaces=["/admin"], auth={**credentials, "password": "no"}, wait_timeout=3
            )
        admin = psio.AsyncClient(reconnection=False)
        config: asyncio.Queue[Any] = asyncio.Queue()
        admin.on("config", config.put_nowait, namespace="/admin")
        await admin.connect(url, namespaces=["/admin"], auth=credentials, wait_timeout=3)
        assert "supportedFeatures" in await asyncio.wait_for(config.get(), 5)
        await admin.disconnect()
