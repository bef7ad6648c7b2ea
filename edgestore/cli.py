"""The one ``edgestore`` command. This package is the composition root: it wires the parts together and
is imported by none of them."""

import typer

from cloud.cli import app as cloud_app
from edge.cli import app as edge_app
from edgestore.demo import demo

app = typer.Typer(
    help="edgestore: an edge-first store platform. Start with `edgestore demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(edge_app, name="edge")
app.add_typer(cloud_app, name="cloud")
app.command()(demo)


def main() -> None:
    app()
