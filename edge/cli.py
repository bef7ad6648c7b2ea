"""``edgestore edge ...``: run and feed a store node."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError

from edge import staff, staff_sessions
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog, synthetic_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from edge.snapshot_stream import StreamedSnapshot
from models.errors import DomainError
from models.staff import Pin, StaffName, StaffRole

app = typer.Typer(
    help="The store node: a FastAPI service on one SQLite file that works offline.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for edge.sqlite3 [env EDGESTORE_DATA_DIR]")
]


def _settings(data_dir: Path | None, **overrides: object) -> EdgeSettings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return EdgeSettings(**values)  # type: ignore[arg-type]


@app.command()
def serve(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [env EDGESTORE_PORT, default 8080]")] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address [env EDGESTORE_HOST, default 127.0.0.1]")
    ] = None,
) -> None:
    """Serve the node's API (``/api/v1``, docs at ``/docs``) until stopped."""
    import uvicorn

    from edge.api.app import create_app
    from plumbing.serving import HTTP_PARSER

    settings = _settings(data_dir, port=port, host=host)
    typer.echo(
        f"store node: data in {settings.data_dir}, API on http://{settings.host}:{settings.port}/api/v1"
    )
    app = create_app(settings, freeze_heap=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", http=HTTP_PARSER)


def fail(message: str) -> NoReturn:
    """Stop the command with a plain message on stderr and exit status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def read_snapshot(path: Path) -> StreamedSnapshot:
    """Read and validate a catalog file, turning every failure into a message for the person at the CLI.
    Checked whole before the node is opened (nothing is made of a bad file), a chunk at a time, and read
    again as it is loaded (``edge.snapshot_stream``): a large catalog is never held whole."""
    try:
        snapshot = StreamedSnapshot.read(lambda: path.open("rb"))
        snapshot.check()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except ValueError as exc:
        fail(f"{path} is not a valid catalog:\n  {exc}")
    return snapshot


@app.command("load-catalog")
def load_catalog(
    file: Annotated[Path, typer.Argument(help="Catalog JSON (see docs/catalog-format.md)")],
    data_dir: DataDir = None,
) -> None:
    """Load a catalog file into the node (only if its version is newer than the one loaded)."""
    snapshot = read_snapshot(file)
    node = Node.open(_settings(data_dir))
    try:
        with node.db.write() as conn:
            count = load_snapshot(conn, snapshot, node.now())
            staff.apply_records(conn, snapshot.head.staff, node.now())
    except DomainError as exc:
        fail(f"{exc.message} ({exc.code})")
    except (OSError, ValueError) as exc:  # the file changed since it was checked: nothing was loaded
        fail(f"{file} could not be loaded: {exc}")
    finally:
        node.close()
    typer.echo(f"loaded catalog version {snapshot.head.version}: {count} products")


@app.command("demo-catalog")
def write_demo_catalog(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout")
    ] = None,
    products: Annotated[int, typer.Option(help="0: the curated demo catalog; N: N synthetic products")] = 0,
    version: Annotated[int, typer.Option(help="Catalog version to stamp")] = 1,
) -> None:
    """Print (or write) a demo catalog, to load with ``load-catalog``."""
    snapshot = synthetic_catalog(products, version=version) if products else demo_catalog(version)
    text = json.dumps(snapshot.to_json_dict(), ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output} ({len(snapshot.products)} products)")


staff_app = typer.Typer(
    help="Staff accounts of this node: the cloud's arrive by themselves; these are made here, for a node "
    "that has no link (see docs/edge-api.md, 'Staff').",
    no_args_is_help=True,
)
app.add_typer(staff_app, name="staff")


def _checked(kind: Any, value: str, what: str) -> str:
    """``value`` as the model type ``kind`` takes it (a name, a PIN), or a plain message and exit status 2."""
    try:
        return str(TypeAdapter(kind).validate_python(value))
    except ValidationError as exc:
        fail(f"{what} {value!r}: {exc.errors()[0]['msg']}")


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Argument(help="What they log in with (unique at the node, any case)")],
    role: Annotated[StaffRole, typer.Option(help="cashier sells; manager also cancels, refunds, returns")] = (
        StaffRole.CASHIER
    ),
    pin: Annotated[
        str | None, typer.Option(help="4-8 digits; left out, a random 6-digit PIN is made and printed once")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a node-local staff account (works with no cloud link; the cloud never sees it)."""
    name = _checked(StaffName, name.strip(), "name")
    given = _checked(Pin, pin, "PIN") if pin is not None else None
    node = Node.open(_settings(data_dir))
    try:
        with node.db.write() as conn:
            account, chosen = staff.add_local(conn, name, role, given, node.now())
    except DomainError as exc:
        fail(f"{exc.message} ({exc.code})")
    finally:
        node.close()
    typer.echo(f"added {account.name} ({account.role.value}, local) {account.staff_id}")
    if given is None:
        typer.echo(f"PIN: {chosen}   (shown once: only its hash is kept)")


@staff_app.command("list")
def staff_list(
    removed: Annotated[bool, typer.Option("--removed", help="Also removed accounts")] = False,
    data_dir: DataDir = None,
) -> None:
    """The node's staff accounts: name, role, origin (cloud or local), id."""
    node = Node.open(_settings(data_dir))
    try:
        with node.db.read() as conn:
            found = staff.list_accounts(conn, with_removed=removed)
    finally:
        node.close()
    if not found:
        typer.echo("no staff accounts (add one with `edgestore edge staff add NAME --role manager`)")
    for a in found:
        gone = "  removed" if a.removed else ""
        typer.echo(f"{a.name}\t{a.role.value}\t{a.origin.value}\t{a.staff_id}{gone}")


@staff_app.command("remove")
def staff_remove(
    name: Annotated[str, typer.Argument(help="The account's name (any case)")], data_dir: DataDir = None
) -> None:
    """Remove a node-local account; its logins end at once. The cloud's accounts are removed in the cloud."""
    node = Node.open(_settings(data_dir))
    try:
        with node.db.write() as conn:
            account = staff.remove_local(conn, name, node.now())
    except DomainError as exc:
        fail(f"{exc.message} ({exc.code})")
    finally:
        node.close()
    typer.echo(f"removed {account.name} ({account.role.value}, local)")


@staff_app.command("unlock")
def staff_unlock(
    name: Annotated[str, typer.Argument(help="The name whose failed logins to forget")],
    data_dir: DataDir = None,
) -> None:
    """Let a name log in again at once after too many wrong PINs."""
    node = Node.open(_settings(data_dir))
    try:
        with node.db.write() as conn:
            had = staff_sessions.unlock(conn, name)
    finally:
        node.close()
    typer.echo(f"{name}: {'unlocked' if had else 'was not locked'}")
