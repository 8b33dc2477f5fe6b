"""tether.contract.asyncapi: the AsyncAPI 3.0 document of a contract, validated by the
official parser (@asyncapi/parser, tests/interop/validate_asyncapi.mjs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic")

from tests.contract.support import validate_asyncapi
from tether.cli.main import main
from tether.contract import contract_of
from tether.contract.asyncapi import dump_json, generate_asyncapi, to_draft7


def test_document_of_the_test_app() -> None:
    from tests.contract.app import io

    doc = generate_asyncapi(contract_of(io), title="app", version="2.0.0")
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "app" and doc["info"]["version"] == "2.0.0"
    assert {cid: ch["address"] for cid, ch in doc["channels"].items()} == {
        "root": "/",
        "admin-room": "/admin-room",
    }
    root = doc["channels"]["root"]["messages"]
    assert root["client.draw"]["payload"] == {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": [{"$ref": "#/components/schemas/Shape"}],
        "additionalItems": False,
    }
    assert root["client.draw"]["summary"] == "Draw a shape."
    assert root["client.draw.ack"]["payload"]["items"] == [{"$ref": "#/components/schemas/Receipt"}]
    assert root["client.upload"]["payload"]["items"][1] == {"type": "string", "format": "binary"}
    assert root["client.upload"]["payload"]["minItems"] == 2  # private has a default
    assert root["client.log"]["payload"] == {
        "type": "array",
        "minItems": 0,
        "additionalItems": {"type": "string"},
    }
    assert root["server.ping-all"]["payload"] == {"type": "array", "minItems": 0, "maxItems": 0}
    assert root["server.ping-all.ack"]["payload"] == {"type": "array", "minItems": 0, "maxItems": 0}
    assert "server.tick.ack" not in root  # declared without an ack
    operations = doc["operations"]
    draw = operations["root.receive.draw"]
    assert draw["action"] == "receive"
    assert draw["channel"] == {"$ref": "#/channels/root"}
    assert draw["messages"] == [{"$ref": "#/channels/root/messages/client.draw"}]
    assert draw["reply"]["messages"] == [{"$ref": "#/channels/root/messages/client.draw.ack"}]
    assert operations["root.send.tick"]["action"] == "send"
    assert "reply" not in operations["root.send.tick"]
    assert operations["root.send.question"]["reply"]["messages"] == [
        {"$ref": "#/channels/root/messages/server.question.ack"}
    ]
    schemas = doc["components"]["schemas"]
    assert schemas["Tick"]["properties"]["at"] == {
        "type": "array",
        "items": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
        "additionalItems": False,
        "title": "At",
    }
    assert "prefixItems" not in json.dumps(doc)
    assert dump_json(generate_asyncapi(contract_of(io), title="app", version="2.0.0")) == dump_json(
        doc
    )


def test_to_draft7() -> None:
    assert to_draft7({"prefixItems": [{"type": "integer"}], "items": {"type": "string"}}) == {
        "items": [{"type": "integer"}],
        "additionalItems": {"type": "string"},
    }
    assert to_draft7({"oneOf": [], "discriminator": {"propertyName": "kind", "mapping": {}}}) == {
        "oneOf": [],
        "discriminator": "kind",
    }


@pytest.mark.interop
def test_the_parser_accepts_the_documents(tmp_path: Path) -> None:
    from tests.contract.app import io
    from tether.demo.chat import ChatState, create_app

    state = ChatState()
    for name, server in [("app", io), ("chat", create_app(store=state))]:
        path = tmp_path / f"{name}.json"
        path.write_text(dump_json(generate_asyncapi(contract_of(server))))
        status, diagnostics = validate_asyncapi(path)
        assert status == 0, diagnostics
        assert '"severity":0' not in diagnostics
    state.history.close_now()


@pytest.mark.interop
def test_the_parser_refuses_a_broken_document(tmp_path: Path) -> None:
    """The validation is real: a document with a mistake fails it."""
    from tests.contract.app import io

    doc: dict[str, Any] = generate_asyncapi(contract_of(io))
    doc["operations"]["root.receive.draw"]["action"] = "publish"  # AsyncAPI 2's word
    path = tmp_path / "broken.json"
    path.write_text(dump_json(doc))
    status, diagnostics = validate_asyncapi(path)
    assert status == 1
    assert '"severity":0' in diagnostics and "action" in diagnostics


def test_cli_asyncapi(tmp_path: Path) -> None:
    from tests.contract.app import io

    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "tests.contract.app:io", "-o", str(out), "--api-version", "3.1"]) == 0
    assert json.loads(out.read_text()) == generate_asyncapi(
        contract_of(io), title="tests.contract.app:io", version="3.1"
    )
