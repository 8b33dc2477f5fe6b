"""The listener: TLS, and graceful shutdown of a real server process on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import sys
from pathlib import Path

import orjson
import pytest

import tether
from tests.aio.helpers import EngineApp, Response, read_response, render_request
from tests.support import ROOT
from tether.aio.engine import EngineServer
from tether.aio.listener import Router, make_ssl_context, serve
from tether.eio.options import EngineOptions


async def get_over_tls(port: int, cafile: str, path: str) -> Response:
    """One GET over TLS from a client that trusts ``cafile``; the parsed response."""
    client = ssl.create_default_context(cafile=cafile)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    writer.write(render_request("GET", path))
    response = await read_response(reader)
    writer.close()
    return response


async def test_hosts_ports_and_paths_as_asyncio_takes_them(
    certificate: tuple[str, str],
) -> None:
    # What asyncio's create_server and load_cert_chain accept, the compiled listener accepts
    # too (a compiled function checks str/int arguments): several hosts, a port string, and
    # path objects for the certificate, through tether.Server.serve as a user calls it.
    cert, key = certificate
    io = tether.Server()
    listener = await io.serve(["127.0.0.1"], "0", certfile=Path(cert), keyfile=Path(key))
    try:
        response = await get_over_tls(listener.port, cert, "/socket.io/?EIO=4&transport=polling")
        assert response.status == 200
    finally:
        await io.close()


async def test_tls(certificate: tuple[str, str]) -> None:
    cert, key = certificate
    engine = EngineServer(EngineOptions(), EngineApp())
    listener = await serve(Router(engine), "127.0.0.1", 0, ssl=make_ssl_context(cert, key))
    try:
        response = await get_over_tls(listener.port, cert, "/engine.io/?EIO=4&transport=polling")
        assert response.status == 200
        assert orjson.loads(response.body[1:])["upgrades"] == ["websocket"]
        # A client that doesn't trust the certificate is refused by its own TLS check.
        with pytest.raises(ssl.SSLError):
            await asyncio.open_connection(
                "127.0.0.1", listener.port, ssl=ssl.create_default_context()
            )
    finally:
        await listener.shutdown(grace=0.5)


async def test_sigterm_closes_sessions_and_exits() -> None:
    env = {**os.environ, "PORT": "0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import tests.aio.sigterm_server as s; s.main()",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 10)
    port = int(line.split()[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(render_request("GET", "/engine.io/?EIO=4&transport=polling"))
    sid = orjson.loads((await read_response(reader)).body[1:])["sid"]
    writer.write(render_request("GET", f"/engine.io/?EIO=4&transport=polling&sid={sid}"))
    await asyncio.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    pending_get = await asyncio.wait_for(read_response(reader), 5)
    assert pending_get.text == "1"
    assert await asyncio.wait_for(process.wait(), 10) == 0
    rest = (await process.stdout.read()).decode()
    assert f"closed {sid} server shutting down" in rest
    writer.close()
