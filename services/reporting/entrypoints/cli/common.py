"""What reporting's commands share (no commands of its own): the console they print to, the progress bar of
a replay, and a connection to reporting's database with its migrations applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from cluetrail.db import open_pool
from services.reporting.adapters import SQL
from services.reporting.settings import ReportingSettings

console = Console()


class RateColumn(ProgressColumn):
    """Events per second of a progress task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "– ev/s", style="progress.data.speed")


def progress_bar() -> Progress:
    """Count, rate and ETA: what an operator watching a replay of millions of events needs."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )


@asynccontextmanager
async def reporting_database(settings: ReportingSettings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to reporting's database (its migrations applied), closed when the block ends."""
    pool = await open_pool(settings.database_for("reporting"), SQL.migrations, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()
