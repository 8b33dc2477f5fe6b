"""The Socket.IO packet-layer error tree.

::

    SocketIOError
    ├── DecodeError     the peer sent something that is not a valid Socket.IO packet (remote)
    └── EncodeError     the application asked to send data that cannot be encoded (local)

A :class:`DecodeError` is the peer's fault: the connection should be closed (Node's server
closes it with the reason ``"parse error"``). An :class:`EncodeError` is a programming error on
our side, such as an object JSON cannot represent; it is also a :class:`TypeError`, like the
errors ``orjson.dumps`` raises.
"""

from __future__ import annotations


class SocketIOError(Exception):
    """Base class of every error raised by :mod:`tether.sio`."""


class DecodeError(SocketIOError, ValueError):
    """A malformed packet, payload or attachment received from the peer."""


class EncodeError(SocketIOError, TypeError):
    """Data that cannot be encoded as a Socket.IO packet (not JSON-serializable)."""
