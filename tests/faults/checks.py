"""What must hold after every fault, each check answering ok or not with what it saw.

- every clue was answered 202 (``published`` or ``pending``), each Idempotency-Key with one case;
- every answered clue is in reporting's ledger exactly once, graded, and nothing else is, and the grade
  counts (kept by increments) agree with the ledger;
- ``cluetrail audit verify --strict`` exits 0;
- nothing was dead-lettered;
- no notify delivery reached its receiver twice. The one repeat notify's design admits — notify killed
  between a send and its commit sends the notice again under the same delivery id, which the receiver
  drops — is reported when notify's SIGKILL lay between the two copies, and fails the check anywhere
  else (a database restart is not such a fault: a sent notice's outcome waits for the database).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from cluetrail.kafka import read_log
from tests.faults.load import Clue
from tests.harness import ROOT, SERVICES, Recorded, Stack, wait_until
from tests.integration.ledger import whole_ledger

# Standard Webhooks names the delivery ``webhook-id``; notify's own header is ``X-Cluetrail-Delivery``.
DELIVERY_ID_HEADERS = ("webhook-id", "x-cluetrail-delivery")


@dataclass(frozen=True)
class Check:
    """One thing that must hold, whether it did, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class NotifyCut:
    """A fault that killed notify mid-send: how many webhooks and mails had arrived when it struck."""

    fault: str
    webhooks: int
    mails: int


def answers(clues: list[Clue], outstanding: int) -> Check:
    """Every clue sent was answered 202, and every key with a single case."""
    answered = [c for c in clues if c.answered]
    refused = [c for c in clues if c.refused]
    split = [c for c in clues if len(c.case_ids) > 1]
    statuses = Counter(c.status for c in answered)
    retried = sum(1 for c in answered if c.retried)
    detail = (
        f"{len(answered):,} of {len(clues):,} answered 202 ({statuses['published']:,} published, "
        f"{statuses['pending']:,} pending; {retried:,} after retries)"
    )
    problems = []
    if refused:
        reasons = Counter(c.refused for c in refused).most_common(3)
        problems.append(f"{len(refused):,} refused: " + "; ".join(f"{n}× {r}" for r, n in reasons))
    if outstanding:
        problems.append(f"{outstanding:,} still unanswered")
    if split:
        problems.append(
            f"{len(split):,} keys answered with two cases, e.g. {split[0].key} {split[0].case_ids}"
        )
    return Check("answered 202", not problems, "; ".join([detail, *problems]))


def ledger(reporting: httpx.Client, clues: list[Clue], timeout: float) -> Check:
    """Every answered clue's case is in the ledger once and graded (or merged into the case of its subject);
    no case is there that was not answered; the grade counts agree with the ledger."""
    expected = {c.case_id for c in clues if c.case_id is not None}
    unanswered = sum(1 for c in clues if c.case_id is None)
    seen: dict[str, Any] = {}

    def complete() -> bool:
        try:
            rows = whole_ledger(reporting)
        except httpx.HTTPError as exc:
            seen["error"] = f"{type(exc).__name__}: {exc}"
            return False
        seen["rows"] = rows
        # A clue about a subject already on file is merged into that case (triage links it): its row says
        # so and carries no grade of its own.
        graded = {r["case_id"] for r in rows if r["grade"] is not None or r["status"] == "merged"}
        seen["missing"] = expected - {r["case_id"] for r in rows}
        seen["ungraded"] = expected - graded - seen["missing"]
        return not seen["missing"] and not seen["ungraded"]

    try:
        wait_until(complete, timeout=timeout, interval=2.0, what="every answered clue graded in the ledger")
    except AssertionError:
        if "rows" not in seen:
            return Check("in the ledger once", False, f"the ledger could not be read: {seen.get('error')}")
        missing, ungraded = seen["missing"], seen["ungraded"]
        return Check(
            "in the ledger once",
            False,
            f"after {timeout:.0f} s, {len(missing):,} answered clues not in the ledger "
            f"(e.g. {sorted(missing)[:3]}), {len(ungraded):,} not graded (e.g. {sorted(ungraded)[:3]})",
        )
    rows: list[dict[str, Any]] = seen["rows"]
    counted = Counter(r["case_id"] for r in rows)
    twice = [case for case, n in counted.items() if n > 1]
    extra = set(counted) - expected
    problems = []
    if twice:
        problems.append(f"{len(twice):,} cases listed twice, e.g. {twice[:3]}")
    if len(extra) > unanswered:
        problems.append(
            f"{len(extra):,} cases no answer named ({unanswered:,} clues unanswered), "
            f"e.g. {sorted(extra)[:3]}"
        )
    counts = grade_counts(reporting, rows)
    if counts:
        problems.append(counts)
    detail = f"{len(expected):,} answered clues, {len(rows):,} ledger rows, every one graded once"
    return Check("in the ledger once", not problems, "; ".join([detail, *problems]))


