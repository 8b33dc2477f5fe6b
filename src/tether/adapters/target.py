"""The native base class of a local socket, as the in-memory adapter writes to it."""

from __future__ import annotations

from tether._compiled import mypyc_attr
from tether.eio.encoded import Encoded


@mypyc_attr(allow_interpreted_subclasses=True)
class BroadcastTarget:
    """A socket of this process that a broadcast reaches: the base class of
    :class:`tether.Socket`.

    Adapters know sockets only by the :class:`~tether.adapters.base.SocketLike` protocol;
    compiled code calls a protocol's methods as Python methods (a lookup and an argument
    parse each). The in-memory adapter calls :meth:`write_encoded` on instances of this class
    directly instead, once per recipient of each broadcast.
    """

    __slots__ = ()

    def write_encoded(self, parts: list[Encoded], volatile: bool) -> None:
        """Write packet parts encoded once for many sockets."""
        raise NotImplementedError
