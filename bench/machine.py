"""What machine a benchmark ran on: CPU model, memory, and the filesystem under a folder (from /proc)."""

from pathlib import Path


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
