"""A build's first replay of the case log in several processes, each folding a share of its partitions.

A rebuild's time is Python's: decoding, checking and folding each event keeps one core busy while
PostgreSQL, on the other, has time to spare. Every event of a case is keyed by its id, so all of them are
in one partition, and shares of the partitions fold disjoint sets of cases: each share writes what one
process would have written for those cases, and the order in which the shares' batches land does not
matter, as a single reader interleaves the partitions in whatever order the broker answers. Each share
is a ``ProjectionBuilder`` on its own database session, writing into the new schema beside the others,
every batch in its own transaction with its partitions' positions; the build then goes on in its own
process from where the shares stopped (catch-up, notices, switch), as after any first pass.

Were a case ever in partitions of two shares (a topic that got more partitions after it was written, a
record without a key), two shares would each add it by COPY (``apply_events(bulk=True)``): the second
fails on the primary key, or PostgreSQL breaks the deadlock between the two, and the build empties the
schema's case tables and replays the case log in one process instead. A case one share has committed
already is locked by the other share's batch (``FOR UPDATE``) and folded after it, as one process reading
the partitions in that order would.

Each share is a process of its own (``python -m services.reporting.adapters.shares``, see ``sharing``).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from rich.progress import Progress

from cluetrail.kafka import log_end
from services.reporting.adapters.builder import ProjectionBuilder, RebuildSummary
from services.reporting.adapters.projector import empty_case_tables
from services.reporting.adapters.sharing import PartitionShare, Shares, partition_shares, serve_share
from services.reporting.adapters.versions import use_schema
from services.reporting.settings import ReportingSettings

# A share's collision with another over a case new to both, as PostgreSQL reports it.
COLLISIONS = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)


@dataclass
class ShareOutcome:
    """What one share read and applied, and where it stopped (partition -> last offset applied)."""

    positions: dict[int, int] = field(default_factory=dict)
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    after_as_of: int = 0

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ShareOutcome:
        """The outcome a share wrote as JSON (whose object keys, the partitions, are strings)."""
        positions = {int(partition): offset for partition, offset in value["positions"].items()}
        return cls(**{**value, "positions": positions})


class ShareFailed(RuntimeError):
    """A share of a build stopped with an error that is no collision (the build fails with it)."""


async def replay_in_shares(
    builder: ProjectionBuilder,
    conn: asyncpg.Connection,
    settings: ReportingSettings,
    as_of: datetime | None,
    progress: Progress | None,
    description: str,
    started: Shares,
) -> int:
    """Fill ``builder``'s schema from the case log's first records to their current end in
    ``settings.replay_shares`` processes (``started``, from ``share_processes``), and move ``builder`` on to
    where they stopped; return how many records they read. Nothing is done (0) with one share wanted, or when
    the shares met a case in common (the schema's case tables are then empty again): ``builder`` then reads
    the case log itself."""
    if settings.replay_shares < 2 or builder.positions:
        return 0
    schema = builder.summary.schema
    outcomes = await _run_shares(settings, schema, as_of, progress, description, started)
    if outcomes is None:
        async with conn.transaction():
            await use_schema(conn, schema)
            await empty_case_tables(conn)
        return 0
    reached = builder.positions.setdefault(settings.case_topic, {})
    summary = builder.summary
    summary.shares = len(outcomes)
    for outcome in outcomes:
        reached.update(outcome.positions)
        summary.records += outcome.records
        summary.applied += outcome.applied
        summary.duplicates += outcome.duplicates
        summary.rejected += outcome.rejected
        summary.after_as_of += outcome.after_as_of
    return sum(outcome.records for outcome in outcomes)


def share_processes(settings: ReportingSettings) -> Shares:
    """The processes of a build's first pass (``settings.replay_shares``; none when one is wanted), to be
    started as the build begins: each imports what it needs (some 0.4 s) while the build makes its schema."""
    return Shares(__name__, settings.replay_shares if settings.replay_shares >= 2 else 0)


async def _run_shares(
    settings: ReportingSettings,
    schema: str,
    as_of: datetime | None,
    progress: Progress | None,
    description: str,
    started: Shares,
) -> list[ShareOutcome] | None:
    """Run a share per ``PartitionShare`` of the case log; their outcomes, or None when two met a case in
    common."""
    task = progress.add_task(description, total=None) if progress is not None else None

    def advance(records: int) -> None:
        if progress is not None and task is not None:
            progress.advance(task, records)

    async def total() -> None:  # only for the progress bar: each share reads to the end it finds itself
        end = await log_end(settings)
        if progress is not None and task is not None:
            progress.update(task, total=end.total)

    count = settings.replay_shares
    jobs = [(index, settings, schema, as_of, share) for index, share in enumerate(partition_shares(count))]
    async with asyncio.TaskGroup() as running:
        folding = running.create_task(started.run(jobs, advance))
        running.create_task(total())
    ends = folding.result()
    if any(kind == "collided" for kind, _ in ends):
        return None
    for index, (kind, value) in enumerate(ends):
        if kind != "done":
            raise ShareFailed(f"share {index} of {schema}'s build failed: {value}")
    return [ShareOutcome.from_json(value) for _, value in ends]


async def _fold(
    job: tuple[int, ReportingSettings, str, datetime | None, PartitionShare], told: Callable[[int], None]
) -> dict[str, Any]:
    """A share's work: fold its partitions of the case log into the schema; its ``ShareOutcome`` as JSON."""
    index, settings, schema, as_of, partitions = job
    conn = await asyncpg.connect(
        settings.database_for("reporting"),
        server_settings={"application_name": f"cluetrail rebuild share {index}"},
    )
    try:
        summary = RebuildSummary(schema=schema, version=None)
        builder = ProjectionBuilder(conn, settings, summary, as_of, partitions=partitions, written=told)
        # This process only folds its share, so the cyclic collector is off meanwhile: a build's records are
        # freed by reference counting (a whole build of 100,000 events leaves about a hundred objects in
        # cycles), while the collector's passes, each walking the batches in memory, took a sixth of a
        # build's time even paced as ``collector`` paces them in the service's own process.
        gc.disable()
        try:
            await builder.replay_case_log()
        finally:
            gc.enable()
        outcome = ShareOutcome(
            builder.positions.get(settings.case_topic, {}),
            summary.records,
            summary.applied,
            summary.duplicates,
            summary.rejected,
            summary.after_as_of,
        )
        return asdict(outcome)
    finally:
        await conn.close()


if __name__ == "__main__":
    serve_share(_fold, COLLISIONS, "collided")
