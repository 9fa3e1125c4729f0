"""``cluetrail report export`` (a table as the annex form or CSV, read from reporting's database) and
``cluetrail report submit`` (a month's annex tables submitted as the officer a token names)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import httpx
import typer

from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionError, RegionRegistry
from contracts.reporting_calendar import ReportingCalendar
from contracts.taxonomy import default_taxonomy
from services.reporting.adapters.reports import build_tables
from services.reporting.domain.exports import export_bytes
from services.reporting.domain.handoffs import Regions
from services.reporting.domain.periods import CST, use_calendar
from services.reporting.domain.reports import EXPORTABLE, ReportQuery, Scope, parse_period
from services.reporting.domain.tables import Table
from services.reporting.entrypoints.cli.common import console, reporting_database
from services.reporting.settings import ReportingSettings


async def _tables(settings: ReportingSettings, query: ReportQuery, jurisdiction: str) -> list[Table]:
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    use_calendar(ReportingCalendar.load(settings.reporting_calendar_file, registry))
    try:
        regions = Regions.load(settings.region, RegionRegistry.load(settings.regions_file, registry))
    except RegionError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    async with reporting_database(settings) as conn:
        return await build_tables(conn, registry, query, Scope(jurisdiction), regions=regions)


report_app = typer.Typer(help="The ledgers and annex tables.", no_args_is_help=True)


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
    as_of: str | None = typer.Option(None, "--as-of", help="An as-of projection (built by rebuild --as-of)"),
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


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")

    # Made here: its default address is the configured port's, read when the commands are registered.
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
