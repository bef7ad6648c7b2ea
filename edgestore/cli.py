"""The one ``edgestore`` command. This package is the composition root: it wires the parts together and
is imported by none of them."""

import typer

from cloud.cli import app as cloud_app
from edge.cli import app as edge_app
from edge.recognition.training.command import train_recognizer
from edgestore.demo import demo
from edgestore.edge_status import status as edge_status
from kiosk_ui.cli import kiosk

app = typer.Typer(
    help="edgestore: an edge-first store platform. Start with `edgestore demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# A client of the node, so it is not edge/'s to hold (the node does not import its client): added here.
edge_app.command("status")(edge_status)
app.add_typer(edge_app, name="edge")
app.add_typer(cloud_app, name="cloud")
app.command()(demo)
app.command()(kiosk)
# Imports TensorFlow (the train extra) only when it runs.
app.command("train-recognizer")(train_recognizer)


def main() -> None:
    app()
