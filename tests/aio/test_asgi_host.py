"""The native server hosting an ASGI app beside Socket.IO (:mod:`tether.aio.asgi_host`), over
loopback with raw ASGI apps: streamed bodies both ways, backpressure, keep-alive, HEAD,
disconnects, errors, lifespan, and the app's own WebSocket routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

import tether
from tests.aio.helpers import read_chunked, read_response, render_request
from tests.support import until
from tether.aio.asgi_host import AsgiHost, HostOptions, LifespanFailed
from tether.aio.http_protocol import BODY_HIGH_WATER
from tether.aio.listener import serve
from tether.http.messages import HttpLimits

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

#: Socket.IO's own bodies stay bounded by this; the app's are not.
LIMITS = HttpLimits(max_body=1000)


@contextlib.asynccontextmanager
async def hosting(
    app: App, lifespan: bool = False, **options: Any
) -> AsyncIterator[tuple[int, AsgiHost]]:
    """Host ``app`` beside a Socket.IO server on a free port (its lifespan scope only if
    ``lifespan``: the other apps here would not know it)."""

    async def only_requests(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    io = tether.Server()
    host = AsgiHost(io.router, app if lifespan else only_requests, HostOptions(**options))
    await io.start()
    await host.startup()
    listener = await serve(host, "127.0.0.1", 0, limits=LIMITS)
    host.connections = listener.connections  # type: ignore[attr-defined]
    try:
        yield listener.port, host
    finally:
        await listener.shutdown(grace=1.0)
        await host.close()
        await io.close_adapters()


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        chunks.append(message["body"])
        if not message["more_body"]:
            return b"".join(chunks)


async def answer(send: Send, status: int, body: bytes, headers: list[Any] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def test_a_streamed_upload_bigger_than_max_body_reaches_the_app() -> None:
    sizes: list[int] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        digest = hashlib.sha256()
        total = 0
        while True:
            message = await receive()
            digest.update(message["body"])
            total += len(message["body"])
            sizes.append(len(message["body"]))
            if not message["more_body"]:
                break
        await answer(send, 200, orjson.dumps([total, digest.hexdigest()]))

    body = bytes(range(256)) * 20_000  # 5 MB, 5000 times Socket.IO's max_body here
    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/upload", body))
        response = await asyncio.wait_for(read_response(reader), 10)
        writer.close()
    assert response.status == 200
    assert orjson.loads(response.body) == [len(body), hashlib.sha256(body).hexdigest()]
    assert len(sizes) > 1  # delivered as it came, not whole


async def test_chunked_request_bodies_are_decoded() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await answer(send, 200, await read_body(receive))

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        response = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert response.body == b"abcde"


async def test_a_slow_app_pauses_reading_and_the_buffered_body_stays_bounded() -> None:
    sizes: list[int] = []
    started = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started.set()
        total = 0
        while True:
            await asyncio.sleep(0.002)  # the slow reader this test is about
            message = await receive()
            sizes.append(len(message["body"]))
            total += len(message["body"])
            if not message["more_body"]:
                break
        await answer(send, 200, str(total).encode())

    body = b"x" * 16_000_000
    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/slow", body))
        response = await asyncio.wait_for(read_response(reader), 30)
        writer.close()
    assert response.body == str(len(body)).encode()
    # What waits for the app is at most the high-water mark and one read of the socket.
    assert max(sizes) <= BODY_HIGH_WATER + 512 * 1024, max(sizes)


async def test_an_app_that_has_not_read_pauses_reading_at_the_high_water_mark() -> None:
    seen = asyncio.Event()
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen.set()
            await release.wait()  # has not taken the body yet
            await answer(send, 200, str(len(await read_body(receive))).encode())

    async with hosting(app) as (port, host):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/later", b"y" * 20_000_000))
        await asyncio.wait_for(seen.wait(), 5)
        (protocol,) = host.connections
        await until(lambda: protocol._paused, "reading to pause")
        current = protocol._current
        assert current is not None
        stream = current.request.stream  # type: ignore[attr-defined]
        assert BODY_HIGH_WATER <= stream.size <= BODY_HIGH_WATER + 512 * 1024
        release.set()
        response = await asyncio.wait_for(read_response(reader), 30)
        writer.close()
    assert response.body == b"20000000"


async def test_a_streamed_answer_is_chunked_and_sent_as_it_comes() -> None:
    go_on = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await go_on.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.body", "body": b"second", "more_body": True})
        await send({"type": "http.response.body", "body": b"!"})

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("GET", "/stream"))
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).lower()
        assert b"transfer-encoding: chunked" in head
        assert b"content-length" not in head
        assert await reader.readuntil(b"first\r\n") == b"5\r\nfirst\r\n"  # before the rest
        go_on.set()
        assert await asyncio.wait_for(read_chunked(reader), 5) == [b"second", b"!"]
        writer.close()


async def test_keep_alive_serves_two_requests_on_one_connection() -> None:
    clients: list[Any] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        clients.append(scope["client"])
        await answer(send, 200, await read_body(receive) + scope["path"].encode())

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/one", b"a"))
        first = await asyncio.wait_for(read_response(reader), 5)
        writer.write(render_request("POST", "/two", b"b"))
        second = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert (first.body, second.body) == (b"a/one", b"b/two")
    assert "connection" not in first.headers
    assert clients[0] == clients[1]  # the same connection


async def test_an_answer_before_the_body_drops_the_rest_and_keeps_the_connection() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["path"] == "/early":
            await answer(send, 413, b"too big for me")
        else:
            await answer(send, 200, b"next")

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/early", b"z" * 3_000_000))
        first = await asyncio.wait_for(read_response(reader), 5)
        writer.write(render_request("GET", "/after"))
        second = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert (first.status, first.body) == (413, b"too big for me")
    assert (second.status, second.body) == (200, b"next")


async def test_head_sends_the_headers_and_no_body() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await answer(send, 200, b"hello", [(b"content-length", b"5")])

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("HEAD", "/h"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"content-length: 5" in head.lower()
        writer.write(render_request("GET", "/h"))  # nothing was left between the two
        response = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert response.body == b"hello"


async def test_the_app_hears_the_client_go_away() -> None:
    messages: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        messages.append(await receive())
        messages.append(await receive())  # waits: the body is complete, no answer yet
        done.set()

    async with hosting(app) as (port, _):
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("POST", "/wait", b"q"))
        await until(lambda: messages, "the body to be read")
        writer.close()
        await asyncio.wait_for(done.wait(), 5)
    assert messages == [
        {"type": "http.request", "body": b"q", "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_an_app_error_before_the_answer_is_a_500() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        raise ValueError("boom")

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("GET", "/boom"))
        response = await asyncio.wait_for(read_response(reader), 5)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # then closed
        writer.close()
    assert response.status == 500


async def test_an_app_error_in_the_middle_of_an_answer_closes_the_connection() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise ValueError("boom")

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("GET", "/half"))
        data = await asyncio.wait_for(reader.read(), 5)  # until EOF
        writer.close()
    assert data.endswith(b"4\r\npart\r\n")  # no last chunk: the client knows it is cut short


async def test_the_scope_describes_the_request() -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await answer(send, 204, b"")

    async with hosting(app, root_path="/api") as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /caf%C3%A9/x?a=1&b=%20 HTTP/1.1\r\nHost: h\r\nX-Two: 1\r\nX-Two: 2\r\n\r\n"
        )
        response = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert response.status == 204
    scope = scopes[0]
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0"
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/api/café/x"
    assert scope["raw_path"] == b"/caf%C3%A9/x"
    assert scope["root_path"] == "/api"
    assert scope["query_string"] == b"a=1&b=%20"
    assert (b"x-two", b"1, 2") in scope["headers"]
    assert scope["server"] == ("127.0.0.1", port)
    assert scope["client"][0] == "127.0.0.1"


async def test_expect_100_continue_is_answered_when_the_app_reads() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await answer(send, 200, await read_body(receive))

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(b"abc")
        response = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert response.body == b"abc"


async def test_socket_io_stays_on_the_native_path_beside_the_app() -> None:
    calls: list[str] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        calls.append(scope["path"])
        await answer(send, 200, b"app")

    async with hosting(app) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("GET", "/socket.io/?EIO=4&transport=polling"))
        handshake = await asyncio.wait_for(read_response(reader), 5)
        writer.write(render_request("GET", "/other"))
        other = await asyncio.wait_for(read_response(reader), 5)
        # Socket.IO's bodies keep their limit (the app's do not).
        sid = orjson.loads(handshake.body[1:])["sid"]
        writer.write(
            render_request("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"4" * 2000)
        )
        refused = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert handshake.status == 200 and handshake.body.startswith(b"0{")
    assert other.body == b"app"
    assert calls == ["/other"]
    assert refused.status == 413


async def test_lifespan_state_reaches_the_requests() -> None:
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["db"] = "connected"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        scope["state"]["mine"] = True  # a copy: the next request does not see it
        await answer(send, 200, orjson.dumps(sorted(scope["state"])))

    async with hosting(app, lifespan=True) as (port, host):
        assert events == ["lifespan.startup"]
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(render_request("GET", "/state"))
            response = await asyncio.wait_for(read_response(reader), 5)
            writer.close()
            assert orjson.loads(response.body) == ["db", "mine"]
        assert host.state == {"db": "connected"}
    assert events == ["lifespan.startup", "lifespan.shutdown"]


async def test_a_failed_lifespan_startup_raises() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    host = AsgiHost(tether.Server().router, app)
    with pytest.raises(LifespanFailed, match="no database"):
        await host.startup()
    await host.close()


async def test_an_app_without_lifespan_is_served() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"unsupported {scope['type']}")
        await answer(send, 200, b"ok")

    async with hosting(app, lifespan=True) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(render_request("GET", "/"))
        response = await asyncio.wait_for(read_response(reader), 5)
        writer.close()
    assert response.body == b"ok"


async def websocket_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    if scope["path"] == "/refuse":
        await send({"type": "websocket.close", "code": 1008})
        return
    assert scope["subprotocols"] == ["chat", "other"]
    await send({"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-hi", b"1")]})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "bye":
            await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
            continue
        await send({**message, "type": "websocket.send"})


async def test_the_apps_websocket_route_echoes_with_its_subprotocol() -> None:
    async with hosting(websocket_app) as (port, _):
        async with ws_connect(
            f"ws://127.0.0.1:{port}/echo?x=1", subprotocols=["chat", "other"]
        ) as ws:
            assert ws.subprotocol == "chat"
            assert ws.response.headers["x-hi"] == "1"
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01")
            assert await ws.recv() == b"\x00\x01"
            await ws.send("bye")
            await ws.wait_closed()
            assert ws.close_code == 4000 and ws.close_reason == "bye"
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(f"ws://127.0.0.1:{port}/refuse"):
                pass
        assert refused.value.response.status_code == 403


async def test_a_body_silent_past_body_timeout_ends_with_a_disconnect() -> None:
    messages: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        messages.append(await receive())
        messages.append(await receive())
        done.set()

    async with hosting(app, body_timeout=0.2) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab")
        await asyncio.wait_for(done.wait(), 5)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no answer
        writer.close()
    assert messages == [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.disconnect"},
    ]


async def test_the_apps_websocket_hears_the_client_go_and_the_server_stop() -> None:
    disconnects: list[dict[str, Any]] = []
    accepted = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set()
        disconnects.append(await receive())
        disconnects.append(await receive())  # asked again: the same answer

    async with hosting(app) as (port, host):
        async with ws_connect(f"ws://127.0.0.1:{port}/a") as ws:
            await ws.close(4001)
        await until(lambda: len(disconnects) == 2, "the disconnect")
        assert disconnects == [{"type": "websocket.disconnect", "code": 4001}] * 2
        accepted.clear()
        ws = await ws_connect(f"ws://127.0.0.1:{port}/b")
        await asyncio.wait_for(accepted.wait(), 5)
        host.shutdown()  # the server stops: 1012, service restart
        await ws.wait_closed()
        assert ws.close_code == 1012


async def test_a_streamed_answer_waits_for_a_slow_client() -> None:
    sent: list[int] = []
    chunk = b"w" * 1_000_000

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(64):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent.append(len(chunk))
        await send({"type": "http.response.body", "body": b""})

    async with hosting(app) as (port, host):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1024)
        writer.write(render_request("GET", "/big"))
        await until(lambda: sent, "the answer to start")
        (protocol,) = host.connections  # type: ignore[attr-defined]
        assert protocol.writer is not None
        await until(lambda: protocol.writer.paused, "the client's buffers to fill")
        # The app waits: what the server holds stays near the transport's high-water mark
        # (one chunk past it at most), far from the 64 MB it would send, and nothing is cut.
        assert len(sent) < 64
        assert protocol.writer.buffered <= 64 * 1024 + 2 * len(chunk)
        assert not protocol.writer.overflowed
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        total = sum(len(c) for c in await asyncio.wait_for(read_chunked(reader), 30))
        writer.close()
    assert total == 64 * len(chunk)


@pytest.mark.parametrize("deflate", [False, True])
async def test_the_apps_websockets_compress_when_asked(deflate: bool) -> None:
    async with (
        hosting(websocket_app, websocket_per_message_deflate=deflate) as (port, _),
        ws_connect(f"ws://127.0.0.1:{port}/echo", subprotocols=["chat", "other"]) as ws,
    ):
        extensions = ws.response.headers.get("sec-websocket-extensions", "")
        assert ("permessage-deflate" in extensions) is deflate
        await ws.send("x" * 10_000)
        assert await ws.recv() == "x" * 10_000
