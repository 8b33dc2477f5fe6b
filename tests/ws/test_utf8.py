"""Incremental UTF-8 decoding fails as soon as no completion can be valid."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.ws.utf8 import Utf8Decoder

CONTINUATION = range(0x80, 0xC0)


def _completable(prefix: bytes) -> bool:
    """Whether some continuation bytes turn ``prefix`` into valid UTF-8.

    Only the second byte of a sequence has a range that depends on the lead byte; later ones
    are any of 80..BF, so trying every second byte then 80 fillers is exhaustive.
    """
    seconds = [bytes((b,)) for b in CONTINUATION] if len(prefix) == 1 else [b""]
    for second in seconds:
        start = prefix + second
        for k in range(4 - len(start) + 1):
            try:
                (start + b"\x80" * k).decode()
            except UnicodeDecodeError:
                continue
            return True
    return False


def _accepts(prefix: bytes) -> bool:
    try:
        Utf8Decoder().decode(prefix)
    except UnicodeDecodeError:
        return False
    return True


def test_every_incomplete_prefix_is_judged_at_once() -> None:
    """For every lead byte and every 1-2 continuation bytes: reject exactly the dead ends."""
    for lead in range(0xC0, 0x100):
        for n in (0, 1, 2):
            for rest in itertools.product(CONTINUATION, repeat=n):
                prefix = bytes((lead, *rest))
                assert _accepts(prefix) == _completable(prefix), prefix


@pytest.mark.parametrize("bad", [b"\xed\xa0", b"\xed\xbf", b"\xf4\x90", b"\xc0", b"\xff"])
def test_fail_fast_examples(bad: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        Utf8Decoder().decode(b"ok" + bad)


def test_final_requires_complete_character() -> None:
    decoder = Utf8Decoder()
    assert decoder.decode(b"\xe2\x82") == ""
    with pytest.raises(UnicodeDecodeError):
        decoder.decode(b"", True)


def test_reset_forgets_pending_bytes() -> None:
    decoder = Utf8Decoder()
    decoder.decode(b"\xe2\x82")
    decoder.reset()
    assert decoder.decode(b"abc", True) == "abc"


@given(st.text(), st.lists(st.integers(min_value=0, max_value=64), max_size=8))
def test_any_chunking_decodes_valid_text(text: str, cuts: list[int]) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        data.decode()
    except UnicodeDecodeError:
        return  # hypothesis text may hold lone surrogates
    decoder = Utf8Decoder()
    out = []
    last = 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        out.append(decoder.decode(data[last:cut]))
        last = cut
    out.append(decoder.decode(data[last:], True))
    assert "".join(out) == text
