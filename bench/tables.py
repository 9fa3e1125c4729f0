"""The tables part: the work statistics table (工作情况统计表) of one city and the dashboard's charts of it,
computed by the reporting service's code, against a plain PostgreSQL SELECT of the same cases' ledger and
history rows (baseline D), at 20,000 and 50,000 cases."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import asyncpg
from aiokafka import ConsumerRecord

from bench.rebuild import sealed_case_events
from bench.results import Figure
from cluetrail.consume import decode_record
from cluetrail.db import ensure_database, migrate
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import default_registry
from services.reporting.adapters import SQL, reads
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.reports import build_table
from services.reporting.adapters.versions import ensure_active_projection, use_active_projection
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope, subtree
from services.reporting.entrypoints.http.dashboard import dashboard_charts

PART = "tables"

TABLE_CITY = "340100"  # 合肥市: every bench case of the table figures is placed under it
TABLE_SIZES = (20_000, 50_000)


@dataclass
class TableCost:
    """Seconds (median of three) to read N cases' rows with a plain SELECT, to compute the work table as
    served (summed over the month rows) and by replaying every case (as it was computed before them), to
    draw the dashboard's charts of the city, and to read every case with its history (what the charts
    read on each page load before they were aggregates)."""

    cases: int
    select_s: float
    table_s: float
    replay_s: float
    rows: int
    charts_s: float = 0.0
    read_all_s: float = 0.0


async def _median_seconds(call: Callable[[], Awaitable[object]], times: int = 3) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def table_costs(settings: CommonSettings, sizes: tuple[int, ...] = TABLE_SIZES) -> list[TableCost]:
    """Project cases under one city with the consumer's code (apply_events, batches of 2,000 events),
    then time, at each size, a plain SELECT of the ledger and history rows of those cases (the baseline)
    and the work statistics table of the city for this month, as the API computes it."""
    registry = default_registry()
    places = [
        j.code
        for j in registry.all()
        if j.level in ("community", "street") and registry.is_within(j.code, TABLE_CITY)
    ]
    records = sealed_case_events(max(sizes), places)
    dsn = settings.database_for("benchtables")
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    period = Period.of(datetime.now(CST))
    out = []
    try:
        await migrate(conn, SQL.migrations)
        await ensure_active_projection(conn)
        done = 0
        for size in sizes:
            pending = records[done * 2 : size * 2]
            for start in range(0, len(pending), 2_000):
                chunk = [
                    decode_record(
                        ConsumerRecord(
                            "bench", 0, done * 2 + start + i, 0, 0, key, value, None, 36, len(value), []
                        )
                    )
                    for i, (key, value) in enumerate(pending[start : start + 2_000])
                ]
                async with conn.transaction():
                    await use_active_projection(conn)
                    await apply_events(conn, chunk)
            done = size
            await conn.execute("ANALYZE")

            async def plain_select() -> None:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    await use_active_projection(conn)
                    await conn.fetch("SELECT * FROM ledger")
                    await conn.fetch(
                        "SELECT case_id, seq, type, occurred_at, jurisdiction, payload FROM history"
                    )

            async def replay() -> T.Table:
                cases, _ = await reads.table_cases(conn, subtree(registry, TABLE_CITY))
                return T.work_statistics(cases, registry, TABLE_CITY, period)

            work = await build_table(conn, registry, ReportQuery("work", period), Scope(TABLE_CITY))
            assert work.rows[0]["new_clues"] == size, (work.rows[0], size)
            assert work.rows == (await replay()).rows

            async def read_all() -> None:
                await reads.table_cases(conn, subtree(registry, TABLE_CITY))

            query = ReportQuery("work", period)
            now = datetime.now(CST)
            out.append(
                TableCost(
                    size,
                    await _median_seconds(plain_select),
                    await _median_seconds(partial(build_table, conn, registry, query, Scope(TABLE_CITY))),
                    await _median_seconds(replay),
                    len(work.rows),
                    await _median_seconds(
                        partial(dashboard_charts, conn, registry, Scope(TABLE_CITY), period, now)
                    ),
                    await _median_seconds(read_all),
                )
            )
    finally:
        await conn.close()
    return out


def table_figures(costs: list[TableCost]) -> list[Figure]:
    """Per size: the SELECT (baseline D) and the table, the replay, the charts and the reading of every
    case, each in milliseconds (medians of three) and as a multiple of D's time."""
    out = []
    for cost in costs:
        n = f"{cost.cases:,} cases"
        select = Figure(
            f"tables.select.{cost.cases}", f"plain SELECT of ledger + history rows, {n} (baseline D)",
            cost.select_s * 1000, "ms", PART, label=f"D at {cost.cases // 1000}k",
        )  # fmt: skip
        timed = [
            ("work_table", f"work table of {TABLE_CITY}, {n} ({cost.rows} rows)", cost.table_s),
            ("replay", f"the same, replaying every case (as before the month rows), {n}", cost.replay_s),
            ("charts", f"dashboard charts of {TABLE_CITY}, {n}", cost.charts_s),
            ("read_all", f"reading every case with its history (the charts before), {n}", cost.read_all_s),
        ]
        out.append(select)
        for key, name, seconds in timed:
            figure = Figure(f"tables.{key}.{cost.cases}", name, seconds * 1000, "ms", PART)
            figure.baseline, figure.ratio = select.name, seconds / cost.select_s
            out.append(figure)
    return out
