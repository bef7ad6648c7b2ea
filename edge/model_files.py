"""Model files the cloud ships to this node (the product recognition model): fetched, checked against their
announcement, written atomically under ``<data dir>/models/<name>/``, and recorded in ``node_state``.

What uses a model (the kiosk's recognition) reads ``installed(conn)`` for the path of the newest version.
The previous version is kept beside it, so a bad model can be rolled back by hand.
"""

import json
import os
from pathlib import Path

from sqlalchemy import Connection, select

from edge import node_state
from edge.tables import node_state as node_state_table
from sync_protocol.encoding import check_fetched
from sync_protocol.envelope import ModelAnnouncement

KEY_PREFIX = "model:"
KEEP_VERSIONS = 2


def installed(conn: Connection) -> dict[str, dict[str, str | int]]:
    """name -> {"version", "path", "sha256"} of every model file this node holds."""
    rows = conn.execute(
        select(node_state_table.c.key, node_state_table.c.value).where(
            node_state_table.c.key.startswith(KEY_PREFIX)
        )
    )
    return {row.key.removeprefix(KEY_PREFIX): json.loads(row.value) for row in rows if row.value}


def versions(conn: Connection) -> dict[str, int]:
    return {name: int(info["version"]) for name, info in installed(conn).items()}


def wants(conn: Connection, announcement: ModelAnnouncement) -> bool:
    return versions(conn).get(announcement.name, 0) < announcement.version


def write_file(data_dir: Path, announcement: ModelAnnouncement, data: bytes) -> Path:
    """Check the bytes against the announcement and write them durably (tmp, fsync, rename); ValueError
    when they do not match (nothing is written)."""
    check_fetched(data, size=announcement.size, sha256=announcement.sha256, what="model file")
    folder = data_dir / "models" / announcement.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{announcement.version}-{announcement.sha256[:16]}.bin"
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    for old in sorted(folder.glob("*.bin"), key=lambda p: int(p.name.split("-")[0]))[:-KEEP_VERSIONS]:
        old.unlink(missing_ok=True)
    return path


def record(conn: Connection, announcement: ModelAnnouncement, path: Path) -> None:
    node_state.put(
        conn,
        KEY_PREFIX + announcement.name,
        json.dumps({"version": announcement.version, "path": str(path), "sha256": announcement.sha256}),
    )
