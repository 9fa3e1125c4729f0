"""``cluetrail audit verify`` (every case's hash chain, from the topic or a copy) and ``cluetrail log export``
(a copy of the case log for an auditor)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import typer
from aiokafka.errors import KafkaError
from rich.progress import Progress

from cluetrail.kafka import anchor_topic
from cluetrail.settings import CommonSettings
from services.reporting.adapters.audit_shares import default_processes
from services.reporting.adapters.log import (
    anchor_topics,
    export_line,
    file_entries,
    region_entries,
    topic_batches,
    topic_values,
    verify_topic,
)
from services.reporting.domain.audit import AuditReport
from services.reporting.domain.regions_audit import Problem, RegionsAudit
from services.reporting.entrypoints.cli.common import console, progress_bar

# A region's alias as the regions file spells it (contracts.regions.RegionAlias).
REGION_ALIAS = re.compile(r"^[a-z][a-z0-9-]{1,40}$")

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


@audit_app.command("verify")
def verify(
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False, help="A log export"),
    topic: str | None = typer.Option(None, "--topic", help="Topic to read (default: the case topic)"),
    strict: bool = typer.Option(False, "--strict", help="Also fail on records that are not events at all"),
    processes: int = typer.Option(
        default_processes(),
        "--processes",
        min=1,
        max=64,
        help="Processes verifying shares of the topic's partitions side by side (default: the cores)",
    ),
    region: list[str] = typer.Option(
        [],
        "--region",
        metavar="ALIAS=BOOTSTRAP",
        help="A region and its Kafka cluster (repeat for each): verify every region's case log and anchors, "
        "then merge each case across them",
    ),
) -> None:
    """Replay every case's hash chain and name the first broken event of each broken case.

    Exits 1 when a chain is broken (a fork, a gap, an altered event). A copy of an event already
    verified (a producer's retry, a relay's resend, however late) is a duplicate, counted, not a break.
    Records that are not event documents (poison the consumers dead-lettered) belong to no chain: they
    are listed, and fail the audit only with --strict.

    With --region, each region's own case log (the topic prefix is CLUETRAIL_TOPIC_PREFIX) is verified
    on its own, then every case is merged by seq across the regions and checked against the chain-head
    anchors of every region: exits 1 naming each fork, gap, altered copy or broken anchor chain as
    (region, case, seq, hash) — docs/regions.md, "Audit across regions".
    """
    if region:
        if file is not None or topic is not None:
            console.print("[red]--region reads each region's own topics: it takes neither --file nor --topic")
            raise typer.Exit(2)
        _verify_across_regions(_regions(region), strict)
        return
    report = AuditReport()
    with progress_bar() as progress:
        if file is not None:
            task = progress.add_task(f"verifying {file}", total=sum(1 for _ in file.open("rb")))
            for entry in file_entries(file):
                report.feed(entry)
                progress.advance(task)
        else:
            asyncio.run(verify_topic(CommonSettings(), report, progress, topic, processes))
    _print_audit(report)
    if report.breaks or (strict and report.unreadable):
        raise typer.Exit(1)


def _regions(given: list[str]) -> dict[str, str]:
    """``ALIAS=BOOTSTRAP`` options as {alias: bootstrap}; a malformed or repeated one ends the command."""
    regions: dict[str, str] = {}
    for option in given:
        alias, _, bootstrap = option.partition("=")
        if not REGION_ALIAS.match(alias) or not bootstrap.strip():
            console.print(
                f"[red]--region {option!r}: expected ALIAS=HOST:PORT[,HOST:PORT…] with the region's alias "
                "as the regions file names it (e.g. anhui=10.0.0.5:9092)",
                markup=False,
            )
            raise typer.Exit(2)
        if alias in regions:
            console.print(f"--region {alias} is given twice", style="red", markup=False)
            raise typer.Exit(2)
        regions[alias] = bootstrap.strip()
    return regions


def _verify_across_regions(regions: dict[str, str], strict: bool) -> None:
    audit = RegionsAudit()
    with progress_bar() as progress:
        try:
            missing = asyncio.run(_read_regions(audit, regions, progress))
        except (LookupError, KafkaError, OSError) as exc:
            console.print(f"cannot read a region's cluster: {exc}", style="red", markup=False)
            raise typer.Exit(2) from exc
    problems = [*missing, *audit.problems()]
    for alias, log in audit.logs.items():
        verifier = log.report.verifier
        console.print(
            f"region {alias}: events {verifier.events_checked:,}  cases: {verifier.cases_checked:,}  "
            f"broken cases: {len(log.report.breaks):,}  unreadable records: {len(log.report.unreadable):,}  "
            f"duplicates: {verifier.duplicates:,}",
            markup=False,
        )
        for bad in log.report.unreadable:
            # A position in this region's own cluster: the record has no case or seq to name it by.
            console.print(
                f"region {alias}: unreadable record at partition {bad.partition} offset {bad.offset}: "
                f"{bad.reason}",
                soft_wrap=True,
                markup=False,
                style="yellow",
            )
    cases = audit.cases()
    shared = sum(1 for c in cases if sum(c in log.held for log in audit.logs.values()) > 1)
    console.print(
        f"across regions: cases {len(cases):,}  held in more than one region: {shared:,}  "
        f"anchors verified: {audit.anchors.anchors:,}  problems: {len(problems):,}",
        markup=False,
    )
    if problems:
        console.print("[red bold]problems (region, case, seq, hash):")
    for problem in problems:
        console.print(problem.line(), soft_wrap=True, markup=False, highlight=False)
    unreadable = any(log.report.unreadable for log in audit.logs.values())
    if problems or (strict and unreadable):
        raise typer.Exit(1)


async def _read_regions(audit: RegionsAudit, regions: dict[str, str], progress: Progress) -> list[Problem]:
    """Read each region's case log into the audit, and every anchors topic of its cluster; then each log
    again to its new end (``RegionLog.feed``). Each region's own anchors are fed before the replicas, so a
    replica that differs is the one named. Returns the problems met on the way (an anchors topic missing)."""
    base = CommonSettings()
    own: list[tuple[str, str, bytes]] = []
    replicas: list[tuple[str, str, bytes]] = []
    missing: list[Problem] = []
    clusters = {alias: base.model_copy(update={"kafka_bootstrap": b}) for alias, b in regions.items()}
    read: dict[str, dict[int, int]] = {}
    for alias, settings in clusters.items():
        read[alias] = await _read_log(audit, alias, settings, progress, None)
        topics = await anchor_topics(settings, alias)
        if not topics or topics[0][0] != alias:
            reason = (
                f"its cluster has no anchors topic {anchor_topic(settings)} (cluetrail stack init makes it)"
            )
            missing.append(Problem("anchors", alias, None, None, None, reason))
        for owner, topic in topics:
            values = await topic_values(settings, topic)
            (own if owner == alias else replicas).extend((owner, alias, v) for v in values)
    for alias, settings in clusters.items():
        await _read_log(audit, alias, settings, progress, read[alias])
    for owner, cluster, value in [*own, *replicas]:
        audit.anchors.feed(value, owner=owner, cluster=cluster)
    return missing


async def _read_log(
    audit: RegionsAudit,
    alias: str,
    settings: CommonSettings,
    progress: Progress,
    start: dict[int, int] | None,
) -> dict[int, int]:
    """Feed the region's case log from ``start`` (None: offset zero) to its end; where it ended."""
    log = audit.log(alias)
    what = f"verifying region {alias}'s case log" if start is None else f"region {alias}: events since"
    task = None
    end = dict(start or {})
    async for entries, end in region_entries(settings, start):
        if task is None:
            task = progress.add_task(what, total=sum(end.values()) - sum((start or {}).values()))
        for entry in entries:
            log.feed(entry, evidence=start is None)
        progress.advance(task, len(entries))
    return end


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
