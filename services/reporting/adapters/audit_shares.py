"""``cluetrail audit verify`` of a topic in several processes, each verifying the chains of a share of its
partitions (``sharing``): recomputing every hash keeps a core busy in Python, so a share per core lets the
machine's cores do it side by side.

A case's events are keyed by the case, so each chain lies in one partition and a share sees all of it. The
shares' verdict is taken only when every chain they saw is whole: a break found by any share (or a share
that failed, or more unreadable records than a share lists) sets it aside and the topic is verified again in
one process, which names each break exactly as it always has — also for a chain that, against the keying,
was written into partitions of two shares and so looks broken to both.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from rich.progress import Progress

from cluetrail.kafka import log_end, read_log
from cluetrail.settings import CommonSettings
from services.reporting.adapters.sharing import PartitionShare, Shares, partition_shares, serve_share
from services.reporting.domain.audit import AuditReport

# The unreadable records a share lists (each with its reason); with more, the topic is verified in one
# process, so the listing is whole and a share's answer stays well under sharing's message limit.
MOST_UNREADABLE = 1000


def default_processes() -> int:
    """The cores this process may run on, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


async def verify_in_shares(
    settings: CommonSettings, report: AuditReport, progress: Progress, topic: str | None, processes: int
) -> bool:
    """Verify ``topic`` in up to ``processes`` shares into ``report``; False (``report`` untouched) when
    it was not done that way: one process wanted, or the shares' verdict set aside."""
    if processes < 2:
        return False
    task = progress.add_task(f"verifying the case log in {processes} processes", total=None)

    async def total() -> None:  # only for the progress bar: each share reads to the end it finds itself
        progress.update(task, total=(await log_end(settings, topic)).total)

    jobs = [(settings, topic, share) for share in partition_shares(processes)]
    async with Shares(__name__, processes) as started, asyncio.TaskGroup() as running:
        verifying = running.create_task(started.run(jobs, lambda records: progress.advance(task, records)))
        running.create_task(total())
    ends = verifying.result()
    progress.remove_task(task)
    shares = [value for kind, value in ends if kind == "done"]
    if len(shares) < len(jobs) or any(
        share["breaks"] or share["unreadable_total"] > len(share["unreadable"]) for share in shares
    ):
        return False
    for share in shares:
        report.absorb(share)
    return True


async def _verify(job: tuple[CommonSettings, str | None, PartitionShare], told: Callable[[int], None]) -> Any:
    """A share's work: verify its partitions of the topic; its findings as ``AuditReport.share`` says."""
    settings, topic, partitions = job
    report = AuditReport()
    verify = report.verify_value
    async for records, _ in read_log(settings, topic, partitions=partitions):
        for record in records:
            verify(record.partition, record.offset, record.value)
        told(len(records))
    return report.share(MOST_UNREADABLE)


if __name__ == "__main__":
    serve_share(_verify)
