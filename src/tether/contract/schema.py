"""The JSON Schema of each type of a contract, with the named ones (models, TypedDicts,
dataclasses, enums) shared in one set of definitions.

What the client sends (the arguments of client→server events, the acknowledgements of
server→client ones) is described in pydantic's *validation* mode, what it receives (the
other two) in *serialization* mode: a model whose input and output differ gets one
definition of each (``Model-Input``, ``Model-Output``). An unannotated argument is ``{}``
(anything). ``bytes`` is ``{"type": "string", "format": "binary"}``: binary data, sent as a
Socket.IO attachment.

Needs pydantic (``pip install 'tether[typed]'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tether.contract.model import Contract, Event
from tether.typed.signature import UNANNOTATED

JsonSchema = dict[str, Any]
Direction = Literal["client_to_server", "server_to_client"]


class ContractError(Exception):
    """The contract cannot be described (pydantic is missing, or a type has no schema)."""


@dataclass(frozen=True, slots=True)
class EventSchemas:
    """The schemas of one event."""

    #: One per argument (of ``*args``: of each of its items).
    params: tuple[JsonSchema, ...]
    #: One per argument of the acknowledgement; ``None`` as in :attr:`Event.ack`.
    ack: tuple[JsonSchema, ...] | None


@dataclass(frozen=True, slots=True)
class ContractSchemas:
    """The schemas of every event of a contract and the definitions they refer to."""

    #: By ``(namespace, direction, event)``.
    events: dict[tuple[str, Direction, str], EventSchemas]
    #: The named types, by name (sorted).
    defs: dict[str, JsonSchema]


def contract_schemas(contract: Contract, ref_template: str = "#/$defs/{model}") -> ContractSchemas:
    """The schemas of ``contract``; references to named types follow ``ref_template``."""
    try:
        from pydantic import TypeAdapter
        from pydantic.errors import PydanticUserError
    except ImportError:
        raise ContractError(
            "describing the contract needs pydantic: pip install 'tether[typed]'"
        ) from None

    inputs: list[tuple[Any, Any, Any]] = []
    where: dict[Any, str] = {}

    def add(key: tuple[Any, ...], annotation: Any, mode: str, what: str) -> None:
        if annotation is UNANNOTATED:
            return
        try:
            adapter = TypeAdapter(annotation)
        except (PydanticUserError, TypeError, ValueError) as error:
            raise ContractError(f"{what}: no schema for {annotation!r}: {error}") from error
        inputs.append((key, mode, adapter))
        where[key] = what

    sides: tuple[tuple[Direction, str, str], ...] = (
        ("client_to_server", "validation", "serialization"),
        ("server_to_client", "serialization", "validation"),
    )
    for nsp in contract.namespaces:
        for direction, args_mode, ack_mode in sides:
            events: tuple[Event, ...] = getattr(nsp, direction)
            for event in events:
                what = f"{nsp.name} {event.name!r}"
                for index, param in enumerate(event.params):
                    add(
                        (nsp.name, direction, event.name, "p", index),
                        param.annotation,
                        args_mode,
                        what,
                    )
                for index, annotation in enumerate(event.ack or ()):
                    add((nsp.name, direction, event.name, "a", index), annotation, ack_mode, what)
    try:
        found, definitions = TypeAdapter.json_schemas(inputs, ref_template=ref_template)
    except Exception as error:  # pydantic's errors name the type that has no JSON Schema
        raise ContractError(f"no JSON Schema for a type of the contract: {error}") from error

    def schema(key: tuple[Any, ...], mode: str) -> JsonSchema:
        return dict(found[(key, mode)]) if (key, mode) in found else {}  # type: ignore[index]

    events_out: dict[tuple[str, Direction, str], EventSchemas] = {}
    for nsp in contract.namespaces:
        for direction, args_mode, ack_mode in sides:
            for event in getattr(nsp, direction):
                base = (nsp.name, direction, event.name)
                params = tuple(
                    schema((*base, "p", index), args_mode) for index in range(len(event.params))
                )
                ack = (
                    None
                    if event.ack is None
                    else tuple(
                        schema((*base, "a", index), ack_mode) for index in range(len(event.ack))
                    )
                )
                events_out[base] = EventSchemas(params, ack)
    defs = definitions.get("$defs", {})
    return ContractSchemas(events_out, {name: defs[name] for name in sorted(defs)})


def is_binary(schema: JsonSchema) -> bool:
    """Whether ``schema`` describes binary data (``bytes``)."""
    return schema.get("type") == "string" and schema.get("format") == "binary"
