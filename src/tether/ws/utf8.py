"""Incremental UTF-8 decoding that fails as soon as the input can no longer be valid.

RFC 6455 section 8.1 asks endpoints to fail a connection on invalid UTF-8 in a text message,
and Autobahn grades "fail fast" (rejecting a fragment as soon as it breaks the encoding, before
the message ends) as the strict behaviour.  CPython's incremental decoder already rejects every
impossible prefix at once except one family: ``ED A0..BF`` (the start of an encoded UTF-16
surrogate), which it keeps pending until the third byte arrives.  :class:`Utf8Decoder` adds that
one check.
"""

from __future__ import annotations

import codecs

_IncrementalDecoder = codecs.getincrementaldecoder("utf-8")


class Utf8Decoder:
    """Decode a UTF-8 stream chunk by chunk; raise ``UnicodeDecodeError`` at the first bad byte."""

    __slots__ = ("_decoder",)

    def __init__(self) -> None:
        self._decoder = _IncrementalDecoder()

    def decode(self, data: bytes, final: bool = False) -> str:
        """Return the text decoded so far from ``data`` (a trailing partial character is kept).

        With ``final=True`` the stream must end on a complete character.
        """
        decoder = self._decoder
        text = decoder.decode(data, final)
        if not final:
            pending = decoder.getstate()[0]
            if len(pending) == 2 and pending[0] == 0xED and pending[1] >= 0xA0:
                raise UnicodeDecodeError("utf-8", pending, 0, 2, "encoded surrogate")
        return text

    def reset(self) -> None:
        """Forget any pending partial character, ready for a new stream."""
        self._decoder.reset()
