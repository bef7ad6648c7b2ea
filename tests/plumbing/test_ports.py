"""Ports for test, demo and bench servers come from below the kernel's ephemeral range."""

import socket

from plumbing import free_port, ports


def test_ports_lie_below_the_range_outgoing_connections_take_theirs_from():
    chosen = [free_port() for _ in range(200)]
    assert len(set(chosen)) == len(chosen)  # never the same one twice in a process
    assert all(ports.LOWEST <= p < ports._ephemeral_start() for p in chosen)


def test_a_port_someone_listens_on_is_never_handed_out(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        # Make the random choice land on the busy port first, then on a free one.
        picks = iter([busy, busy, 20123])
        monkeypatch.setattr(ports.random, "randrange", lambda lo, hi: next(picks))
        monkeypatch.setattr(ports, "_ephemeral_start", lambda: 65000)
        monkeypatch.setattr(ports, "_handed_out", set())
        assert free_port() == 20123


def test_an_unreadable_range_falls_back_to_the_kernels_default(monkeypatch, tmp_path):
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", tmp_path / "missing")
    assert ports._ephemeral_start() == ports.LINUX_EPHEMERAL_START
