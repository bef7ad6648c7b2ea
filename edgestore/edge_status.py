"""``edgestore edge status``: what a node says about itself (health and sync), asked over its HTTP API.

It lives here, not in ``edge/cli.py``, because it is a client of the node: the node does not import its own
client (an import-linter contract), and the composition root adds the command to the ``edge`` group.
Exit status: 0 the node is healthy, 1 it answers but is degraded (its database is unreadable), 2 it could
not be asked (unreachable, or it refused).
"""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli import fail
from edge.settings import EdgeSettings
from plumbing import client_host

if TYPE_CHECKING:
    from models.node_api import Health, SyncStatus


def _default_url() -> str:
    """The node this machine's settings describe (``EDGESTORE_HOST``/``EDGESTORE_PORT``, TOML file)."""
    settings = EdgeSettings()
    return f"http://{client_host(settings.host)}:{settings.port}"


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "never"


def health_lines(health: "Health") -> list[str]:
    models = ", ".join(f"{name} v{version}" for name, version in sorted(health.models.items())) or "none"
    link = "online" if health.cloud.connected else "offline"
    return [
        f"status      {health.status} (version {health.version})",
        f"store       {health.store_id or '(none yet: load a catalog)'}",
        f"device      {health.device_id}",
        f"database    {'ok' if health.database_ok else 'NOT READABLE'}",
        f"catalog     {'version ' + str(health.catalog_version) if health.catalog_version else 'none loaded'}",
        f"cloud       {link}, last contact {_when(health.cloud.last_contact_at)}",
        f"models      {models}",
    ]


def sync_lines(sync: "SyncStatus") -> list[str]:
    lines = [f"sync        {sync.pending_total} waiting for the cloud, last ack {_when(sync.last_ack_at)}"]
    for stream in sync.streams:
        oldest = f", oldest {_when(stream.oldest_pending_at)}" if stream.pending else ""
        lines.append(f"  {stream.stream:<14}{stream.pending} waiting{oldest}, acked up to {stream.acked_seq}")
    if sync.waiting_for_ack_since is not None:
        lines.append(f"  a batch waits for its ack since {_when(sync.waiting_for_ack_since)}")
    if sync.resends:
        lines.append(f"  {sync.resends} batches sent again for want of an ack")
    if sync.dead_letters:
        lines.append(f"  {sync.dead_letters} messages from the cloud refused (kept)")
    return lines


def status(
    edge_url: Annotated[
        str | None,
        typer.Option(
            "--edge-url",
            help="The node's address, e.g. http://192.168.1.20:8080 [default: this machine's node, "
            "from EDGESTORE_HOST and EDGESTORE_PORT]",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer")] = 5.0,
    staff: Annotated[
        str | None, typer.Option("--staff", help="A staff member's name: the sync status is for staff only")
    ] = None,
    pin: Annotated[
        str | None, typer.Option(envvar="EDGESTORE_STAFF_PIN", help="Their PIN (asked when not given)")
    ] = None,
) -> None:
    """Print a store node's health and, for a staff member, its sync status, asked over its HTTP API."""
    # Imported here: the CLI's other commands (load-catalog on a Pi) need no HTTP client.
    from models.node_api import SyncStatus
    from node_client import NodeClient, NodeClientError, NodeError, NodeUnreachable

    url = edge_url or _default_url()
    if staff is not None and pin is None:
        pin = typer.prompt("PIN", hide_input=True)
    sync: SyncStatus | None = None
    with NodeClient(url, timeout=timeout, retries=1) as client:
        try:
            health = client.health()
            if staff is not None and pin is not None:
                client.staff_login(staff, pin)
                sync = client.sync_status()
                client.staff_logout()
        except NodeError as exc:
            if exc.status in (401, 429):
                fail(f"the store node at {url} refused the staff login: {exc.message}")
            fail(f"the store node at {url} did not answer as a node does: {exc}")
        except NodeUnreachable as exc:
            reason = str(exc.cause) or type(exc.cause).__name__
            fail(
                f"the store node at {url} is unreachable ({reason}); is it running, and is that its address?"
            )
        except NodeClientError as exc:
            fail(f"the store node at {url} did not answer as a node does: {exc}")
    typer.echo(f"store node {client.base_url}")
    said = (
        sync_lines(sync)
        if sync is not None
        else ["sync        for staff only: add --staff NAME (the PIN is asked)"]
    )
    for line in [*health_lines(health), *said]:
        typer.echo(line)
    if health.status != "ok":
        raise typer.Exit(1)
