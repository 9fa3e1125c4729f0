"""``cluetrail case history`` (a case's timeline from the reporting API, optionally as a hash-stamped file)
and ``cluetrail case check`` (such a file checked from itself alone, ``domain.timeline``)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.table import Table

from cluetrail.auth import Principal, Role, issue_token
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain.notices import REPORTER_NOTICE
from services.reporting.domain.timeline import (
    first_break,
    first_notice_break,
    stamped_timeline,
    timeline_file_bytes,
    timeline_problems,
)
from services.reporting.entrypoints.cli.common import console
from services.reporting.settings import ReportingSettings

case_app = typer.Typer(help="One case.", no_args_is_help=True)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_timeline_file(path: Path) -> tuple[list[str], bool]:
    """What is wrong with a timeline file (nothing: an empty list), and whether every event's hash was
    recomputed (false for a format-1 file, whose entries lack fields the hash covers)."""
    return timeline_problems(path.read_bytes(), str(path))


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


def _print_events(case_id: uuid.UUID, events: list[dict[str, Any]]) -> None:
    table = Table(title=f"case {case_id}")
    for column in ("seq", "type", "actor", "recorded_at", "hash"):
        table.add_column(column, overflow="fold")
    for event in events:
        actor = event["actor"]
        who = f"{actor.get('kind')}:{actor.get('id')}" + (f" ({actor['role']})" if actor.get("role") else "")
        table.add_row(str(event["seq"]), event["type"], who, event["recorded_at"], event["hash"])
    console.print(table)


def _write_timeline(
    output: Path, case_id: uuid.UUID, events: list[dict[str, Any]], notices: list[dict[str, Any]], url: str
) -> None:
    """The timeline as a hash-stamped file, and what an auditor compares it by."""
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


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")

    # Made here: its default address is the configured port's, read when the commands are registered.
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
        _print_events(case_id, events)
        console.print(_notices_table(case_id, notices))
        broken = first_break(events)
        if broken is not None:
            console.print(f"[red]the case log's chain is broken at {broken}", soft_wrap=True)
        broken_notice = first_notice_break(notices)
        if broken_notice is not None:
            console.print(f"[red]a notice chain is broken at {broken_notice}", soft_wrap=True)
        if output is not None:
            _write_timeline(output, case_id, events, notices, url)
        if broken is not None or broken_notice is not None:
            raise typer.Exit(1)

    case_app.command("check")(check)
