"""HTTP long-polling: a GET waits for packets, a POST brings them.

At most one GET is pending per session; what the session sends meanwhile waits in the
session's bounded buffer (:meth:`tether.eio.session.Session.queue`) and goes out in one
payload at the end of the loop iteration, so that the packets of one iteration share a
response.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from tether._compiled import mypyc_attr
from tether.aio.transports.base import TransportOwner
from tether.eio.encoded import Encoded
from tether.eio.errors import ErrorCode, ParseError, RequestError
from tether.eio.packet import split_payload
from tether.eio.session import Reason, State
from tether.http.exchange import Responder, WebSocketChannel
from tether.http.messages import JSON, TEXT_PLAIN

log = logging.getLogger("tether.engine")


@mypyc_attr(allow_interpreted_subclasses=True)
class PollingTransport:
    """One session's long-polling transport."""

    name: ClassVar[str] = "polling"
    handles_upgrades: ClassVar[bool] = False
    upgrades_to: ClassVar[tuple[str, ...]] = ("websocket",)

    __slots__ = ("_flush_scheduled", "owner", "poll")

    def __init__(self, owner: TransportOwner, websocket: WebSocketChannel | None = None) -> None:
        self.owner = owner
        #: The pending GET, if any.
        self.poll: Responder | None = None
        self._flush_scheduled = False

    @property
    def writable(self) -> bool:
        return self.poll is not None

    # -- sending ----------------------------------------------------------------------------

    def send(self, packet: str | bytes) -> None:
        owner = self.owner
        if owner.session.queue(packet):
            self._schedule_flush()
        else:
            log.debug("session %s: polling buffer full", owner.session.sid)
            owner.close_now(Reason.TRANSPORT_ERROR)

    def send_many(self, packets: list[str | bytes]) -> None:
        session = self.owner.session
        for packet in packets:
            if session.closed:
                return
            self.send(packet)

    def send_encoded(self, encoded: Encoded) -> None:
        self.send(encoded.packet)

    def send_ping(self) -> None:
        owner = self.owner
        if owner.session.queue_ping():
            self._schedule_flush()
        else:
            owner.close_now(Reason.TRANSPORT_ERROR)

    def _schedule_flush(self) -> None:
        # At the end of the iteration: what is sent in one iteration shares one response.
        if self.poll is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            self.owner.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Answer the pending GET with everything buffered (if both are there)."""
        self._flush_scheduled = False
        poll = self.poll
        session = self.owner.session
        if poll is None or not session.buffer:
            return
        self.poll = None
        self.owner.answer(poll, 200, TEXT_PLAIN, session.take_payload().encode())

    def release(self, packet: str) -> None:
        """Answer a pending GET that has nothing to carry with ``packet`` (a noop)."""
        poll, self.poll = self.poll, None
        if poll is not None:
            self.owner.answer(poll, 200, TEXT_PLAIN, packet.encode())

    # -- requests ---------------------------------------------------------------------------

    def on_get(self, responder: Responder) -> None:
        """A GET for this session: answered at once if packets wait, else kept pending."""
        owner = self.owner
        if self.poll is not None:
            log.debug("session %s: overlapping GET", owner.session.sid)
            error = RequestError(ErrorCode.BAD_REQUEST)
            owner.answer(responder, error.status, JSON, error.body())
            owner.close_now(Reason.TRANSPORT_ERROR)
            return
        self.poll = responder
        responder.on_disconnect(self._dropped)
        session = owner.session
        if session.buffer:
            self.flush()
        else:
            idle = session.answer_when_idle()
            if idle is not None:
                self.release(idle)

    def split(self, body: bytes) -> list[str | bytes]:
        """The packets of a POST's body (Engine.IO v4: UTF-8 text, separated by ``\x1e``)."""
        return split_payload(body.decode("utf-8"))

    def on_post(self, body: bytes) -> None:
        """A POST's body (already answered): its packets, in order."""
        owner = self.owner
        try:
            packets = self.split(body)
        except (ParseError, UnicodeDecodeError) as exc:
            log.debug("session %s: bad payload: %s", owner.session.sid, exc)
            owner.close_now(Reason.PARSE_ERROR)
            return
        session = owner.session
        for packet in packets:
            if session.closed:
                return
            if type(packet) is str:
                owner.on_text(packet)
            else:
                owner.on_binary(packet)  # type: ignore[arg-type]

    def _dropped(self) -> None:
        self.poll = None
        self.owner.close_now(Reason.TRANSPORT_ERROR)

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        poll, self.poll = self.poll, None
        session = self.owner.session
        if poll is None:
            return
        if session.state is State.CLOSED:
            self.owner.answer(poll, 200, TEXT_PLAIN, session.pending_get_answer().encode())
        else:
            self.deliver_close(poll)

    def deliver_close(self, responder: Responder) -> None:
        """A GET for a closing session: what it still owes, then the close packet."""
        self._flush_scheduled = False
        payload = self.owner.session.closing_payload()
        self.owner.answer(responder, 200, TEXT_PLAIN, payload.encode())
