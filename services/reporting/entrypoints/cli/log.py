"""``cluetrail audit verify`` (every case's hash chain, from the topic or a copy) and ``cluetrail log export``
(a copy of the case log for an auditor)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.progress import Progress

from cluetrail.settings import CommonSettings
from services.reporting.adapters.log import export_line, file_entries, topic_batches
from services.reporting.domain.audit import AuditReport, LogEntry
from services.reporting.entrypoints.cli.common import console, progress_bar

audit_app = typer.Typer(help="Check the case log's hash chains.", no_args_is_help=True)
log_app = typer.Typer(help="The case log itself.", no_args_is_help=True)


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


async def _verify_topic(report: AuditReport, progress: Progress, topic: str | None) -> None:
    task = None
    async for records, total in topic_batches(CommonSettings(), topic):
        if task is None:
            task = progress.add_task("verifying the case log", total=total)
        for record in records:
            report.feed(LogEntry(record.partition, record.offset, record.value))
        progress.advance(task, len(records))


@audit_app.command("verify")
def verify(
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False, help="A log export"),
    topic: str | None = typer.Option(None, "--topic", help="Topic to read (default: the case topic)"),
    strict: bool = typer.Option(False, "--strict", help="Also fail on records that are not events at all"),
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


@log_app.command("export")
def export(
    file: Path = typer.Argument(..., dir_okay=False, help="JSONL file to write"),
    topic: str | None = typer.Option(None, "--topic", help="Topic to read (default: the case topic)"),
) -> None:
    """Write every record of the log as a JSON line: partition, offset, key, timestamp, headers, value."""
    with progress_bar() as progress:
        count = asyncio.run(_export(file, progress, topic))
    console.print(f"exported {count:,} records to {file}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(log_app, name="log")
