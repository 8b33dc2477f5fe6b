"""An AsyncAPI 3.0 document of a contract (``tether asyncapi``).

Each namespace is a channel (its address the namespace: ``/``, ``/chat``); each event a
message of that channel, whose payload is the array of the event's arguments (a tuple:
``items`` per argument); each event the server handles is a ``receive`` operation, each
event it sends (declared with ``io.declare``) a ``send`` operation; an acknowledgement is
the operation's ``reply``, a message whose payload is the array of the acknowledgement's
arguments. Named types are in ``components.schemas``. The schemas are AsyncAPI's (JSON
Schema draft 07): pydantic's draft 2020-12 ``prefixItems`` are written as ``items`` lists.

The document is deterministic (sorted keys), so it can be committed and compared.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tether.contract.model import Contract, Event, NamespaceContract
from tether.contract.schema import ContractSchemas, EventSchemas, JsonSchema, contract_schemas

ASYNCAPI_VERSION = "3.0.0"
_REF_TEMPLATE = "#/components/schemas/{model}"


def generate_asyncapi(
    contract: Contract, *, title: str = "Socket.IO events", version: str = "1.0.0"
) -> dict[str, Any]:
    """The AsyncAPI document of ``contract`` (needs pydantic)."""
    schemas = contract_schemas(contract, ref_template=_REF_TEMPLATE)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    taken: set[str] = set()
    for nsp in contract.namespaces:
        channel_id = _unique(_id(nsp.name.strip("/") or "root"), taken)
        channels[channel_id], channel_operations = _channel(nsp, channel_id, schemas)
        operations.update(channel_operations)
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Socket.IO v5 events: each channel is a namespace, each message an event whose "
                "payload is the array of its arguments; a reply is the event's acknowledgement."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
    }
    if schemas.defs:
        document["components"] = {
            "schemas": {name: to_draft7(schema) for name, schema in schemas.defs.items()}
        }
    return document


def dump_json(document: dict[str, Any]) -> str:
    """The document as JSON, keys sorted where order means nothing."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _channel(
    nsp: NamespaceContract, channel_id: str, schemas: ContractSchemas
) -> tuple[dict[str, Any], dict[str, Any]]:
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    channel_ref = {"$ref": f"#/channels/{channel_id}"}
    sides = (("client_to_server", "receive", "client"), ("server_to_client", "send", "server"))
    for direction, action, sender in sides:
        events: tuple[Event, ...] = getattr(nsp, direction)
        for event in events:
            event_schemas = schemas.events[(nsp.name, direction, event.name)]  # type: ignore[index]
            message_id = _unique(f"{sender}.{_id(event.name)}", set(messages))
            message: dict[str, Any] = {
                "name": event.name,
                "title": f"{event.name} ({'client → server' if sender == 'client' else 'server → client'})",
                "payload": _arguments(event, event_schemas),
            }
            if event.doc:
                message["summary"] = event.doc
            messages[message_id] = message
            operation: dict[str, Any] = {
                "action": action,
                "channel": channel_ref,
                "title": event.name,
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{message_id}"}],
            }
            if event.doc:
                operation["summary"] = event.doc
            ack = _ack(event, event_schemas, declared=direction == "server_to_client")
            if ack is not None:
                ack_id = _unique(f"{message_id}.ack", set(messages))
                messages[ack_id] = {
                    "name": f"{event.name} ack",
                    "title": f"the acknowledgement of {event.name}",
                    "payload": ack,
                }
                operation["reply"] = {
                    "channel": channel_ref,
                    "messages": [{"$ref": f"#/channels/{channel_id}/messages/{ack_id}"}],
                }
            operations[_unique(f"{channel_id}.{action}.{_id(event.name)}", set(operations))] = (
                operation
            )
    channel = {
        "address": nsp.name,
        "title": f"namespace {nsp.name}",
        "messages": messages,
    }
    return channel, operations


def _arguments(event: Event, schemas: EventSchemas) -> JsonSchema:
    """The schema of an event's arguments (an array, one item per argument)."""
    if not event.typed:
        return {"type": "array", "description": "Any arguments (the handler is not annotated)."}
    fixed = [
        to_draft7(schema)
        for param, schema in zip(event.params, schemas.params, strict=True)
        if not param.variadic
    ]
    rest = [
        to_draft7(schema)
        for param, schema in zip(event.params, schemas.params, strict=True)
        if param.variadic
    ]
    payload: JsonSchema = {
        "type": "array",
        "minItems": sum(p.required and not p.variadic for p in event.params),
    }
    if fixed:
        payload["items"] = fixed
    if rest:
        payload["additionalItems"] = rest[0]
    else:
        payload["maxItems"] = len(fixed)
        if fixed:
            payload["additionalItems"] = False
    return payload


def _ack(event: Event, schemas: EventSchemas, *, declared: bool) -> JsonSchema | None:
    if event.ack is None:
        if declared:
            return None
        return {"type": "array", "description": "Any arguments (the return is not annotated)."}
    items = [to_draft7(schema) for schema in schemas.ack or ()]
    payload: JsonSchema = {"type": "array", "minItems": len(items), "maxItems": len(items)}
    if items:
        payload["items"] = items
        payload["additionalItems"] = False
    return payload


def to_draft7(schema: Any) -> Any:
    """A pydantic (draft 2020-12) schema as an AsyncAPI (draft 07) one: ``prefixItems``
    become an ``items`` list, a ``discriminator`` object its property name."""
    if isinstance(schema, list):
        return [to_draft7(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: to_draft7(value) for key, value in schema.items()}
    if "prefixItems" in out:
        prefix = out.pop("prefixItems")
        rest = out.pop("items", None)
        out["items"] = prefix
        if rest is not None:
            out["additionalItems"] = rest
        elif out.get("maxItems") == len(prefix):
            out["additionalItems"] = False
    discriminator = out.get("discriminator")
    if isinstance(discriminator, dict) and "propertyName" in discriminator:
        out["discriminator"] = discriminator["propertyName"]
    return out


def _id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "_"


def _unique(candidate: str, taken: set[str]) -> str:
    found, index = candidate, 2
    while found in taken:
        found, index = f"{candidate}_{index}", index + 1
    taken.add(found)
    return found
