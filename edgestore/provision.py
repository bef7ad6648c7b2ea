"""``edgestore provision``: turn a fresh Pi into a registered store node (docs/field-guide.md).

The steps, each a line of the checklist printed at the end (zh-TW, or English with ``--lang en``):

1. the machine: OS, Python, disk, clock, and the hardware found (camera, BLE adapter, display; a PIR sensor
   only when asked for: it cannot be detected);
2. the claim: ``POST /devices/claim`` with the code, this board's id and the Ed25519 key it made
   (``provisioning.identity``); the login is written to the config at once, before anything else can fail;
3. the node's config ``ROOT/etc/edgestore/edgestore.toml`` (0600) and its data folder
   ``ROOT/var/lib/edgestore``;
4. the database, created and migrated;
5. the catalog: the node's own sync agent links to the broker with the new login, takes the snapshot the
   cloud sends a new node (with the store's stock and staff), and says where it stands;
6. the service account and the systemd units (node, door counter, BLE, kiosk), enabled; on the running
   system, started.

Running it again repairs what is missing and keeps what is there: a config with a device in it is never
claimed again (the code may be spent), the database is migrated, never replaced, a catalog already taken
is kept, units are rewritten only when their text changed. It lives in the composition root because it
opens the node's database and runs its sync agent; ``provisioning`` holds the parts that need neither.

Exit status: 0 when every step passed, 1 when one failed (the checklist says what to do), 2 for a usage
error (a config file that is not TOML).
"""

import contextlib
import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from models.cloud_api import DeviceClaim
from plumbing import utcnow
from plumbing.i18n import Translator
from provisioning import steps, units
from provisioning.checks import (
    Check,
    Hardware,
    Status,
    cloud_date_skew,
    detect_hardware,
    failed,
    machine_checks,
)
from provisioning.claim_client import ClaimRefused, claim, cloud_base
from provisioning.i18n import CATALOG, translator
from provisioning.identity import device_public_key, hardware_id
from provisioning.machine import Machine
from provisioning.node_config import (
    CONFIG_DIR,
    CONFIG_NAME,
    DATA_DIR,
    ConfigUnreadable,
    mqtt_url,
    read_config,
    registration,
    with_defaults,
    writable,
    write_config,
)
from provisioning.report import human_lines, json_text

DEFAULT_PORT = 8080
# Where an image's units find edgestore (the first-boot script installs it there; docs/field-guide.md).
IMAGE_PYTHON = "/opt/edgestore/bin/python"
# Folders the services cannot see (ProtectHome=, PrivateTmp=): a Python installed there cannot run them.
HIDDEN_FROM_SERVICES = (Path("/home"), Path("/root"), Path("/tmp"), Path("/run/user"))  # noqa: S108 - compared
PROGRESS_EVERY_S = 5.0
_HARDWARE_KEYS = {
    "camera": "camera_enabled",
    "pir": "pir_enabled",
    "ble": "ble_enabled",
    "display": "kiosk_enabled",
}


