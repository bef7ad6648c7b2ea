"""The downlink's content encodings end to end on a real Mosquitto and Postgres (issue 22): a device whose
status says it reads ``json+zstd`` gets its catalog delta compressed, one whose status does not (a node from
before, at schema version 5) gets the same delta as JSON; a node of this version takes a compressed delta and
applies it; a delta larger than a node takes in one message goes as a snapshot instead of being refused
there at every status."""

import queue
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest

from cloud import sync_downlink
from edge import sync_agent
from sync_protocol.encoding import ContentEncoding, decode_downlink, encode
from sync_protocol.envelope import (
    CONTENT_ENCODINGS_SCHEMA_VERSION,
    DEVICE_HEALTH_SCHEMA_VERSION,
    CatalogAnnouncement,
    CatalogDelta,
    DeviceStatus,
    DownlinkMessage,
)
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import DownlinkTopic, Topics, parse_topic
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_sync_end_to_end import wait_for
from tests.cloud.test_sync_faults import STOCK, Shop, device_login, published, shop  # noqa: F401 (shop: the fixture, used by name)

pytestmark = pytest.mark.slow

NEW_PRODUCTS = 12


class DownlinkListener:
    """The device's own broker login, subscribed to its downlink: says where it stands in whatever status a
    test writes, and keeps each message that comes down as its bytes."""

    def __init__(self, at: Shop) -> None:
        self.at = at
        self.received: queue.Queue[tuple[DownlinkKind, bytes]] = queue.Queue()
        self.passed: list[DownlinkKind] = []
        self.client = device_login(
            at, Topics.device_downlink_filter(at.store, at.device_id), self._on_message
        )

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        parsed = parse_topic(message.topic)
        assert isinstance(parsed, DownlinkTopic)
        self.received.put((parsed.kind, bytes(message.payload)))

    def say(self, status: DeviceStatus) -> None:
        published(self.client, str(Topics.status(self.at.store, self.at.device_id)), encode(status))

    def next_of(self, kind: DownlinkKind) -> bytes:
        """The next message of ``kind``; what came before it of other kinds goes in ``passed``."""
        while True:
            got, data = self.received.get(timeout=60)
            if got is kind:
                return data
            self.passed.append(got)


def cloud_catalog_version(at: Shop) -> int:
    version: int = at.seller.get(f"/stores/{at.store}/catalog-snapshot").json()["version"]
    return version


def feed_end(at: Shop) -> int:
    with at.cloud_server.cloud.db.read() as conn:
        return sync_downlink.ends(conn, [at.store])[at.store].end


def status(at: Shop, held_version: int, *, reads: list[str] | None) -> DeviceStatus:
    """An online status at the feed's end holding catalog ``held_version``: as a node of this version says
    it (``reads``: the encodings it names), or with ``reads`` None as a node from before version 6."""
    return DeviceStatus(
        schema_version=DEVICE_HEALTH_SCHEMA_VERSION if reads is None else CONTENT_ENCODINGS_SCHEMA_VERSION,
        store_id=at.store,
        device_id=at.device_id,
        online=True,
        downlink_seq=feed_end(at),
        catalog_version=held_version,
        content_encodings=reads or [],
    )


def test_a_delta_goes_compressed_to_a_node_that_reads_it_and_as_json_to_one_that_does_not(
    shop: Shop,  # noqa: F811 (the fixture)
) -> None:
    held = cloud_catalog_version(shop)
    for i in range(NEW_PRODUCTS):
        make_product(shop.seller, name=f"凍頂烏龍茶 {i}")
    shop.start_cloud()
    device = DownlinkListener(shop)

    device.say(status(shop, held, reads=None))  # a node from before: schema version 5, no encodings
    plain = device.next_of(DownlinkKind.CATALOG_DELTA)
    assert plain.startswith(b'{"schemaVersion":1,')
    delta = decode_downlink(plain, DownlinkKind.CATALOG_DELTA)
    assert isinstance(delta, CatalogDelta)
    assert (delta.from_version, delta.to_version) == (held, cloud_catalog_version(shop))
    assert len(delta.changes) == NEW_PRODUCTS

    # The same device says it reads json+zstd (and one encoding this cloud does not know): where it stands
    # is unchanged, so the same delta comes again, compressed.
    device.say(status(shop, held, reads=["json+brotli", ContentEncoding.JSON_ZSTD.value]))
    packed = device.next_of(DownlinkKind.CATALOG_DELTA)
    assert packed.startswith(b"#json+zstd\n")
    assert decode_downlink(packed, DownlinkKind.CATALOG_DELTA) == delta
    assert len(packed) * 3 < len(plain)

    # Naming only encodings this cloud does not know is as good as naming none.
    device.say(status(shop, held, reads=["json+brotli"]))
    assert device.next_of(DownlinkKind.CATALOG_DELTA) == plain


