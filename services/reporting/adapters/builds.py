"""The as-of builds this process runs, requested over HTTP (``POST /v1/projections/as-of``): one at a time,
since each replays the whole log, each on a database session of its own that holds the build's lock for its
whole run (not a pooled connection), with the progress its status shows. The build itself is
``rebuild.build_projection``, the same as ``cluetrail rebuild --as-of``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import asyncpg
from rich.console import Console
from rich.progress import Progress

from services.reporting.adapters.rebuild import build_projection
from services.reporting.adapters.retention import make_room_for
from services.reporting.adapters.versions import (
    asof_schema,
    build_lock_name,
    projection_named,
    take_build_lock,
)
from services.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)


class AsOfBuilds:
    """The as-of builds running here, by schema, with their progress."""

    def __init__(self, settings: ReportingSettings) -> None:
        self._settings = settings
        self._running: dict[str, Progress] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def progress(self, schema: str) -> Progress | None:
        """The progress of the build of ``schema`` running here (None: not running here)."""
        return self._running.get(schema)

    def running(self) -> str | None:
        """The schema being built here (None: no build runs)."""
        return next(iter(self._running), None)

    async def claim(self, schema: str) -> tuple[asyncpg.Connection | None, list[str]]:
        """The build's own session holding ``schema``'s build lock, and the as-of projections dropped to make
        room for it under the quota and the maximum age; no session (and nothing dropped) when ``schema``
        finished building meanwhile. ``BuildRunning`` while another build of it runs (here or in
        ``cluetrail rebuild --as-of``), ``AsOfQuotaFull`` when no room can be made."""
        conn = await asyncpg.connect(
            self._settings.database_for("reporting"),
            server_settings={"application_name": f"as-of build {schema}"},
        )
        try:
            await take_build_lock(conn, build_lock_name(schema))  # BuildRunning while another build runs
            _, row = await projection_named(conn, schema)
            ready = row is not None and row["state"] == "ready"  # finished while we asked
            keep, age = self._settings.as_of_keep, self._settings.as_of_max_age
            dropped = [] if ready else await make_room_for(conn, schema, keep, age)  # AsOfQuotaFull
        except BaseException:
            await conn.close()
            raise
        if ready:
            await conn.close()
            return None, []
        return conn, dropped

    def start(self, conn: asyncpg.Connection, instant: datetime, requested_by: str) -> None:
        """Build the projection as of ``instant`` in the background on ``conn`` (from ``claim``), which is
        closed when the build ends, and its build lock released with it."""
        schema = asof_schema(instant)
        self._running[schema] = Progress(console=Console(stderr=True), disable=True)
        task = asyncio.create_task(self._run(conn, schema, instant, requested_by), name=f"build-{schema}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: asyncpg.Connection, schema: str, instant: datetime, requested_by: str) -> None:
        try:
            summary = await build_projection(
                conn, self._settings, self._running[schema], instant, requested_by=requested_by
            )
            log.info("built %s (%s events, %s cases)", schema, summary.applied, summary.cases)
        except Exception:
            log.exception("the build of %s failed", schema)  # build_projection marked it failed
        finally:
            self._running.pop(schema, None)
            await conn.close()  # ends the build's session, and its build lock with it

    async def stop(self) -> None:
        """Stop the builds still running (at shutdown); each closes its session. A stopped build shows
        ``interrupted`` and is built again when requested again."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
