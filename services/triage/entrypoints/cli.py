"""Operator commands of triage: show the grading rule set in force, and grade a clue with it offline."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from contracts.api import ClueSubmission
from contracts.jurisdictions import JurisdictionRegistry
from services.triage.adapters.rules import quiet_periods_for, rule_set_for
from services.triage.domain.grading import RuleSet, RuleSetError, assess
from services.triage.domain.quiet_periods import QuietPeriodsError
from services.triage.domain.state import ClueFacts
from services.triage.settings import TriageSettings

console = Console()
triage_app = typer.Typer(help="Triage: the grading rule set.", no_args_is_help=True)


def _rules() -> RuleSet:
    try:
        return rule_set_for(TriageSettings())
    except RuleSetError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@triage_app.command("rules")
def show_rules() -> None:
    """Print the grading rule set in force (CLUETRAIL_TRIAGE_RULES_FILE or the bundled one) and the
    write-off quiet periods (CLUETRAIL_TRIAGE_WRITE_OFF_FILE or the bundled one)."""
    rules = _rules()
    table = Table(title=rules.version)
    table.add_column("factor")
    table.add_column("points")
    table.add_row("participants", " · ".join(f"≥{b.at_least}: {b.points}" for b in rules.participants_points))
    table.add_row(
        "estimated_amount_yuan", " · ".join(f"≥{b.at_least:,}: {b.points}" for b in rules.amount_points)
    )
    for flag, points in rules.flag_points.items():
        table.add_row(f"flag:{flag.value}", str(points))
    table.add_row("regions_involved", f"{rules.region_points.each} each, at most {rules.region_points.max}")
    table.add_row("grade", " · ".join(f"≥{t.at_least}: {t.grade.value}" for t in rules.grade_thresholds))
    if rules.linked_clue_points is not None:
        table.add_row(
            "linked_clues", f"{rules.linked_clue_points.each} each, at most {rules.linked_clue_points.max}"
        )
    for sector, points in rules.sector_points.items():
        table.add_row(f"sector:{sector}", str(points))
    table.add_row("key case amount", f"≥{rules.key_case_amount_yuan:,} yuan")
    if rules.key_case_min_grade is not None:
        table.add_row("key case grade", f"at least {rules.key_case_min_grade.value}")
    for district in rules.districts.values():
        changed = ", ".join(o.path for o in district.override_list())
        table.add_row(f"district {district.district}", f"{district.version}: {changed}")
    console.print(table)
    try:
        periods = quiet_periods_for(TriageSettings())
    except QuietPeriodsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    quiet = Table(title=f"write-off quiet periods ({periods.version})")
    quiet.add_column("result")
    quiet.add_column("days without a new matching clue")
    for result, days in sorted(periods.quiet_period_days.items(), key=lambda item: (item[1], item[0])):
        quiet.add_row(result, str(days))
    console.print(quiet)


@triage_app.command("grade")
def grade_clue(
    file: Path = typer.Argument(..., help="A clue submission (JSON, as POSTed to intake)"),
) -> None:
    """Grade a clue with the rule set in force and print every factor, as an ``assessed`` event records it."""
    rules = _rules()
    try:
        clue = ClueSubmission.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        console.print(f"[red]{file}: {exc}[/red]")
        raise typer.Exit(2) from exc
    facts = ClueFacts(
        sector=clue.sector,
        participants=clue.participants,
        estimated_amount_yuan=clue.estimated_amount_yuan,
        flags=tuple(clue.flags),
        regions_involved=tuple(clue.regions_involved),
        description=clue.description,
        behaviours=tuple(clue.behaviours),
    )
    registry = JurisdictionRegistry.load(TriageSettings().jurisdictions_file)
    assessed = assess(facts, rules, jurisdiction=clue.jurisdiction, registry=registry)
    console.print_json(assessed.model_dump_json())


def register(app: typer.Typer) -> None:
    """Add ``cluetrail triage …`` to the operator CLI."""
    app.add_typer(triage_app, name="triage")
