"""The one ``edgestore`` command. This package is the composition root: it wires the parts together and
is imported by none of them.

Each subcommand's module is imported only when that subcommand runs (``_LazyCommands``): ``edgestore
kiosk`` on a kiosk's board then loads the kiosk and its client, not the node (FastAPI, SQLAlchemy, the Zhuyin
index's dictionaries) or the cloud (Postgres, Mongo, S3 clients): a second faster, and half the memory
(docs/performance.md, "Kiosk"). ``edgestore --help`` still lists every command with its help (it imports
them all to read it).
"""

import importlib
from typing import Any

import typer
from typer import _click as click  # typer 0.29 carries its own click
from typer.core import TyperGroup

# name -> (module, attribute): a Typer app (a group of commands) or a function (one command).
_COMMANDS: dict[str, tuple[str, str]] = {
    "edge": ("edgestore.cli_edge", "app"),
    "cloud": ("cloud.cli", "app"),
    "demo": ("edgestore.demo", "demo"),
    "doctor": ("edgestore.doctor", "doctor"),
    "kiosk": ("kiosk_ui.cli", "kiosk"),
    # The phone bridge: bumble and bleak (the ble extra) are imported only by the subcommand that runs.
    "ble": ("edge.ble.cli", "app"),
    # The door counter: OpenCV and the pipeline load only in the subcommands that use them.
    "footfall": ("edge.footfall.cli", "app"),
    "provision": ("edgestore.provision", "provision"),
    "prepare-image": ("edgestore.prepare_image", "prepare_image"),
    # Imports TensorFlow (the train extra) only when it runs.
    "train-recognizer": ("edge.recognition.training.command", "train_recognizer"),
}


def _load(name: str) -> click.Command:
    module, attribute = _COMMANDS[name]
    target: Any = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    command = typer.main.get_command_from_info(
        typer.models.CommandInfo(name=name, callback=target),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )
    return command


class _LazyCommands(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_LazyCommands,
    help="edgestore: an edge-first store platform. Start with `edgestore demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """edgestore: an edge-first store platform. Start with `edgestore demo`."""


def main() -> None:
    app()
