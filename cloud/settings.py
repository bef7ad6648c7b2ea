"""The cloud's settings: one object, read once from ``EDGESTORE_*`` variables or the shared TOML file.

Names that the store node also uses (data dir, host, port) carry a ``cloud_`` prefix here, so one
``edgestore.toml`` can configure both on a one-machine install.
"""

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class CloudSettings(BaseSettings):
    """Every setting has a default: a bare ``edgestore cloud serve`` runs on embedded Postgres, montydb and a
    local folder for files. Set the URLs to use real servers."""

    model_config = SettingsConfigDict(env_prefix="EDGESTORE_", extra="ignore")

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
        default=5, ge=1, description="Failed logins per account (or per client address) in the window"
    )
    login_window_s: int = Field(default=900, ge=1, description="The window of the login rate limit")
    low_stock_threshold: int = Field(default=5, ge=0, description="Bell when a level falls under this")
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    cookie_secure: bool = Field(default=False, description="Set on deployments behind HTTPS")
    config_file: Path = Field(default=Path("edgestore.toml"))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.cloud_host}:{self.cloud_port}").rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("EDGESTORE_CONFIG_FILE", "edgestore.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)
