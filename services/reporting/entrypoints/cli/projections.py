"""``cluetrail rebuild`` (the live projections, or one as of an instant) and ``cluetrail as-of list`` /
``prune`` (the as-of projections kept)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from cluetrail.errors import InvalidInput
from services.reporting.adapters.rebuild import RebuildSummary, rebuild
from services.reporting.adapters.retention import (
    AsOfProjection,
    AsOfQuotaFull,
    as_of_projections,
    drop_expired,
)
from services.reporting.adapters.versions import BuildRunning
from services.reporting.entrypoints.cli.common import console, progress_bar, reporting_database
from services.reporting.settings import ReportingSettings

BUILD_RUNNING_EXIT = 3  # `cluetrail rebuild` refused: another build of the same projection is running


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 timestamp") from None
    if instant.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone; add one, e.g. {text}+08:00")
    return instant


def _print_summary(summary: RebuildSummary, as_of: datetime | None) -> None:
    table = Table(title=f"rebuilt {summary.schema}", show_header=False)
    table.add_row("events", f"{summary.applied:,}")
    table.add_row("notices", f"{summary.notices:,}")
    table.add_row("records read", f"{summary.records:,}")
    table.add_row("cases", f"{summary.cases:,}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    table.add_row("events/s", f"{summary.rate:,.0f}")
    table.add_row("first pass folded by", f"{summary.shares} process{'es' if summary.shares > 1 else ''}")
    if summary.duplicates:
        table.add_row("repeated events skipped", f"{summary.duplicates:,}")
    if summary.rejected:
        table.add_row("records refused (dead letters)", f"{summary.rejected:,}")
    if as_of is not None:
        table.add_row("records after the instant", f"{summary.after_as_of:,}")
    if summary.dropped:
        what = "as-of projections dropped (quota, age)" if as_of is not None else "old versions dropped"
        table.add_row(what, ", ".join(summary.dropped))
    if summary.submissions:
        table.add_row("report submissions read", f"{summary.submissions:,}")
    console.print(table)


def rebuild_command(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Build the projection as it stood at this instant (ISO 8601 with time zone) into "
        "ledger_asof_<stamp>, without making it live",
    ),
) -> None:
    """Rebuild the reporting projections from offset zero beside the live ones, then switch to them.

    One build of a projection at a time: while another rebuild (or a build of the same as-of
    instant) runs, this one is refused with exit status 3 and the session that holds the lock. An
    --as-of instant must lie within the case log (passed, not before its first event; exit status 2);
    the build first drops expired as-of projections and the oldest finished ones over the quota
    (CLUETRAIL_AS_OF_KEEP, CLUETRAIL_AS_OF_MAX_AGE_DAYS), and is refused with exit status 3 when the
    quota is full of ones being built."""
    instant = _instant(as_of) if as_of is not None else None
    settings = ReportingSettings()
    try:
        with progress_bar() as progress:
            summary = asyncio.run(rebuild(settings, progress, instant))
    except InvalidInput as exc:
        raise typer.BadParameter(exc.reason, param_hint="--as-of") from None
    except (BuildRunning, AsOfQuotaFull) as exc:
        console.print(f"[red]refused: {exc.reason}", soft_wrap=True, highlight=False)
        raise typer.Exit(BUILD_RUNNING_EXIT) from None
    _print_summary(summary, instant)
    if instant is not None:
        console.print(f"as-of projection: {summary.schema}")
    else:
        console.print(f"live projection: {summary.schema}")


as_of_app = typer.Typer(
    help="As-of projections: which are kept, and dropping old ones.", no_args_is_help=True
)


async def _kept(settings: ReportingSettings) -> list[AsOfProjection]:
    async with reporting_database(settings) as conn:
        return await as_of_projections(conn)


@as_of_app.command("list")
def as_of_list() -> None:
    """Every as-of projection kept, the first to go first, with the quota and the maximum age."""
    settings = ReportingSettings()
    table = Table(title="as-of projections (the first to go first)")
    for column in ("schema", "as of", "state", "built at", "requested by"):
        table.add_column(column, overflow="fold")
    projections = asyncio.run(_kept(settings))
    for p in projections:
        table.add_row(p.schema, p.as_of.isoformat(), p.state, p.built_at.isoformat(), p.requested_by or "")
    console.print(table)
    console.print(
        f"{len(projections)} kept; at most {settings.as_of_keep} (CLUETRAIL_AS_OF_KEEP), each for "
        f"{settings.as_of_max_age_days} days (CLUETRAIL_AS_OF_MAX_AGE_DAYS)",
        soft_wrap=True,
    )


async def _prune(settings: ReportingSettings, cutoff: datetime) -> list[str]:
    async with reporting_database(settings) as conn:
        return await drop_expired(conn, cutoff)


@as_of_app.command("prune")
def as_of_prune(
    older_than_days: int | None = typer.Option(
        None,
        "--older-than-days",
        min=0,
        help="Drop those built longer ago than this (default: CLUETRAIL_AS_OF_MAX_AGE_DAYS; 0: all)",
    ),
) -> None:
    """Drop the as-of projections built longer ago than the maximum age (the service does so hourly);
    one being built is kept."""
    settings = ReportingSettings()
    days = settings.as_of_max_age_days if older_than_days is None else older_than_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    dropped = asyncio.run(_prune(settings, cutoff))
    for schema in dropped:
        console.print(f"dropped {schema}", soft_wrap=True, highlight=False)
    console.print(f"dropped {len(dropped)} as-of projection(s) built before {cutoff.isoformat()}")


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild_command)
    app.add_typer(as_of_app, name="as-of")
