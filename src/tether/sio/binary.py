"""Binary attachments: swap binary values for placeholders and back.

Before a packet is sent, every binary value in its payload (``bytes``, ``bytearray`` or
``memoryview``, at any depth inside lists, tuples and dicts) is replaced by
``{"_placeholder":true,"num":N}`` and sent as the N-th attachment after the text part.
The receiver puts the attachments back where the placeholders are.
"""

from __future__ import annotations

from typing import Any, Final

from tether.sio.errors import DecodeError, EncodeError

_BINARY: Final = (bytes, bytearray, memoryview)

#: How deep :func:`deconstruct` goes before it gives up (``orjson.dumps`` refuses deeper data
#: anyway); a circular structure ends here instead of in a ``RecursionError``.
MAX_DEPTH: Final = 254


def is_binary(value: object) -> bool:
    """Whether ``value`` is sent as a binary attachment."""
    return isinstance(value, _BINARY)


def deconstruct(data: Any) -> tuple[Any, list[bytes]]:
    """Return a copy of ``data`` with placeholders for its binary values, and those values.

    ``data`` itself is not modified. ``bytearray`` and ``memoryview`` attachments are copied
    into ``bytes``, so a caller may reuse its buffer once this returns. Containers are lists,
    tuples (which become lists) and dicts; any other object is kept as it is.

    Raises :class:`EncodeError` when ``data`` is nested deeper than :data:`MAX_DEPTH`
    (a circular structure included).
    """
    buffers: list[bytes] = []
    return _replace(data, buffers, 0), buffers


#: Types :func:`_replace` returns as they are without looking further.
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _replace(data: Any, buffers: list[bytes], depth: int) -> Any:
    kind = type(data)
    if kind is bytes:
        buffers.append(data)
        return {"_placeholder": True, "num": len(buffers) - 1}
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            raise EncodeError(f"data is nested deeper than {MAX_DEPTH} levels (or circular)")
        out = list(data)
        for i, item in enumerate(out):
            if type(item) not in _SCALARS:
                out[i] = _replace(item, buffers, depth + 1)
        return out
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise EncodeError(f"data is nested deeper than {MAX_DEPTH} levels (or circular)")
        return {
            key: value if type(value) in _SCALARS else _replace(value, buffers, depth + 1)
            for key, value in data.items()
        }
    if kind in _SCALARS:
        return data
    # Subclasses, bytearray and memoryview: the general checks.
    if isinstance(data, _BINARY):
        buffers.append(bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, dict):
        if depth >= MAX_DEPTH:
            raise EncodeError(f"data is nested deeper than {MAX_DEPTH} levels (or circular)")
        return {key: _replace(value, buffers, depth + 1) for key, value in data.items()}
    if isinstance(data, list | tuple):
        if depth >= MAX_DEPTH:
            raise EncodeError(f"data is nested deeper than {MAX_DEPTH} levels (or circular)")
        return [_replace(item, buffers, depth + 1) for item in data]
    return data


def reconstruct(data: Any, buffers: list[bytes]) -> Any:
    """Put ``buffers`` in place of the placeholders in ``data`` and return the result.

    ``data`` is decoded JSON (only ``dict``, ``list`` and scalars); its containers are updated
    in place. A placeholder is a dict whose ``_placeholder`` is ``true``; its ``num`` must be an
    integer in ``range(len(buffers))``, else :class:`DecodeError` is raised. The walk uses an
    explicit stack, so deeply nested input cannot exhaust Python's recursion limit.
    """
    stack: list[Any] = []
    push = stack.append
    key: int | str  # a list's index, a dict's key (a compiled build checks the declared type)
    if type(data) is list:
        # The top level first (where placeholders mostly are), then whatever is nested.
        for key, value in enumerate(data):
            kind = type(value)
            if kind is dict:
                if value.get("_placeholder") is True:
                    data[key] = _attachment(value, buffers)
                else:
                    push(value)
            elif kind is list:
                push(value)
    elif type(data) is dict:
        if data.get("_placeholder") is True:
            return _attachment(data, buffers)
        push(data)
    else:
        return data
    pop = stack.pop
    while stack:
        node = pop()
        items = enumerate(node) if type(node) is list else node.items()
        for key, value in items:
            kind = type(value)
            if kind is dict:
                if value.get("_placeholder") is True:
                    node[key] = _attachment(value, buffers)
                else:
                    push(value)
            elif kind is list:
                push(value)
    return data


def _attachment(placeholder: dict[str, Any], buffers: list[bytes]) -> bytes:
    num = placeholder.get("num")
    if type(num) is not int or not 0 <= num < len(buffers):
        # Never repr() untrusted data: it may be huge or nested beyond the recursion limit.
        got = str(num) if type(num) is int else type(num).__name__
        raise DecodeError(
            f"illegal attachments: placeholder num must be an integer in "
            f"0..{len(buffers) - 1}, got {got}"
        )
    return buffers[num]
