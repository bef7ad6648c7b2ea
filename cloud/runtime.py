"""Everything one cloud process holds open: Postgres, the metadata store, the file store, the bell."""

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cloud.bell import BellHub
from cloud.db import CloudDatabase, EmbeddedPostgres
from cloud.ingest_health import IngestHealth
from cloud.media.blob_store import BlobStore, open_blob_store
from cloud.media.metadata_store import MetadataStore, open_metadata_store
from cloud.settings import CloudSettings

EMBEDDED_DATABASE = "edgestore"


def _secret_key(data_dir: Path) -> bytes:
    """A per-installation secret (signs local upload URLs), made once and kept in the data folder."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


@dataclass
class Cloud:
    settings: CloudSettings
    db: CloudDatabase
    metadata: MetadataStore
    blobs: BlobStore
    secret: bytes
    bell: BellHub
    embedded_postgres: EmbeddedPostgres | None = None
    ingest_health: IngestHealth = field(default_factory=IngestHealth)

    @classmethod
    def open(cls, settings: CloudSettings) -> "Cloud":
        data_dir = settings.cloud_data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        embedded: EmbeddedPostgres | None = None
        url = settings.database_url
        if url is None:
            embedded = EmbeddedPostgres(data_dir / "postgres")
            embedded.create_database(EMBEDDED_DATABASE)
            url = embedded.url(EMBEDDED_DATABASE)
        # The pool's ten for the HTTP handlers and the downlink, and one more per ingest thread: each holds a
        # connection while it applies a batch (cloud.sync_service).
        db = CloudDatabase(url, pool_size=10 + settings.ingest_threads)
        db.migrate()
        secret = _secret_key(data_dir)
        metadata = open_metadata_store(settings.mongo_url, data_dir, settings.mongo_database)
        blobs = open_blob_store(
            settings.s3_endpoint,
            settings.s3_bucket,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
            data_dir / "files",
            settings.base_url,
            secret,
            public_base_url=settings.s3_public_url or f"{settings.base_url}/files",
        )
        bell = BellHub(db.conninfo())
        bell.start()
        cloud = cls(settings, db, metadata, blobs, secret, bell, embedded)
        cloud.refresh_broker_credentials()  # a broker started now finds every live device
        return cloud

    @property
    def broker_password_path(self) -> Path:
        return self.settings.broker_password_file or self.settings.cloud_data_dir / "broker" / "passwords"

    @property
    def broker_acl_path(self) -> Path:
        return self.settings.broker_acl_file or self.settings.cloud_data_dir / "broker" / "acl"

    def refresh_broker_credentials(self) -> None:
        """Rewrite the broker's password and ACL files from the live devices and ask the broker to reload.

        Accounts in the file that are not devices (the cloud's own, written by ``cloud broker-config``) are
        kept: the broker reads one password file, and dropping the cloud's login would cut sync off at the
        broker's next reload."""
        from cloud import devices
        from sync_protocol.topics import cloud_workers_in

        with self.db.read() as conn:
            accounts = devices.service_accounts_in(conn, self.broker_password_path)
            text = devices.broker_password_file(conn, accounts)
            # Every ingest worker whose account the file holds keeps its rights (``broker-config
            # --ingest-workers`` made them), even if this process was started with fewer.
            workers = max(self.settings.partition.count, cloud_workers_in(accounts))
            acl = devices.broker_acl(conn, cloud_workers=workers)
        devices.write_broker_files(self.broker_acl_path, acl)  # first: a new device's topics before its login
        devices.write_broker_files(self.broker_password_path, text)
        devices.reload_broker(self.settings.broker_pid_file)

    def close(self) -> None:
        self.bell.stop()
        self.metadata.close()
        self.db.dispose()
        if self.embedded_postgres is not None:
            self.embedded_postgres.stop()
