"""Triage's subject file on the real database: a key belongs to the case that reported the subject first,
whatever order the log's partitions were applied in, so a database rebuilt from the log links a later clue
to the same case the live one did."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from cluetrail.db import open_pool
from cluetrail.settings import CommonSettings
from services.triage.adapters import SQL, subjects

pytestmark = pytest.mark.integration

CREDIT_KEY = "credit:91340102MA2XXXXX0X"
NAME_KEY = "name:340102:华都康养服务有限公司|华都路18号"
FIRST_REPORTED = datetime(2026, 10, 8, 9, 30, tzinfo=UTC)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    settings = CommonSettings(database_prefix=f"test_subjects_{uuid.uuid4().hex[:8]}")
    opened = await open_pool(settings.database_for("triage"), SQL.migrations)
    yield opened
    await opened.close()
    admin = await asyncpg.connect(settings.database_url.rpartition("/")[0] + "/postgres")
    try:
        await admin.execute(
            f'DROP DATABASE "{settings.database_for("triage").rpartition("/")[2]}" WITH (FORCE)'
        )
    finally:
        await admin.close()


async def test_a_key_stays_with_the_case_that_reported_it_first_in_either_order(pool: asyncpg.Pool) -> None:
    first, later = uuid.uuid4(), uuid.uuid4()
    later_at = FIRST_REPORTED + timedelta(minutes=5)
    async with pool.acquire() as conn:
        # the later clue's partition happened to be applied first
        await subjects.put_on_file(conn, [CREDIT_KEY], later, later_at)
        await subjects.put_on_file(conn, [CREDIT_KEY, NAME_KEY], first, FIRST_REPORTED)
        assert await subjects.case_on_file(conn, [CREDIT_KEY], other_than=later) == (first, CREDIT_KEY)
        # applied again in the live order, nothing moves
        await subjects.put_on_file(conn, [CREDIT_KEY], later, later_at)
        assert await subjects.case_on_file(conn, [CREDIT_KEY], other_than=later) == (first, CREDIT_KEY)
        assert await subjects.case_on_file(conn, [NAME_KEY], other_than=later) == (first, NAME_KEY)
        # the case that holds the key finds no other case on file under it
        assert await subjects.case_on_file(conn, [CREDIT_KEY, NAME_KEY], other_than=first) is None


async def test_a_case_of_unknown_report_time_files_only_keys_nobody_holds(pool: asyncpg.Pool) -> None:
    holder, unknown = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await subjects.put_on_file(conn, [CREDIT_KEY], holder, FIRST_REPORTED)
        await subjects.put_on_file(conn, [CREDIT_KEY, NAME_KEY], unknown, None)
        assert await subjects.case_on_file(conn, [CREDIT_KEY], other_than=unknown) == (holder, CREDIT_KEY)
        assert await subjects.case_on_file(conn, [NAME_KEY], other_than=holder) == (unknown, NAME_KEY)
