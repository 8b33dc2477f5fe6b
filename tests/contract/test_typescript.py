"""tether.contract.typescript: JSON Schema → TypeScript, and the generated contracts
compiled by tsc --strict against socket.io-client's own types (tests/contract/ts)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("pydantic")

from tests.contract.support import TS_DIR, tsc
from tether.cli.main import main
from tether.contract import contract_of
from tether.contract.typescript import (
    definition_to_ts,
    generate_typescript,
    property_key,
    schema_to_ts,
    type_name,
)


@pytest.mark.parametrize(
    ("schema", "ts"),
    [
        ({}, "any"),
        (True, "any"),
        (False, "never"),
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": "number"}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "null"}, "null"),
        ({"type": "string", "format": "binary"}, "Binary"),
        ({"type": "string", "format": "date-time"}, "string"),
        ({"enum": ["a", "b"], "type": "string"}, '"a" | "b"'),
        ({"enum": [1, 2]}, "1 | 2"),
        ({"const": True, "type": "boolean"}, "true"),
        ({"const": "x"}, '"x"'),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null"),
        ({"oneOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}]}, "A | B"),
        ({"anyOf": [{"type": "string"}, {}]}, "any"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"allOf": [{"$ref": "#/$defs/A"}]}, "A"),
        ({"$ref": "#/$defs/Model-Input"}, "Model_Input"),
        ({"$ref": "#/components/schemas/Tick"}, "Tick"),
        ({"type": "array", "items": {"type": "integer"}}, "number[]"),
        ({"type": "array"}, "any[]"),
        (
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            "(number | null)[]",
        ),
        (
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
            "[number, string]",
        ),
        (
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 1,
            },
            "[number, string?]",
        ),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}},
            "[number, ...string[]]",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b-c": {"type": "string"}},
                "required": ["a"],
            },
            '{ a: number; "b-c"?: string }',
        ),
        ({"type": "object", "additionalProperties": True}, "{ [key: string]: any }"),
        ({"type": "object"}, "{ [key: string]: any }"),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "{ [key: string]: number }",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": {"type": "integer"},
            },
            "{ a: string; [key: string]: number | string }",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            },
            "{ a?: string }",
        ),
    ],
)
def test_schema_to_ts(schema: dict[str, object] | bool, ts: str) -> None:
    assert schema_to_ts(schema) == ts


def test_binary_received_and_names() -> None:
    assert (
        schema_to_ts({"type": "string", "format": "binary"}, "ReceivedBinary") == "ReceivedBinary"
    )
    assert type_name("Page_int_") == "Page_int_" and type_name("1st") == "_1st"
    assert property_key("from") == "from" and property_key("members-changed") == '"members-changed"'


def test_definitions() -> None:
    interface = definition_to_ts(
        "Point",
        {
            "type": "object",
            "description": "A point.",
            "properties": {
                "x": {"type": "number", "description": "Across."},
                "y": {"type": "number"},
            },
            "required": ["x"],
        },
    )
    assert interface == (
        "/** A point. */\nexport interface Point {\n  /** Across. */\n  x: number;\n  y?: number;\n}"
    )
    assert definition_to_ts("Color", {"enum": ["red", "green"], "type": "string"}) == (
        'export type Color = "red" | "green";'
    )


def test_the_test_apps_contract() -> None:
    from tests.contract.app import io

    ts = generate_typescript(contract_of(io))
    lines = {line.strip() for line in ts.splitlines()}
    for expected in [
        # client → server: the payload, then the ack callback
        "draw: (shape: Shape, ack: (res: Receipt) => void) => void;",
        "upload: (name: string, data: Binary, private_: boolean | undefined, "
        "ack: (res1: number, res2: string) => void) => void;",
        "fire: (level: number | null, ack?: () => void) => void;",  # -> None
        "half: (value: any, ack?: (...args: any[]) => void) => void;",  # return unannotated
        "legacy: (...args: any[]) => void;",  # nothing annotated
        "log: (...lines: string[]) => void;",
        "kick: (who: string, why: string | null | undefined, ack: (res: boolean) => void) => void;",
        # server → client: declared; the client answers a declared ack
        "tick: (tick: Tick) => void;",
        "blob: (arg1: ReceivedBinary, arg2: string) => void;",
        "question: (question: string, ack: (res: boolean) => void) => void;",
        '"ping-all": (ack: () => void) => void;',
        'alert: (arg1: "low" | "high", arg2: Color[]) => void;',
        # named types
        "export interface Shape {",
        'kind: "circle" | "square";',
        "tags?: { [key: string]: number };",
        'export type Color = "red" | "green";',
        "at: [number, string];",
        "note?: string | null;",
        "export type Binary = ArrayBuffer | ArrayBufferView | Blob;",
        "export type ReceivedBinary = ArrayBuffer | Uint8Array;",
        # one pair of interfaces per namespace
        "export interface ServerToClientEvents {",
        "export interface ClientToServerEvents {",
        "export interface AdminRoomServerToClientEvents {",
        "export interface AdminRoomClientToServerEvents {",
        "/** Draw a shape. */",
        "/** A tick, every second. */",
    ]:
        assert expected in lines, f"{expected!r} not in\n{ts}"
    assert "disconnect" not in ts  # lifecycle events are not the client's to send
    assert generate_typescript(contract_of(io)) == ts  # deterministic


def test_cli_typegen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.contract.app import io

    out = tmp_path / "events.d.ts"
    assert main(["typegen", "tests.contract.app:io", "-o", str(out)]) == 0
    assert out.read_text() == generate_typescript(contract_of(io))
    assert main(["typegen", "tests.contract.app:io"]) == 0
    assert capsys.readouterr().out == out.read_text()
    with pytest.raises(SystemExit, match=r"is not a tether\.Server"):
        main(["typegen", "tests.contract.app:Tick"])  # a class is not a factory
    assert main(["typegen", "tests.contract.app:make_app"]) == 0  # a factory is called
    assert "made: (made: number) => void;" in capsys.readouterr().out


@pytest.mark.interop
def test_a_typed_client_compiles_with_tsc_strict(tmp_path: Path) -> None:
    from tests.contract.app import io

    status, errors, output = tsc(tmp_path, generate_typescript(contract_of(io)), "client.ts")
    assert (status, errors) == (0, []), output


@pytest.mark.interop
def test_mistakes_in_a_typed_client_do_not_compile(tmp_path: Path) -> None:
    from tests.contract.app import io

    status, errors, output = tsc(tmp_path, generate_typescript(contract_of(io)), "mistakes.ts")
    assert status != 0
    source = (TS_DIR / "mistakes.ts").read_text().splitlines()
    marked = {n for n, line in enumerate(source, 1) if "// MISTAKE" in line}
    by_line = {e.line: e for e in errors if e.file == "mistakes.ts"}
    assert set(by_line) == marked, output
    expected = {
        "wrong payload type": '\'"triangle"\' is not assignable to type \'"circle" | "square"\'',
        "wrong ack type": "'(receipt: string) => void' is not assignable to parameter of type "
        "'(res: Receipt) => void'",
        "unknown event": "'\"erase\"' is not assignable to parameter of type",
        "wrong received type": "is not assignable to parameter of type '(tick: Tick) => void'",
        "wrong answer to the server": "'string' is not assignable to parameter of type 'boolean'",
    }
    for line in marked:
        what = source[line - 1].split("// MISTAKE: ")[1]
        assert expected[what] in by_line[line].message, (what, by_line[line])


@pytest.mark.interop
def test_the_chat_demos_client_compiles_and_runs_against_the_chat(tmp_path: Path) -> None:
    """The chat's contract compiles a client with tsc --strict, and that client, run under
    Node against the real chat server, gets what its types say."""
    from tether.demo.chat import ChatState, create_app

    out = tmp_path / "js"
    state = ChatState()
    events = generate_typescript(contract_of(create_app(store=state)))
    state.history.close_now()
    status, errors, output = tsc(tmp_path, events, "chat_client.ts", out_dir=out)
    assert (status, errors) == (0, []), output

    async def run() -> str:
        io = create_app(store=ChatState())
        listener = await io.serve("127.0.0.1", 0)
        try:
            proc = await asyncio.create_subprocess_exec(
                "node",
                str(out / "chat_client.js"),
                f"http://127.0.0.1:{listener.port}",
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            stdout, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, stdout.decode()
            return stdout.decode()
        finally:
            await io.close()

    printed = asyncio.run(run())
    assert "ada joined #general (0 messages)" in printed
    assert 'bob got "hello, bob" from ada' in printed
    assert "history: 1 message(s), more: false" in printed


@pytest.mark.interop
def test_mistakes_in_a_chat_client_do_not_compile(tmp_path: Path) -> None:
    from tether.demo.chat import ChatState, create_app

    state = ChatState()
    events = generate_typescript(contract_of(create_app(store=state)))
    state.history.close_now()
    status, errors, output = tsc(tmp_path, events, "chat_mistakes.ts")
    assert status != 0
    source = (TS_DIR / "chat_mistakes.ts").read_text().splitlines()
    marked = {n for n, line in enumerate(source, 1) if "// MISTAKE" in line}
    by_line = {e.line: e for e in errors if e.file == "chat_mistakes.ts"}
    assert set(by_line) == marked, output
    expected = {
        "no text": "Property 'text' is missing",
        "a number for a channel": "'number' is not assignable to parameter of type 'string'",
        "unknown event": "'\"jion\"' is not assignable to parameter of type",
        "the answer may be a Failure": "Property 'nick' does not exist on type 'Failure | HelloOk'",
        "not a status": '\'"busy"\' is not assignable to type \'"away" | "online"\'',
    }
    for line in marked:
        what = source[line - 1].split("// MISTAKE: ")[1]
        assert expected[what] in by_line[line].message, (what, by_line[line])


def test_the_docs_typescript_blocks_are_the_tested_clients() -> None:
    """docs/ shows TypeScript (exempt from tests/docs, which runs no TypeScript) only as
    copies of the clients compiled here."""
    from tests.docs.samples import all_samples

    blocks = [s for s in all_samples() if s.lang in ("ts", "typescript")]
    assert blocks, "docs/typed-contract.md shows the chat client"
    files = {path.read_text() for path in TS_DIR.glob("*.ts")}
    for block in blocks:
        assert block.code in files, f"{block.name} is not a file of {TS_DIR}"
