"""The cloud's settings: one object, read once from ``EDGESTORE_*`` variables or the shared TOML file.

Names that the store node also uses (data dir, host, port) carry a ``cloud_`` prefix here, so one
``edgestore.toml`` can configure both on a one-machine install.
"""

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator

from models.stock import LOW_STOCK_THRESHOLD
from plumbing import EdgestoreSettings
from sync_protocol.partition import Partition


def _entries(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


class CloudSettings(EdgestoreSettings):
    """Every setting has a default: a bare ``edgestore cloud serve`` runs on embedded Postgres, montydb and a
    local folder for files. Set the URLs to use real servers. Where they come from: constructor arguments,
    then ``EDGESTORE_*`` variables, then the TOML file (``plumbing.settings_sources``)."""

    cloud_data_dir: Path = Field(
        default=Path("./edgestore-cloud"),
        description="Embedded Postgres cluster, montydb files, local file store, secret key",
    )
    cloud_host: str = Field(default="127.0.0.1", description="Bind address of the cloud's HTTP server")
    cloud_port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="How browsers reach the cloud (file URLs); default http://host:port"
    )
    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host/db; unset: an embedded PostgreSQL in cloud_data_dir",
    )
    mongo_url: str | None = Field(
        default=None, description="mongodb://...; unset: montydb on disk in cloud_data_dir/mongo"
    )
    mongo_database: str = Field(default="edgestore")
    s3_endpoint: str | None = Field(
        default=None, description="S3 endpoint URL; unset: files in cloud_data_dir/files served by the cloud"
    )
    s3_bucket: str = Field(default="edgestore")
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = Field(default="ap-northeast-1")
    s3_public_url: str | None = Field(
        default=None,
        description="Base URL of a public bucket or CDN for images; unset: the cloud's /files route, which "
        "redirects to a fresh presigned URL (stored image URLs never expire)",
    )
    cloud_mqtt_url: str | None = Field(
        default=None,
        description="mqtt://edgestore-cloud:PASSWORD@host:1883 (mqtts:// for TLS): the cloud then takes store "
        "nodes' uplink and presence over MQTT; unset: no sync service",
    )
    ingest_partition: str = Field(
        default="0/1",
        pattern=r"^\s*\d+\s*/\s*\d+\s*$",
        description="INDEX/COUNT: this process ingests the stores that hash to INDEX of COUNT ingest workers "
        "(edgestore cloud serve and edgestore cloud ingest; docs/scaling.md); 0/1: every store",
    )
    ingest_threads: int = Field(
        default=2,
        ge=1,
        description="Threads applying the uplink in this process, one device stream (MQTT topic) at a time "
        "each, in its order: while one waits on Postgres another works (docs/scaling.md); 1: one at a time",
    )
    public_broker_url: str | None = Field(
        default=None,
        description="mqtt://host:1883 or mqtts://host:8883: the broker address a store node that claims its "
        "place is told to use (what a Pi reaches); unset: the broker of cloud_mqtt_url, without its login",
    )
    broker_password_file: Path | None = Field(
        default=None,
        description="Where the cloud writes Mosquitto's password file (devices + the cloud's account); "
        "unset: <cloud data dir>/broker/passwords",
    )
    broker_acl_file: Path | None = Field(
        default=None,
        description="Where the cloud writes Mosquitto's ACL file (each device bound to its store's topics); "
        "unset: <cloud data dir>/broker/acl",
    )
    broker_pid_file: Path | None = Field(
        default=None, description="Mosquitto's pid file: the cloud sends it SIGHUP after credential changes"
    )
    session_ttl_hours: int = Field(default=24 * 14, ge=1, description="How long a login stays valid")
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one account from one client address (or one known device) before each "
        "further try from there waits",
    )
    login_delay_s: int = Field(
        default=30,
        ge=1,
        description="The first wait after login_max_failures; it doubles with each further failure, up to "
        "login_window_s",
    )
    login_window_s: int = Field(
        default=900,
        ge=1,
        description="The sliding window of the per-address and per-account limits, and the longest wait",
    )
    login_address_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one client address, over all accounts, in the window",
    )
    login_account_max_failures: int = Field(
        default=50,
        ge=1,
        description="Failed logins of one account from all addresses in the window; a browser that logged in "
        "to the account before (its known-device cookie) is not held by this limit",
    )
    cloud_forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto the cloud believes ('*' for any); empty: no proxy headers are believed",
    )
    low_stock_threshold: int = Field(
        default=LOW_STOCK_THRESHOLD, ge=0, description="Bell when a level falls under this"
    )
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    cookie_secure: bool = Field(default=False, description="Set on deployments behind HTTPS")

    @field_validator("cloud_forwarded_allow_ips")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        # uvicorn silently takes a value it cannot parse as a literal host name that never matches; a typo
        # would then quietly turn every client behind the proxy into the proxy's one address.
        for entry in _entries(value):
            if entry != "*":
                ipaddress.ip_network(entry)  # strict, as uvicorn parses it; ValueError names the setting
        return value

    def uvicorn_proxy_options(self) -> dict[str, Any]:
        """uvicorn's proxy-header arguments for the cloud's server.

        Always explicit: uvicorn's own default believes ``X-Forwarded-For`` from 127.0.0.1 and ::1 (or
        from ``FORWARDED_ALLOW_IPS``), so any local process, or anything a local forwarder relays, could
        pick the client address the login limits count by. Without configured proxies the header is
        ignored and ``request.client`` is the TCP peer."""
        trusted = _entries(self.cloud_forwarded_allow_ips)
        return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}

    @field_validator("ingest_partition")
    @classmethod
    def _partition(cls, value: str) -> str:
        Partition.parse(value)  # INDEX < COUNT, COUNT >= 1
        return value.replace(" ", "")

    @property
    def partition(self) -> Partition:
        return Partition.parse(self.ingest_partition)

    @field_validator("public_broker_url")
    @classmethod
    def _broker_url_has_no_login(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
                raise ValueError("public_broker_url must be mqtt://host[:port] or mqtts://host[:port]")
            if parts.username or parts.password:
                raise ValueError("public_broker_url is handed to devices: it must carry no login")
        return value

    @property
    def device_broker_url(self) -> str | None:
        """The broker address handed to a device that claims its place: ``public_broker_url``, else the
        cloud's own broker (``cloud_mqtt_url``) without the cloud's login; None when neither is set."""
        if self.public_broker_url:
            return self.public_broker_url.rstrip("/")
        if not self.cloud_mqtt_url:
            return None
        parts = urlsplit(self.cloud_mqtt_url)
        host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, "", "", ""))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.cloud_host}:{self.cloud_port}").rstrip("/")
