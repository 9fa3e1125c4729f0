"""Reporting's ledger on the test stack: demo clues posted in bulk, the ledger rows the API serves, raw
records put on the case topic, and the projection versions in reporting's database.

Shared by the reporting and triage integration tests; a test module never imports another test module's
helpers.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from tests.cases import report
from tests.harness import Stack, wait_until

LONGGANG_COMMUNITIES = [f"340102L01{i:03d}" for i in range(1, 11)]


def some_clues(count: int) -> list[dict[str, Any]]:
    """Demo clues from the communities of 龙岗街道, different in every test."""
    return demo_clues(count, seed=uuid.uuid4().int % 1_000_000, jurisdictions=LONGGANG_COMMUNITIES)


def post_clues(stack: Stack, clues: list[dict[str, Any]]) -> list[str]:
    """The case ids of the clues, posted four at a time."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda clue: report(stack, clue), clues))


def ledger_rows(reporting: httpx.Client, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The ledger rows of those of these cases the ledger has, by case id."""
    rows = {}
    for case_id in case_ids:
        response = reporting.get(f"/v1/cases/{case_id}")
        if response.status_code == 200:
            rows[case_id] = response.json()
    return rows


def all_in_ledger(reporting: httpx.Client, case_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """The ledger rows of these cases once every one of them is there."""
    rows = ledger_rows(reporting, case_ids)
    return rows if len(rows) == len(case_ids) else None


def whole_ledger(reporting: httpx.Client) -> list[dict[str, Any]]:
    """Every row of the ledger, read page by page until a read saw the same total from start to end
    (the ledger only grows, so an unchanged total means no row moved between pages)."""
    while True:
        rows: list[dict[str, Any]] = []
        total = None
        while True:
            response = reporting.get("/v1/cases", params={"offset": len(rows), "limit": 500})
            response.raise_for_status()
            page = response.json()
            if total is None:
                total = page["total"]
            elif page["total"] != total:
                break
            rows.extend(page["items"])
            if len(rows) >= total or not page["items"]:
                return rows


def all_assessed(reporting: httpx.Client, case_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    rows = all_in_ledger(reporting, case_ids)
    return rows if rows is not None and all(r["grade"] is not None for r in rows.values()) else None


def settled_ledger(reporting: httpx.Client) -> list[dict[str, Any]]:
    """The whole ledger once two successive reads agree (triage has finished reacting)."""
    previous: list[list[dict[str, Any]]] = [[]]

    def unchanged() -> list[dict[str, Any]] | None:
        now = whole_ledger(reporting)
        same = now == previous[0]
        previous[0] = now
        return now if same and now else None

    result: list[dict[str, Any]] = wait_until(unchanged, timeout=120, interval=1.0, what="a settled ledger")
    return result


async def publish_raw(settings: CommonSettings, key: bytes, value: bytes) -> None:
    """Put ``value`` on the case topic as it is, keyed ``key``, as a broken or hostile writer would."""
    await publish_together(settings, [(key, value)])


async def publish_together(settings: CommonSettings, records: list[tuple[bytes, bytes]]) -> None:
    """Put ``records`` (key, value) on the case topic as they are, all sent before any is awaited, so an
    idle consumer reads them in one batch."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        sent = [await producer.send(settings.case_topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def active_version(settings: CommonSettings) -> int:
    """The projection version reporting's API reads."""
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        return int(await conn.fetchval("SELECT version FROM reporting_meta.active_projection"))
    finally:
        await conn.close()


async def schemas_differ(settings: CommonSettings, left: str, right: str) -> int:
    """Rows of the projection's tables (ledger, history, grade counts, month rows) present in one schema
    and not in the other. A grade count brought back to zero (a case moved on) is a row of 0 where the live
    consumer applied the case's events one by one, and no row where a rebuild added them up first: both
    mean none, so only counts other than zero are compared."""
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        total = 0
        for table, where in (("ledger", ""), ("history", ""), ("grade_counts", " WHERE cases <> 0"),
                             ("case_months", "")):  # fmt: skip
            for a, b in ((left, right), (right, left)):
                total += await conn.fetchval(
                    f'SELECT count(*) FROM (SELECT * FROM "{a}".{table}{where} '
                    f'EXCEPT SELECT * FROM "{b}".{table}{where}) d'
                )
        return total
    finally:
        await conn.close()