@dataclass(frozen=True)
class Layout:
    """Where things go. ``local``: the path this process writes; ``seen``: the path written into files,
    as the system that runs the node sees it (the same path unless the root is an image for another
    machine)."""

    root: Path
    image: bool

    def local(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def seen(self, absolute: str) -> str:
        return absolute if self.image else str(self.local(absolute))

    @property
    def config_file(self) -> Path:
        return self.local(f"{CONFIG_DIR}/{CONFIG_NAME}")

    @property
    def running_system(self) -> bool:
        return self.root == Path("/") and not self.image


class Progress:
    """The lines said while the steps run (standard error, so ``--json`` stays one document on stdout)."""

    def __init__(self, t: Translator, quiet: bool) -> None:
        self.t = t
        self.quiet = quiet

    def __call__(self, key: str, **params: object) -> None:
        if not self.quiet:
            typer.echo("… " + self.t(key, **params), err=True)


class AlreadyRunning(RuntimeError):
    """Another ``edgestore provision`` works on the same root (first boot and a person at once)."""


@contextlib.contextmanager
def _only_run(layout: Layout) -> Iterator[None]:
    """One provisioning at a time per root: two at once could both claim with one code, or both write."""
    folder = layout.local(CONFIG_DIR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / ".provision.lock").open("a")
    except OSError:
        yield  # a folder it cannot write: the config step says so
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning(
                f"another edgestore provision is running on {layout.root}: wait for it"
            ) from exc
        yield


def _no_commands(_args: object) -> str | None:
    """Under another root, this machine's commands would answer for the wrong machine."""
    return None


def _hardware(
    config: dict[str, Any], detected: Hardware, asked: dict[str, bool | None]
) -> tuple[Hardware, dict[str, bool]]:
    """What the node is set up with: a flag given now wins, then what the config says, then what was found.
    Returns it and the config keys to write."""
    chosen = {}
    for part, key in _HARDWARE_KEYS.items():
        said = asked[part]
        kept = config.get(key)
        chosen[part] = (
            said if said is not None else kept if isinstance(kept, bool) else getattr(detected, part)
        )
    hardware = Hardware(**chosen)
    return hardware, {key: chosen[part] for part, key in _HARDWARE_KEYS.items()}


def _claim(
    layout: Layout,
    machine: Machine,
    config: dict[str, Any],
    cloud: str | None,
    code: str | None,
    progress: Progress,
) -> tuple[Check, dict[str, Any]]:
    """The claim step: the config's device if it has one, else a claim with the code. Returns the step's
    line and the config as it is now (with the login, when one was got)."""
    kept = registration(config)
    if kept is not None:
        return steps.claim_kept(kept.device_id, kept.store_id), config
    if cloud is None or code is None:
        return steps.claim_missing(), config
    config_dir = layout.local(CONFIG_DIR)
    try:
        writable(layout.config_file)  # the login must be kept: a Pi that cannot write it must not claim
    except OSError as exc:
        return steps.config_failed(str(layout.config_file), str(exc)), config
    progress(steps.PROGRESS_CLAIM, cloud=cloud)
    try:
        body = DeviceClaim(
            code=code, hardware_id=hardware_id(machine, config_dir), public_key=device_public_key(config_dir)
        )
        claimed = claim(cloud, body)
    except ClaimRefused as exc:
        return steps.claim_refused(exc.code, exc.message), config
    except ValueError as exc:  # a code that cannot be one (too long), a key file that is not ours
        return steps.claim_refused("validationFailed", str(exc).splitlines()[0]), config
    try:
        config = {
            **config,
            "device_id": claimed.device_id,
            "store_id": claimed.store_id,
            "cloud_url": cloud_base(claimed.cloud_url or cloud),
        }
        if claimed.broker_url:
            config["mqtt_url"] = mqtt_url(claimed.broker_url, claimed.mqtt.username, claimed.mqtt.password)
        # The password exists nowhere else: it is on disk before anything else can fail.
        write_config(layout.config_file, config)
    except (OSError, ValueError) as exc:
        return steps.claim_not_kept(claimed.device_id, str(exc).splitlines()[0]), config
    return steps.claim_done(claimed.device_id, claimed.store_name), config


def _earlier_store(layout: Layout, store_id: str) -> str | None:
    """The store a database already in the data folder belongs to, when it is not ``store_id`` (a Pi moved
    to another store, its config gone but its data kept)."""
    path = layout.local(DATA_DIR) / "edge.sqlite3"
    if not path.is_file():
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from edge import node_state
    from edge.db import Database

    db = Database(path)
    try:
        with db.read() as conn:
            earlier = node_state.get(conn, node_state.STORE_ID)
    except SQLAlchemyError:
        return None  # not a node's database we can read: the database step says what it is
    finally:
        db.dispose()
    return earlier if earlier and earlier != store_id else None


def _move_aside(layout: Layout, earlier: str) -> Check:
    """Keep another store's data out of this one's node, without deleting it (its outbox may hold sales)."""
    data = layout.local(DATA_DIR)
    aside = data.with_name(f"{data.name}-store-{earlier}-{utcnow():%Y%m%dT%H%M%S}")
    data.rename(aside)
    return steps.database_moved(str(aside), earlier)


def _node_settings(layout: Layout, config: dict[str, Any]) -> Any:
    from edge.settings import EdgeSettings

    values = {**config, "data_dir": layout.local(DATA_DIR), "recognition_enabled": False}
    return EdgeSettings(**values)


def _database(layout: Layout, config: dict[str, Any], progress: Progress) -> Check:
    from sqlalchemy.exc import SQLAlchemyError

    from edge.node import Node

    path = layout.local(DATA_DIR) / "edge.sqlite3"
    progress(steps.PROGRESS_DATABASE, path=str(path))
    try:
        node = Node.open(_node_settings(layout, config))
        try:
            schema = node.db.schema_version()
        finally:
            node.close()
    except (SQLAlchemyError, OSError, ValueError) as exc:  # ValueError: a bad value in the config (pydantic)
        return steps.database_failed(str(path), str(exc).splitlines()[0])
    return steps.database_ready(str(path), schema)


def _running_node(port: int) -> dict[str, Any] | None:
    """The health of a node already serving on this machine's port (provisioning run again beside it)."""
    import httpx

    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
        health = response.json() if response.status_code == httpx.codes.OK else None
    except (httpx.HTTPError, ValueError):
        return None
    return health if isinstance(health, dict) else None


def _wait_for_catalog(
    node: Any, timeout_s: float, progress: Progress, linked: Callable[[], bool]
) -> tuple[int, int] | None:
    """The catalog's version and product count once the node holds one; None after ``timeout_s``."""
    from edge import node_state
    from edge.catalog import count_products

    started = said = time.monotonic()
    while time.monotonic() - started < timeout_s:
        with node.db.read() as conn:
            version = node_state.catalog_version(conn)
            if version is not None:
                return version, count_products(conn)
        if time.monotonic() - said >= PROGRESS_EVERY_S:
            said = time.monotonic()
            progress(steps.PROGRESS_WAITING, seconds=round(said - started), linked="✓" if linked() else "…")
        time.sleep(0.2)
    return None


def _catalog(layout: Layout, config: dict[str, Any], timeout_s: float, progress: Progress) -> Check:
    """Take the store's catalog the way the running node does: its sync agent, linked with the new login.
    When the node already runs here, its own agent takes it (a second link with the same login would push
    the node's off the broker): provisioning only waits for it."""
    from edge import node_state
    from edge.catalog import count_products
    from edge.node import Node
    from edge.sync_agent import SyncAgent
    from sync_protocol.mqtt_link import MqttSettings

    settings = _node_settings(layout, config)
    node = Node.open(settings)
    try:
        with node.db.read() as conn:
            version = node_state.catalog_version(conn)
            if version is not None:
                return steps.catalog_taken(version, count_products(conn), before=True)
        if settings.mqtt_url is None or settings.store_id is None:
            return steps.catalog_no_broker()
        broker = MqttSettings.from_url(settings.mqtt_url)
        progress(steps.PROGRESS_CONNECT, broker=f"{broker.host}:{broker.port}")
        if not layout.image and _running_node(settings.port) is not None:
            got = _wait_for_catalog(
                node, timeout_s, progress, lambda: bool((_running_node(settings.port) or {}).get("online"))
            )
            connected = True
        else:
            agent = SyncAgent(node, broker, store_id=settings.store_id, status_every_s=5.0, interval_s=0.2)
            agent.start()
            try:
                got = _wait_for_catalog(node, timeout_s, progress, agent.link.connected.is_set)
                if got is not None:
                    agent.nudge()
                    time.sleep(0.5)  # the agent says where it stands now: the cloud records the node
                connected = agent.link.connected.is_set()
            finally:
                agent.stop()
        if got is None:
            return steps.catalog_failed(f"{timeout_s:.0f} s", connected=connected)
        return steps.catalog_taken(got[0], got[1], before=False)
    finally:
        node.close()


def _group_names(layout: Layout) -> set[str]:
    try:
        lines = layout.local("/etc/group").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {line.split(":", 1)[0] for line in lines if line and not line.startswith("#")}


def _systemctl(*args: str) -> bool:
    """Whether ``systemctl ARGS`` succeeded (its exit status: it prints nothing either way)."""
    import subprocess

    program = shutil.which("systemctl")
    if program is None:
        return False
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [program, *args], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _systemd_here(layout: Layout) -> bool:
    """Whether systemd runs this system and provisioning may ask it to act (root, not another root)."""
    return layout.running_system and os.geteuid() == 0 and Path("/run/systemd/system").is_dir()


def _run_ok(*args: str) -> str | None:
    """None when the command succeeded, else what it said (or why it could not run)."""
    import subprocess

    program = shutil.which(args[0])
    if program is None:
        return f"{args[0]} is not installed"
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [program, *args[1:]], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr or done.stdout).strip() or f"exit {done.returncode}"


