"""RFC 7692 permessage-deflate: negotiation tables and the codec."""

from __future__ import annotations

import zlib

import pytest

from tether.ws import ProtocolError
from tether.ws.deflate import (
    Compressor,
    Decompressor,
    DeflateOptions,
    DeflateParams,
    accept_offer,
    build_offer,
    check_response,
)

PMD = "permessage-deflate"

# (offer, server options, expected response header or None, expected params)
ACCEPT_TABLE: list[tuple[str, DeflateOptions, str | None, DeflateParams | None]] = [
    (PMD, DeflateOptions(), PMD, DeflateParams()),
    (
        f"{PMD}; client_max_window_bits",
        DeflateOptions(),
        PMD,
        DeflateParams(),
    ),
    (
        f"{PMD}; client_max_window_bits=10",
        DeflateOptions(),
        f"{PMD}; client_max_window_bits=10",
        DeflateParams(client_max_window_bits=10),
    ),
    (
        f"{PMD}; server_no_context_takeover; client_no_context_takeover",
        DeflateOptions(),
        f"{PMD}; server_no_context_takeover; client_no_context_takeover",
        DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    ),
    (
        f"{PMD}; server_max_window_bits=9",
        DeflateOptions(),
        f"{PMD}; server_max_window_bits=9",
        DeflateParams(server_max_window_bits=9),
    ),
    (
        f"{PMD}; server_max_window_bits=15",
        DeflateOptions(),
        f"{PMD}; server_max_window_bits=15",
        DeflateParams(),
    ),
    (
        PMD,
        DeflateOptions(server_max_window_bits=12, server_no_context_takeover=True),
        f"{PMD}; server_no_context_takeover; server_max_window_bits=12",
        DeflateParams(server_no_context_takeover=True, server_max_window_bits=12),
    ),
    (
        f"{PMD}; server_max_window_bits=10",
        DeflateOptions(server_max_window_bits=12),
        f"{PMD}; server_max_window_bits=10",
        DeflateParams(server_max_window_bits=10),
    ),
    (
        f"{PMD}; client_max_window_bits",
        DeflateOptions(client_max_window_bits=11, client_no_context_takeover=True),
        f"{PMD}; client_no_context_takeover; client_max_window_bits=11",
        DeflateParams(client_no_context_takeover=True, client_max_window_bits=11),
    ),
    (
        f"{PMD}; client_max_window_bits=9",
        DeflateOptions(client_max_window_bits=11),
        f"{PMD}; client_max_window_bits=9",
        DeflateParams(client_max_window_bits=9),
    ),
    # The server insists on limiting the client's window but the client cannot be told.
    (PMD, DeflateOptions(client_max_window_bits=11), None, None),
    # Declined offers: unknown, duplicated or invalid parameters, unsupported window of 8.
    (f"{PMD}; foo", DeflateOptions(), None, None),
    (
        f"{PMD}; server_no_context_takeover; server_no_context_takeover",
        DeflateOptions(),
        None,
        None,
    ),
    (f"{PMD}; server_no_context_takeover=1", DeflateOptions(), None, None),
    (f"{PMD}; client_no_context_takeover=1", DeflateOptions(), None, None),
    (f"{PMD}; server_max_window_bits", DeflateOptions(), None, None),
    (f"{PMD}; server_max_window_bits=16", DeflateOptions(), None, None),
    (f"{PMD}; server_max_window_bits=010", DeflateOptions(), None, None),
    (f"{PMD}; client_max_window_bits=7", DeflateOptions(), None, None),
    (f"{PMD}; server_max_window_bits=8", DeflateOptions(), None, None),
    ("x-webkit-deflate-frame", DeflateOptions(), None, None),
    # The first acceptable offer wins.
    (
        f"{PMD}; foo, {PMD}; server_max_window_bits=9, {PMD}",
        DeflateOptions(),
        f"{PMD}; server_max_window_bits=9",
        DeflateParams(server_max_window_bits=9),
    ),
    (
        f'x-other, {PMD}; server_max_window_bits="11"',
        DeflateOptions(),
        f"{PMD}; server_max_window_bits=11",
        DeflateParams(server_max_window_bits=11),
    ),
]


