"""``edgestore edge ...``: run and feed a store node."""

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog, synthetic_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from models.catalog import CatalogSnapshot
from models.errors import DomainError

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

    settings = _settings(data_dir, port=port, host=host)
    typer.echo(
        f"store node: data in {settings.data_dir}, API on http://{settings.host}:{settings.port}/api/v1"
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


def fail(message: str) -> NoReturn:
    """Stop the command with a plain message on stderr and exit status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def read_snapshot(path: Path) -> CatalogSnapshot:
    """Read and validate a catalog file, turning every failure into a message for the person at the CLI."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    try:
        return CatalogSnapshot.model_validate_json(raw)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()[:20]
        )
        fail(f"{path} is not a valid catalog:\n{problems}")


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
    except DomainError as exc:
        fail(f"{exc.message} ({exc.code})")
    finally:
        node.close()
    typer.echo(
        f"loaded catalog version {snapshot.version}: {count} products, {len(snapshot.stock)} stock levels"
    )


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
