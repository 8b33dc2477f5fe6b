"""socket.io-client's typed-event interfaces, from a contract (``tether typegen``).

For each namespace, a pair of interfaces a client passes to ``io<ServerToClientEvents,
ClientToServerEvents>(url)``: ``ServerToClientEvents``/``ClientToServerEvents`` for ``/``,
``ChatServerToClientEvents``/``ChatClientToServerEvents`` for ``/chat``. Each event is a
function type: its arguments, then, when it is acknowledged, the acknowledgement callback
as the last parameter (``ack: (res: Receipt) => void``; optional, ``ack?: () => void``, for
a handler annotated ``-> None``; ``ack?: (...args: any[]) => void`` when its return is not
annotated). An unannotated handler is ``(...args: any[]) => void``. The named types of the
payloads (models, TypedDicts, dataclasses, enums) become exported interfaces and types.

Binary data (``bytes``) the client sends is ``Binary``: ``ArrayBuffer | ArrayBufferView |
Blob``, what socket.io-client sends as an attachment. Binary data it receives as an
argument or an acknowledgement is ``ReceivedBinary``: ``ArrayBuffer | Uint8Array`` (an
``ArrayBuffer`` in browsers, a ``Buffer``, which is a ``Uint8Array``, in Node). Inside a
named type, which may travel either way, it is ``Binary``.

The output is deterministic: events and types sorted by name, so it can be committed and
compared.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tether.contract.model import Contract, Event, NamespaceContract
from tether.contract.schema import (
    ContractSchemas,
    EventSchemas,
    JsonSchema,
    contract_schemas,
    is_binary,
)

#: The TypeScript type of binary data the client sends (and of binary data inside named
#: types, which may go either way).
BINARY = "Binary"
BINARY_ALIAS = "ArrayBuffer | ArrayBufferView | Blob"
#: The TypeScript type of binary data the client receives as an event's argument or an
#: acknowledgement.
RECEIVED_BINARY = "ReceivedBinary"
RECEIVED_BINARY_ALIAS = "ArrayBuffer | Uint8Array"

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
#: Words a parameter may not be named (TypeScript's reserved words in strict mode).
_RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "arguments",
        "eval",
    ]
)
_REF = "#/$defs/"


def type_name(name: str) -> str:
    """The TypeScript name of a definition (``Model-Input`` → ``Model_Input``)."""
    cleaned = re.sub(r"[^A-Za-z0-9_$]", "_", name)
    return "_" + cleaned if cleaned[:1].isdigit() or not cleaned else cleaned


def property_key(name: str) -> str:
    """An object key or event name, quoted when it is not an identifier."""
    return name if _IDENTIFIER.fullmatch(name) else json.dumps(name)


def schema_to_ts(schema: JsonSchema | bool, binary: str = BINARY) -> str:
    """The TypeScript type of a JSON Schema (as pydantic writes them, ``$ref`` to
    ``#/$defs/Name``); binary data is ``binary`` (:data:`BINARY`, or :data:`RECEIVED_BINARY`
    where the client receives it)."""
    if schema is True or schema == {}:
        return "any"
    if schema is False:
        return "never"
    assert isinstance(schema, dict)
    if "$ref" in schema:
        ref = str(schema["$ref"])
        return type_name(ref[len(_REF) :] if ref.startswith(_REF) else ref.rsplit("/", 1)[-1])
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return " | ".join(_literal(value) for value in schema["enum"]) or "never"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _union([schema_to_ts(item, binary) for item in schema[key]])
    if "allOf" in schema:
        parts = [_wrap(schema_to_ts(item, binary)) for item in schema["allOf"]]
        return " & ".join(dict.fromkeys(parts)) or "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([schema_to_ts({**schema, "type": one}, binary) for one in kind])
    if kind == "string":
        return binary if is_binary(schema) else "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        return _array(schema, binary)
    if kind == "object" or "properties" in schema:
        return _object(schema, binary)
    return "any"


def _literal(value: Any) -> str:
    return json.dumps(value)


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if "any" in unique:
        return "any"
    return " | ".join(unique) or "never"


def _wrap(ts: str) -> str:
    """Parenthesized where a postfix ``[]`` or an ``&`` would bind wrongly."""
    return (
        f"({ts})" if (" | " in ts or " & " in ts or "=>" in ts) and not ts.startswith("{") else ts
    )


def _array(schema: JsonSchema, binary: str) -> str:
    prefix = schema.get("prefixItems")
    items = schema.get("items")
    if isinstance(prefix, list):
        parts = [schema_to_ts(item, binary) for item in prefix]
        least = schema.get("minItems", len(parts))
        elements = [part if index < least else f"{part}?" for index, part in enumerate(parts)]
        if items not in (None, False) and schema.get("maxItems") != len(parts):
            elements.append(f"...{_wrap(schema_to_ts(items, binary))}[]")
        return "[" + ", ".join(elements) + "]"
    if items is None or items is True:
        return "any[]"
    return f"{_wrap(schema_to_ts(items, binary))}[]"


def _members(schema: JsonSchema, binary: str = BINARY) -> list[tuple[str, str, str | None]]:
    """``(key, type, description)`` of each member of an object schema."""
    required = set(schema.get("required", ()))
    members = []
    for name, prop in schema.get("properties", {}).items():
        optional = "" if name in required else "?"
        description = prop.get("description") if isinstance(prop, dict) else None
        members.append((f"{property_key(name)}{optional}", schema_to_ts(prop, binary), description))
    extra = schema.get("additionalProperties")
    if (
        isinstance(extra, dict)
        or (extra is True and not members)
        or (extra is None and not members)
    ):
        value = "any" if extra in (None, True) else schema_to_ts(extra, binary)
        if members and value != "any":
            # every property must fit the index signature
            value = _union([value, *(ts for _, ts, _ in members)])
        members.append(("[key: string]", value, None))
    return members


def _object(schema: JsonSchema, binary: str) -> str:
    members = _members(schema, binary)
    if not members:
        return "{}"
    return "{ " + "; ".join(f"{key}: {ts}" for key, ts, _ in members) + " }"


def _comment(text: str | None, indent: str = "") -> list[str]:
    if not text:
        return []
    lines = text.replace("*/", "*\\/").strip().splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0].strip()} */"]
    return [
        f"{indent}/**",
        *(f"{indent} * {line.rstrip()}".rstrip() for line in lines),
        f"{indent} */",
    ]


def definition_to_ts(name: str, schema: JsonSchema) -> str:
    """An exported interface (an object with properties) or type alias."""
    lines = _comment(schema.get("description"))
    ts_name = type_name(name)
    if schema.get("type") == "object" and "properties" in schema and "$ref" not in schema:
        lines.append(f"export interface {ts_name} {{")
        for key, ts, description in _members(schema):
            lines.extend(_comment(description, "  "))
            lines.append(f"  {key}: {ts};")
        lines.append("}")
    else:
        lines.append(f"export type {ts_name} = {schema_to_ts(schema)};")
    return "\n".join(lines)


def _param_name(name: str, taken: set[str]) -> str:
    candidate = name if _IDENTIFIER.fullmatch(name) and name not in _RESERVED else f"{name}_"
    while candidate in taken:
        candidate += "_"
    taken.add(candidate)
    return candidate


def event_to_ts(event: Event, schemas: EventSchemas, *, declared: bool) -> str:
    """The function type of one event (``declared``: a server→client event, whose
    acknowledgement the server always asks for)."""
    if not event.typed:
        return "(...args: any[]) => void"
    taken: set[str] = set()
    ack: str | None = None
    ack_optional = False
    if event.ack is None:
        if not declared:
            ack, ack_optional = "(...args: any[]) => void", True
    else:
        names = (
            ["res"] if len(event.ack) == 1 else [f"res{i}" for i in range(1, len(event.ack) + 1)]
        )
        ack_binary = BINARY if declared else RECEIVED_BINARY  # the client answers a declared one
        args = ", ".join(
            f"{n}: {schema_to_ts(s, ack_binary)}"
            for n, s in zip(names, schemas.ack or (), strict=True)
        )
        ack = f"({args}) => void"
        ack_optional = not declared and not event.ack
    parts: list[str] = []
    variadic = False
    for param, schema in zip(event.params, schemas.params, strict=True):
        name = _param_name(param.name, taken)
        ts = schema_to_ts(schema, RECEIVED_BINARY if declared else BINARY)
        if param.variadic:
            variadic = True
            if ack is not None and not ack_optional:
                parts.append(f"...{name}: [...{_wrap(ts)}[], {ack}]")
                ack = None
            else:
                parts.append(f"...{name}: {_wrap(ts)}[]")
                ack = None  # nothing may follow a rest parameter
        elif param.required:
            parts.append(f"{name}: {ts}")
        elif ack is not None and not ack_optional:
            parts.append(f"{name}: {ts} | undefined")  # a required callback follows
        else:
            parts.append(f"{name}?: {ts}")
    if ack is not None and not variadic:
        name = _param_name("ack", taken)
        parts.append(f"{name}{'?' if ack_optional else ''}: {ack}")
    return f"({', '.join(parts)}) => void"


def _events_interface(
    name: str, nsp: str, events: tuple[Event, ...], schemas: ContractSchemas, direction: str
) -> str:
    what = "sends" if direction == "server_to_client" else "handles"
    lines = [f"/** The events the server {what} on the namespace {json.dumps(nsp)}. */"]
    if not events:
        lines.append(f"export interface {name} {{}}")
        return "\n".join(lines)
    lines.append(f"export interface {name} {{")
    for event in events:
        lines.extend(_comment(event.doc, "  "))
        signature = event_to_ts(
            event,
            schemas.events[(nsp, direction, event.name)],  # type: ignore[index]
            declared=direction == "server_to_client",
        )
        lines.append(f"  {property_key(event.name)}: {signature};")
    lines.append("}")
    return "\n".join(lines)


def interface_names(nsp: NamespaceContract) -> tuple[str, str]:
    """The names of a namespace's interfaces: (server→client, client→server)."""
    return f"{nsp.prefix}ServerToClientEvents", f"{nsp.prefix}ClientToServerEvents"


