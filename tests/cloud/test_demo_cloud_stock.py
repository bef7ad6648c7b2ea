"""The demo's seed leaves no variant at negative stock in either demo store: the opening restock covers what
the 30 days of history sell, so every variant ends the history at its closing level (the demo catalog's x10),
a fresh demo rings no negative-stock bell and its store node starts with nothing below zero. The demo stages
no oversell; a negative level and its bell come from a real one (two offline nodes selling the last unit)."""

from datetime import UTC, datetime

from cloud import notifications, stock
from cloud.i18n import translator
from edge.demo_catalog import demo_catalog
from edgestore.demo_cloud import seed_demo_cloud
from models.cloud_api import NotificationKind
from tests.cloud.conftest import CloudServer


def test_the_demo_seed_leaves_no_variant_below_zero_and_no_negative_stock_bell(cloud_server: CloudServer):
    cloud = cloud_server.cloud
    seeded = seed_demo_cloud(cloud, datetime.now(UTC), progress=lambda _: None)
    assert seeded.orders > 0
    closing = {s.variant_id: s.quantity * 10 for s in demo_catalog().stock}
    with cloud.db.read() as conn:
        for store_id in seeded.store_ids:
            levels = stock.list_levels(conn, seeded.seller_id, store_id, cloud.settings.low_stock_threshold)
            assert levels
            below = [
                (level.product_name, level.variant_name, level.level) for level in levels if level.level < 0
            ]
            assert not below, below
            assert {level.variant_id: level.level for level in levels} == {
                level.variant_id: closing.get(level.variant_id, 100) for level in levels
            }
        bells = notifications.list_notifications(
            conn, seeded.seller_id, translator("en"), cursor=None, limit=500
        )
    assert NotificationKind.NEGATIVE_STOCK not in {n.kind for n in bells.items}
