"""What Linux's ``/proc`` tells about a process the bench started: CPU time and resident memory."""

from __future__ import annotations

import os
from pathlib import Path


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """``process_cpu_seconds`` of ``pid`` and every process below it (a service's workers)."""
    own = process_cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(tree_cpu_seconds(child) or 0.0 for child in _children(pid))


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}").glob("task/*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def _tree_kb(pid: int) -> int | None:
    own = _status_kb(pid, "VmRSS")
    if own is None:
        return None
    return own + sum(_tree_kb(child) or 0 for child in _children(pid))


def tree_rss_mib(pid: int) -> float | None:
    """VmRSS of ``pid`` and every process below it (a service's uvicorn workers), in MiB; None when the
    process is gone."""
    kb = _tree_kb(pid)
    return None if kb is None else kb / 1024


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM of ``pid``: the most resident memory it ever held, as the kernel counted it, in MiB."""
    peak = _status_kb(pid, "VmHWM")
    return None if peak is None else peak / 1024