def _service_account(layout: Layout, plan: units.UnitPlan, machine: Machine) -> Check:
    """The services' account and what it owns, declared for systemd (sysusers.d, tmpfiles.d) and, on the
    running system, applied now."""
    try:
        units.write_files(layout.root, units.account_files(plan))
    except OSError as exc:
        return steps.service_user_failed(plan.user, str(exc))
    if not _systemd_here(layout):
        return steps.service_user(plan.user, None)
    there = bool(machine.run(["getent", "passwd", plan.user]))
    for command in (
        ("systemd-sysusers", units.SYSUSERS_FILE),
        ("systemd-tmpfiles", "--create", units.TMPFILES_FILE),
    ):
        error = _run_ok(*command)
        if error is not None:
            return steps.service_user_failed(plan.user, error)
    return steps.service_user(plan.user, not there)


def _commands() -> set[str]:
    from edgestore.cli import _COMMANDS

    return set(_COMMANDS)


def _unit_plan(layout: Layout, config: dict[str, Any], python: str | None) -> units.UnitPlan:
    """What the units run. The Python is the one running now, unless asked (an image: its own install)."""
    return units.UnitPlan(
        python=python or (IMAGE_PYTHON if layout.image else sys.executable),
        config_file=layout.seen(f"{CONFIG_DIR}/{CONFIG_NAME}"),
        data_dir=layout.seen(DATA_DIR),
        node_port=int(config.get("port", DEFAULT_PORT)),
        groups=frozenset(_group_names(layout)),
    )