@pytest.mark.parametrize(("offer", "options", "response", "params"), ACCEPT_TABLE)
def test_server_accepts(
    offer: str, options: DeflateOptions, response: str | None, params: DeflateParams | None
) -> None:
    result = accept_offer(offer, options)
    if response is None:
        assert result is None
    else:
        assert result == (response, params)


def test_server_settings_are_carried() -> None:
    result = accept_offer(PMD, DeflateOptions(threshold=5, level=1, mem_level=4))
    assert result is not None
    assert result[1] == DeflateParams(threshold=5, level=1, mem_level=4)


def test_malformed_offer_raises() -> None:
    with pytest.raises(ValueError):
        accept_offer(f"{PMD};;", DeflateOptions())


@pytest.mark.parametrize(
    ("options", "offer"),
    [
        (DeflateOptions(), f"{PMD}; client_max_window_bits"),
        (
            DeflateOptions(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
                server_max_window_bits=10,
                client_max_window_bits=12,
            ),
            f"{PMD}; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=12",
        ),
    ],
)
def test_client_offer(options: DeflateOptions, offer: str) -> None:
    assert build_offer(options) == offer


@pytest.mark.parametrize(
    ("options", "response", "params"),
    [
        (DeflateOptions(), PMD, DeflateParams()),
        (
            DeflateOptions(),
            f"{PMD}; server_no_context_takeover; client_no_context_takeover",
            DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
        ),
        (
            DeflateOptions(),
            f"{PMD}; server_max_window_bits=10; client_max_window_bits=9",
            DeflateParams(server_max_window_bits=10, client_max_window_bits=9),
        ),
        (
            DeflateOptions(server_max_window_bits=10, client_max_window_bits=12),
            f"{PMD}; server_max_window_bits=9",
            DeflateParams(server_max_window_bits=9, client_max_window_bits=12),
        ),
        (
            DeflateOptions(server_no_context_takeover=True, client_no_context_takeover=True),
            f"{PMD}; server_no_context_takeover",
            DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
        ),
        (
            DeflateOptions(client_max_window_bits=12),
            f"{PMD}; client_max_window_bits=10",
            DeflateParams(client_max_window_bits=10),
        ),
    ],
)
def test_client_checks_good_response(
    options: DeflateOptions, response: str, params: DeflateParams
) -> None:
    expected = DeflateParams(
        **{
            **{f: getattr(params, f) for f in params.__dataclass_fields__},
            "threshold": options.threshold,
        }
    )
    assert check_response(response, options) == expected


@pytest.mark.parametrize(
    ("options", "response"),
    [
        (DeflateOptions(), "x-other"),
        (DeflateOptions(), f"{PMD}, {PMD}"),
        (DeflateOptions(), f"{PMD}; foo"),
        (DeflateOptions(), f"{PMD}; server_no_context_takeover; server_no_context_takeover"),
        (DeflateOptions(), f"{PMD}; server_max_window_bits"),
        (DeflateOptions(), f"{PMD}; client_max_window_bits"),
        (DeflateOptions(), f"{PMD}; client_max_window_bits=8"),
        (DeflateOptions(), f"{PMD}; server_no_context_takeover=x"),
        (DeflateOptions(server_no_context_takeover=True), PMD),
        (DeflateOptions(server_max_window_bits=10), PMD),
        (DeflateOptions(server_max_window_bits=10), f"{PMD}; server_max_window_bits=11"),
        (DeflateOptions(client_max_window_bits=10), f"{PMD}; client_max_window_bits=11"),
    ],
)
def test_client_rejects_bad_response(options: DeflateOptions, response: str) -> None:
    with pytest.raises(ValueError):
        check_response(response, options)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 8},
        {"client_max_window_bits": 16},
        {"level": 10},
        {"mem_level": 0},
        {"threshold": -1},
    ],
)
def test_options_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        DeflateOptions(**kwargs)  # type: ignore[arg-type]


