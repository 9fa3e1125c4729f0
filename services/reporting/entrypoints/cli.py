"""Operator commands of reporting: ``rebuild``, ``as-of``, ``audit verify``, ``log export``, ``report`` and
``case history``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cluetrail.auth import Principal, Role, issue_token
from cluetrail.db import open_pool
from cluetrail.errors import InvalidInput
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import JurisdictionRegistry
from contracts.reporting_calendar import ReportingCalendar
from contracts.taxonomy import default_taxonomy
from services.reporting.adapters.retention import AsOfQuotaFull, as_of_projections, drop_expired
from services.reporting.adapters.sqlfiles import SQL_FOLDER
from services.reporting.adapters.versions import BuildRunning
from services.reporting.audit import AuditReport, LogEntry, export_line, file_entries, topic_batches
from services.reporting.domain import tables as report_tables
from services.reporting.domain.notices import REPORTER_NOTICE
from services.reporting.domain.periods import CST, use_calendar
from services.reporting.exports import export_bytes
from services.reporting.rebuild import RebuildSummary, progress_bar, rebuild
from services.reporting.reports import EXPORTABLE, ReportQuery, Scope, build_tables, parse_period
from services.reporting.settings import ReportingSettings
from services.reporting.timeline import (
    check_timeline_file,
    file_sha256,
    first_break,
    first_notice_break,
    stamped_timeline,
    timeline_file_bytes,
)

console = Console()
T = TypeVar("T")
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


def _print_audit(report: AuditReport) -> None:
    verifier = report.verifier
    console.print(
        f"events: {verifier.events_checked:,}  cases: {verifier.cases_checked:,}  "
        f"broken cases: {len(report.breaks):,}  unreadable records: {len(report.unreadable):,}  "
        f"duplicates: {verifier.duplicates:,}"
    )
    if report.breaks:
        console.print("[red bold]broken cases (the first broken event of each):")
    for found in report.breaks:
        # One line per case, never wrapped, so the output can be searched and compared.
        console.print(
            f"case {found.case_id} seq {found.seq} event {found.event_id}: {found.reason}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
    for bad in report.unreadable:
        where = (
            f"partition {bad.partition} offset {bad.offset}" if bad.partition >= 0 else f"line {bad.offset}"
        )
        console.print(
            f"unreadable record at {where}: {bad.reason}", soft_wrap=True, markup=False, style="yellow"
        )


def register(app: typer.Typer) -> None:
    """Add reporting's commands to the ``cluetrail`` CLI."""

    @app.command("rebuild")
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
    app.add_typer(as_of_app, name="as-of")

    @as_of_app.command("list")
    def as_of_list() -> None:
        """Every as-of projection kept, the first to go first, with the quota and the maximum age."""
        settings = ReportingSettings()
        table = Table(title="as-of projections (the first to go first)")
        for column in ("schema", "as of", "state", "built at", "requested by"):
            table.add_column(column, overflow="fold")
        projections = asyncio.run(_with_reporting_db(settings, as_of_projections))
        for p in projections:
            table.add_row(
                p.schema, p.as_of.isoformat(), p.state, p.built_at.isoformat(), p.requested_by or ""
            )
        console.print(table)
        console.print(
            f"{len(projections)} kept; at most {settings.as_of_keep} (CLUETRAIL_AS_OF_KEEP), each for "
            f"{settings.as_of_max_age_days} days (CLUETRAIL_AS_OF_MAX_AGE_DAYS)",
            soft_wrap=True,
        )

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
        dropped = asyncio.run(_with_reporting_db(settings, lambda conn: drop_expired(conn, cutoff)))
        for schema in dropped:
            console.print(f"dropped {schema}", soft_wrap=True, highlight=False)
        console.print(f"dropped {len(dropped)} as-of projection(s) built before {cutoff.isoformat()}")

    audit_app = typer.Typer(help="Check the case log's hash chains.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify(
        file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False, help="A log export"),
        topic: str | None = typer.Option(None, "--topic", help="Topic to read (default: the case topic)"),
        strict: bool = typer.Option(
            False, "--strict", help="Also fail on records that are not events at all"
        ),
    ) -> None:
        """Replay every case's hash chain and name the first broken event of each broken case.

        Exits 1 when a chain is broken (a fork, a gap, an altered event). A copy of an event already
        verified (a producer's retry, a relay's resend, however late) is a duplicate, counted, not a break.
        Records that are not event documents (poison the consumers dead-lettered) belong to no chain: they
        are listed, and fail the audit only with --strict.
        """
        report = AuditReport()
        with progress_bar() as progress:
            if file is not None:
                task = progress.add_task(f"verifying {file}", total=sum(1 for _ in file.open("rb")))
                for entry in file_entries(file):
                    report.feed(entry)
                    progress.advance(task)
            else:
                asyncio.run(_verify_topic(report, progress, topic))
        _print_audit(report)
        if report.breaks or (strict and report.unreadable):
            raise typer.Exit(1)

    log_app = typer.Typer(help="The case log itself.", no_args_is_help=True)
    app.add_typer(log_app, name="log")

    @log_app.command("export")
    def export(
        file: Path = typer.Argument(..., dir_okay=False, help="JSONL file to write"),
        topic: str | None = typer.Option(None, "--topic", help="Topic to read (default: the case topic)"),
    ) -> None:
        """Write every record of the log as a JSON line: partition, offset, key, timestamp, headers, value."""
        with progress_bar() as progress:
            count = asyncio.run(_export(file, progress, topic))
        console.print(f"exported {count:,} records to {file}")

    report_app = typer.Typer(help="The ledgers and annex tables.", no_args_is_help=True)
    app.add_typer(report_app, name="report")

    @report_app.command("export")
    def report_export(
        table: str = typer.Argument(..., help=f"One of: {', '.join(EXPORTABLE)}"),
        period: str | None = typer.Option(None, "--period", help="YYYY-MM (default: this month)"),
        jurisdiction: str = typer.Option(..., "--jurisdiction", help="Subtree root, e.g. 340102"),
        fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv"),
        output: Path = typer.Option(..., "--output", "-o", dir_okay=False, help="File to write"),
        sector: str | None = typer.Option(None, "--sector"),
        grade: str | None = typer.Option(None, "--grade"),
        status: str | None = typer.Option(None, "--status"),
        as_of: str | None = typer.Option(
            None, "--as-of", help="An as-of projection (built by rebuild --as-of)"
        ),
        live: bool = typer.Option(
            False, "--live", help="Compute a submitted month afresh instead of exporting it as submitted"
        ),
    ) -> None:
        """Write a table as the annex form (XLSX) or CSV, read from the reporting database (operator)."""
        if table not in EXPORTABLE:
            raise typer.BadParameter(f"{table!r} is not one of {', '.join(EXPORTABLE)}")
        if fmt not in ("xlsx", "csv"):
            raise typer.BadParameter("--format must be xlsx or csv")
        if sector is not None and not default_taxonomy().is_sector(sector):
            raise typer.BadParameter(f"unknown sector code {sector!r}", param_hint="--sector")
        query = ReportQuery(table, parse_period(period, datetime.now(CST)), sector=sector, grade=grade,
                            status=status, as_of=as_of, live=live)  # fmt: skip
        tables = asyncio.run(_tables(ReportingSettings(), query, jurisdiction))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(export_bytes(tables, fmt))
        rows = sum(len(t.rows) for t in tables)
        submitted = " as submitted" if any(t.meta.get("submitted") for t in tables) else ""
        console.print(
            f"wrote {output} ({fmt}, {len(tables)} table(s), {rows} row(s), period {query.period}{submitted})"
        )

    @report_app.command("submit")
    def report_submit(
        period: str = typer.Option(..., "--period", help="YYYY-MM"),
        jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="Default: the token's own"),
        token: str = typer.Option(
            ..., "--token", envvar="CLUETRAIL_TOKEN", help="The submitting officer's token"
        ),
        url: str = typer.Option(
            f"http://127.0.0.1:{ReportingSettings().port}", "--url", envvar="CLUETRAIL_REPORTING_URL"
        ),
    ) -> None:
        """Submit a month's annex tables (报送) as the officer the token names; they are frozen as sent."""
        response = httpx.post(
            f"{url}/v1/reports/submissions",
            json={"period": period, "jurisdiction": jurisdiction},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if response.status_code != 202:
            console.print(f"[red]{response.status_code}: {response.json().get('detail', response.text)}")
            raise typer.Exit(1)
        body = response.json()
        console.print(
            f"submitted {body['jurisdiction']} {body['period']}: submission {body['submission_id']}, "
            f"content sha256 {body['content_sha256']}, "
            f"from {body['projection']} at offsets {body['positions']}",
            soft_wrap=True,
            highlight=False,
        )

    case_app = typer.Typer(help="One case.", no_args_is_help=True)
    app.add_typer(case_app, name="case")

    @case_app.command("history")
    def history(
        case_id: uuid.UUID = typer.Argument(..., help="The case id"),
        url: str = typer.Option(
            f"http://127.0.0.1:{ReportingSettings().port}", "--url", envvar="CLUETRAIL_REPORTING_URL"
        ),
        token: str | None = typer.Option(
            None,
            "--token",
            envvar="CLUETRAIL_TOKEN",
            help="Access token (default: an auditor's, issued here)",
        ),
        output: Path | None = typer.Option(
            None, "--output", "-o", dir_okay=False, help="Also write the timeline as a hash-stamped JSON file"
        ),
    ) -> None:
        """Print a case's timeline from the reporting API: every event with its seq, actor and hash, then
        notify's notices about the case (reminders, alerts, notices to its reporter) with theirs.

        The events are the case log's own records (``GET /v1/cases/{id}/events``), whole envelopes as
        written; the notices are the notices topic's (``GET /v1/cases/{id}/notices``). With --output, the
        timeline is written for an auditor with its stamp: the SHA-256 of the timeline's canonical JSON,
        the chain head (the hash of the last event) and the head of each notice stream; `cluetrail case
        check` recomputes the stamp, every event's and notice's hash and the links between them.
        """
        headers = {"Authorization": f"Bearer {token or _operator_token()}"}
        events = _read_case(f"{url}/v1/cases/{case_id}/events", headers)
        notices = _read_case(f"{url}/v1/cases/{case_id}/notices", headers)
        table = Table(title=f"case {case_id}")
        for column in ("seq", "type", "actor", "recorded_at", "hash"):
            table.add_column(column, overflow="fold")
        for event in events:
            actor = event["actor"]
            who = f"{actor.get('kind')}:{actor.get('id')}" + (
                f" ({actor['role']})" if actor.get("role") else ""
            )
            table.add_row(str(event["seq"]), event["type"], who, event["recorded_at"], event["hash"])
        console.print(table)
        console.print(_notices_table(case_id, notices))
        broken = first_break(events)
        if broken is not None:
            console.print(f"[red]the case log's chain is broken at {broken}", soft_wrap=True)
        broken_notice = first_notice_break(notices)
        if broken_notice is not None:
            console.print(f"[red]a notice chain is broken at {broken_notice}", soft_wrap=True)
        if output is not None:
            document = stamped_timeline(str(case_id), events, source=url, notices=notices)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(timeline_file_bytes(document))
            stamp = document["stamp"]
            console.print(f"wrote {output}", soft_wrap=True)
            console.print(f"file sha256:     {file_sha256(output)}", soft_wrap=True, highlight=False)
            console.print(f"timeline sha256: {stamp['timeline_sha256']}", soft_wrap=True, highlight=False)
            console.print(f"chain head:      {stamp['chain_head']} (seq {stamp['last_seq']})", soft_wrap=True,
                          highlight=False)  # fmt: skip
            for stream, head in stamp["notice_heads"].items():
                console.print(f"notice head:     {head} (stream {stream})", soft_wrap=True, highlight=False)
        if broken is not None or broken_notice is not None:
            raise typer.Exit(1)

    @case_app.command("check")
    def check(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
        """Check a timeline file: its stamp matches its content, every event's and notice's hash is the hash
        of its own content, the events link into one chain and each notice stream into its own."""
        problems, recomputed = check_timeline_file(file)
        console.print(f"file sha256: {file_sha256(file)}", soft_wrap=True, highlight=False)
        for problem in problems:
            console.print(f"[red]{problem}", soft_wrap=True)
        if problems:
            raise typer.Exit(1)
        if recomputed:
            console.print("stamp, every event's and notice's hash and the chain links verified")
        else:
            console.print(
                "stamp and chain links verified (a format-1 file lacks fields the hashes cover: "
                "write it again with `cluetrail case history --output` to recompute them)"
            )


def _read_case(address: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """A case read of the reporting API; exits 1 with the refusal's reason when it is not answered 200."""
    response = httpx.get(address, timeout=60, headers=headers)
    if response.status_code != 200:
        console.print(f"[red]{response.status_code}: {response.json().get('detail', response.text)}")
        raise typer.Exit(1)
    found: list[dict[str, Any]] = response.json()
    return found


def _notices_table(case_id: uuid.UUID, notices: list[dict[str, Any]]) -> Table:
    """notify's notices about the case, in the order recorded; a reporter's notice names no recipient."""
    table = Table(title=f"notify's notices about case {case_id} (not case events; chained per stream)")
    for column in ("stream seq", "kind", "recipients", "recorded_at", "hash"):
        table.add_column(column, overflow="fold")
    for notice in notices:
        told = (
            "the reporter (receipt)"
            if notice.get("kind") == REPORTER_NOTICE
            else ", ".join(str(r) for r in notice.get("recipients") or ())
        )
        table.add_row(str(notice["seq"]), notice["kind"], told, notice["recorded_at"], notice["hash"])
    return table


def _operator_token() -> str:
    """An auditor's token for this operator command (it runs where the signing secret is configured), at
    the root of the configured jurisdiction tree (the first root by code, when it is a forest)."""
    settings = CommonSettings()
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    root = min(node.code for node in registry.all() if node.parent is None)
    return issue_token(settings, Principal(subject="cli-operator", role=Role.AUDITOR, jurisdiction=root))


async def _verify_topic(report: AuditReport, progress: Progress, topic: str | None) -> None:
    task = None
    async for records, total in topic_batches(CommonSettings(), topic):
        if task is None:
            task = progress.add_task("verifying the case log", total=total)
        for record in records:
            report.feed(LogEntry(record.partition, record.offset, record.value))
        progress.advance(task, len(records))


async def _export(file: Path, progress: Progress, topic: str | None) -> int:
    count = 0
    task = None
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("w", encoding="utf-8") as out:
        async for records, total in topic_batches(CommonSettings(), topic):
            if task is None:
                task = progress.add_task(f"exporting to {file}", total=total)
            for record in sorted(records, key=lambda r: (r.partition, r.offset)):
                out.write(export_line(record) + "\n")
            count += len(records)
            progress.advance(task, len(records))
    return count


async def _with_reporting_db(
    settings: ReportingSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """``work`` on a connection to reporting's database (its migrations applied)."""
    pool = await open_pool(settings.database_for("reporting"), SQL_FOLDER, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


async def _tables(
    settings: ReportingSettings, query: ReportQuery, jurisdiction: str
) -> list[report_tables.Table]:
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    use_calendar(ReportingCalendar.load(settings.reporting_calendar_file, registry))
    pool = await open_pool(settings.database_for("reporting"), SQL_FOLDER, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await build_tables(conn, registry, query, Scope(jurisdiction))
    finally:
        await pool.close()
