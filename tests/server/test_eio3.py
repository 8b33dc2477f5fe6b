"""The Socket.IO v4 protocol of Socket.IO v2 clients (``allow_eio3``), packet by packet over
a raw Engine.IO v3 WebSocket (socket.io-client 2.x itself is in tests/interop)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import tether
from tests.aio.helpers import WsClient
from tests.support import serving
from tether.recovery import RecoveryOptions

WS3 = "/socket.io/?EIO=3&transport=websocket"


def make_server(**settings: Any) -> tether.Server:
    io = tether.Server(allow_eio3=True, **settings)

    @io.on("echo")
    def echo(socket: tether.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @io.on("whoami")
    def whoami(socket: tether.Socket) -> dict[str, Any]:
        return {"id": socket.id, "auth": socket.handshake.auth}

    @io.of("/chat").on("whoami")
    def chat_whoami(socket: tether.Socket) -> dict[str, Any]:
        return {"id": socket.id, "auth": socket.handshake.auth}

    @io.of("/private").use
    def refuse(socket: tether.Socket) -> None:
        raise tether.ConnectionRefusedError("Not allowed")

    @io.of("/data").use
    def refuse_with_data(socket: tether.Socket) -> None:
        raise tether.ConnectionRefusedError("Not allowed", {"code": 7})

    return io


async def open_v3(port: int, query: str = "") -> tuple[WsClient, str]:
    client = await WsClient.connect(port, WS3 + query)
    opening = await client.recv()
    assert opening[0] == "0"
    handshake = orjson.loads(opening[1:])
    assert "maxPayload" not in handshake
    return client, handshake["sid"]


async def test_connected_to_root_on_open_with_a_bare_connect_packet() -> None:
    async with serving(make_server()) as port:
        client, sid = await open_v3(port, "&token=t")
        assert await client.recv() == "40"  # no CONNECT sent, no data in the answer
        client.send('421["whoami"]')
        assert await client.recv() == f'431[{{"id":"{sid}","auth":{{}}}}]'
        await client.close()


async def test_namespace_query_is_the_auth_and_the_id_is_nsp_hash_sid() -> None:
    async with serving(make_server()) as port:
        client, sid = await open_v3(port)
        assert await client.recv() == "40"
        client.send("40/chat?token=abc&x=,")
        assert await client.recv() == "40/chat,"
        client.send('42/chat,1["whoami"]')
        answer = orjson.loads((await client.recv())[len("43/chat,1") :])
        assert answer == [{"id": f"/chat#{sid}", "auth": {"token": "abc", "x": ""}}]
        await client.close()


async def test_refusals_are_error_packets_with_the_message_or_the_data() -> None:
    async with serving(make_server()) as port:
        client, _ = await open_v3(port)
        assert await client.recv() == "40"
        client.send("40/private,")
        assert await client.recv() == '44/private,"Not allowed"'
        client.send("40/data,")
        assert await client.recv() == '44/data,{"code":7}'
        client.send("40/nowhere,")
        assert await client.recv() == '44/nowhere,"Invalid namespace"'
        await client.close()


async def test_binary_attachments_carry_the_type_byte() -> None:
    async with serving(make_server()) as port:
        client, _ = await open_v3(port)
        assert await client.recv() == "40"
        client.send('451-1["echo",{"_placeholder":true,"num":0}]')
        client.send(b"\x04\x01\x02")
        assert await client.recv() == '461-1[{"_placeholder":true,"num":0}]'
        assert await client.recv() == b"\x04\x01\x02"
        await client.close()


async def test_no_recovery_for_v2_clients() -> None:
    io = make_server(connection_state_recovery=RecoveryOptions())
    async with serving(io) as port:
        client, sid = await open_v3(port)
        assert await client.recv() == "40"  # no pid
        client.send("40/chat?pid=p&offset=o,")
        assert await client.recv() == "40/chat,"
        assert io.of("/chat").sockets[f"/chat#{sid}"].pid is None
        await client.close()


async def test_v4_clients_are_unchanged_beside_them() -> None:
    async with serving(make_server()) as port:
        client = await WsClient.connect(port, "/socket.io/?EIO=4&transport=websocket")
        assert "maxPayload" in orjson.loads((await client.recv())[1:])
        client.send("40")
        assert (await client.recv()).startswith('40{"sid":')
        client.send("40/private,")
        assert await client.recv() == '44/private,{"message":"Not allowed"}'
        await client.close()


async def test_refused_without_allow_eio3() -> None:
    async with serving(tether.Server()) as port:
        with pytest.raises(Exception, match="400"):
            await WsClient.connect(port, WS3)


def test_not_with_a_cluster_engine() -> None:
    with pytest.raises(ValueError, match="allow_eio3"):
        tether.Server(allow_eio3=True, cluster_engine=object())  # type: ignore[arg-type]
