"""The records of used upload grants are forgotten once every grant they could guard has expired."""

from datetime import timedelta

from sqlalchemy import func, insert, select

from cloud import uploads
from cloud.tables import upload_grant_uses
from tests.cloud.conftest import CloudServer


def test_uses_older_than_any_live_grant_are_forgotten(cloud_server: CloudServer):
    now = cloud_server.clock()
    with cloud_server.cloud.db.transaction() as conn:
        conn.execute(
            insert(upload_grant_uses),
            [
                {"blob_key": "old", "step": "put", "used_at": now - timedelta(days=2)},
                {
                    "blob_key": "recent",
                    "step": "put",
                    "used_at": now - timedelta(seconds=uploads.GRANT_SECONDS),
                },
            ],
        )
        assert uploads.forget_expired_grant_uses(conn, now) == 1
        kept = conn.execute(select(upload_grant_uses.c.blob_key)).scalars().all()
        assert kept == ["recent"]
        assert conn.execute(select(func.count()).select_from(upload_grant_uses)).scalar_one() == 1
