"""Downlink content encodings (issue 22): the cloud sends a node that says it reads ``json+zstd`` each
message compressed when that is smaller, and plain JSON otherwise; the node reads both, refuses what it
cannot read with a dead-letter reason (an unknown encoding as ``unknownVersion``, a bomb as ``oversized``
before it is inflated, the uplink's compact form as ``malformed``); a status names the encodings only from
schema version 6."""

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync_protocol.encoding import (
    DEFAULT_MAX_DOWNLINK_BYTES,
    DOWNLINK_CONTENT_ENCODINGS,
    ContentEncoding,
    decode_batch,
    decode_downlink,
    decode_status,
    encode,
    encode_batch,
    encode_downlink,
    readable,
)
from sync_protocol.envelope import (
    CONTENT_ENCODINGS_SCHEMA_VERSION,
    CatalogChange,
    CatalogDelta,
    CatalogEntity,
    ChangeOp,
    DeviceStatus,
)
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.streams import DownlinkKind
from tests.sync_protocol.sync_factories import (
    DEVICE,
    STORE,
    batch,
    envelope,
    order,
    refund_update,
    stock_adjustment,
)

HEADER = b"#json+zstd\n"


def catalog_delta(products: int) -> CatalogDelta:
    """A price change across ``products`` products, each sent whole, as the cloud's catalog delta sends it."""
    return CatalogDelta(
        store_id=STORE,
        from_version=3,
        to_version=4,
        changes=tuple(
            CatalogChange(
                entity=CatalogEntity.PRODUCT,
                op=ChangeOp.UPSERT,
                entity_id=f"p-{i:05d}",
                data={
                    "productId": f"p-{i:05d}",
                    "name": f"珍珠奶茶 {i}",
                    "description": "古早味紅茶加上手作黑糖珍珠",
                    "categoryId": "drinks",
                    "variants": [
                        {"variantId": f"v-{i:05d}-m", "name": "中杯", "price": 50 + i % 7, "barcode": None},
                        {"variantId": f"v-{i:05d}-l", "name": "大杯", "price": 60 + i % 7, "barcode": None},
                    ],
                },
            )
            for i in range(products)
        ),
    )


def refused(data: bytes, kind: DownlinkKind = DownlinkKind.CATALOG_DELTA) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        decode_downlink(data, kind)
    return caught.value


def test_a_catalog_delta_travels_compressed_to_a_node_that_reads_it() -> None:
    delta = catalog_delta(200)
    plain = encode_downlink(delta, ContentEncoding.JSON)
    packed = encode_downlink(delta, ContentEncoding.JSON_ZSTD)
    assert plain == encode(delta)  # what every node before this one reads
    assert packed.startswith(HEADER)
    assert len(packed) * 5 < len(plain)  # a fifth of the bytes at most for a delta of many products
    assert decode_downlink(packed, DownlinkKind.CATALOG_DELTA) == delta
    assert decode_downlink(plain, DownlinkKind.CATALOG_DELTA) == delta


def test_a_message_goes_compressed_only_when_that_is_smaller() -> None:
    adjustment = stock_adjustment()
    sent = encode_downlink(adjustment, ContentEncoding.JSON_ZSTD)
    # Even one stock change shrinks (its store id comes twice, its ids are long)...
    assert sent.startswith(HEADER)
    assert len(sent) < len(encode(adjustment))
    assert decode_downlink(sent, DownlinkKind.STOCK) == adjustment
    # ... but a message of a few short words does not: the header and the frame would cost more.
    empty = CatalogDelta(store_id="s1", from_version=3, to_version=4, changes=())
    assert encode_downlink(empty, ContentEncoding.JSON_ZSTD) == encode(empty)


def test_every_downlink_kind_round_trips_compressed() -> None:
    messages = {
        DownlinkKind.CATALOG_DELTA: catalog_delta(3),
        DownlinkKind.ORDER_STATUS: refund_update(),
        DownlinkKind.STOCK: stock_adjustment(),
    }
    for kind, message in messages.items():
        # Compressed whatever its size, as a cloud may send it: the node reads it all the same.
        data = HEADER + zstandard.ZstdCompressor(write_content_size=True).compress(encode(message))
        assert decode_downlink(data, kind) == message


def test_a_downlink_message_does_not_travel_in_the_uplinks_compact_form() -> None:
    with pytest.raises(ValueError, match="compact2"):
        encode_downlink(catalog_delta(2), ContentEncoding.COMPACT_ZSTD)
    data = b"#compact2+zstd\n" + zstandard.ZstdCompressor(write_content_size=True).compress(
        encode(catalog_delta(2))
    )
    caught = refused(data)
    assert caught.reason is RejectReason.MALFORMED
    assert "for uplink batches only" in caught.detail


