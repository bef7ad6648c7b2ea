"""What every benchmark needs besides ``plumbing`` (free ports, waiting until a server answers): progress on
stderr, the project's CLI, percentiles, what machine it ran on (CPU model, memory, the filesystem under a
folder, from /proc), and the project's servers run as subprocesses on loopback (``served``, ``bench_env``)."""

import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from plumbing import MOSQUITTO, wait_for_url

if TYPE_CHECKING:  # the models load only in the benchmarks that build sales
    from datetime import datetime

    from models.sales import Order
    from models.stock import StockDelta


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def edgestore_cmd() -> list[str]:
    """The project's CLI, run by this interpreter (the ``edgestore`` script of the same virtualenv)."""
    return [sys.executable, "-m", "edgestore"]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (pct in 0-100); NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil(n * pct / 100), at least 1
    return sorted_values[int(rank) - 1]


def cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def filesystem_of(path: Path) -> str:
    """Device and type of the mount holding ``path`` (fsync cost depends on it: ext4 on disk vs tmpfs)."""
    try:
        best = ("", "?", "?")
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount_point, fs_type, *_ = line.split()
            inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best[0]):
                best = (mount_point, device, fs_type)
        return f"{best[2]} on {best[1]} (mounted at {best[0]})"
    except (OSError, ValueError):
        return "unknown"


# --- CPU of processes (Linux /proc) and API calls, shared by the benchmarks ---------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process used so far (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and of its direct children (the postmaster and its backends). The root's
    entry also counts the CPU of its children that already exited and were reaped (cutime + cstime), such
    as the parallel workers a query starts and stops between two snapshots."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    with suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if pid == root:
                out[pid] = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
            elif len(fields) > 1 and fields[1] == str(root):
                out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def tree_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots: by the processes alive in both, all of it by those born in between
    (a pool's backends opened for the first batch: leaving them out once hid most of Postgres's CPU in a
    drain), plus what the root's reaped children used (in the root's entry). A backend that both starts
    and exits between the snapshots is missed unless the root reaped it."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (user, nice, system, irq, softirq) and stolen by the
    hypervisor, summed over all cores since boot (/proc/stat); NaN where unavailable."""
    with suppress(OSError, ValueError, IndexError):
        fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        tick = os.sysconf("SC_CLK_TCK")
        return (user + nice + system + irq + softirq) / tick, steal / tick
    return float("nan"), float("nan")


def api_client(base_url: str, token: str | None = None, *, timeout_s: float = 60.0) -> httpx.Client:
    """A client of an edgestore API, logged in with ``token`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)


BENCH_STAFF, BENCH_PIN = "bench", "2468"
"""The manager a benchmark adds to its node (``add_staff_argv``): a node's orders and sync status are staff
only."""


def add_staff_argv(data_dir: Path) -> list[str]:
    """``edgestore`` arguments that add the benchmark's manager to the node in ``data_dir``."""
    return [
        "edge",
        "staff",
        "add",
        BENCH_STAFF,
        "--role",
        "manager",
        "--pin",
        BENCH_PIN,
        "--data-dir",
        str(data_dir),
    ]


@contextmanager
def node_staff_client(base_url: str, *, timeout_s: float = 30.0) -> Iterator[httpx.Client]:
    """A client of a node's API, logged in as the benchmark's manager (one login, one argon2 check)."""
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        token = expect(client.post("/staff/login", json={"name": BENCH_STAFF, "pin": BENCH_PIN}), 200)[
            "token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def count_orders(client: httpx.Client) -> int:
    """Page through ``GET /orders?limit=100`` to the end (bounded by a generous page cap)."""
    total, cursor = 0, None
    for _ in range(1_000_000):
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/orders", params=params)
        page.raise_for_status()
        body = page.json()
        total += len(body["items"])
        cursor = body.get("nextCursor")
        if not cursor:
            return total
    raise RuntimeError("GET /orders never reached the last page")


def expect(response: httpx.Response, status: int) -> Any:
    """The response's JSON when it has ``status``; otherwise stop the benchmark with what came back."""
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:500]}"
        )
    return response.json() if response.content else None


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so every server is stopped and the temp dir removed."""


def _stop(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into ``Stopped`` in the main thread (Ctrl-C is KeyboardInterrupt already)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)


def run_main(main: Callable[[], int], cleaned: str = "") -> NoReturn:
    """A benchmark's entry point: ``main``'s status, or 130 after Ctrl-C or SIGTERM (``stop_on_signals``)
    once ``main``'s own clean-up ran, saying what was cleaned up."""
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Stopped) as exc:
        log(f"interrupted ({str(exc) or 'SIGINT'}){': ' + cleaned if cleaned else ''}")
        sys.exit(130)


def host_lines() -> list[str]:
    """The machine a benchmark ran on, as every benchmark prints it first: platform, CPU, cores, memory,
    Python (each benchmark adds the software and storage it measures)."""
    mem = mem_total_gib()
    return [
        f"platform:      {platform.platform()} ({platform.machine()})",
        f"cpu:           {cpuinfo_field('model name') or platform.processor() or 'unknown'}",
        f"cores:         {os.cpu_count()} logical",
        f"memory:        {mem:.1f} GiB" if mem is not None else "memory:        unknown",
        f"python:        {platform.python_implementation()} {platform.python_version()}",
        f"python speed:  {python_speed_ms():.0f} ms for a fixed loop of 2 million steps (best of 3, lower is "
        "faster: compare runs taken on different days with it)",
    ]


def python_speed_ms() -> float:
    """How long this interpreter takes, on this machine now, for a fixed piece of pure Python work: a
    yardstick for figures taken on different days, since a cloud VM's speed varies from one boot to the next
    (the same code needed about 1.65 times the CPU seconds on one boot as on another, during issue 22)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        table: dict[int, int] = {}
        for n in range(2_000_000):
            table[n & 1023] = table.get(n & 1023, 0) + n
        best = min(best, time.perf_counter() - started)
    return best * 1000


def code_line(root: Path) -> str:
    """Which checkout ran: its folder, its commit and how many tracked files differ from it."""
    with suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(root)]
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
        changed = len(dirty.stdout.splitlines())
        return f"{root} at {rev.stdout.strip()}" + (f" + {changed} modified files" if changed else " (clean)")
    return str(root)


# --- servers on loopback: the project's CLI and servers as subprocesses, Postgres's and Mosquitto's facts -----

HOST = "127.0.0.1"  # loopback only: nothing is reachable from outside during a run
API = "/api/v1"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def bench_env(**settings: str) -> dict[str, str]:
    """The caller's environment minus every EDGESTORE_* (no stray setting or TOML file), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    env["EDGESTORE_CONFIG_FILE"] = "/nonexistent/edgestore.toml"
    env.update(settings)
    return env


def run_cli(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [*edgestore_cmd(), *argv], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"`edgestore {' '.join(argv[:2])}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Served:
    pid: int
    log_path: Path
    exit_status: int | None = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def served(
    argv: list[str], env: dict[str, str], *, what: str, health_url: str | None, log_path: Path, cwd: Path
) -> Iterator[Served]:
    """Start a server, yield once ``health_url`` answers (at once without one), stop it with SIGTERM."""
    with log_path.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    handle = Served(proc.pid, log_path)
    try:
        if health_url is not None:
            wait_for_url(
                health_url, what=what, timeout_s=START_TIMEOUT_S, watch=proc, details=handle.log_text
            )
        yield handle
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log(f"  {what} ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()
        handle.exit_status = proc.returncode
        log(f"  {what} stopped (exit status {proc.returncode})")


def cloud_argv(port: int) -> list[str]:
    return [*edgestore_cmd(), "cloud", "serve", "--port", str(port)]


def postmaster_pid(pgdata: Path) -> int | None:
    with suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def mosquitto_version() -> str:
    with suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True, timeout=5, check=False)
        first = (out.stdout or out.stderr).splitlines()[0]
        return first.replace("mosquitto version ", "")
    return "?"


