"""Migrations 0008 (reference photos and their embeddings) and 0009 (cloud photo ids, refused cloud photos)
up and down, and up again, on a node's file that holds references."""

import sqlite3

from alembic import command
from alembic.config import Config

from edge.db import MIGRATIONS_DIR, Database


def migrate(db: Database, target: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def tables(path) -> set[str]:
    with sqlite3.connect(path) as raw:
        return {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}


def test_0008_up_down_and_up_again(tmp_path):
    path = tmp_path / "edge.sqlite3"
    db = Database(path)
    migrate(db, "0007")
    assert "recognition_photos" not in tables(path)
    migrate(db, "0008")
    assert db.schema_version() == "0008"
    assert {"recognition_photos", "recognition_embeddings", "ix_recognition_photos_variant_id"} <= tables(
        path
    )
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA foreign_keys = ON")
        raw.execute(
            "INSERT INTO recognition_photos (photo_id, variant_id, image, created_at) "
            "VALUES ('p1', 'latte-1', x'ffd8', '2026-12-04 20:00:00')"
        )
        raw.execute(
            "INSERT INTO recognition_embeddings (photo_id, model_key, embedding) VALUES ('p1', 'k', x'00')"
        )
        raw.execute("DELETE FROM recognition_photos WHERE photo_id = 'p1'")  # its embeddings go with it
        assert raw.execute("SELECT count(*) FROM recognition_embeddings").fetchone() == (0,)
    migrate(db, "0007", down=True)
    assert db.schema_version() == "0007"
    assert not {"recognition_photos", "recognition_embeddings"} & tables(path)
    migrate(db, "0008")
    assert db.schema_version() == "0008"
    assert db.integrity_ok()
    db.dispose()


def test_0009_up_down_and_up_again_keeps_the_references(tmp_path):
    """Migration 0009 (a reference photo's cloud photo id, refused cloud photos): the photos and embeddings
    enrolled before it stay, on the way up and down."""
    path = tmp_path / "edge.sqlite3"
    db = Database(path)
    migrate(db, "0008")
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO recognition_photos (photo_id, variant_id, image, created_at) "
            "VALUES ('p1', 'latte-1', x'ffd8', '2026-12-04 20:00:00')"
        )
        raw.execute(
            "INSERT INTO recognition_embeddings (photo_id, model_key, embedding) VALUES ('p1', 'k', x'00')"
        )
    migrate(db, "0009")
    assert db.schema_version() == "0009"
    assert {"recognition_photo_refusals", "ux_recognition_photos_cloud_photo_id"} <= tables(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT photo_id, cloud_photo_id FROM recognition_photos").fetchall() == [
            ("p1", None)
        ]
        for n in (2, 3):  # node-enrolled photos: any number without a cloud id
            raw.execute(
                "INSERT INTO recognition_photos (photo_id, variant_id, image, created_at) "
                f"VALUES ('p{n}', 'latte-1', x'ffd8', '2026-12-04 20:00:00')"
            )
        raw.execute(
            "INSERT INTO recognition_photos (photo_id, variant_id, image, created_at, cloud_photo_id) "
            "VALUES ('p4', 'latte-1', x'ffd8', '2026-12-04 20:00:00', 'c1')"
        )
        try:
            raw.execute(
                "INSERT INTO recognition_photos (photo_id, variant_id, image, created_at, cloud_photo_id) "
                "VALUES ('p5', 'latte-1', x'ffd8', '2026-12-04 20:00:00', 'c1')"
            )
            raise AssertionError("a cloud photo id is held twice")
        except sqlite3.IntegrityError:
            pass
        raw.execute(
            "INSERT INTO recognition_photo_refusals (cloud_photo_id, sha256, reason, refused_at) "
            "VALUES ('c2', 'ab', 'notAnImage', '2026-12-04 20:00:00')"
        )
    migrate(db, "0008", down=True)
    assert db.schema_version() == "0008"
    assert "recognition_photo_refusals" not in tables(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM recognition_photos").fetchone() == (4,)
        assert raw.execute("SELECT count(*) FROM recognition_embeddings").fetchone() == (1,)
    db.migrate()
    assert db.schema_version() == "0010"
    assert db.integrity_ok()
    db.dispose()
