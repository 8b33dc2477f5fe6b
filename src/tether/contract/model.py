"""The contract of a server: for each namespace, the events a client may send (its handlers)
and the events it may receive (the declared ones), with the types of their arguments and
acknowledgements.

Only the namespaces a client can name are described: ``io.of("/chat")``, and ``/``.
Dynamic namespaces (``io.of(re.compile(...))``) are left out: they have no one name to
connect to. ``connection``/``disconnect`` and the other reserved events are not events a
client sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.sio import RESERVED_EVENTS
from tether.typed.signature import UNANNOTATED, Param, event_signature

if TYPE_CHECKING:
    from tether.namespace import Namespace
    from tether.server import Server

#: Events a namespace's handlers may be registered for that no client sends.
LIFECYCLE_EVENTS = frozenset({*RESERVED_EVENTS, "connection", "disconnecting"})


@dataclass(frozen=True, slots=True)
class Event:
    """One event and its types."""

    name: str
    #: Its arguments, in order (:data:`~tether.typed.signature.UNANNOTATED` annotations are
    #: "anything").
    params: tuple[Param, ...]
    #: The acknowledgement's argument types: ``None`` when unknown (an unannotated handler)
    #: or when a declared event expects none; ``()`` for an acknowledgement without
    #: arguments.
    ack: tuple[Any, ...] | None
    #: Whether anything about this event is known (``False``: an unannotated handler).
    typed: bool = True
    #: What the event means (the handler's or the declaration's docstring).
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class NamespaceContract:
    """The events of one namespace, sorted by name."""

    name: str
    #: Handled by the server: what a client sends.
    client_to_server: tuple[Event, ...]
    #: Declared with ``declare``: what a client receives.
    server_to_client: tuple[Event, ...]

    @property
    def prefix(self) -> str:
        """The prefix of this namespace's names in generated code: ``""`` for ``/``,
        ``"Chat"`` for ``/chat``, ``"AdminRoom1"`` for ``/admin/room-1``."""
        words = re.split(r"[^A-Za-z0-9]+", self.name)
        prefix = "".join(word[:1].upper() + word[1:] for word in words if word)
        if prefix[:1].isdigit():
            prefix = "N" + prefix
        return prefix


@dataclass(frozen=True, slots=True)
class Contract:
    """Every namespace a client can connect to, ``/`` first, then by name."""

    namespaces: tuple[NamespaceContract, ...]


def contract_of(io: Server) -> Contract:
    """The contract of ``io`` as registered now."""
    names = sorted(
        (name for name, nsp in io.namespaces.items() if nsp.parent is None),
        key=lambda name: (name != "/", name),
    )
    return Contract(tuple(namespace_contract(io.namespaces[name]) for name in names))


def namespace_contract(namespace: Namespace) -> NamespaceContract:
    """The events of one namespace."""
    incoming = []
    for name in sorted(namespace.handlers):
        if name in LIFECYCLE_EVENTS:
            continue
        func = namespace.handlers[name].func
        signature = event_signature(func, receives_socket=True)
        incoming.append(
            Event(name, signature.params, signature.ack, signature.annotated, _doc(func))
        )
    outgoing = []
    for name in sorted(namespace.declared):
        declared = namespace.declared[name]
        params = tuple(
            Param(param_name, annotation, True)
            for param_name, annotation in zip(
                _param_names(declared.args, name), declared.args, strict=True
            )
        )
        outgoing.append(Event(name, params, declared.ack, True, declared.doc))
    return NamespaceContract(namespace.name, tuple(incoming), tuple(outgoing))


def _doc(func: Any) -> str | None:
    doc = getattr(func, "__doc__", None)
    if not isinstance(doc, str) or (
        doc is getattr(type(func), "__doc__", None)
        and not callable(getattr(func, "__code__", None))
    ):
        return None
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()) or None


def _param_names(types: tuple[Any, ...], event: str) -> list[str]:
    """Readable argument names: ``chatMessage`` for a class ``ChatMessage``; else the event's
    name for its only argument (``channels: list[str]``), else ``arg1``, ``arg2``..."""
    names: list[str] = []
    for index, annotation in enumerate(types, 1):
        name = getattr(annotation, "__name__", None)
        if (
            isinstance(annotation, type)
            and isinstance(name, str)
            and name.isidentifier()
            and annotation.__module__ != "builtins"
        ):
            candidate = name[:1].lower() + name[1:]
        else:
            single = len(types) == 1 and event.isidentifier()
            candidate = event if single else f"arg{index}"
        while candidate in names:
            candidate += "_"
        names.append(candidate)
    return names


__all__ = ["UNANNOTATED", "Contract", "Event", "NamespaceContract", "contract_of"]
