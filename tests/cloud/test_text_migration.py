"""Migration 0005: text and JSON stored before the control-character rule (issue 15) lose those characters,
so every schema can show them again; dead letters keep what was received."""

from datetime import UTC, datetime

from sqlalchemy import text

from cloud.db import CloudDatabase
from tests.cloud.conftest import PostgresForTests
from tests.cloud.test_brand_migration import migrate_to

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_text_stored_before_the_rule_is_cleaned(postgres: PostgresForTests):
    postgres.server.create_database("textmig")
    db = CloudDatabase(postgres.server.url("textmig"))
    try:
        migrate_to(db, "0004")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sellers (seller_id, account, password_hash, name, address, created_at) "
                    "VALUES ('s1', 's1', 'x', :name, :address, :now)"
                ),
                {"name": "茶\x07舖", "address": "台北市\n信義區", "now": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO notifications (notification_id, seller_id, kind, title, body, data, created_at) "
                    "VALUES ('n1', 's1', 'newOrder', :title, '', CAST(:data AS json), :now)"
                ),
                {
                    "title": "新訂單\x1b",
                    "data": '{"titleEn": "New\\u0001 order", "lines": ["a\\tb"]}',
                    "now": NOW,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO dead_letters (dead_letter_id, received_at, topic, reason, detail, seqs, payload) "
                    "VALUES ('d1', :now, 't', 'malformed', :detail, CAST('[]' AS json), :detail)"
                ),
                {"detail": "bad\x01", "now": NOW},
            )
            conn.execute(
                text("INSERT INTO brands (brand_id, name, name_en, seller_id) VALUES (:id, :name, '', 's1')"),
                [{"id": "b1", "name": "Acme"}, {"id": "b2", "name": "Acme\x07"}],
            )
            conn.execute(
                text(
                    "INSERT INTO products (product_id, seller_id, name, metadata_id, shipping, group_buy, "
                    "catalog_version, created_at, updated_at) VALUES "
                    "('p1', 's1', 'p', 'm', CAST('[]' AS json), CAST(:gb AS json), 1, :now, :now)"
                ),
                {"gb": '{"minQuantity": 3, "endsAt": "9999-12-31T00:00:00+00:00"}', "now": NOW},
            )
        migrate_to(db, "0005")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, address FROM sellers")).one() == ("茶舖", "台北市\n信義區")
            title, data = conn.execute(text("SELECT title, data FROM notifications")).one()
            assert title == "新訂單"
            assert data == {"titleEn": "New order", "lines": ["a\tb"]}
            assert conn.execute(text("SELECT detail FROM dead_letters")).scalar_one() == "bad\x01"
            # Cleaned, "Acme\x07" would have been a second "Acme" of the seller: it shows the mark instead.
            names = dict(conn.execute(text("SELECT brand_id, name FROM brands WHERE seller_id = 's1'")).all())
            assert names == {"b1": "Acme", "b2": "Acme\ufffd"}
            group_buy = conn.execute(text("SELECT group_buy FROM products")).scalar_one()
            assert group_buy == {"minQuantity": 3, "endsAt": "2999-12-31T23:59:59+00:00"}
    finally:
        db.dispose()


def test_notifications_written_as_words_keep_them_when_they_become_kind_and_params(
    postgres: PostgresForTests,
):
    """Migration 0007: a notification keeps a kind and parameters; one raised before keeps its words, in
    both languages, under ``params.legacy`` (and the dashboard shows them as written)."""
    postgres.server.create_database("noticemig")
    db = CloudDatabase(postgres.server.url("noticemig"))
    try:
        migrate_to(db, "0006")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sellers (seller_id, account, password_hash, name, address, created_at) "
                    "VALUES ('s1', 's1', 'x', 's1', '', :now)"
                ),
                {"now": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO notifications (notification_id, seller_id, kind, title, body, data, created_at) "
                    "VALUES ('n1', 's1', 'storeOffline', '門市裝置離線：櫃台', '請檢查', CAST(:data AS json), :now), "
                    "('n2', 's1', 'lowStock', '庫存偏低：茶', '', CAST('{}' AS json), :now)"
                ),
                {
                    "data": '{"deviceId": "d1", "titleEn": "Store device offline: desk", "bodyEn": "Check it"}',
                    "now": NOW,
                },
            )
        migrate_to(db, "head")
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT notification_id, params FROM notifications")).all())
        assert rows["n1"] == {
            "deviceId": "d1",
            "legacy": {
                "zh-TW": {"title": "門市裝置離線：櫃台", "body": "請檢查"},
                "en": {"title": "Store device offline: desk", "body": "Check it"},
            },
        }
        # no English was written: English readers see the zh-TW words rather than nothing
        assert rows["n2"]["legacy"]["en"] == {"title": "庫存偏低：茶", "body": ""}
        migrate_to(db, "0006", back=True)
        with db.engine.connect() as conn:
            back = dict(conn.execute(text("SELECT notification_id, title FROM notifications")).all())
        assert back == {"n1": "門市裝置離線：櫃台", "n2": "庫存偏低：茶"}
    finally:
        db.dispose()
