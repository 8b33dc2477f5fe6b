"""tether.contract.model and io.declare: what the contract says of a server's namespaces."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

import tether
from tests.support import ENV
from tether.contract import contract_of
from tether.contract.schema import ContractError, contract_schemas
from tether.typed.declaration import Declaration
from tether.typed.signature import SignatureError


class Opaque:
    """No JSON Schema for this."""


def test_declare_is_metadata_on_the_namespace() -> None:
    io = tether.Server()
    declared = io.declare("tick", int, str, ack=bool, doc="A tick.")
    assert declared == Declaration("tick", (int, str), (bool,), "A tick.")
    assert io.sockets.declared == {"tick": declared}
    chat = io.of("/chat")
    assert chat.declare("joined", ack=(int, str)).ack == (int, str)
    assert chat.declare("done", ack=()).ack == ()
    assert chat.declare("plain").ack is None
    with pytest.raises(ValueError, match="reserved"):
        io.declare("disconnect", str)
    with pytest.raises(ValueError, match="non-empty"):
        io.declare("", str)
    dynamic = io.of(re.compile(r"/room-\d+"))
    dynamic.declare("x", int)
    child = tether.Namespace(io, "/room-1", dynamic)
    assert child.declared is dynamic.declared  # children share their parent's, like handlers


def test_contract_of_a_server() -> None:
    io = tether.Server()

    @io.on("b")
    def b(socket: tether.Socket, x: int, y: str = "") -> bool:
        """B's summary.

        More."""
        return True

    @io.on("a")
    def a(socket, *args):  # type: ignore[no-untyped-def]
        pass

    io.on("connection", lambda socket: None)
    io.on("disconnect", lambda socket, reason: None)
    io.on("disconnecting", lambda socket, reason: None)
    io.declare("news", str)
    io.of("/z").on("q", lambda socket: None)
    io.of("/m")
    io.of(re.compile("/dyn-.*")).on("hidden", lambda socket: None)

    contract = contract_of(io)
    assert [n.name for n in contract.namespaces] == ["/", "/m", "/z"]
    root = contract.namespaces[0]
    assert [e.name for e in root.client_to_server] == ["a", "b"]
    a_event, b_event = root.client_to_server
    assert not a_event.typed and a_event.ack is None
    assert b_event.typed and b_event.ack == (bool,) and b_event.doc == "B's summary."
    assert [(p.name, p.annotation, p.required) for p in b_event.params] == [
        ("x", int, True),
        ("y", str, False),
    ]
    [news] = root.server_to_client
    assert (news.name, [p.name for p in news.params], news.ack) == ("news", ["news"], None)
    assert [n.prefix for n in contract.namespaces] == ["", "M", "Z"]


def test_emit_is_not_checked_against_declarations() -> None:
    io = tether.Server()
    io.declare("tick", int)
    io.emit("tick", "not an int", 1, 2)  # metadata only: nothing raises


def test_without_pydantic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)
    with pytest.raises(ContractError, match=r"pip install 'tether\[typed\]'"):
        contract_schemas(contract_of(tether.Server()))


def test_a_type_without_a_schema() -> None:
    pytest.importorskip("pydantic")
    io = tether.Server()

    def handler(socket: Any, value: Opaque) -> None:
        pass

    # A handler's types are checked when it is registered (they validate its events)...
    with pytest.raises(SignatureError, match="Opaque"):
        io.on("opaque", handler)
    # ...a declared event's only when the contract is written.
    io.declare("opaque", Opaque)
    with pytest.raises(ContractError, match="'opaque'"):
        contract_schemas(contract_of(io))


def test_the_chat_demo_runs_without_pydantic() -> None:
    """Its annotations are TypedDicts and Literals: without the typed extra (no pydantic, no
    typing_extensions) it imports and builds its server."""
    code = (
        "import sys\n"
        "sys.modules['pydantic'] = sys.modules['typing_extensions'] = None\n"
        "from tether.demo.chat import ChatState, create_app\n"
        "state = ChatState()\n"
        "io = create_app(store=state)\n"
        "assert 'pydantic' not in [m for m, v in sys.modules.items() if v is not None]\n"
        "state.history.close_now()\n"
        "print(sorted(io.sockets.declared))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "'members', 'message'" in done.stdout
