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
lists what was dropped. The service also drops expired ones every hour
(``adapters.retention.expire_as_of_projections``). The builds running here: ``adapters.builds``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict

from cluetrail.auth import Role
from cluetrail.errors import Forbidden, NotFound
from cluetrail.service import Connection
from services.reporting.adapters.reads import log_began
from services.reporting.adapters.versions import (
    BuildRunning,
    asof_schema,
    build_lock_held,
    build_lock_name,
    projection_named,
)
from services.reporting.dependencies import Deps, ReportingDeps
from services.reporting.domain.as_of import check_as_of
from services.reporting.entrypoints.http.reading import Reader

BUILDERS = (Role.AUDITOR, Role.DISTRICT_LEAD_OFFICER)

# Requesting and following as-of builds (the tables themselves are read from the report routes).
router = APIRouter(prefix="/v1/projections", tags=["reporting"])


class AsOfBuildRequest(BaseModel):
    """The instant an as-of projection shows the log at (events recorded up to it)."""

    model_config = ConfigDict(extra="forbid")

    as_of: AwareDatetime


def status_url(schema: str) -> str:
    return f"/v1/projections/as-of/{schema}"


async def status(conn: asyncpg.Connection, deps: ReportingDeps, name: str) -> dict[str, Any]:
    """The state of the projection ``name`` names, with its progress while it builds here."""
    schema, row = await projection_named(conn, name)
    running = deps.builds.progress(schema)
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
    body: AsOfBuildRequest, response: Response, principal: Reader, deps: Deps
) -> dict[str, Any]:
    """Build the projection as it stood at ``as_of`` (events recorded up to that instant) in the
    background; follow it at the status URL, then read any table with ``?as_of=<schema>``. The instant
    must lie within the case log (passed, and not before its first event); the answer lists the as-of
    projections dropped to keep the quota and the maximum age."""
    if principal.role not in BUILDERS:
        raise Forbidden("as-of projections are requested by auditors and district lead officers", rule="role")
    schema = asof_schema(body.as_of)
    async with deps.pool.acquire() as pooled:
        check_as_of(body.as_of, now=datetime.now(UTC), log_began=await log_began(pooled))
        response.headers["Location"] = status_url(schema)
        _, row = await projection_named(pooled, schema)
        if row is not None and row["state"] == "ready":
            response.status_code = 200
            return await status(pooled, deps, schema)
    running = deps.builds.running()
    if running is not None:
        # Each build replays the whole log: one at a time here, so requests cannot pile them up.
        raise BuildRunning(
            f"this service is building {running}; request again once GET {status_url(running)} "
            "says it has finished",
            rule="reporting.one-build-at-a-time",
        )
    conn, dropped = await deps.builds.claim(schema)  # 409 while another build of it runs, 429 when full
    if conn is None:  # finished while we asked
        response.status_code = 200
        async with deps.pool.acquire() as pooled:
            return await status(pooled, deps, schema)
    deps.builds.start(conn, body.as_of, principal.subject)
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
async def as_of_status(name: str, conn: Connection, principal: Reader, deps: Deps) -> dict[str, Any]:
    """An as-of projection's state (building, ready, failed, or interrupted: request it again), with
    the records read so far while it builds here. ``name``: its schema or its instant."""
    return await status(conn, deps, name)
