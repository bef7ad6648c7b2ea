"""The node's status says how it is doing (schema version 5, issue 19): its version, uptime, the address it
reaches the broker from, and what waits in its outbox, the same figures as its backlog; from version 6 (issue
22), the content encodings it reads on its downlink."""

import time

from edge.node import Node
from edge.sync_downlink import status_message
from plumbing.version import VERSION
from sync_protocol.encoding import ContentEncoding, decode_status
from sync_protocol.envelope import CONTENT_ENCODINGS_SCHEMA_VERSION, DEVICE_HEALTH_SCHEMA_VERSION
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import checkout, new_cart


def test_the_status_carries_the_nodes_health(edge: EdgeServer):
    node = Node.open(edge.settings, edge.clock)
    try:
        idle = decode_status(status_message(node, "store-1", online=True, address="192.168.1.20"))
        assert idle.schema_version == CONTENT_ENCODINGS_SCHEMA_VERSION
        assert idle.content_encodings == [ContentEncoding.JSON_ZSTD.value]  # its downlink may come compressed
        assert idle.health is not None
        assert idle.health.software_version == VERSION
        assert idle.health.addresses == ["192.168.1.20"]
        assert (idle.health.outbox_pending, idle.health.outbox_oldest_age_s) == (0, None)

        cart = new_cart(edge.client, ("bubble-tea-1", 2))
        assert checkout(edge.client, cart["cartId"]).status_code == 201
        edge.clock.advance(seconds=90)
        node.started = time.monotonic() - 3600  # as if the node had run an hour
        busy = decode_status(status_message(node, "store-1", online=True))
        assert busy.health is not None
        assert busy.health.addresses == []  # no link, no address to say
        assert 3600 <= busy.health.uptime_s < 3700
        # the sale and its stock delta wait to go up, the oldest since the sale
        assert busy.health.outbox_pending == 2
        assert busy.health.outbox_oldest_age_s == 90
    finally:
        node.close()


def test_a_node_set_for_an_older_cloud_asks_for_json_in_a_status_that_cloud_reads(edge: EdgeServer):
    node = Node.open(edge.settings, edge.clock)
    try:
        status = decode_status(status_message(node, "store-1", online=True, reads=()))
        assert status.schema_version == DEVICE_HEALTH_SCHEMA_VERSION  # 6 would be an unknown version there
        assert status.content_encodings == []
        assert status.health is not None
    finally:
        node.close()


def test_an_offline_status_says_nothing_of_health(edge: EdgeServer):
    node = Node.open(edge.settings, edge.clock)
    try:
        gone = decode_status(status_message(node, "store-1", online=False))
        assert gone.health is None
        assert gone.schema_version == 1  # the last will stays readable by every cloud
    finally:
        node.close()


def test_an_address_the_schema_refuses_leaves_the_status_without_it(edge: EdgeServer):
    node = Node.open(edge.settings, edge.clock)
    try:
        odd = decode_status(status_message(node, "store-1", online=True, address="fe80::1%" + "x" * 60))
        assert odd.health is not None
        assert odd.health.addresses == []
        assert odd.health.software_version == VERSION
    finally:
        node.close()
