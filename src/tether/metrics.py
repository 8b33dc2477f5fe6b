"""Prometheus metrics of a tether server (the ``metrics`` extra: ``prometheus_client``).

:func:`enable` counts what goes through the server and serves the metrics at a path of its
port (``/metrics``) or on a port of their own; off until it is called. What moves is counted
in plain integers on the way (a few additions per message, no lock, no label lookup); what
is a state (sockets, sessions, the adapter) is read when Prometheus scrapes.

========================================= =====================================================
``tether_engine_sessions{transport}``     Engine.IO sessions open, by transport
``tether_sockets{namespace}``             Socket.IO sockets connected, by namespace
``tether_handshakes_total``               Engine.IO sessions opened
``tether_refusals_total{reason}``         requests and CONNECTs refused: ``origin``,
                                          ``allow_request``, ``unknown_sid``,
                                          ``unknown_transport``, ``bad_request``,
                                          ``bad_handshake_method``,
                                          ``unsupported_protocol_version``, ``namespace``
                                          (a CONNECT refused: middleware, handler, unknown
                                          or too many namespaces)
``tether_upgrades_total{transport}``      upgrades from polling
``tether_disconnections_total{reason}``   sessions closed, by reason
``tether_packets_received_total``         Socket.IO packets (and attachments) received
``tether_events_received_total``          of which events
``tether_received_bytes_total``           their size (UTF-8 bytes of text, bytes of binary;
                                          Engine.IO framing excluded)
``tether_packets_sent_total``             packets sent to one client (the acks of its events
                                          included)
``tether_events_sent_total``              of which events
``tether_sent_bytes_total``               their size
``tether_broadcasts_total``               broadcasts made on this server (with or without acks)
``tether_broadcast_deliveries_total``     packets of broadcasts written to a client (fan-out)
``tether_ack_seconds``                    histogram: from an emit to its ack, one per reply
                                          (``emit(..., callback=)``, ``emit_with_ack``, each
                                          client's reply to a broadcast with acks, timed on
                                          the server the client is connected to)
``tether_ack_timeouts_total``             acks not in time: an ``emit_with_ack`` to one
                                          client, or one per client that did not answer a
                                          broadcast with acks
``tether_volatile_dropped_total``         volatile broadcast packets dropped (slow reader)
``tether_slow_reader_closes_total``       connections closed for reading too slowly
                                          (``max_write_buffer``; every server of the process)
``tether_adapter_connected``              1 when the cluster adapter's link is up, else 0
``tether_adapter_pending``                messages waiting for the adapter's link
``tether_adapter_dropped_total``          messages the adapter's link dropped (outbox full)
``tether_adapter_requests_timed_out_total`` cluster requests (``fetch_sockets``...) that not
                                          every server answered in time (every server of
                                          the process)
========================================= =====================================================

Text is sized in UTF-8 bytes without encoding it for ASCII text (``str.isascii`` reads a
flag of the string); other text is encoded once more to be sized, only while metrics are on.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tether.adapters.pending import PendingRequest
from tether.aio.writer import Writer
from tether.client_session import ClientSession

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from tether.http.exchange import Responder, Upgrade
    from tether.http.messages import Request
    from tether.server import Server

log = logging.getLogger("tether.metrics")


#: The upper bounds of the ack round-trip histogram (seconds).
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Counts:
    """What moved through one server since :func:`enable`."""

    __slots__ = (
        "ack_buckets",
        "ack_count",
        "ack_sum",
        "ack_timeouts",
        "broadcasts",
        "bytes_in",
        "bytes_out",
        "deliveries",
        "disconnections",
        "events_in",
        "events_out",
        "handshakes",
        "packets_in",
        "packets_out",
        "refusals",
        "upgrades",
        "volatile_dropped",
    )

    def __init__(self) -> None:
        self.handshakes = 0
        self.packets_in = 0
        self.events_in = 0
        self.bytes_in = 0
        self.packets_out = 0
        self.events_out = 0
        self.bytes_out = 0
        self.deliveries = 0
        self.broadcasts = 0
        self.volatile_dropped = 0
        self.ack_timeouts = 0
        self.ack_buckets = [0] * (len(ACK_BUCKETS) + 1)
        self.ack_count = 0
        self.ack_sum = 0.0
        self.refusals: dict[str, int] = {}
        self.upgrades: dict[str, int] = {}
        self.disconnections: dict[str, int] = {}

    # -- the engine's observer --------------------------------------------------------------

    def refused(self, reason: str) -> None:
        """A request or a CONNECT refused."""
        self.refusals[reason] = self.refusals.get(reason, 0) + 1

    def upgraded(self, socket: Any) -> None:
        """A session (an :class:`~tether.aio.engine_socket.EngineSocket`) upgraded."""
        transport = socket.transport.name
        self.upgrades[transport] = self.upgrades.get(transport, 0) + 1

    # -- acks -------------------------------------------------------------------------------

    def timed_ack(self, callback: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        """``callback``, timing the round trip from now to its call."""
        start = time.monotonic()

        def timed(args: list[Any]) -> None:
            elapsed = time.monotonic() - start
            self.ack_buckets[bisect_left(ACK_BUCKETS, elapsed)] += 1
            self.ack_count += 1
            self.ack_sum += elapsed
            callback(args)

        return timed


# Event packets: "2" (EVENT) and "5" (BINARY_EVENT) first.
_EVENT_TYPES = ("2", "5")


def counting_session_class(base: type[ClientSession], counts: Counts) -> type[ClientSession]:
    """A subclass of ``base`` (the server's session class) that counts into ``counts``."""

    # The base methods called directly: cheaper than super() on the path of every message.
    base_on_message = base.on_message
    base_send_parts = base.send_parts

    class CountingSession(base):  # type: ignore[valid-type,misc]
        __slots__ = ()

        def __init__(self, server: Any, engine: Any) -> None:
            super().__init__(server, engine)
            counts.handshakes += 1

        def on_message(self, data: str | bytes) -> None:
            counts.packets_in += 1
            if type(data) is str:
                counts.bytes_in += len(data) if data.isascii() else len(data.encode())
                if data.startswith(_EVENT_TYPES):
                    counts.events_in += 1
            else:
                counts.bytes_in += len(data)
            base_on_message(self, data)

        def send_parts(self, parts: list[str | bytes]) -> None:
            counts.packets_out += 1
            first = parts[0]
            if type(first) is str and first.startswith(_EVENT_TYPES):
                counts.events_out += 1
            for part in parts:
                # UTF-8 bytes; str.isascii() is O(1) in CPython (a flag of the string)
                if type(part) is str and not part.isascii():
                    counts.bytes_out += len(part.encode())
                else:
                    counts.bytes_out += len(part)
            base_send_parts(self, parts)

        def write_encoded(self, parts: list[Any], volatile: bool) -> None:
            if volatile and not self.engine.writable:
                counts.volatile_dropped += 1
            else:
                counts.deliveries += 1
            super().write_encoded(parts, volatile)

        def refuse(self, nsp: str, error: Exception) -> None:
            counts.refused("namespace")
            super().refuse(nsp, error)

        def on_close(self, reason: str) -> None:
            counts.disconnections[reason] = counts.disconnections.get(reason, 0) + 1
            super().on_close(reason)

        def close(self, reason: str = "forced server close") -> None:
            counts.disconnections[reason] = counts.disconnections.get(reason, 0) + 1
            super().close(reason)

    return CountingSession


class Collector:
    """The metrics of one server, read when Prometheus scrapes."""

    def __init__(self, io: Server, counts: Counts) -> None:
        self.io = io
        self.counts = counts

    def collect(self) -> Iterator[Any]:
        """The metric families (``prometheus_client``'s collector protocol)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        io, counts = self.io, self.counts
        sessions = GaugeMetricFamily(
            "tether_engine_sessions", "Engine.IO sessions open", labels=["transport"]
        )
        by_transport: dict[str, int] = {"polling": 0, "websocket": 0}
        for session in list(io.engine.sessions.values()):
            name = session.transport.name
            by_transport[name] = by_transport.get(name, 0) + 1
        for name, count in sorted(by_transport.items()):
            sessions.add_metric([name], count)
        yield sessions
        sockets = GaugeMetricFamily(
            "tether_sockets", "Socket.IO sockets connected", labels=["namespace"]
        )
        for namespace in list(io.namespaces.values()):
            sockets.add_metric([namespace.name], len(namespace.sockets))
        yield sockets

        def counter(name: str, text: str, value: int) -> CounterMetricFamily:
            return CounterMetricFamily(name, text, value=value)

        def labelled(name: str, text: str, label: str, values: dict[str, int]) -> Any:
            family = CounterMetricFamily(name, text, labels=[label])
            for key, value in sorted(dict(values).items()):
                family.add_metric([key], value)
            return family

        yield counter("tether_handshakes", "Engine.IO sessions opened", counts.handshakes)
        yield labelled(
            "tether_refusals", "Requests and CONNECTs refused", "reason", counts.refusals
        )
        yield labelled("tether_upgrades", "Upgrades from polling", "transport", counts.upgrades)
        yield labelled("tether_disconnections", "Sessions closed", "reason", counts.disconnections)
        yield counter("tether_packets_received", "Packets received", counts.packets_in)
        yield counter("tether_events_received", "Events received", counts.events_in)
        yield counter("tether_received_bytes", "UTF-8 bytes of what was received", counts.bytes_in)
        yield counter(
            "tether_packets_sent", "Packets sent to one client, acks included", counts.packets_out
        )
        yield counter("tether_events_sent", "Events sent to one client", counts.events_out)
        yield counter(
            "tether_sent_bytes", "UTF-8 bytes of what was sent to one client", counts.bytes_out
        )
        yield counter(
            "tether_broadcast_deliveries",
            "Broadcast packets written to a client",
            counts.deliveries,
        )
        yield counter("tether_broadcasts", "Broadcasts made", counts.broadcasts)
        buckets, total = [], 0
        for bound, count in zip(ACK_BUCKETS, counts.ack_buckets, strict=False):
            total += count
            buckets.append((str(bound), total))
        buckets.append(("+Inf", counts.ack_count))
        yield HistogramMetricFamily(
            "tether_ack_seconds",
            "From an emit to its ack, per reply",
            buckets=buckets,
            sum_value=counts.ack_sum,
        )
        yield counter("tether_ack_timeouts", "Acks not in time", counts.ack_timeouts)
        yield counter(
            "tether_adapter_requests_timed_out",
            "Cluster requests not every server answered in time",
            PendingRequest.timed_out,
        )
        yield counter(
            "tether_volatile_dropped", "Volatile packets dropped", counts.volatile_dropped
        )
        yield counter(
            "tether_slow_reader_closes", "Connections closed for reading slowly", Writer.overflows
        )
        link = getattr(getattr(io, "_adapter_factory", None), "link", None)
        if link is not None:
            yield GaugeMetricFamily(
                "tether_adapter_connected", "Cluster adapter link up", value=int(link.connected)
            )
            yield GaugeMetricFamily(
                "tether_adapter_pending", "Messages waiting for the link", value=link.pending
            )
            yield counter("tether_adapter_dropped", "Messages the link dropped", link.dropped)


class MetricsEndpoint:
    """A mounted app (see :class:`tether.aio.listener.Router`) answering ``path`` with the
    metrics in Prometheus' text format."""

    def __init__(self, registry: CollectorRegistry, path: str = "/metrics") -> None:
        self.registry = registry
        self.path = path

    def handles(self, path: str) -> bool:
        """Whether ``path`` is the metrics path."""
        return path == self.path

    def handle_request(self, request: Request, responder: Responder) -> None:
        """The metrics."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if request.method not in ("GET", "HEAD"):
            responder.send(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"")
            return
        body = generate_latest(self.registry)
        headers = [("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")]
        responder.send(200, headers, b"" if request.method == "HEAD" else body)

    def handle_upgrade(self, upgrade: Upgrade) -> None:
        """No WebSocket here."""
        upgrade.reject(400, [("Content-Type", "text/plain")], b"Bad Request")


class Metrics:
    """What :func:`enable` set up: :attr:`counts`, the :attr:`registry`."""

    def __init__(self, counts: Counts, registry: CollectorRegistry) -> None:
        self.counts = counts
        self.registry = registry
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def close(self) -> None:
        """Stop the port of its own, if any."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def enable(
    io: Server,
    path: str | None = "/metrics",
    port: int | None = None,
    host: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
) -> Metrics:
    """Count what goes through ``io`` and serve Prometheus metrics (see the module's list).

    Args:
        io: the server; call this before it serves.
        path: answer this path of the server's own port (``None``: not there).
        port: also serve them on this port of their own (``prometheus_client``'s server in a
            thread), on ``host``.
        host: the address of that port (loopback by default).
        registry: a ``prometheus_client`` registry to add them to (default: a new one of
            this server's own, with the process' metrics).

    Needs the ``metrics`` extra: ``pip install 'tether[metrics]'``.
    """
    try:
        from prometheus_client import (
            CollectorRegistry,
            PlatformCollector,
            ProcessCollector,
            start_http_server,
        )
    except ImportError as error:
        raise RuntimeError(
            "metrics need prometheus_client: pip install 'tether[metrics]'"
        ) from error
    if registry is None:
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    counts = Counts()
    registry.register(Collector(io, counts))
    io.session_class = counting_session_class(io.session_class, counts)
    io.engine.observe(counts)
    io.metrics = counts
    for namespace in [*io.namespaces.values(), *(parent for _, parent in io._parents)]:
        namespace.metrics = counts
    metrics = Metrics(counts, registry)
    if path is not None:
        io.router.apps.insert(0, MetricsEndpoint(registry, path))
    if port is not None:
        server, thread = start_http_server(port, host, registry)
        metrics._server, metrics._thread = server, thread
        log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return metrics
