"""``edgestore cloud ...``: run the cloud backend and look after its database."""

from pathlib import Path
from typing import Annotated

import typer

from cloud.settings import CloudSettings

app = typer.Typer(
    help="The cloud: sellers' API and dashboard on Postgres, MongoDB and S3 (embedded when not configured).",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Embedded Postgres, montydb, files [env EDGESTORE_CLOUD_DATA_DIR]"),
]


def settings_from(data_dir: Path | None, **overrides: object) -> CloudSettings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["cloud_data_dir"] = data_dir
    return CloudSettings(**values)  # type: ignore[arg-type]


def describe(settings: CloudSettings) -> str:
    """Where each store lives, for the startup line (no secrets)."""
    pg = "embedded PostgreSQL in " + str(settings.cloud_data_dir / "postgres")
    if settings.database_url:
        pg = "PostgreSQL at " + settings.database_url.split("@")[-1]
    mongo = f"MongoDB at {settings.mongo_url.split('@')[-1]}" if settings.mongo_url else "montydb on disk"
    s3 = f"S3 at {settings.s3_endpoint}" if settings.s3_endpoint else "local files"
    return f"{pg}; {mongo}; {s3}"


@app.command()
def serve(
    data_dir: DataDir = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP port [env EDGESTORE_CLOUD_PORT, default 8000]")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address [env EDGESTORE_CLOUD_HOST, default 127.0.0.1]")
    ] = None,
) -> None:
    """Serve the API (``/api/v1``, docs at ``/docs``) and the dashboard (``/``) until stopped."""
    import uvicorn

    from cloud.api.app import create_app
    from plumbing.serving import HTTP_PARSER

    settings = settings_from(data_dir, cloud_port=port, cloud_host=host)
    typer.echo(f"cloud: {describe(settings)}")
    typer.echo(
        f"cloud: dashboard {settings.base_url}/  API {settings.base_url}/api/v1  docs {settings.base_url}/docs"
    )
    uvicorn.run(
        create_app(settings, freeze_heap=True),
        host=settings.cloud_host,
        port=settings.cloud_port,
        log_level="info",
        http=HTTP_PARSER,
        **settings.uvicorn_proxy_options(),  # X-Forwarded-For only from configured proxies
    )


@app.command()
def ingest(
    data_dir: DataDir = None,
    partition: Annotated[
        str | None,
        typer.Option(help="INDEX/COUNT of the ingest workers, e.g. 1/2 [env EDGESTORE_INGEST_PARTITION]"),
    ] = None,
) -> None:
    """Ingest the store nodes' uplink (and send their downlink) without serving HTTP: one more ingest worker
    beside ``cloud serve``, taking the stores that hash to its partition (docs/scaling.md)."""
    import signal
    import threading

    from cloud.runtime import Cloud
    from cloud.sync_service import SyncService
    from plumbing import freeze_startup_heap, utcnow
    from sync_protocol.mqtt_link import MqttSettings

    try:
        settings = settings_from(data_dir, **({"ingest_partition": partition} if partition else {}))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not settings.cloud_mqtt_url:
        typer.echo("error: EDGESTORE_CLOUD_MQTT_URL is not set: there is nothing to ingest from", err=True)
        raise typer.Exit(2)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    cloud = Cloud.open(settings)
    service = SyncService(
        cloud,
        MqttSettings.from_url(settings.cloud_mqtt_url),
        utcnow,
        partition=settings.partition,
        ingest_threads=settings.ingest_threads,
    )
    try:
        service.start(wait_s=None)  # connects (and reconnects) in the background
        freeze_startup_heap()  # a full collection would stall every batch and ack meanwhile
        typer.echo(f"cloud ingest: partition {settings.partition}, {describe(settings)}")
        stop.wait()
    finally:
        service.close()
        cloud.close()
    typer.echo("cloud ingest: stopped")


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema to the newest version (``serve`` also does this on start)."""
    from cloud.runtime import Cloud

    cloud = Cloud.open(settings_from(data_dir))
    try:
        typer.echo(f"schema at {cloud.db.schema_version()}")
    finally:
        cloud.close()


@app.command("broker-config")
def broker_config(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for mosquitto.conf, acl, passwords, persistence")
    ],
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="The broker's MQTT port")] = 1883,
    bind: Annotated[str, typer.Option(help="The broker's bind address")] = "0.0.0.0",  # noqa: S104
    cloud_password: Annotated[
        str | None,
        typer.Option(help="Password of the cloud's own broker account [env EDGESTORE_BROKER_CLOUD_PASSWORD]"),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="The user Mosquitto runs as when started as root [default: the user running this]"),
    ] = None,
    ingest_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Cloud ingest workers, one broker account each [default: EDGESTORE_INGEST_PARTITION's COUNT]",
        ),
    ] = None,
) -> None:
    """Write the Mosquitto configuration: the ACL, and the password file with every registered device and
    the cloud's accounts (one per ingest worker). Start the broker with `mosquitto -c OUT/mosquitto.conf`."""
    import getpass
    import os
    import secrets

    from cloud import devices
    from cloud.runtime import Cloud
    from sync_protocol.topics import CLOUD_USERNAME, worker_username

    password = cloud_password or os.environ.get("EDGESTORE_BROKER_CLOUD_PASSWORD")
    generated = password is None
    password = password or secrets.token_urlsafe(24)
    settings = settings_from(data_dir)
    workers = ingest_workers or settings.partition.count
    cloud = Cloud.open(settings)
    try:
        with cloud.db.read() as conn:
            accounts = devices.write_broker_config(
                conn, out, cloud_password=password, port=port, bind=bind, run_as=user or getpass.getuser(),
                cloud_workers=workers,
            )  # fmt: skip
    finally:
        cloud.close()
    typer.echo(f"broker config in {out}: mosquitto.conf, acl, passwords ({accounts} accounts)")
    if generated:
        typer.echo(
            f"cloud broker account: {CLOUD_USERNAME} / {password}  (set EDGESTORE_BROKER_CLOUD_PASSWORD to choose it)"
        )
    if workers > 1:
        others = ", ".join(worker_username(k) for k in range(1, workers))
        typer.echo(f"ingest workers 1..{workers - 1} log in as {others}, with the same password")
    typer.echo(f"start it with: mosquitto -c {out / 'mosquitto.conf'}")
