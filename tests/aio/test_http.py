"""The HTTP/1.1 layer over real loopback sockets: keep-alive, pipelining, limits, timeouts."""

from __future__ import annotations

import asyncio

from tests.aio.helpers import listening, read_response, render_request, request
from tether.http.exchange import Responder, Upgrade
from tether.http.messages import HttpLimits, Request


class Echo:
    """Answers with the method, path, query and body; holds ``/wait`` until released."""

    def __init__(self) -> None:
        self.waiting: list[Responder] = []
        self.requests: list[Request] = []
        self.dropped = 0

    def handle_request(self, request: Request, responder: Responder) -> None:
        self.requests.append(request)
        if request.path == "/wait":
            self.waiting.append(responder)
            responder.on_disconnect(self._dropped)
            return
        body = (
            f"{request.method} {request.path} {sorted(request.query.items())} ".encode()
            + request.body
        )
        responder.send(200, [("Content-Type", "text/plain")], body)

    def _dropped(self) -> None:
        self.dropped += 1

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        upgrade.reject(400, [], b"no")


async def test_request_and_keep_alive() -> None:
    app = Echo()
    async with listening(app) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/a?x=1&y=%20z"))
        first = await read_response(reader)
        writer.write(render_request("POST", "/b", b"hello"))
        second = await read_response(reader)
        writer.close()
    assert first.status == 200
    assert first.text == "GET /a [('x', '1'), ('y', ' z')] "
    assert second.text == "POST /b [] hello"
    assert "connection" not in second.headers


async def test_pipelined_requests_wait_for_a_pending_answer() -> None:
    app = Echo()
    async with listening(app) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/wait") + render_request("GET", "/after"))
        await asyncio.sleep(0.1)
        assert len(app.requests) == 1
        app.waiting[0].send(200, [], b"released")
        first = await read_response(reader)
        second = await read_response(reader)
        writer.close()
    assert (first.text, second.text) == ("released", "GET /after [] ")


async def test_client_gone_while_waiting_is_reported() -> None:
    app = Echo()
    async with listening(app) as listener:
        _reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/wait"))
        await asyncio.sleep(0.05)
        writer.close()
        await asyncio.sleep(0.1)
        assert app.dropped == 1
        assert not app.waiting[0].connected
        app.waiting[0].send(200, [], b"late")  # must not raise


async def test_malformed_request_gets_400() -> None:
    async with listening(Echo()) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"GARBAGE\x00\x01 / HTTP/9\r\n\r\n")
        response = await read_response(reader)
        assert response.status == 400
        assert await reader.read() == b""
        writer.close()


async def test_body_too_large_gets_413() -> None:
    async with listening(Echo(), HttpLimits(max_body=10)) as listener:
        response = await request(listener.port, "POST", "/", b"x" * 11)
        assert response.status == 413
        ok = await request(listener.port, "POST", "/", b"x" * 10)
        assert ok.status == 200


async def test_chunked_body_too_large_gets_413() -> None:
    async with listening(Echo(), HttpLimits(max_body=10)) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
        )
        assert (await read_response(reader)).status == 413
        writer.close()


async def test_too_many_headers_gets_431_and_long_url_414() -> None:
    async with listening(Echo(), HttpLimits(max_headers=5, max_url=100)) as listener:
        headers = {f"X-{i}": "v" for i in range(6)}
        assert (await request(listener.port, "GET", "/", headers=headers)).status == 431
        assert (await request(listener.port, "GET", "/" + "a" * 101)).status == 414
        assert (await request(listener.port, "GET", "/" + "a" * 90)).status == 200


async def test_slow_request_gets_408() -> None:
    async with listening(Echo(), HttpLimits(request_timeout=0.2)) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        response = await asyncio.wait_for(read_response(reader), 2)
        assert response.status == 408
        writer.close()


async def test_idle_keep_alive_connection_is_closed() -> None:
    async with listening(Echo(), HttpLimits(keep_alive_timeout=0.2)) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()


async def test_connection_close_is_honoured() -> None:
    async with listening(Echo()) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/", headers={"Connection": "close"}))
        response = await read_response(reader)
        assert response.headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()


async def test_pipelining_behind_a_held_request_is_bounded() -> None:
    app = Echo()
    async with listening(app) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/wait") + render_request("GET", "/x") * 3000)
        await asyncio.sleep(0.2)
        assert len(app.requests) == 1
        response = await asyncio.wait_for(read_response(reader), 2)
        assert response.status == 429  # cut off: nothing grows without bound
        writer.close()


async def test_many_pipelined_requests_are_answered_in_a_loop() -> None:
    app = Echo()
    async with listening(app) as listener:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(render_request("GET", "/wait") + render_request("GET", "/x") * 60)
        await asyncio.sleep(0.1)
        app.waiting[0].send(200, [], b"released")
        answers = [await asyncio.wait_for(read_response(reader), 2) for _ in range(61)]
        assert [a.status for a in answers] == [200] * 61
        writer.close()
