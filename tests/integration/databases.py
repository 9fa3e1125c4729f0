"""Empty databases of a test's own on the stack's PostgreSQL server: a service's migrations applied, a pool
each, dropped afterwards. For tests that compare what two ways of applying the same events leave behind.

Shared by the integration tests; a test module never imports another test module's helpers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources.abc import Traversable

import asyncpg

from cluetrail.db import open_pool
from cluetrail.settings import CommonSettings


@asynccontextmanager
async def empty_databases(migrations: Traversable, *names: str) -> AsyncIterator[list[asyncpg.Pool]]:
    """A pool on each of ``names``' new databases, ``migrations`` applied; the databases dropped after."""
    settings = CommonSettings(database_prefix=f"test_{uuid.uuid4().hex[:8]}")
    dsns = [settings.database_for(name) for name in names]
    pools = [await open_pool(dsn, migrations) for dsn in dsns]
    try:
        yield pools
    finally:
        for pool in pools:
            await pool.close()
        admin = await asyncpg.connect(settings.database_url.rpartition("/")[0] + "/postgres")
        try:
            for dsn in dsns:
                await admin.execute(f'DROP DATABASE "{dsn.rpartition("/")[2]}" WITH (FORCE)')
        finally:
            await admin.close()
