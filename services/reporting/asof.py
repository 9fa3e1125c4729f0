"""As-of projections over HTTP: an auditor or a district lead office asks for the projection as it stood at
an instant; reporting builds it in the background beside the live one (the same build as ``cluetrail
rebuild --as-of``), and once its status says ``ready`` every table and case reads it with ``?as_of=``.

``POST /v1/projections/as-of {"as_of": "2025-06-30T23:59:59+08:00"}`` answers 202 with the status URL
(``Location``), 200 when that projection is built already, 409 while a build of it is running (here or in
``cluetrail rebuild --as-of``) or while this service builds another one, 422 for an instant outside the log
(not passed yet, or before its first event: ``domain.as_of``), 429 when the quota of as-of projections is
full of ones being built; ``GET /v1/projections/as-of/{schema or instant}`` answers its state and progress.

Starting a build makes room for it: as-of projections built longer ago than the maximum age go, then the
first to go of the others until, with the new one, the quota is kept (``adapters.retention``); the answer
lists what was dropped. The service also drops expired ones every hour (``expire_as_of_projections``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict
from rich.console import Console
from rich.progress import Progress

from cluetrail.auth import Principal, Role, current_principal
from cluetrail.errors import Forbidden, NotFound
from cluetrail.service import Runtime, connection, runtime_of
from services.reporting.adapters.reads import log_began
from services.reporting.adapters.retention import drop_expired, make_room_for
from services.reporting.adapters.versions import (
    BuildRunning,
    asof_schema,
    build_lock_held,
    build_lock_name,
    projection_named,
    take_build_lock,
)
from services.reporting.domain.as_of import check_as_of
from services.reporting.rebuild import build_projection
from services.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)
BUILDERS = (Role.AUDITOR, Role.DISTRICT_LEAD_OFFICER)
EXPIRY_EVERY = 3600.0  # seconds between two passes dropping expired as-of projections
Reader = Annotated[Principal, Depends(current_principal)]
Connection = Annotated[asyncpg.Connection, Depends(connection)]
Service = Annotated[Runtime, Depends(runtime_of)]


class AsOfBuildRequest(BaseModel):
    """The instant an as-of projection shows the log at (events recorded up to it)."""

    model_config = ConfigDict(extra="forbid")

    as_of: AwareDatetime


def status_url(schema: str) -> str:
    return f"/v1/projections/as-of/{schema}"


async def expire_as_of_projections(rt: Runtime, settings: ReportingSettings) -> None:
    """Drop the as-of projections past the maximum age now and every hour, until the service stops."""
    while not rt.stopping.is_set():
        try:
            async with rt.pool.acquire() as conn:
                dropped = await drop_expired(conn, datetime.now(UTC) - settings.as_of_max_age)
            if dropped:
                log.info("dropped as-of projections older than %s days: %s", settings.as_of_max_age_days,
                         ", ".join(dropped))  # fmt: skip
        except Exception:
            log.exception("could not drop expired as-of projections; trying again in an hour")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rt.stopping.wait(), timeout=EXPIRY_EVERY)


def projections_router(settings: ReportingSettings) -> APIRouter:
    """Requesting and following as-of builds (the tables themselves are read from the report routes)."""
    router = APIRouter(prefix="/v1/projections", tags=["reporting"])

    def builds(rt: Runtime) -> dict[str, Progress]:
        """The builds this process runs, by schema, with their progress."""
        found: dict[str, Progress] = rt.state.setdefault("as_of_builds", {})
        return found

    async def status(conn: asyncpg.Connection, rt: Runtime, name: str) -> dict[str, Any]:
        schema, row = await projection_named(conn, name)
        running = builds(rt).get(schema)
        if row is None and running is None:
            raise NotFound(
                f"no projection as of {name}; request it with POST /v1/projections/as-of",
                rule="reporting.as_of",
            )
        state = str(row["state"]) if row is not None else "building"
        lock = build_lock_name(schema)
        if state == "building" and running is None and not await build_lock_held(conn, lock):
            state = "interrupted"  # its build stopped with the process that ran it; request it again
        body: dict[str, Any] = {
            "schema": schema,
            "as_of": row["as_of"].isoformat() if row is not None and row["as_of"] else None,
            "state": state,
            "requested_by": row["requested_by"] if row is not None else None,
            "built_at": row["built_at"].isoformat() if row is not None and state != "building" else None,
            "events": row["events"] if row is not None else None,
            "cases": row["cases"] if row is not None else None,
            "error": row["error"] if row is not None else None,
            "status": status_url(schema),
            "tables": f"/v1/reports/{{table}}?as_of={schema}",
        }
        if running is not None:
            body["progress"] = {
                "records": int(sum(task.completed for task in running.tasks)),
                "total": int(sum(task.total or 0 for task in running.tasks)),
            }
        return body

    async def run(rt: Runtime, conn: asyncpg.Connection, instant: datetime, requested_by: str) -> None:
        schema = asof_schema(instant)
        try:
            summary = await build_projection(
                conn, settings, builds(rt)[schema], instant, requested_by=requested_by
            )
            log.info("built %s (%s events, %s cases)", schema, summary.applied, summary.cases)
        except Exception:
            log.exception("the build of %s failed", schema)  # build_projection marked it failed
        finally:
            builds(rt).pop(schema, None)
            await conn.close()  # ends the build's session, and its build lock with it

    @router.post(
        "/as-of",
        status_code=202,
        responses={
            200: {"description": "That projection is built already: its status"},
            401: {"description": "No valid access token"},
            403: {"description": "Only auditors and district lead officers request as-of projections"},
            409: {"description": "A build of that projection, or another as-of build here, is running"},
            422: {"description": "The instant has not passed, or lies before the case log's first event"},
            429: {"description": "As many as-of projections as the quota allows are kept, all being built"},
        },
    )
    async def request_as_of(
        body: AsOfBuildRequest, response: Response, principal: Reader, rt: Service
    ) -> dict[str, Any]:
        """Build the projection as it stood at ``as_of`` (events recorded up to that instant) in the
        background; follow it at the status URL, then read any table with ``?as_of=<schema>``. The instant
        must lie within the case log (passed, and not before its first event); the answer lists the as-of
        projections dropped to keep the quota and the maximum age."""
        if principal.role not in BUILDERS:
            raise Forbidden(
                "as-of projections are requested by auditors and district lead officers", rule="role"
            )
        schema = asof_schema(body.as_of)
        async with rt.pool.acquire() as pooled:
            check_as_of(body.as_of, now=datetime.now(UTC), log_began=await log_began(pooled))
            response.headers["Location"] = status_url(schema)
            _, row = await projection_named(pooled, schema)
            if row is not None and row["state"] == "ready":
                response.status_code = 200
                return await status(pooled, rt, schema)
        running = next(iter(builds(rt)), None)
        if running is not None:
            # Each build replays the whole log: one at a time here, so requests cannot pile them up.
            raise BuildRunning(
                f"this service is building {running}; request again once GET {status_url(running)} "
                "says it has finished",
                rule="reporting.one-build-at-a-time",
            )
        # The build's own session, not a pooled connection: it holds the build lock until it ends.
        conn = await asyncpg.connect(
            settings.database_for("reporting"), server_settings={"application_name": f"as-of build {schema}"}
        )
        try:
            await take_build_lock(conn, build_lock_name(schema))  # 409 while another build of it runs
            _, row = await projection_named(conn, schema)
            ready = row is not None and row["state"] == "ready"  # finished while we asked
            keep, age = settings.as_of_keep, settings.as_of_max_age
            dropped = [] if ready else await make_room_for(conn, schema, keep, age)  # 429 when it cannot
        except BaseException:
            await conn.close()
            raise
        if ready:
            await conn.close()
            response.status_code = 200
            async with rt.pool.acquire() as pooled:
                return await status(pooled, rt, schema)
        builds(rt)[schema] = Progress(console=Console(stderr=True), disable=True)
        rt.tasks.append(
            asyncio.create_task(run(rt, conn, body.as_of, principal.subject), name=f"build-{schema}")
        )
        return {
            "schema": schema,
            "as_of": body.as_of.isoformat(),
            "state": "building",
            "requested_by": principal.subject,
            "status": status_url(schema),
            "tables": f"/v1/reports/{{table}}?as_of={schema}",
            "dropped": dropped,
        }

    @router.get(
        "/as-of/{name}",
        responses={401: {"description": "No valid access token"}, 404: {"description": "Never requested"}},
    )
    async def as_of_status(name: str, conn: Connection, principal: Reader, rt: Service) -> dict[str, Any]:
        """An as-of projection's state (building, ready, failed, or interrupted: request it again), with
        the records read so far while it builds here. ``name``: its schema or its instant."""
        return await status(conn, rt, name)

    return router
