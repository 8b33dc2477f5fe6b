"""RFC 6455 section 5: frame bytes, masking, close payloads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.ws import Connection, ProtocolError, Side
from tether.ws.frames import (
    CloseCode,
    Opcode,
    apply_mask,
    apply_mask_py,
    build_close_payload,
    build_frame,
    is_valid_close_code,
    parse_close_payload,
)

_speedups: ModuleType | None
try:
    from tether.ws import _speedups
except ImportError:  # built without a C compiler
    _speedups = None

RFC_MASK = bytes.fromhex("37fa213d")


class TestRfcExamples:
    """The examples of RFC 6455 section 5.7, built and parsed."""

    def test_unmasked_hello(self) -> None:
        frame = bytes.fromhex("810548656c6c6f")
        assert build_frame(Opcode.TEXT, b"Hello") == frame
        assert Connection(Side.CLIENT).receive_data(frame) == ["Hello"]

    def test_masked_hello(self) -> None:
        frame = bytes.fromhex("818537fa213d7f9f4d5158")
        assert build_frame(Opcode.TEXT, b"Hello", mask=RFC_MASK) == frame
        assert Connection(Side.SERVER).receive_data(frame) == ["Hello"]

    def test_fragmented_unmasked_hello(self) -> None:
        first = bytes.fromhex("010348656c")
        second = bytes.fromhex("80026c6f")
        assert build_frame(Opcode.TEXT, b"Hel", fin=False) == first
        assert build_frame(Opcode.CONTINUATION, b"lo") == second
        client = Connection(Side.CLIENT)
        assert client.receive_data(first) == []
        assert client.receive_data(second) == ["Hello"]

    def test_unmasked_ping_and_masked_pong(self) -> None:
        ping = bytes.fromhex("890548656c6c6f")
        pong = bytes.fromhex("8a8537fa213d7f9f4d5158")
        assert build_frame(Opcode.PING, b"Hello") == ping
        assert build_frame(Opcode.PONG, b"Hello", mask=RFC_MASK) == pong
        server = Connection(Side.SERVER)
        (event,) = server.receive_data(pong)
        assert event.payload == b"Hello"  # type: ignore[union-attr]

    def test_256_bytes_binary_16_bit_length(self) -> None:
        payload = bytes(range(256))
        frame = build_frame(Opcode.BINARY, payload)
        assert frame[:4] == bytes.fromhex("827e0100")
        assert frame[4:] == payload
        assert Connection(Side.CLIENT).receive_data(frame) == [payload]

    def test_64k_binary_64_bit_length(self) -> None:
        payload = os.urandom(65536)
        frame = build_frame(Opcode.BINARY, payload)
        assert frame[:10] == bytes.fromhex("827f0000000000010000")
        assert frame[10:] == payload
        assert Connection(Side.CLIENT).receive_data(frame) == [payload]


class TestBuildFrame:
    @pytest.mark.parametrize(
        ("length", "header"),
        [
            (0, "8100"),
            (125, "817d"),
            (126, "817e007e"),
            (65535, "817effff"),
            (65536, "817f0000000000010000"),
        ],
    )
    def test_length_encodings(self, length: int, header: str) -> None:
        assert build_frame(Opcode.TEXT, b"a" * length).startswith(bytes.fromhex(header))

    @pytest.mark.parametrize(
        ("length", "header"),
        [(5, "8185"), (200, "81fe00c8"), (70000, "81ff0000000000011170")],
    )
    def test_masked_length_encodings(self, length: int, header: str) -> None:
        frame = build_frame(Opcode.TEXT, b"a" * length, mask=RFC_MASK)
        head = bytes.fromhex(header)
        assert frame.startswith(head + RFC_MASK)
        assert apply_mask(frame[len(head) + 4 :], RFC_MASK) == b"a" * length

    def test_flags(self) -> None:
        assert build_frame(Opcode.BINARY, b"", fin=False)[0] == 0x02
        assert build_frame(Opcode.TEXT, b"", rsv1=True)[0] == 0xC1

    @pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
    def test_control_frames_are_small_and_final(self, opcode: Opcode) -> None:
        assert build_frame(opcode, b"x" * 125)[1] == 125
        with pytest.raises(ValueError, match="control"):
            build_frame(opcode, b"x" * 126)
        with pytest.raises(ValueError, match="control"):
            build_frame(opcode, b"", fin=False)

    def test_mask_must_be_four_bytes(self) -> None:
        with pytest.raises(ValueError, match="4 bytes"):
            build_frame(Opcode.TEXT, b"x", mask=b"abc")


MASKERS = [pytest.param(apply_mask_py, id="python")]
if _speedups is not None:
    MASKERS.append(pytest.param(_speedups.apply_mask, id="c"))


class TestApplyMask:
    @pytest.mark.parametrize("mask_fn", MASKERS)
    def test_empty(self, mask_fn: Callable[[bytes, bytes], bytes]) -> None:
        assert mask_fn(b"", RFC_MASK) == b""

    @pytest.mark.parametrize("mask_fn", MASKERS)
    @given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
    def test_matches_bytewise_definition(
        self, mask_fn: Callable[[bytes, bytes], bytes], data: bytes, mask: bytes
    ) -> None:
        expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        assert mask_fn(data, mask) == expected
        assert mask_fn(expected, mask) == data

    @pytest.mark.parametrize("size", [1, 7, 8, 9, 1023, 65536, 65539])
    def test_implementations_agree_on_large_and_odd_sizes(self, size: int) -> None:
        data = bytes(range(256)) * (size // 256 + 1)
        data = data[:size]
        for mask_fn in (apply_mask_py, apply_mask):
            assert mask_fn(data, b"\x9a\x01\xff\x10") == apply_mask_py(data, b"\x9a\x01\xff\x10")
        assert apply_mask(memoryview(data), b"abcd") == apply_mask_py(data, b"abcd")

    def test_the_c_version_checks_its_mask(self) -> None:
        if _speedups is None:
            pytest.skip("built without the C speedup")
        with pytest.raises(ValueError, match="4 bytes"):
            _speedups.apply_mask(b"data", b"abc")

    def test_the_c_version_is_used_when_built(self) -> None:
        if _speedups is None or os.environ.get("TETHER_PURE_PYTHON") == "1":
            assert apply_mask is apply_mask_py
        else:
            assert apply_mask is _speedups.apply_mask

    @pytest.mark.parametrize(("value", "pure"), [("1", True), ("0", False), ("", False)])
    def test_pure_python_is_read_as_the_compiled_modules_read_it(
        self, value: str, pure: bool
    ) -> None:
        # Only "1" selects the pure version, as for the compiled modules: the bench's compiled
        # server sets "0", and once ran with the pure unmasking (60 % of its 64 KiB echo).
        if _speedups is None:
            pytest.skip("built without the C speedup")
        code = "from tether.ws import frames; print(frames.apply_mask is frames.apply_mask_py)"
        env = {**os.environ, "TETHER_PURE_PYTHON": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(pure)


class TestClosePayload:
    @pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
    def test_valid_codes(self, code: int) -> None:
        assert is_valid_close_code(code)
        assert parse_close_payload(build_close_payload(code, "bye")) == (code, "bye")

    @pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
    def test_invalid_codes(self, code: int) -> None:
        assert not is_valid_close_code(code)
        with pytest.raises(ValueError, match="may not be sent"):
            build_close_payload(code)
        with pytest.raises(ProtocolError) as info:
            parse_close_payload(code.to_bytes(2, "big"))
        assert info.value.code == CloseCode.PROTOCOL_ERROR

    def test_empty_payload(self) -> None:
        assert build_close_payload(None) == b""
        assert parse_close_payload(b"") == (1005, "")
        with pytest.raises(ValueError, match="needs a close code"):
            build_close_payload(None, "why")

    def test_reason_limits(self) -> None:
        assert len(build_close_payload(1000, "é" * 61 + "a")) == 125
        with pytest.raises(ValueError, match="123 bytes"):
            build_close_payload(1000, "a" * 124)

    def test_one_byte_payload(self) -> None:
        with pytest.raises(ProtocolError) as info:
            parse_close_payload(b"\x03")
        assert info.value.code == 1002

    def test_reason_not_utf8(self) -> None:
        with pytest.raises(ProtocolError) as info:
            parse_close_payload(b"\x03\xe8\xff")
        assert info.value.code == 1007