@dataclass(frozen=True)
class SoldLine:
    """One line of a generated in-store sale: the catalog's product and variant, as the cloud holds them."""

    product_id: str
    variant_id: str
    name: str
    variant_name: str
    price: int
    quantity: int


def cash_sale(
    store_id: str,
    device_id: str,
    lines: list[SoldLine],
    at: "datetime",
    *,
    catalog_version: int | None = None,
) -> tuple["Order", list["StockDelta"]]:
    """An in-store cash sale of ``lines`` at catalog prices, as a node rings it up (the cloud's trust checks
    refuse one whose prices or totals are not the catalog's), and its sale stock deltas, one per line."""
    from models.ids import new_id
    from models.order_states import OrderStatus
    from models.sales import Order, OrderItem, Payment, PaymentMethod
    from models.stock import StockDelta, StockReason

    order_id = new_id()
    items = [
        OrderItem(
            item_id=new_id(),
            order_id=order_id,
            product_id=line.product_id,
            variant_id=line.variant_id,
            name=line.name,
            variant_name=line.variant_name,
            quantity=line.quantity,
            unit_price=line.price,
            unit_discount=0,
            unit_final_price=line.price,
            line_total=line.price * line.quantity,
        )
        for line in lines
    ]
    total = sum(i.line_total for i in items)
    order = Order(
        order_id=order_id,
        store_id=store_id,
        device_id=device_id,
        status=OrderStatus.COMPLETED,
        subtotal=total,
        discount_total=0,
        total=total,
        items=items,
        payments=[
            Payment(
                payment_id=new_id(), order_id=order_id, method=PaymentMethod.CASH, amount=total, created_at=at
            )
        ],
        catalog_version=catalog_version,
        created_at=at,
        updated_at=at,
    )
    deltas = [
        StockDelta(
            delta_id=new_id(),
            store_id=store_id,
            variant_id=line.variant_id,
            quantity=-line.quantity,
            reason=StockReason.SALE,
            ref_id=order_id,
            created_at=at,
        )
        for line in lines
    ]
    return order, deltas