def _units(layout: Layout, plan: units.UnitPlan, hardware: Hardware, progress: Progress) -> Check:
    progress(steps.PROGRESS_UNITS)
    if layout.running_system and any(
        Path(plan.python).is_relative_to(hidden) for hidden in HIDDEN_FROM_SERVICES
    ):
        return steps.units_hidden_python(plan.python)
    commands = _commands()
    planned = units.node_units(
        plan,
        # The door counter and the BLE service run only where this edgestore has their commands.
        footfall=(hardware.camera or hardware.pir) and "footfall" in commands,
        ble=hardware.ble and "ble" in commands,
        kiosk=hardware.display,
    )
    try:
        changed = {path.name for path in units.install(layout.root, planned)}
    except OSError as exc:
        return steps.units_failed(str(exc))
    enabled = [unit.name for unit in planned if unit.enabled]
    started: bool | None = None
    if _systemd_here(layout):
        # A repair run restarts only what changed: a running kiosk's sale is not cut short for nothing.
        restart = [name for name in enabled if name in changed]
        start = [name for name in enabled if name not in changed]
        started = (
            _systemctl("daemon-reload")
            and (not restart or _systemctl("restart", *restart))
            and (not start or _systemctl("start", *start))
        )
    return steps.units_installed(enabled, started)


