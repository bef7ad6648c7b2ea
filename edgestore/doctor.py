"""``edgestore doctor``: the field guide's checks on a running store node, one line each, for a person (zh-TW
by default, English with ``--lang en``) or as ``--json``.

The machine's checks are the ones provisioning runs (``provisioning.checks``); the node's come from its
``/health`` (asked over HTTP like ``edgestore edge status``), its outbox read straight from its database
file, read-only (``/sync/status`` is for staff and doctor asks no PIN), and its systemd services. It lives in
the composition root because it joins the three: provisioning may not import the node, the node not its
client. What this node is not set up to have (its settings: ``EDGESTORE_CAMERA_ENABLED`` and the rest) is
reported absent, not failed.

Exit status: 1 when a check that applies failed, else 0 (warnings and absent parts do not count).
"""

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.settings import EdgeSettings
from plumbing import client_host, utcnow
from plumbing.settings_sources import CONFIG_FILE_VARIABLE
from provisioning.checks import Check, Hardware, cloud_date_skew, failed, machine_checks
from provisioning.i18n import CATALOG
from provisioning.machine import Machine
from provisioning.node_checks import check_broker, check_model, check_node, check_outbox, check_service
from provisioning.node_config import CONFIG_DIR, CONFIG_NAME
from provisioning.report import human_lines, json_text
from provisioning.units import KIOSK, NODE

if TYPE_CHECKING:
    from models.node_api import Health, StreamBacklog


def _health(url: str, timeout_s: float) -> "Health | None":
    from node_client import NodeClient, NodeClientError

    try:
        with NodeClient(url, timeout=timeout_s, retries=1) as client:
            return client.health()
    except NodeClientError:
        return None


def _backlog(settings: EdgeSettings) -> "list[StreamBacklog] | None":
    from sqlalchemy.exc import SQLAlchemyError

    from edge.outbox import read_backlog

    if not settings.database_path.is_file():
        return None
    try:
        return read_backlog(settings.database_path)
    except SQLAlchemyError:
        return None


def node_doctor_checks(
    settings: EdgeSettings,
    machine: Machine,
    *,
    edge_url: str,
    cloud_url: str | None = None,
    now: Callable[[], datetime] = utcnow,
    timeout_s: float = 5.0,
) -> list[Check]:
    """Every check of a running node, in the order a person reads them: the node and its link first, then
    the machine's."""
    health = _health(edge_url, timeout_s)
    mqtt = settings.mqtt_url is not None
    # The units provisioning installs (provisioning.units).
    units = [NODE, KIOSK] if settings.kiosk_enabled else [NODE]
    hardware = Hardware(
        camera=settings.camera_enabled,
        pir=settings.pir_enabled,
        ble=settings.ble_enabled,
        display=settings.kiosk_enabled,
    )
    return [
        check_node(edge_url, health),
        *(check_service(machine, unit) for unit in units),
        check_broker(health, mqtt),
        check_outbox(_backlog(settings), now(), mqtt),
        check_model(health, settings.recognition_enabled),
        *machine_checks(
            machine,
            settings.data_dir,
            hardware,
            cloud_url=cloud_url,
            skew=lambda url: cloud_date_skew(url, now, timeout_s),
        ),
    ]


@contextlib.contextmanager
def _provisioned_config(root: Path) -> Iterator[None]:
    """On a provisioned Pi, the node's own config file (its units name it; a shell does not), unless
    ``EDGESTORE_CONFIG_FILE`` names one. It is owner-only: run doctor with sudo."""
    provisioned = root / CONFIG_DIR.lstrip("/") / CONFIG_NAME
    if CONFIG_FILE_VARIABLE in os.environ or not provisioned.is_file():
        yield
        return
    os.environ[CONFIG_FILE_VARIABLE] = str(provisioned)
    try:
        yield
    finally:
        del os.environ[CONFIG_FILE_VARIABLE]


def _no_commands(_args: Sequence[str]) -> str | None:
    """Under another root, this machine's commands would answer for the wrong machine."""
    return None


def doctor(
    edge_url: Annotated[
        str | None,
        typer.Option(
            "--edge-url",
            help="The node's address [default: this machine's node, from EDGESTORE_HOST and EDGESTORE_PORT]",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The node's data folder [default: EDGESTORE_DATA_DIR]"),
    ] = None,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud",
            help="The cloud's address, to compare this machine's clock with it [default: EDGESTORE_CLOUD_URL, "
            "which provisioning sets]",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON list of {id, status, detail, advice}")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="zh-TW or en")] = CATALOG.locales[0],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer")] = 5.0,
    root: Annotated[
        Path,
        typer.Option(
            "--root",
            hidden=True,
            help="Read /dev, /sys and /etc under this folder (a mounted image, or a test); its commands "
            "are not run",
        ),
    ] = Path("/"),
) -> None:
    """Check a running store node and its machine: a pass/fail line per check and what to do."""
    if lang not in CATALOG.locales:
        raise typer.BadParameter(f"one of {', '.join(CATALOG.locales)}", param_hint="--lang")
    with _provisioned_config(root):
        settings = EdgeSettings(data_dir=data_dir) if data_dir is not None else EdgeSettings()
    url = edge_url or f"http://{client_host(settings.host)}:{settings.port}"
    machine = Machine.this()
    if root != Path("/"):
        machine = replace(machine, root=root, run=_no_commands)
    cloud = cloud or settings.cloud_url
    checks = node_doctor_checks(settings, machine, edge_url=url, cloud_url=cloud, timeout_s=timeout)
    if as_json:
        typer.echo(json_text(checks, lang))
    else:
        for line in human_lines(checks, lang):
            typer.echo(line)
    if failed(checks):
        raise typer.Exit(1)
