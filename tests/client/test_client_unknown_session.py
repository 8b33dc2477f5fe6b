"""A polling request the server refuses because it doesn't hold the session (behind a load
balancer that is not sticky, without the cluster engine) says so: "Session ID unknown"."""

from __future__ import annotations

import logging

import pytest

import tether
from tests.support import serving, until
from tether.client import Client
from tether.eio.packet import NOOP


async def test_a_poll_for_an_unknown_session_says_session_id_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    io = tether.Server()
    async with serving(io) as port:
        client = Client(reconnection=False)
        reasons: list[str] = []
        client.on("disconnect", reasons.append)
        await client.connect(f"http://127.0.0.1:{port}", transports=["polling"])
        socket = (await io.fetch_sockets())[0]
        engine_socket = socket.conn.engine
        # As if the next GET reached a server that doesn't hold the session.
        del io.engine.sessions[engine_socket.sid]
        with caplog.at_level(logging.WARNING, logger="tether.client"):
            engine_socket.release_poll(NOOP)
            await until(lambda: reasons, "the disconnect")
        assert reasons == ["transport error"]
        assert "poll answered 400: Session ID unknown" in caplog.text
        engine_socket.close()
