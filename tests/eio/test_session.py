"""Heartbeat deadlines and session ids."""

from __future__ import annotations

import re

from tether.eio.session import Beat, Heartbeat, new_sid


def test_heartbeat_pings_then_times_out() -> None:
    beat = Heartbeat(interval=25.0, timeout=20.0, now=100.0)
    assert beat.deadline == 125.0
    assert beat.expire(125.0) is Beat.SEND_PING
    assert beat.deadline == 145.0
    assert beat.expire(145.0) is Beat.TIMED_OUT


def test_pong_moves_the_deadline() -> None:
    beat = Heartbeat(interval=0.3, timeout=0.2, now=0.0)
    assert beat.expire(0.3) is Beat.SEND_PING
    assert beat.pong(0.35)
    assert beat.deadline == 0.35 + 0.3
    assert beat.expire(0.65) is Beat.SEND_PING


def test_unsolicited_pong_is_reported() -> None:
    beat = Heartbeat(interval=1.0, timeout=1.0, now=0.0)
    assert not beat.pong(0.5)
    assert beat.deadline == 1.0


def test_sids_are_random_and_url_safe() -> None:
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", s) for s in sids)
