"""The faults, and one phase of the suite: load, strike, restore, probe, check.

A phase posts clues at the configured rate; after ``fault_after`` seconds the fault strikes and holds for
``down`` seconds, then the struck part is started again and the suite waits until all four services
answer ``/readyz``. How long the fault **lasted** runs from the strike to that moment. Then a probe — a
key case, which triage escalates at once and notify tells 瑶海区's lead office about — is posted: it is
**recovered** when the probe is in reporting's ledger and **notified** when its first webhook arrives, both
counted from the moment everything was ready again. The load goes on for ``after`` seconds more (and for
``load_seconds`` in all at least), every clue sent is waited for, and the checks run over every clue of
the run so far.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console

from tests.faults import checks
from tests.faults.checks import Check, NotifyCut
from tests.faults.load import ClueLoad
from tests.faults.servers import PrivateServers
from tests.harness import SERVICES, Stack, WebhookRecorder, wait_until

DADIAN = "340102L01003"  # 合肥市瑶海区龙岗街道大店社区


@dataclass(frozen=True)
class Timing:
    """How long each part of a phase runs, and how long the suite waits for things (never a limit on
    how fast they must be: the machine is shared and slow)."""

    rate: float = 50.0
    load_seconds: float = 25.0
    fault_after: float = 5.0
    down: float = 5.0
    after: float = 5.0
    ready_timeout: float = 240.0
    probe_timeout: float = 300.0
    ledger_timeout: float = 600.0
    give_up_after: float = 300.0


@dataclass
class Run:
    """Everything a phase acts on."""

    stack: Stack
    servers: PrivateServers
    recorder: WebhookRecorder
    load: ClueLoad
    timing: Timing
    console: Console
    cuts: list[NotifyCut] = field(default_factory=list)


@dataclass(frozen=True)
class Fault:
    """What strikes, how it is undone, and whether it kills notify between a send and its commit."""

    key: str
    name: str
    strike: Callable[[Run], None] | None
    restore: Callable[[Run], None] | None
    cuts_notify: bool = False


@dataclass
class Outcome:
    """What one phase measured and found."""

    fault: Fault
    lasted: float | None = None
    answered_in: float | None = None
    recovered_in: float | None = None
    notified_in: float | None = None
    sent: int = 0
    published: int = 0
    pending: int = 0
    retried: int = 0
    # How long the phase's clients waited for their 202, from the first attempt: p50, p99, longest.
    waits: tuple[float | None, float | None, float | None] = (None, None, None)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def kill_service(name: str) -> Callable[[Run], None]:
    def strike(run: Run) -> None:
        run.stack.stop(name, kill=True)
        run.console.print(f"  killed {name} with SIGKILL", style="dim", highlight=False)

    return strike


def restart_service(name: str) -> Callable[[Run], None]:
    def restore(run: Run) -> None:
        run.stack.start(name, timeout=run.timing.ready_timeout)
        run.console.print(f"  started {name} again", style="dim", highlight=False)

    return restore


FAULTS = (
    Fault("none", "no fault (baseline)", None, None),
    *(
        Fault(
            name, f"{name} SIGKILL", kill_service(name), restart_service(name), cuts_notify=name == "notify"
        )
        for name in SERVICES
    ),
    Fault(
        "broker-term",
        "broker SIGTERM",
        lambda run: run.servers.stop_kafka(),
        lambda run: run.servers.start_kafka(),
    ),
    Fault(
        "broker-kill",
        "broker SIGKILL",
        lambda run: run.servers.kill_kafka(),
        lambda run: run.servers.start_kafka(),
    ),
    Fault(
        "postgres",
        "PostgreSQL restart",
        lambda run: run.servers.stop_postgres(),
        lambda run: run.servers.start_postgres(),
    ),
)


def probe_clue() -> dict[str, Any]:
    """A clue triage grades as a key case (≥ 100 million yuan) and escalates to the lead office at once."""
    return {
        "jurisdiction": DADIAN,
        "source": "grid_patrol",
        "subject": {"kind": "company", "name": f"探针财富管理有限公司{uuid.uuid4().hex[:6]}"},
        "description": "门店向老年人推介保本高息理财产品，承诺年化收益百分之十八",
        "sector": "wealth_management",
        "estimated_amount_yuan": 150_000_000,
        "participants": 420,
        "flags": ["vulnerable_targets", "promised_high_returns"],
    }


def all_ready(stack: Stack) -> bool:
    for name in SERVICES:
        try:
            if httpx.get(f"{stack.url(name)}/readyz", timeout=3).status_code != 200:
                return False
        except httpx.HTTPError:
            return False
    return True


def in_ledger(reporting: httpx.Client, case_id: str) -> bool:
    try:
        return reporting.get(f"/v1/cases/{case_id}").status_code == 200
    except httpx.HTTPError:
        return False


def notified(recorder: WebhookRecorder, case_id: str, since: int) -> bool:
    """True once a webhook about ``case_id`` arrived at or after position ``since``."""
    for posted in list(recorder.received)[since:]:
        try:
            document = posted.json()
        except ValueError:
            continue
        if isinstance(document, dict) and document.get("case_id") == case_id:
            return True
    return False


def run_phase(run: Run, fault: Fault, auditor: str) -> Outcome:
    """Load, strike, restore, probe and check; a step that fails is recorded as a failed check."""
    outcome = Outcome(fault)
    timing, console = run.timing, run.console
    phase_began = time.monotonic()
    first_clue = len(run.load.clues)
    run.load.start(fault.key)
    try:
        _strike_and_probe(run, fault, outcome, auditor)
    except (AssertionError, RuntimeError, OSError, TimeoutError, httpx.HTTPError) as exc:
        outcome.checks.append(Check("fault and recovery", False, f"{type(exc).__name__}: {exc}"))
        heal(run)
    remaining = phase_began + timing.load_seconds - time.monotonic()
    time.sleep(max(timing.after, remaining))
    outcome.sent = run.load.stop()
    console.print(f"  sent {outcome.sent:,} clues; waiting for every answer", style="dim", highlight=False)
    outstanding = run.load.drain(timing.give_up_after + 60)

    phase = [c for c in run.load.clues[first_clue:] if c.phase == fault.key]
    answered = [c for c in phase if c.answered_at is not None]
    outcome.published = sum(1 for c in answered if c.status == "published")
    outcome.pending = sum(1 for c in answered if c.status == "pending")
    outcome.retried = sum(1 for c in answered if c.retried)
    waits = sorted(c.answered_at - c.first_sent for c in answered if c.answered_at is not None)
    if waits:
        outcome.waits = (
            waits[len(waits) // 2],
            waits[min(len(waits) - 1, int(len(waits) * 0.99))],
            waits[-1],
        )

    every = list(run.load.clues)
    outcome.checks.append(checks.answers(every, outstanding))
    with httpx.Client(
        base_url=run.stack.url("reporting"), timeout=60, headers={"Authorization": f"Bearer {auditor}"}
    ) as reporting:
        outcome.checks.append(checks.ledger(reporting, every, timing.ledger_timeout))
    outcome.checks.append(checks.audit_verify(run.stack))
    outcome.checks.append(checks.dead_letters(run.stack))
    outcome.checks.append(
        checks.deliveries(list(run.recorder.received), list(run.stack.mail.received), run.cuts)
    )
    outcome.checks.append(checks.services_alive(run.stack))
    for check in outcome.checks:
        mark = "[green]ok[/green]" if check.ok else "[red bold]FAILED[/red bold]"
        console.print(f"  {mark} {check.name}: ", end="")
        console.print(check.detail, markup=False, highlight=False)
    return outcome


def _strike_and_probe(run: Run, fault: Fault, outcome: Outcome, auditor: str) -> None:
    timing, console = run.timing, run.console
    time.sleep(timing.fault_after)
    struck = time.monotonic()
    if fault.cuts_notify:
        run.cuts.append(NotifyCut(fault.name, len(run.recorder.received), len(run.stack.mail.received)))
    if fault.strike is not None:
        console.print(f"  {fault.name}", highlight=False)
        fault.strike(run)
        time.sleep(max(0.0, struck + timing.down - time.monotonic()))
    if fault.restore is not None:
        fault.restore(run)
    wait_until(
        lambda: all_ready(run.stack), timeout=timing.ready_timeout, interval=0.2, what="every service ready"
    )
    ready = time.monotonic()
    outcome.lasted = ready - struck if fault.strike is not None else None

    since = len(run.recorder.received)
    probe = run.load.submit(probe_clue(), phase=f"{fault.key} probe")
    if probe.case_id is None:
        raise AssertionError(f"the probe was not accepted: {probe.refused}")
    outcome.answered_in = (probe.answered_at or ready) - ready
    with httpx.Client(
        base_url=run.stack.url("reporting"), timeout=30, headers={"Authorization": f"Bearer {auditor}"}
    ) as reporting:
        case_id = probe.case_id
        wait_until(
            lambda: in_ledger(reporting, case_id),
            timeout=timing.probe_timeout,
            interval=0.1,
            what="the probe in the ledger",
        )
    outcome.recovered_in = time.monotonic() - ready
    wait_until(
        lambda: notified(run.recorder, case_id, since),
        timeout=timing.probe_timeout,
        interval=0.1,
        what="the probe's webhook",
    )
    outcome.notified_in = time.monotonic() - ready
    console.print(
        f"  lasted {_seconds(outcome.lasted)}; probe answered in {_seconds(outcome.answered_in)}, "
        f"in the ledger in {_seconds(outcome.recovered_in)}, notified in {_seconds(outcome.notified_in)}",
        highlight=False,
    )


def heal(run: Run) -> None:
    """After a phase failed midway: the servers and every service running again, so the next phase
    starts from a whole stack."""
    try:
        run.servers.start()
        for name in SERVICES:
            process = run.stack.processes.get(name)
            if process is None or process.poll() is not None:
                run.stack.start(name, timeout=run.timing.ready_timeout)
    except (AssertionError, RuntimeError, OSError) as exc:
        run.console.print(f"  could not restore the stack: {exc}", style="red", highlight=False)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