def run_provisioning(
    layout: Layout,
    machine: Machine,
    *,
    cloud: str | None,
    code: str | None,
    port: int,
    asked: dict[str, bool | None],
    sync_timeout_s: float,
    progress: Progress,
    python: str | None = None,
    now: Callable[[], Any] = utcnow,
) -> list[Check]:
    """Every step, in order; a step whose inputs a failed step should have made is listed as skipped."""
    config = read_config(layout.config_file)
    progress(steps.PROGRESS_CHECKS)
    hardware, hardware_keys = _hardware(config, detect_hardware(machine), asked)
    cloud = cloud or (config.get("cloud_url") if isinstance(config.get("cloud_url"), str) else None)
    checks = machine_checks(
        machine,
        layout.local(DATA_DIR),
        hardware,
        cloud_url=cloud_base(cloud) if cloud else None,
        skew=lambda url: cloud_date_skew(url, now),
    )
    earlier_claim = registration(config)
    claim_check, config = _claim(layout, machine, config, cloud, code, progress)
    checks.append(claim_check)
    if claim_check.status is Status.FAIL:
        return [
            *checks,
            *([] if claim_check.id == "config" else [steps.skipped("config", "title.config")]),
            steps.skipped("database", "title.database"),
            steps.skipped("catalog", "title.catalog"),
            steps.skipped("units", "title.units"),
        ]
    if earlier_claim is None and isinstance(config.get("store_id"), str):
        earlier = _earlier_store(layout, config["store_id"])
        if earlier is not None:
            checks.append(_move_aside(layout, earlier))
    defaults = {"data_dir": layout.seen(DATA_DIR), "host": "127.0.0.1", "port": port}
    config = {**with_defaults(config, defaults), **hardware_keys}
    before = read_config(layout.config_file)
    try:
        layout.local(DATA_DIR).mkdir(mode=0o750, parents=True, exist_ok=True)
        write_config(layout.config_file, config)
    except OSError as exc:
        return [*checks, steps.config_failed(str(layout.config_file), str(exc))]
    checks.append(steps.config_written(str(layout.config_file), changed=before != config))
    database = _database(layout, config, progress)
    checks.append(database)
    if database.status is Status.FAIL:
        return [*checks, steps.skipped("catalog", "title.catalog"), steps.skipped("units", "title.units")]
    checks.append(_catalog(layout, config, sync_timeout_s, progress))
    plan = _unit_plan(layout, config, python)
    checks.append(_service_account(layout, plan, machine))
    checks.append(_units(layout, plan, hardware, progress))
    return checks


def provision(
    cloud: Annotated[
        str | None, typer.Option("--cloud", help="The cloud's address, e.g. https://cloud.example.com")
    ] = None,
    claim_code: Annotated[
        str | None,
        typer.Option(
            "--claim-code", help="The code from the store's page (not needed when provisioning again)"
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="Install under this folder instead of / (a test, an image)")
    ] = Path("/"),
    image: Annotated[
        bool,
        typer.Option(
            "--image",
            help="ROOT is a system image for another machine: files name paths as that system will see them",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The node's HTTP port")
    ] = DEFAULT_PORT,
    camera: Annotated[
        bool | None, typer.Option("--camera/--no-camera", help="A camera [default: found or not]")
    ] = None,
    pir: Annotated[
        bool | None, typer.Option("--pir/--no-pir", help="A PIR sensor on the GPIO header [default: no]")
    ] = None,
    ble: Annotated[
        bool | None, typer.Option("--ble/--no-ble", help="A Bluetooth LE adapter [default: found or not]")
    ] = None,
    kiosk: Annotated[
        bool | None,
        typer.Option(
            "--kiosk/--no-kiosk", help="The self-checkout on this Pi's display [default: a display found]"
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help=f"The Python the units run edgestore with [default: this one; with --image {IMAGE_PYTHON}]",
        ),
    ] = None,
    sync_timeout: Annotated[
        float, typer.Option("--sync-timeout", min=1.0, help="Seconds to wait for the store's catalog")
    ] = 120.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON list of {id, status, detail, advice}")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="zh-TW or en")] = CATALOG.locales[0],
) -> None:
    """Make this machine a registered store node: checks, claim, config, database, catalog, services."""
    if lang not in CATALOG.locales:
        raise typer.BadParameter(f"one of {', '.join(CATALOG.locales)}", param_hint="--lang")
    layout = Layout(root.resolve(), image)
    machine = Machine.this()
    if root.resolve() != Path("/"):
        machine = replace(machine, root=layout.root, run=_no_commands, environ={})
    t = translator(lang)
    started = time.monotonic()
    try:
        with _only_run(layout):
            checks = run_provisioning(
                layout,
                machine,
                cloud=cloud,
                code=claim_code,
                port=port,
                asked={"camera": camera, "pir": pir, "ble": ble, "display": kiosk},
                sync_timeout_s=sync_timeout,
                progress=Progress(t, quiet=as_json),
                python=python,
            )
    except (ConfigUnreadable, AlreadyRunning) as exc:
        typer.echo(f"edgestore provision: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json_text(checks, lang))
    else:
        for line in human_lines(checks, lang):
            typer.echo(line)
        elapsed = round(time.monotonic() - started)
        typer.echo(t(steps.NEXT_FAIL if failed(checks) else steps.NEXT_OK, seconds=elapsed))
    if failed(checks):
        raise typer.Exit(1)
