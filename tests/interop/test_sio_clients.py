"""The official npm ``socket.io-client`` 4.8 against tether's Socket.IO server.

The server is ``python tests/interop/sio_app.py`` (a tether app written with the public API;
127.0.0.1:$PORT, CORS ``*``, ping 1 s / 1 s, connection state recovery on, prints ``READY``),
run twice: natively (``io.run``) and as ``tether.ASGIApp(io)`` under uvicorn (``--asgi``, the
same as ``TETHER_ASGI=1``). Each test runs one scenario of ``sio_client.mjs`` (scenarios in
``sio_scenarios_*.mjs``, helpers in ``sio_driver.mjs``) over one transport setting as a
subprocess. ``TETHER_SIO_SERVER_CMD`` / ``TETHER_SIO_ASGI_SERVER_CMD`` swap the servers; the
reference the scenarios are calibrated against is the same app on Node's ``socket.io`` 4.8,
which passes every test here:

    TETHER_SIO_SERVER_CMD="node tests/interop/sio_node_server.mjs" \\
        pytest -m interop tests/interop/test_sio_clients.py -k native
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.harness import ServerProcess, run_driver

pytestmark = pytest.mark.interop

APP = ["tests/interop/sio_app.py"]
MODES = {
    "native": ("TETHER_SIO_SERVER_CMD", [sys.executable, *APP]),
    "asgi": ("TETHER_SIO_ASGI_SERVER_CMD", [sys.executable, *APP, "--asgi"]),
}
TRANSPORTS = {
    "websocket": "websocket",
    "polling": "polling",
    "polling+upgrade": "polling,websocket",
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    """The servers of this module, each started on first use (a failed start fails tests)."""
    started: dict[str, ServerProcess] = {}
    try:
        yield started
    finally:
        for process in started.values():
            process.stop()


@pytest.fixture(params=list(MODES))
def server(request: pytest.FixtureRequest, servers: dict[str, ServerProcess]) -> ServerProcess:
    mode: str = request.param
    if mode not in servers:
        env_var, cmd = MODES[mode]
        servers[mode] = ServerProcess(env_var, cmd)
    return servers[mode]


@pytest.fixture(params=list(TRANSPORTS))
def transports(request: pytest.FixtureRequest) -> str:
    return TRANSPORTS[request.param]


def scenario(server: ServerProcess, name: str, transports: str) -> dict[str, Any]:
    """Run one scenario of sio_client.mjs; return its verdict (the test fails unless it passed)."""
    records = run_driver("sio_client.mjs", server, "--scenario", name, "--transports", transports)
    return records[-1]


def test_handshake_auth_query_headers(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "handshake", transports)
    assert {"EIO", "transport", "q_user", "q_n"} <= set(verdict["queryKeys"])
    first = transports.split(",")[0]
    assert verdict["serverTransport"] in (first, "websocket")


def test_json_echo_with_acks(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "echo", transports)
    assert verdict["cases"] == 13


def test_lone_surrogate_strings(server: ServerProcess, transports: str) -> None:
    # JSON.stringify writes an unpaired surrogate as "\ud83d": the official client sends it
    # for any string cut in the middle of an emoji, and Node's server echoes it back.
    scenario(server, "echo-lone-surrogate", transports)


def test_binary_echo_with_acks(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "binary", transports)
    assert verdict["cases"] == 11


def test_server_to_client_acks(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "server-ack", transports)
    assert verdict["questions"] == 14


def test_server_ack_ends_when_the_client_leaves(server: ServerProcess, transports: str) -> None:
    # tether's contract: emit_with_ack raises DisconnectedError when the socket disconnects
    # before answering (Node drops the callback; its reference app reports the same outcome).
    verdict = scenario(server, "ack-disconnect", transports)
    assert verdict["outcome"] == "disconnected"


def test_namespaces_and_middleware_refusal(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "namespaces", transports)
    assert [e["message"] for e in verdict["refused"]] == [
        "not authorized",
        "not authorized",
        "Invalid namespace",
    ]


def test_dynamic_namespace(server: ServerProcess, transports: str) -> None:
    scenario(server, "dynamic-namespace", transports)


def test_rooms_and_broadcasts(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "rooms", transports)
    assert verdict["steps"] == 12
    assert verdict["offsets"] == 11  # one per delivered broadcast, none reused


def test_broadcast_with_acks(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "broadcast-acks", transports)
    assert (verdict["answers"], verdict["partial"]) == (3, 2)


def test_ordering_of_bursts(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "ordering", transports)
    assert (verdict["burst"], verdict["counted"]) == (500, 300)


def test_volatile_reaches_an_idle_client(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "volatile", transports)
    assert verdict["received"] == 2


def test_server_disconnect(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "disconnect-server", transports)
    assert verdict["reasons"] == ["io server disconnect"]
    assert verdict["newId"] is True


def test_server_disconnect_with_close(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "disconnect-server-close", transports)
    assert verdict["reasons"] == ["io server disconnect"]


def test_client_disconnect(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "disconnect-client", transports)
    assert verdict["serverReason"] == "client namespace disconnect"


def test_disconnect_sockets_of_a_room(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "disconnect-room", transports)
    assert verdict["serverReason"] == "server namespace disconnect"


def test_transport_cut_then_reconnect(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "drop-reconnect", transports)
    assert verdict["serverReason"] == "transport close"
    assert verdict["engines"] == 2


def test_server_ping_timeout(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "ping-timeout", transports)
    assert verdict["serverReason"] == "ping timeout"
    assert verdict["elapsedMs"] < 3500


def test_connection_state_recovery(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "recovery", transports)
    assert verdict["recovered"] is True
    assert verdict["missed"] == [0, 1, 2, 3, 4, 5]


def test_recovery_of_events_sent_to_the_socket_id(server: ServerProcess, transports: str) -> None:
    # io.to(socket.id).emit(...) while the client is away: Node keeps the socket's own room in
    # the persisted session, so these are delivered on recovery like any room broadcast.
    verdict = scenario(server, "recovery-direct", transports)
    assert verdict["missed"] == [1, 2, 3, 4, 5]