def grade_counts(reporting: httpx.Client, rows: list[dict[str, Any]]) -> str | None:
    """None when ``/v1/stats/grades`` gives the ledger's own counts (an event applied twice leaves a
    count above the ledger's), else what differs."""
    ledger_counts = Counter((r["jurisdiction"], r["grade"] or "ungraded") for r in rows)
    response = reporting.get("/v1/stats/grades")
    response.raise_for_status()
    stats = {(s["jurisdiction"], s["grade"]): s["cases"] for s in response.json() if s["cases"]}
    if stats == dict(ledger_counts):
        return None
    cells = sorted(set(stats) | set(ledger_counts))
    differ = [
        f"{j}/{g}: {stats.get((j, g), 0)} counted, {ledger_counts.get((j, g), 0)} rows" for j, g in cells
    ]
    return "grade counts differ from the ledger: " + "; ".join(
        d for d, cell in zip(differ, cells, strict=True) if stats.get(cell, 0) != ledger_counts.get(cell, 0)
    )


def audit_verify(stack: Stack) -> Check:
    """``cluetrail audit verify --strict`` on the case log, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "audit", "verify", "--strict"],
        env={**stack.env, "COLUMNS": "200"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = next((line for line in lines if line.startswith("events:")), lines[-1] if lines else "")
    if done.returncode != 0:
        summary = f"exit status {done.returncode}: " + " | ".join(lines[-8:])
    return Check("audit verify", done.returncode == 0, " ".join(summary.split()))


def dead_letters(stack: Stack) -> Check:
    """Nothing on the dead-letter topic: no record was set aside as unreadable, out of chain or refused."""
    settings = stack.settings()

    async def read() -> list[bytes]:
        found: list[bytes] = []
        async for batch, _ in read_log(settings, settings.dead_letter_topic):
            found.extend(record.value or b"" for record in batch)
        return found

    letters = asyncio.run(read())
    detail = f"{len(letters):,} dead letters"
    if letters:
        detail += ", the first: " + letters[0][:400].decode(errors="replace")
    return Check("no dead letters", not letters, detail)


def delivery_id(headers: Mapping[str, str] | EmailMessage) -> str | None:
    """The delivery id a receiver drops repeats by, under either header name."""
    if isinstance(headers, EmailMessage):
        return next((str(headers[h]) for h in DELIVERY_ID_HEADERS if headers[h] is not None), None)
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((lowered[h] for h in DELIVERY_ID_HEADERS if h in lowered), None)


def _repeats(ids: Iterable[str | None]) -> tuple[dict[str, list[int]], int]:
    """Each delivery id received more than once with the positions of its copies, and how many arrived
    with no delivery id at all."""
    positions: dict[str, list[int]] = {}
    missing = 0
    for index, found in enumerate(ids):
        if found is None:
            missing += 1
        else:
            positions.setdefault(found, []).append(index)
    return {k: v for k, v in positions.items() if len(v) > 1}, missing


def deliveries(webhooks: list[Recorded], mails: list[EmailMessage], cuts: list[NotifyCut]) -> Check:
    """No delivery id reached the webhook receiver, the SMS gateway or the mail server twice, but for a
    repeat across notify killed mid-send."""
    problems: list[str] = []
    explained: list[str] = []
    for channel, ids, mark in (
        ("webhook", [delivery_id(r.headers) for r in webhooks], lambda cut: cut.webhooks),
        ("mail", [delivery_id(m) for m in mails], lambda cut: cut.mails),
    ):
        repeated, missing = _repeats(ids)
        if missing:
            problems.append(f"{missing:,} {channel} deliveries without a delivery id")
        for found, positions in repeated.items():
            across = [c.fault for c in cuts if positions[0] < mark(c) <= positions[-1]]
            what = f"{channel} {found} received {len(positions)} times"
            if across and len(positions) == 2:
                explained.append(f"{what}, across {across[0]}")
            else:
                problems.append(what)
    detail = f"{len(webhooks):,} webhooks and {len(mails):,} mails, each delivery id once"
    if explained:
        detail = (
            f"{len(webhooks):,} webhooks and {len(mails):,} mails; sent again after a send whose commit "
            f"the fault lost (same id, dropped by the receiver): " + "; ".join(explained)
        )
    return Check("each delivery once", not problems, "; ".join([detail, *problems]))


def services_alive(stack: Stack) -> Check:
    """No service process died of a fault it was not the target of."""
    dead = []
    for name in SERVICES:
        process = stack.processes.get(name)
        if process is None:
            dead.append(f"{name} (not started)")
        elif process.poll() is not None:
            dead.append(f"{name} (exit status {process.returncode})")
    return Check("services alive", not dead, "exited: " + ", ".join(dead) if dead else "all four running")
