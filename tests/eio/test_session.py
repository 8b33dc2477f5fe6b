"""The sans-I/O Engine.IO session: its transition table, heartbeat, polling buffer, close."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.eio.errors import ParseError, StateError
from tether.eio.session import (
    TRANSITIONS,
    Beat,
    Control,
    ProbeStep,
    Reason,
    Session,
    State,
    Trigger,
    new_sid,
)


def polling(max_buffer: int = 1000, now: float = 0.0) -> Session:
    return Session(
        "sid",
        websocket=False,
        ping_interval=25.0,
        ping_timeout=20.0,
        max_buffer=max_buffer,
        now=now,
    )


def websocket(now: float = 0.0) -> Session:
    return Session(
        "sid", websocket=True, ping_interval=25.0, ping_timeout=20.0, max_buffer=1000, now=now
    )


# -- the table ------------------------------------------------------------------------------


def test_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(State)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_fire_follows_the_table_and_refuses_the_rest(state: State, trigger: Trigger) -> None:
    session = polling()
    session.state = state
    expected = TRANSITIONS[state].get(trigger)
    if expected is None:
        with pytest.raises(StateError):
            session.fire(trigger)
        assert session.state is state
    else:
        assert session.fire(trigger) is expected
        assert session.state is expected


def test_closed_is_final() -> None:
    assert TRANSITIONS[State.CLOSED] == {}


# -- receiving ------------------------------------------------------------------------------


def test_message_returns_its_data() -> None:
    assert polling().receive_text("4hello") == "hello"
    assert polling().receive_text("4") == ""


def test_base64_binary_message_over_any_transport() -> None:
    assert websocket().receive_text("bAAECAwQ=") == b"\x00\x01\x02\x03\x04"


@pytest.mark.parametrize("text", ["", "7", "x", "bnot base64!", "béé"])
def test_malformed_packets_raise(text: str) -> None:
    with pytest.raises(ParseError):
        websocket().receive_text(text)


@pytest.mark.parametrize("text", ["0", "2", "2probe", "5", "6"])
def test_stray_packets_are_ignored(text: str) -> None:
    session = websocket()
    assert session.receive_text(text) is None
    assert session.state is State.WEBSOCKET


def test_close_packet() -> None:
    assert websocket().receive_text("1") is Control.CLOSE


@given(st.text())
def test_receive_text_never_fails_otherwise(text: str) -> None:
    with contextlib.suppress(ParseError):
        websocket().receive_text(text)


# -- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_pings_then_times_out() -> None:
    session = websocket(now=100.0)
    assert session.deadline == 125.0
    assert session.heartbeat(125.0) is Beat.SEND_PING
    session.ping_sent()
    assert session.deadline == 145.0
    assert session.heartbeat(145.0) is Beat.TIMED_OUT


def test_a_pong_for_a_delivered_ping_moves_the_deadline() -> None:
    session = websocket()
    session.heartbeat(25.0)
    session.ping_sent()
    assert session.receive_text("3") is Control.PONG
    assert session.pong(30.0)
    assert session.deadline == 55.0
    assert session.heartbeat(55.0) is Beat.SEND_PING


def test_unsolicited_pong_is_ignored() -> None:
    session = websocket()
    assert session.receive_text("3") is Control.PONG
    assert not session.pong(1.0)
    assert session.deadline == 25.0


def test_a_pong_for_a_ping_still_in_the_polling_buffer_is_ignored() -> None:
    session = polling()
    assert session.heartbeat(25.0) is Beat.SEND_PING
    assert session.queue_ping()
    assert not session.pong(26.0)  # the client never fetched the ping
    assert session.heartbeat(45.0) is Beat.TIMED_OUT


def test_a_pong_counts_once_a_get_took_the_ping() -> None:
    session = polling()
    session.heartbeat(25.0)
    session.queue_ping()
    assert session.take_payload() == "2"
    assert session.pong(26.0)
    assert session.deadline == 51.0


# -- the polling buffer ---------------------------------------------------------------------


def test_buffer_payloads() -> None:
    session = polling()
    assert session.take_payload() == ""
    session.queue("4a")
    assert session.take_payload() == "4a"
    session.queue("4a")
    session.queue(b"\x01\x02")
    assert session.take_payload() == "4a\x1ebAQI="
    assert session.buffered == 0


def test_buffer_is_bounded() -> None:
    session = polling(max_buffer=10)
    assert session.queue("4" + "x" * 8)
    assert not session.queue("4x")  # 11 > 10: refused, not queued
    assert session.buffer == ["4" + "x" * 8]
    assert session.take_payload() == "4" + "x" * 8
    assert session.queue("4x")


def test_idle_get_answer() -> None:
    session = polling()
    assert session.answer_when_idle() is None
    session.probe_opened()
    session.probe_text("2probe")
    assert session.answer_when_idle() == "6"


# -- upgrade --------------------------------------------------------------------------------


def test_upgrade_steps() -> None:
    session = polling()
    assert session.probe_opened()
    assert not session.probe_opened()  # a second probe is refused
    assert session.state is State.PROBING
    assert session.probe_text("2probe") is ProbeStep.ANSWER
    assert session.state is State.PROBED
    assert session.polling
    assert session.probe_text("5") is ProbeStep.SWITCH
    assert session.state is State.UPGRADED
    assert not session.polling
    assert not session.probe_opened()


@pytest.mark.parametrize("packets", [["5"], ["2probe", "2probe"], ["4hi"], ["2probe", "4hi"]])
def test_a_wrong_probe_packet_goes_back_to_polling(packets: list[str]) -> None:
    session = polling()
    session.probe_opened()
    steps = [session.probe_text(p) for p in packets]
    assert steps[-1] is ProbeStep.FAIL
    assert session.state is State.POLLING
    assert session.probe_opened()  # a new probe may come


def test_no_upgrade_from_websocket() -> None:
    assert not websocket().probe_opened()


# -- closing --------------------------------------------------------------------------------


def test_client_close_drops_the_buffer() -> None:
    session = polling()
    session.queue("4a")
    assert session.close(Reason.TRANSPORT_CLOSE)
    assert not session.close(Reason.TRANSPORT_ERROR)
    assert session.reason == "transport close"
    assert session.state is State.CLOSED
    assert session.buffer == []
    assert session.pending_get_answer() == "6"


def test_server_close_of_a_polling_session_owes_its_packets_then_the_close() -> None:
    session = polling()
    session.queue("4a")
    assert session.close(Reason.FORCED_CLOSE)
    assert session.state is State.CLOSING
    assert session.closed
    assert session.closing_payload() == "4a"
    assert session.state is State.CLOSING
    assert session.closing_payload() == "1"
    assert session.state is State.CLOSED


def test_server_close_while_probing_owes_the_close_too() -> None:
    session = polling()
    session.probe_opened()
    session.close(Reason.SERVER_SHUTTING_DOWN)
    assert session.state is State.CLOSING
    session.probe_failed()  # no transition from CLOSING
    assert session.state is State.CLOSING


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (Reason.FORCED_CLOSE, 1000),
        (Reason.PING_TIMEOUT, 1000),
        (Reason.PARSE_ERROR, 1002),
        (Reason.TRANSPORT_ERROR, None),
        (Reason.TRANSPORT_CLOSE, None),
    ],
)
def test_websocket_close_codes(reason: Reason, code: int | None) -> None:
    session = websocket()
    session.close(reason)
    assert session.state is State.CLOSED
    assert session.websocket_close_code == code


def test_ping_timeout_on_polling_tells_a_pending_get() -> None:
    session = polling()
    session.close(Reason.PING_TIMEOUT)
    assert session.state is State.CLOSED
    assert session.pending_get_answer() == "1"


def test_sids_are_random_and_url_safe() -> None:
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", s) for s in sids)
