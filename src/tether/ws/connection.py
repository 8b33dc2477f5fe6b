"""The sans-I/O WebSocket connection: bytes in, messages and events out, frames to write.

The I/O layer owns the socket and the clock; this object only parses and builds frames::

    for event in conn.receive_data(chunk):   # never raises on what the peer sends
        ...                                  # str / bytes messages, Ping, Pong, Close, ...
    transport.writelines(conn.data_to_send())  # automatic pongs, close replies, failure closes
    if conn.close_transport_now():
        transport.close()

Sending returns the frame bytes instead of queueing them, so the caller writes them at once.
Automatic frames wait in ``data_to_send()`` in the order of the events that caused them; an
I/O layer that wants the wire order to follow the input exactly writes them when it meets a
``Ping`` (or ``Close``/``ConnectionFailed``) event.  Data may be sent until our close frame
has been handed out (``can_send``), so a message that arrived just before the peer's close, or
before a protocol error, can still be answered ahead of the queued close frame.

State rules (RFC 6455 sections 5.5.1 and 7)::

    OPEN     --send_close()--------------------------------> CLOSING
    OPEN     --peer close (reply queued)--------------------> CLOSED
    CLOSING  --peer close----------------------------------> CLOSED
    any      --protocol error (close queued) / receive_eof--> CLOSED
    OPEN, CLOSING --fail()---------------------------------> CLOSED

Input stops after the peer's close frame or a failure.  A server closes TCP as soon as the
state is CLOSED; a client waits for the server to close it (the I/O layer arms a timeout)
unless the connection failed.

Receiving keeps at most one partial frame header or partial control frame (under 140 bytes)
between calls; the payload of a data frame is consumed as it arrives, unmasked, inflated and
UTF-8 validated chunk by chunk, so invalid text fails as soon as it is seen and a message never
buffers more than ``max_message_size`` bytes.  A frame whose bytes are all present and which is a
whole uncompressed message takes a short path straight to ``str``/``bytes``.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from .deflate import Compressor, Decompressor, DeflateParams
from .errors import InvalidStateError, ProtocolError
from .events import Close, ConnectionFailed, Event, Ping, Pong
from .frames import TEXT_HEADERS as _TEXT_HEADERS
from .frames import CloseCode, Opcode, apply_mask, build_close_payload, build_frame
from .frames import parse_close_payload as _parse_close
from .utf8 import Utf8Decoder

#: The empty list every connection holds until it needs one of its own (never changed in place).
_EMPTY: list[Any] = []

_PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR
_TOO_BIG = CloseCode.MESSAGE_TOO_BIG
_INVALID_DATA = CloseCode.INVALID_DATA


class Side(enum.Enum):
    """Which end of the connection this is; it decides who masks."""

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Where the connection is in its life (the opening handshake happens before it exists)."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection:
    """One WebSocket connection's protocol state, without I/O.

    ``max_message_size`` bounds a whole message (after decompression); ``deflate`` holds the
    permessage-deflate parameters negotiated in the handshake; ``fail_fast_utf8=False`` checks
    text only once the message is complete.
    """

    __slots__ = (
        "_buf",
        "_can_send",
        "_close_queued",
        "_close_sent",
        "_compressor",
        "_decompressor",
        "_eof",
        "_failed",
        "_frame_fin",
        "_frame_left",
        "_frame_mask",
        "_in_frame",
        "_input_closed",
        "_is_server",
        "_mask_bit",
        "_mask_pool",
        "_mask_pos",
        "_msg_compressed",
        "_msg_op",
        "_msg_size",
        "_msg_wire",
        "_out",
        "_parts",
        "_plain",
        "_utf8",
        "_wire_limit",
        "can_share_frames",
        "close_code",
        "close_reason",
        "fail_fast_utf8",
        "max_message_size",
        "side",
        "state",
    )

    def __init__(
        self,
        side: Side,
        *,
        max_message_size: int = 1_000_000,
        deflate: DeflateParams | None = None,
        fail_fast_utf8: bool = True,
    ) -> None:
        if max_message_size < 0:
            raise ValueError("max_message_size must not be negative")
        self.side = side
        self.max_message_size = max_message_size
        self.fail_fast_utf8 = fail_fast_utf8
        #: OPEN, CLOSING or CLOSED.
        self.state = State.OPEN
        #: The close code received from the peer, the one we failed with, or 1006 after EOF.
        self.close_code: int | None = None
        #: The reason that goes with ``close_code``.
        self.close_reason = ""
        self._is_server = side is Side.SERVER
        #: Whether every outgoing frame is the same bytes on every connection (server side,
        #: no compression), so the I/O layer may write one prebuilt frame to many sockets.
        self.can_share_frames = self._is_server and deflate is None
        # Frames are built the same way for every message: unmasked and never compressed.
        self._plain = self.can_share_frames
        self._mask_bit = 0x80 if self._is_server else 0  # what received frames must carry
        self._compressor: Compressor | None = None
        self._decompressor: Decompressor | None = None
        if deflate is not None:
            self._compressor, self._decompressor = deflate.codecs(self._is_server)
        # A compressed message may take a little more room on the wire than once inflated.
        self._wire_limit = max_message_size + (max_message_size >> 3) + 1024
        self._out: list[bytes] = _EMPTY
        self._buf = b""
        self._input_closed = False
        self._close_sent = False  # a close frame exists (returned, or queued)
        self._close_queued = False  # ... and it waits in the queue
        self._can_send = True
        self._eof = False
        self._failed = False
        self._in_frame = False
        self._frame_left = 0
        self._frame_fin = False
        self._frame_mask: bytes | None = None
        self._msg_op = 0
        self._msg_compressed = False
        self._msg_size = 0
        self._msg_wire = 0
        # The pieces of a fragmented (or partly received) message: decoded text, or bytes.
        self._parts: list[Any] = _EMPTY
        self._utf8: Utf8Decoder | None = None  # made for the first text that needs it
        self._mask_pool = b""
        self._mask_pos = 0

    # -- receiving --------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[str | bytes | Event]:
        """Feed bytes read from the socket; return the complete messages and events in them.

        Never raises on bad input: a protocol violation yields ``ConnectionFailed`` (and queues
        a close frame with its code), after which further input is ignored.
        """
        events: list[str | bytes | Event] = []
        if self._input_closed or not data:
            return events
        if type(data) is not bytes:
            data = bytes(data)
        if self._buf:
            data = self._buf + data
            self._buf = b""
        try:
            self._parse(data, events)
        except ProtocolError as exc:
            self._fail(exc.code, exc.reason, events)
        return events

    def _parse(self, data: bytes, events: list[str | bytes | Event]) -> None:
        pos = 0
        end = len(data)
        if self._in_frame:
            pos = self._stream(data, 0, events)
            if self._in_frame:
                return
        mask_bit = self._mask_bit
        extra = 4 if mask_bit else 0
        max_size = self.max_message_size
        while end - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            if b1 & 0x80 != mask_bit:
                raise ProtocolError(
                    _PROTOCOL_ERROR,
                    "unmasked frame from a client" if mask_bit else "masked frame from a server",
                )
            opcode = b0 & 0x0F
            if b0 & 0x70 and (b0 & 0x30 or self._decompressor is None or not 1 <= opcode <= 2):
                raise ProtocolError(_PROTOCOL_ERROR, "reserved bits set")
            n = b1 & 0x7F
            start = pos + 2 + extra
            if opcode >= 8:
                if opcode > 10:
                    raise ProtocolError(_PROTOCOL_ERROR, f"reserved opcode {opcode}")
                if not b0 & 0x80:
                    raise ProtocolError(_PROTOCOL_ERROR, "fragmented control frame")
                if n > 125:
                    raise ProtocolError(_PROTOCOL_ERROR, "control frame longer than 125 bytes")
                stop = start + n
                if stop > end:
                    break
                payload = data[start:stop]
                if mask_bit:
                    payload = apply_mask(payload, data[start - 4 : start])
                pos = stop
                self._control(opcode, payload, events)
                if self._input_closed:
                    return
                continue
            if opcode == 0:
                if not self._msg_op:
                    raise ProtocolError(_PROTOCOL_ERROR, "continuation frame without a message")
            elif opcode > 2:
                raise ProtocolError(_PROTOCOL_ERROR, f"reserved opcode {opcode}")
            elif self._msg_op:
                raise ProtocolError(_PROTOCOL_ERROR, "new message inside a fragmented one")
            if n >= 126:
                if n == 126:
                    if end - pos < 4:
                        break
                    n = (data[pos + 2] << 8) | data[pos + 3]
                    start += 2
                else:
                    if end - pos < 10:
                        break
                    n = int.from_bytes(data[pos + 2 : pos + 10], "big")
                    if n >> 63:
                        raise ProtocolError(_PROTOCOL_ERROR, "frame length over 2**63")
                    start += 8
            stop = start + n
            if b0 & 0xC0 == 0x80 and opcode and stop <= end and n <= max_size:
                # Short path: one whole uncompressed message in one frame, all bytes present.
                payload = data[start:stop]
                if mask_bit:
                    payload = apply_mask(payload, data[start - 4 : start])
                pos = stop
                if opcode == 1:
                    try:
                        events.append(payload.decode())
                    except UnicodeDecodeError:
                        raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text") from None
                else:
                    events.append(payload)
                continue
            if start > end:
                break  # the masking key is not all here yet
            if opcode:
                self._msg_op = opcode
                self._msg_compressed = bool(b0 & 0x40)
            if self._msg_compressed:
                self._msg_wire += n
                if self._msg_wire > self._wire_limit:
                    raise ProtocolError(_TOO_BIG, "message too big")
            else:
                self._msg_size += n
                if self._msg_size > max_size:
                    raise ProtocolError(_TOO_BIG, "message too big")
            self._in_frame = True
            self._frame_left = n
            self._frame_fin = bool(b0 & 0x80)
            self._frame_mask = data[start - 4 : start] if mask_bit else None
            pos = self._stream(data, start, events)
            if self._in_frame:
                return
        if pos < end:
            self._buf = data[pos:]

    def _stream(self, data: bytes, pos: int, events: list[str | bytes | Event]) -> int:
        """Consume what is present of the current data frame's payload; return the new offset."""
        left = self._frame_left
        take = min(left, len(data) - pos)
        if take == 0 and left:
            return pos
        chunk = data[pos : pos + take]
        mask = self._frame_mask
        if mask is not None:
            chunk = apply_mask(chunk, mask)
            shift = take & 3
            if shift:
                self._frame_mask = mask[shift:] + mask[:shift]
        left -= take
        self._frame_left = left
        if left:
            self._message_data(chunk, False, events)
        else:
            self._in_frame = False
            self._message_data(chunk, self._frame_fin, events)
        return pos + take

    def _message_data(self, chunk: bytes, last: bool, events: list[str | bytes | Event]) -> None:
        """Add one payload chunk to the message being assembled; emit it when ``last``."""
        if self._msg_compressed:
            assert self._decompressor is not None
            limit = self.max_message_size - self._msg_size
            chunk = self._decompressor.decompress(chunk, last, limit)
            self._msg_size += len(chunk)
        if self._msg_op == 1 and self.fail_fast_utf8:
            utf8 = self._utf8
            if utf8 is None:
                utf8 = self._utf8 = Utf8Decoder()
            try:
                text = utf8.decode(chunk, last)
            except UnicodeDecodeError:
                raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text") from None
            if text:
                self._add_part(text)
        elif chunk:
            self._add_part(chunk)
        if not last:
            return
        message: str | bytes
        if self._msg_op == 1:
            if self.fail_fast_utf8:
                message = "".join(self._parts)
            else:
                try:
                    message = b"".join(self._parts).decode()
                except UnicodeDecodeError:
                    raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text") from None
        else:
            message = b"".join(self._parts)
        self._parts = _EMPTY
        self._msg_op = 0
        self._msg_size = 0
        self._msg_wire = 0
        events.append(message)

    def _add_part(self, part: str | bytes) -> None:
        if self._parts is _EMPTY:
            self._parts = []
        self._parts.append(part)

    def _queue_frame(self, frame: bytes) -> None:
        if self._out is _EMPTY:
            self._out = []
        self._out.append(frame)

    def _control(self, opcode: int, payload: bytes, events: list[str | bytes | Event]) -> None:
        if opcode == Opcode.PING:
            events.append(Ping(payload))
            if not self._close_sent:
                self._queue_frame(self._frame(Opcode.PONG, payload))
        elif opcode == Opcode.PONG:
            events.append(Pong(payload))
        else:
            code, reason = _parse_close(payload)
            self.close_code = code
            self.close_reason = reason
            if not self._close_sent:
                echo = b"" if code == CloseCode.NO_STATUS else code.to_bytes(2, "big")
                self._queue_close(echo)
            self._stop_input()
            events.append(Close(code, reason))

    def _fail(self, code: int, reason: str, events: list[str | bytes | Event]) -> None:
        self._failed = True
        self.close_code = code
        self.close_reason = reason
        if not self._close_sent:
            # The code only: the reason stays in the event, for the logs.  Node's ws sends
            # none either, and clients compare (engine.io-client's test of a 1009 expects "").
            self._queue_close(code.to_bytes(2, "big"))
        self._stop_input()
        events.append(ConnectionFailed(code, reason))

    def _queue_close(self, payload: bytes) -> None:
        self._close_sent = True
        self._close_queued = True
        self._queue_frame(self._frame(Opcode.CLOSE, payload))

    def _stop_input(self) -> None:
        self.state = State.CLOSED
        self._input_closed = True
        self._in_frame = False
        self._buf = b""
        self._parts = _EMPTY

    def receive_eof(self) -> None:
        """The peer closed TCP; without a close frame first that is 1006, abnormal closure."""
        self._eof = True
        self._can_send = False
        if self.state is not State.CLOSED:
            self.close_code = CloseCode.ABNORMAL
            self.close_reason = ""
        self._stop_input()

    def data_to_send(self) -> list[bytes]:
        """Take the queued automatic frames (pongs, close replies, failure closes).

        Once this hands out a close frame, sending is over (see :attr:`can_send`).
        """
        out = self._out
        if not out:
            return []
        self._out = _EMPTY
        if self._close_queued:
            self._close_queued = False
            self._can_send = False
        return out

    def close_transport_now(self) -> bool:
        """Whether the I/O layer should close TCP now (after writing ``data_to_send()``).

        True after a failure or EOF, and on the server side once the close handshake is done.
        A client whose close handshake is done should wait a little for the server to close.
        """
        if self._failed or self._eof:
            return True
        return self._is_server and self.state is State.CLOSED

    def fail(self, code: int | None, reason: str = "") -> bytes:
        """Fail the connection for an error found above this layer (a malformed message).

        Returns the close frame to write before closing TCP, or ``b""`` when a close frame was
        already sent or the connection is CLOSED.  From then on the state is CLOSED, input is
        ignored, nothing more may be sent, :attr:`failed` is true and
        :meth:`close_transport_now` says to close.  ``code=None`` sends an empty close payload.
        Raises ``ValueError`` like :meth:`send_close` for a code or reason that may not be sent.
        """
        payload = build_close_payload(code, reason)
        if self.state is State.CLOSED:
            return b""
        self._failed = True
        self.close_code = CloseCode.NO_STATUS if code is None else code
        self.close_reason = reason
        self._can_send = False
        self._stop_input()
        if self._close_sent:
            return b""
        self._close_sent = True
        return self._frame(Opcode.CLOSE, payload)

    @property
    def can_send(self) -> bool:
        """Whether ``send_*`` may be called: until our close frame has been handed out.

        After the peer's close or a protocol failure the close frame waits in
        ``data_to_send()``; until it is taken, replies to messages that arrived before it may
        still be sent (write them first, then the queued frames).
        """
        return self._can_send

    @property
    def failed(self) -> bool:
        """Whether the connection was failed: a protocol error by the peer, or :meth:`fail`."""
        return self._failed

    # -- sending ----------------------------------------------------------------------------

    def _next_mask(self) -> bytes:
        pos = self._mask_pos
        if pos >= len(self._mask_pool):
            self._mask_pool = os.urandom(256)
            pos = 0
        self._mask_pos = pos + 4
        return self._mask_pool[pos : pos + 4]

    def _frame(self, opcode: int, payload: bytes, rsv1: bool = False) -> bytes:
        if self._is_server:
            return build_frame(opcode, payload, rsv1=rsv1)
        return build_frame(opcode, payload, rsv1=rsv1, mask=self._next_mask())

    def _data_frame(self, opcode: int, payload: bytes, compress: bool = True) -> bytes:
        if not self._can_send:
            raise InvalidStateError("cannot send after the close frame")
        compressor = self._compressor
        if compress and compressor is not None and len(payload) >= compressor.threshold:
            return self._frame(opcode, compressor.compress(payload), True)
        if self._is_server:
            return build_frame(opcode, payload)
        return build_frame(opcode, payload, mask=self._next_mask())

    def send_text(self, text: str, compress: bool = True) -> bytes:
        """The frame for a text message (masked on the client side, compressed if negotiated
        and ``compress``)."""
        payload = text.encode()
        if self._plain and len(payload) < 126 and self._can_send:
            return _TEXT_HEADERS[len(payload)] + payload  # the server's usual small message
        return self._data_frame(Opcode.TEXT, payload, compress)

    def send_binary(self, data: bytes, compress: bool = True) -> bytes:
        """The frame for a binary message (masked on the client side, compressed if negotiated
        and ``compress``)."""
        return self._data_frame(Opcode.BINARY, data, compress)

    def send_ping(self, payload: bytes = b"") -> bytes:
        """A ping frame (payload at most 125 bytes)."""
        if not self._can_send:
            raise InvalidStateError("cannot ping after the close frame")
        return self._frame(Opcode.PING, payload)

    def send_pong(self, payload: bytes = b"") -> bytes:
        """An unsolicited pong frame (payload at most 125 bytes)."""
        if not self._can_send:
            raise InvalidStateError("cannot pong after the close frame")
        return self._frame(Opcode.PONG, payload)

    def send_close(self, code: int | None = CloseCode.NORMAL, reason: str = "") -> bytes:
        """Start the closing handshake: the close frame to write; state becomes CLOSING.

        Returns ``b""`` when a close frame was already sent (for instance the automatic reply to
        the peer's close), so calling it twice is harmless.  ``code=None`` sends an empty close
        payload.  Raises ``ValueError`` for a code that may not be sent or a reason over 123
        bytes.
        """
        payload = build_close_payload(code, reason)
        if self._close_sent or self.state is State.CLOSED:
            return b""
        self._close_sent = True
        self._can_send = False
        self.state = State.CLOSING
        return self._frame(Opcode.CLOSE, payload)