def generate_typescript(contract: Contract) -> str:
    """The ``.d.ts`` of ``contract`` (needs pydantic)."""
    schemas = contract_schemas(contract)
    blocks = [
        "// Generated by `tether typegen` from a tether server's handlers and declared events:\n"
        "// do not edit. Use: io<ServerToClientEvents, ClientToServerEvents>(url) (socket.io-client)."
    ]
    body = [definition_to_ts(name, schema) for name, schema in schemas.defs.items()]
    for nsp in contract.namespaces:
        to_client, to_server = interface_names(nsp)
        body.append(
            _events_interface(
                to_client, nsp.name, nsp.server_to_client, schemas, "server_to_client"
            )
        )
        body.append(
            _events_interface(
                to_server, nsp.name, nsp.client_to_server, schemas, "client_to_server"
            )
        )
    if any(re.search(rf"\b{BINARY}\b", block) for block in body):
        blocks.append(
            "/** Binary data: socket.io-client sends any of these as an attachment. */\n"
            f"export type {BINARY} = {BINARY_ALIAS};"
        )
    if any(re.search(rf"\b{RECEIVED_BINARY}\b", block) for block in body):
        blocks.append(
            "/** Binary data received: an ArrayBuffer in browsers, a Buffer (a Uint8Array) in\n"
            " * Node. */\n"
            f"export type {RECEIVED_BINARY} = {RECEIVED_BINARY_ALIAS};"
        )
    blocks.extend(body)
    return "\n\n".join(blocks) + "\n"