def test_an_unknown_downlink_encoding_is_an_unknown_version() -> None:
    caught = refused(b"#json+brotli\n" + b"\x00" * 40)
    assert caught.reason is RejectReason.UNKNOWN_VERSION
    assert "content encoding json+brotli" in caught.detail


def test_a_downlink_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = HEADER + zstandard.ZstdCompressor(level=19).compress(b"{" * (64 << 20))
    assert len(bomb) < 10_000
    caught = refused(bomb)
    assert caught.reason is RejectReason.OVERSIZED
    assert f"inflates to {64 << 20} bytes, at most {DEFAULT_MAX_DOWNLINK_BYTES}" in caught.detail
    hidden = HEADER + zstandard.ZstdCompressor(write_content_size=False).compress(encode(catalog_delta(2)))
    assert refused(hidden).reason is RejectReason.MALFORMED  # a frame must say what it inflates to


@given(st.binary(max_size=300))
def test_any_bytes_after_the_header_only_ever_raise_message_rejected(body: bytes) -> None:
    with pytest.raises(MessageRejected):
        decode_downlink(HEADER + body, DownlinkKind.STOCK)


def test_an_uplink_batch_may_come_in_json_zstd_too() -> None:
    sent = batch([envelope(1, order(1)), envelope(2, order(2))])
    data = encode_batch(sent, ContentEncoding.JSON_ZSTD)
    assert data.startswith(HEADER)
    assert decode_batch(data) == sent


def test_a_status_names_its_encodings_only_from_version_6() -> None:
    said = [e.value for e in DOWNLINK_CONTENT_ENCODINGS]
    assert said == ["json+zstd"]
    with pytest.raises(ValidationError, match="contentEncodings need schemaVersion 6"):
        DeviceStatus(store_id=STORE, device_id=DEVICE, online=True, content_encodings=said)
    status = DeviceStatus(
        schema_version=CONTENT_ENCODINGS_SCHEMA_VERSION,
        store_id=STORE,
        device_id=DEVICE,
        online=True,
        content_encodings=[*said, "json+brotli"],  # a newer node may name one this side does not know
    )
    assert decode_status(encode(status)) == status
    assert encode(status).count(b'"contentEncodings":["json+zstd","json+brotli"]') == 1
    # None said, none written: a status without them is what a cloud before version 6 reads.
    assert b"contentEncodings" not in encode(DeviceStatus(store_id=STORE, device_id=DEVICE, online=True))
    good = encode(status)
    for bad in (
        good.replace(b'"json+brotli"', b'"JSON ZSTD"'),
        good.replace(b'"json+brotli"', b'"' + b"x" * 33 + b'"'),
        good.replace(b'"json+brotli"', b",".join([b'"a"'] * 8)),  # nine in all
        good.replace(b'"json+brotli"', b"7"),
    ):
        assert bad != good
        with pytest.raises(MessageRejected):
            decode_status(bad)


def test_a_dead_letter_keeps_a_compressed_message_readable() -> None:
    delta = catalog_delta(3)
    packed = encode_downlink(delta, ContentEncoding.JSON_ZSTD)
    assert readable(packed, keep=DEFAULT_MAX_DOWNLINK_BYTES) == "#json+zstd\n" + encode(delta).decode()
    # Inflated only as far as kept: a bomb shows its start, and costs no more than that.
    small_window = zstandard.ZstdCompressionParameters.from_level(19, window_log=20)
    bomb = HEADER + zstandard.ZstdCompressor(compression_params=small_window).compress(b"{" * (64 << 20))
    assert readable(bomb, keep=100) == "#json+zstd\n" + "{" * 100
    # A frame that asks for a larger window than a decoder gives is kept as it came.
    wide = HEADER + zstandard.ZstdCompressor(level=19).compress(b"{" * (64 << 20))
    assert readable(wide, keep=100) == wide[:100].decode("utf-8", errors="replace")
    # The uplink's compact form is kept as it inflates (not restored).
    assert readable(encode_batch(batch([envelope(1, order(1))])), keep=1000).startswith('#compact2+zstd\n{"')
    # What cannot be inflated (an unknown encoding, no frame at all) is kept as it came, cut at ``keep``,
    # invalid UTF-8 replaced; nothing here raises.
    assert readable(b"#json+brotli\n\xff", keep=100) == "#json+brotli\n\ufffd"
    assert readable(HEADER + b"not zstd", keep=100) == "#json+zstd\nnot zstd"
    assert readable(b"x" * 500, keep=100) == "x" * 100
    assert readable(b'{"plain":"json"}', keep=100) == '{"plain":"json"}'


@given(st.binary(max_size=200))
def test_any_bytes_are_kept_readable_without_raising(body: bytes) -> None:
    assert isinstance(readable(HEADER + body, keep=1000), str)
    assert isinstance(readable(body, keep=1000), str)
