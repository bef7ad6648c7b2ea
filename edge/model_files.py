"""Model files the cloud ships to this node (the product recognition model): fetched, checked against their
announcement, written atomically under ``<data dir>/models/<name>/``, and recorded in ``node_state``.

What uses a model (the node's recognition, ``edge.recognition.service``) reads ``installed(conn)`` for the
path of the newest version. The previous version is kept beside it, so a bad model can be rolled back by hand.
A file the node fetched but would not run (a bad, truncated or incompatible model) is not installed: it is
recorded as rejected (``reject``, ``rejections``), the model before it keeps serving, and the same version is
not fetched again. Version 0 is the model shipped with the node's code (``record_shipped``): any version the
cloud delivers is newer.
"""

import json
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select

from edge import node_state
from edge.tables import node_state as node_state_table
from models.node_api import ModelRejection
from sync_protocol.encoding import check_fetched
from sync_protocol.envelope import ModelAnnouncement

KEY_PREFIX = "model:"
REJECTED_PREFIX = "modelRejected:"
SHIPPED_VERSION = 0
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
    rejected = rejections(conn).get(announcement.name)
    if rejected and (rejected.version, rejected.sha256) == (announcement.version, announcement.sha256):
        return False  # refused once already: the same file would be refused again
    return versions(conn).get(announcement.name, SHIPPED_VERSION - 1) < announcement.version


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


def record_shipped(conn: Connection, name: str, path: Path, sha256: str) -> None:
    """The model shipped with the node's code serves: version 0, so any the cloud delivers is newer."""
    node_state.put(
        conn,
        KEY_PREFIX + name,
        json.dumps({"version": SHIPPED_VERSION, "path": str(path), "sha256": sha256}),
    )


def reject(
    conn: Connection, name: str, version: int, sha256: str, reason: str, at: datetime, path: Path | None
) -> None:
    """Record that a model file was refused (the model before it keeps serving), for health and sync status."""
    node_state.put(
        conn,
        REJECTED_PREFIX + name,
        json.dumps(
            {
                "version": version,
                "sha256": sha256,
                "reason": reason[:500],
                "at": at.isoformat(),
                "path": str(path) if path else None,
            }
        ),
    )


def rejections(conn: Connection) -> dict[str, ModelRejection]:
    """name -> the latest model file refused, per model."""
    rows = conn.execute(
        select(node_state_table.c.key, node_state_table.c.value).where(
            node_state_table.c.key.startswith(REJECTED_PREFIX)
        )
    )
    return {
        name: ModelRejection(
            name=name,
            version=int(kept["version"]),
            sha256=str(kept["sha256"]),
            reason=str(kept["reason"]),
            at=kept["at"],
        )
        for name, kept in (
            (row.key.removeprefix(REJECTED_PREFIX), json.loads(row.value)) for row in rows if row.value
        )
    }


def outstanding_rejections(conn: Connection) -> list[ModelRejection]:
    """The refused files newer than the version installed of their model, by name: a later install makes an
    older refusal moot (what the node reports, in its health and to the cloud)."""
    held = versions(conn)
    return [r for _, r in sorted(rejections(conn).items()) if r.version > held.get(r.name, SHIPPED_VERSION)]
