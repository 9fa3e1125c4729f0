"""The processes of a service on a test stack, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

from tests.harness import Stack

# /proc/net/tcp's states (include/net/tcp_states.h).
ESTABLISHED, LISTEN = "01", "0A"


def children(pid: int) -> set[int]:
    """The ids of the processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.add(int(entry.name))
    return found


def workers_of(stack: Stack, name: str) -> set[int]:
    """The uvicorn worker processes under the service's supervisor (not multiprocessing's helpers)."""
    supervisor = stack.processes[name].pid
    return {
        pid
        for pid in children(supervisor)
        if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def _sockets(port: int, state: str) -> set[int]:
    """The inodes of the IPv4 TCP sockets on local ``port`` in ``state``."""
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {int(row[9]) for row in rows if row[1].endswith(f":{port:04X}") and row[3] == state}


def listening(port: int) -> int:
    """How many sockets listen on ``port``: one per worker of a service on it."""
    return len(_sockets(port, LISTEN))


def connections_held(pid: int, port: int) -> int:
    """How many established connections to ``port`` the process ``pid`` holds (serves)."""
    served = _sockets(port, ESTABLISHED)
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in served:
            held += 1
    return held