class TestCodec:
    def test_rfc7692_hello_example(self) -> None:
        # RFC 7692 section 7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
        compressor = Compressor(15, False, 6, 8, 0)
        assert compressor.compress(b"Hello") == bytes.fromhex("f248cdc9c90700")
        decompressor = Decompressor(15, False)
        assert decompressor.decompress(bytes.fromhex("f248cdc9c90700"), True, 100) == b"Hello"

    def test_context_takeover_shrinks_repeats(self) -> None:
        compressor = Compressor(15, False, 6, 8, 0)
        decompressor = Decompressor(15, False)
        first = compressor.compress(b"Hello")
        second = compressor.compress(b"Hello")
        assert second == bytes.fromhex("f200110000")  # RFC 7692 section 7.2.3.2
        assert decompressor.decompress(first, True, 100) == b"Hello"
        assert decompressor.decompress(second, True, 100) == b"Hello"

    def test_no_context_takeover_is_independent(self) -> None:
        compressor = Compressor(15, True, 6, 8, 0)
        first = compressor.compress(b"Hello")
        second = compressor.compress(b"Hello")
        # each message inflates on its own, with a fresh decompressor
        assert Decompressor(15, True).decompress(second, True, 100) == b"Hello"
        decompressor = Decompressor(15, True)
        assert decompressor.decompress(first, True, 100) == b"Hello"
        assert decompressor.decompress(second, True, 100) == b"Hello"

    def test_chunks_and_limit(self) -> None:
        data = b"abc" * 1000
        payload = Compressor(15, False, 6, 8, 0).compress(data)
        decompressor = Decompressor(15, False)
        out = decompressor.decompress(payload[:5], False, 3000)
        out += decompressor.decompress(payload[5:], True, 3000 - len(out))
        assert out == data
        with pytest.raises(ProtocolError) as info:
            Decompressor(15, False).decompress(payload, True, 2999)
        assert info.value.code == 1009

    def test_bomb_is_bounded(self) -> None:
        payload = Compressor(15, False, 9, 9, 0).compress(bytes(50_000_000))
        assert len(payload) < 60_000
        with pytest.raises(ProtocolError) as info:
            Decompressor(15, False).decompress(payload, True, 1_000_000)
        assert info.value.code == 1009

    def test_invalid_data(self) -> None:
        with pytest.raises(ProtocolError) as info:
            Decompressor(15, False).decompress(b"\xff\xff\xff", True, 100)
        assert info.value.code == 1007

    def test_final_block_rfc_example(self) -> None:
        # RFC 7692 section 7.2.3.3: a message ending in a BFINAL block (plus a padding byte).
        decompressor = Decompressor(15, False)
        payload = bytes.fromhex("f348cdc9c90700")
        out = decompressor.decompress(payload[:3], False, 100)
        assert out + decompressor.decompress(payload[3:] + b"\x00", True, 100) == b"Hello"
        again = Compressor(15, False, 6, 8, 0).compress(b"World")
        assert decompressor.decompress(again, True, 100) == b"World"

    def test_data_after_final_block_is_ignored(self) -> None:
        obj = zlib.compressobj(6, zlib.DEFLATED, -15)
        final = obj.compress(b"Hello") + obj.flush(zlib.Z_FINISH)
        decompressor = Decompressor(15, False)
        assert decompressor.decompress(final, False, 100) == b"Hello"
        assert decompressor.decompress(b"junk", False, 100) == b""
        assert decompressor.decompress(b"", True, 100) == b""
        assert (
            decompressor.decompress(Compressor(15, False, 6, 8, 0).compress(b"x"), True, 9) == b"x"
        )

    def test_window_bits_8_inflates_with_9(self) -> None:
        payload = Compressor(9, False, 6, 8, 0).compress(b"abcdefgh" * 100)
        assert Decompressor(8, False).decompress(payload, True, 1000) == b"abcdefgh" * 100

    @pytest.mark.parametrize("is_server", [True, False])
    def test_params_codecs_by_side(self, is_server: bool) -> None:
        params = DeflateParams(server_max_window_bits=9, client_no_context_takeover=True)
        compressor, decompressor = params.codecs(is_server)
        other_c, other_d = params.codecs(not is_server)
        data = b"0123456789" * 200
        for _ in range(3):
            assert other_d.decompress(compressor.compress(data), True, 10_000) == data
            assert decompressor.decompress(other_c.compress(data), True, 10_000) == data
