"""The processes of a service on a test stack, read from /proc."""

from __future__ import annotations

from pathlib import Path

from tests.harness import Stack


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