def recording_downlinks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[DownlinkKind, bytes]]:
    """Every downlink message the node's sync agent reads, as it came off the broker."""
    seen: list[tuple[DownlinkKind, bytes]] = []
    real: Callable[..., DownlinkMessage] = sync_agent.decode_downlink

    def recorded(data: bytes, kind: DownlinkKind, **kwargs: object) -> DownlinkMessage:
        seen.append((kind, data))
        return real(data, kind, **kwargs)

    monkeypatch.setattr(sync_agent, "decode_downlink", recorded)
    return seen


def node_catalog_version(at: Shop) -> int | None:
    rows = at.node_query("SELECT value FROM node_state WHERE key = 'catalogVersion'")
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def node_takes_new_products(
    at: Shop, monkeypatch: pytest.MonkeyPatch, **cloud_options: int
) -> list[tuple[DownlinkKind, bytes]]:
    """Products added in the cloud while the node was away, then the cloud (with ``cloud_options``) and the
    node started: once the node holds the cloud's catalog version and every new product, the downlink
    messages it read, as they came off the broker."""
    seen = recording_downlinks(monkeypatch)
    added = [make_product(at.seller, name=f"凍頂烏龍茶 {i}")["productId"] for i in range(NEW_PRODUCTS)]
    at.start_cloud(**cloud_options)
    at.start_node()
    wait_for(lambda: node_catalog_version(at) == cloud_catalog_version(at), 120, "the node's catalog")
    names = {row[0] for row in at.node_query("SELECT product_id FROM products")}
    assert set(added) <= names
    return seen


def test_a_node_takes_its_catalog_delta_compressed_and_applies_it(
    shop: Shop,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = node_takes_new_products(shop, monkeypatch)
    deltas = [data for kind, data in seen if kind is DownlinkKind.CATALOG_DELTA]
    assert deltas, "the node took its catalog from a delta"
    assert all(data.startswith(b"#json+zstd\n") for data in deltas)


def test_a_delta_too_large_for_one_message_goes_as_a_snapshot(shop: Shop) -> None:  # noqa: F811 (the fixture)
    held = cloud_catalog_version(shop)
    for i in range(NEW_PRODUCTS):
        make_product(shop.seller, name=f"凍頂烏龍茶 {i}")
    # A node takes at most this much in one downlink message; this delta's JSON is larger.
    shop.start_cloud(max_downlink_bytes=2_000)
    device = DownlinkListener(shop)
    device.say(status(shop, held, reads=[ContentEncoding.JSON_ZSTD.value]))
    announced = decode_downlink(device.next_of(DownlinkKind.CATALOG), DownlinkKind.CATALOG)
    assert isinstance(announced, CatalogAnnouncement)
    assert announced.version == cloud_catalog_version(shop)
    assert DownlinkKind.CATALOG_DELTA not in device.passed  # no delta went before it


def test_a_node_takes_a_snapshot_where_its_delta_would_be_too_large(
    shop: Shop,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kinds = [kind for kind, _ in node_takes_new_products(shop, monkeypatch, max_downlink_bytes=2_000)]
    assert DownlinkKind.CATALOG in kinds
    assert DownlinkKind.CATALOG_DELTA not in kinds
    assert shop.node_stock() == STOCK  # the snapshot's stock did not count the store's feed again


def test_a_node_set_for_an_older_cloud_gets_its_downlink_as_json(
    shop: Shop,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop.node = shop.node.model_copy(update={"sync_content_encoding": ContentEncoding.JSON})
    seen = node_takes_new_products(shop, monkeypatch)
    deltas = [data for kind, data in seen if kind is DownlinkKind.CATALOG_DELTA]
    assert deltas, "the node took its catalog from a delta"
    assert all(data.startswith(b'{"schemaVersion":1,') for data in deltas)  # its status asked for JSON
