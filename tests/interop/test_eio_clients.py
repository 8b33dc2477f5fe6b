"""The official npm ``engine.io-client`` 6.6 against our Engine.IO v4 echo server.

The server is ``python tests/conformance/eio_server.py`` (127.0.0.1:$PORT, path
``/engine.io/``, ping 300 ms / 200 ms, max payload 1e6, CORS ``*``, echo, prints ``READY``).
``TETHER_EIO_SERVER_CMD`` swaps it; the reference the tests are calibrated against is

    TETHER_EIO_SERVER_CMD="node tests/interop/node_eio_echo_server.mjs" \\
        pytest -m interop tests/interop/test_eio_clients.py

Each test runs ``eio_client.mjs`` (one scenario, one transport setting) as a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.harness import ServerProcess, python_server, run_driver

pytestmark = pytest.mark.interop

TRANSPORTS = {
    "polling": "polling",
    "websocket": "websocket",
    "polling+upgrade": "polling,websocket",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess("TETHER_EIO_SERVER_CMD", python_server("eio_server.py"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(params=list(TRANSPORTS))
def transports(request: pytest.FixtureRequest) -> str:
    return TRANSPORTS[request.param]


def scenario(server: ServerProcess, name: str, transports: str, *extra: str) -> dict[str, Any]:
    """Run one scenario; check the handshake it saw; return its verdict."""
    records = run_driver(
        "eio_client.mjs", server, "--scenario", name, "--transports", transports, *extra
    )
    opened = next(r for r in records if r.get("event") == "open")
    first = transports.split(",")[0]
    assert opened["transport"] == first
    assert opened["keys"] == ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]
    assert opened["pingInterval"] == 300
    assert opened["pingTimeout"] == 200
    assert opened["maxPayload"] == 1_000_000
    assert opened["upgrades"] == (["websocket"] if first == "polling" else [])
    assert isinstance(opened["sid"], str) and opened["sid"]
    return records[-1]


def test_text_echo(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "text-echo", transports)
    assert verdict["count"] == 9


def test_binary_echo(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "binary-echo", transports)
    assert 0 in verdict["sizes"] and 100 * 1024 in verdict["sizes"]


def test_many_messages_in_order(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "many-messages", transports)
    assert verdict["burst"] == 1000
    assert verdict["paced"] > 50


@pytest.mark.parametrize("coalesce", [False, True], ids=["paced", "coalesced"])
def test_upgrade_loses_and_reorders_nothing(server: ServerProcess, coalesce: bool) -> None:
    # coalesced: "5" and the messages queued during the upgrade arrive in one TCP segment.
    extra = ["--coalesce"] if coalesce else []
    verdict = scenario(server, "upgrade", TRANSPORTS["polling+upgrade"], *extra)
    assert verdict["coalesced"] is coalesce
    phases = verdict["phases"]
    assert phases["beforeUpgrading"] >= 1
    assert phases["duringUpgrade"] >= 10
    assert phases["afterUpgrade"] >= 20


def test_client_close(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "client-close", transports)
    if transports == "polling":
        assert verdict["pollStatus"] == 400
    else:
        assert verdict["transport"] == "websocket"
        assert verdict["wsClosedMs"] < 2000


def test_server_closes_on_ping_timeout(server: ServerProcess, transports: str) -> None:
    verdict = scenario(server, "server-close", transports)
    assert verdict["reason"] in ("transport close", "transport error")


def test_message_over_max_http_buffer_size_over_websocket(server: ServerProcess) -> None:
    # engine.io-client's test "provides details when maxHttpBufferSize is reached (websocket)".
    verdict = scenario(server, "too-big", TRANSPORTS["websocket"])
    assert verdict["reason"] == "transport close"
    assert verdict["description"] == "websocket connection closed"
    assert (verdict["closeCode"], verdict["closeReason"]) == (1009, "")
