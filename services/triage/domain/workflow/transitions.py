"""The workflow's state machine (``TRANSITIONS``: command -> statuses it is allowed from), ``require``, which
refuses a command the case's status does not admit and names the rule, and the workflow's policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.jurisdictions import default_registry
from contracts.regions import RegionRegistry, single_region
from contracts.vocabulary import CaseStatus
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.quiet_periods import QuietPeriods
from services.triage.domain.state import FINAL, CaseState

S = CaseStatus
OPEN_HANDLED = frozenset({S.ASSESSED, S.UNDER_DISPOSAL, S.ESCALATED})
TRANSITIONS: dict[str, frozenset[CaseStatus]] = {
    "determination": OPEN_HANDLED,
    "measure": OPEN_HANDLED | {S.TRANSFERRED},
    "escalation": OPEN_HANDLED,
    "transfer": OPEN_HANDLED,
    "closing": OPEN_HANDLED | {S.TRANSFERRED},
    "write-off": frozenset({S.UNDER_DISPOSAL, S.ESCALATED, S.TRANSFERRED, S.CLOSED}),
    "reopening": frozenset({S.CLOSED, S.WRITTEN_OFF}),
    "police acceptance": frozenset({S.TRANSFERRED}),
    "police return": frozenset({S.TRANSFERRED}),
    "handoff": OPEN_HANDLED,
    "handoff answer": OPEN_HANDLED | {S.TRANSFERRED},
    "merge": frozenset({S.REPORTED}) | OPEN_HANDLED,
    "split": OPEN_HANDLED | {S.TRANSFERRED, S.CLOSED, S.WRITTEN_OFF},
    "reward": OPEN_HANDLED | {S.TRANSFERRED, S.CLOSED, S.WRITTEN_OFF, S.MERGED},
    "reclassification": frozenset({S.REPORTED}) | OPEN_HANDLED | {S.TRANSFERRED},
}

KEY_CASE_LEADER = "区政府分管副区长"


@dataclass(frozen=True)
class WorkflowPolicy:
    """Configurable parts of the workflow: the write-off quiet periods (by the result a write-off rests on),
    the key-case leader's title, the region this deployment is and the regions of the deployment (which
    region serves which place: recorded at both ends of a handoff, and deciding each case's writer)."""

    quiet_periods: QuietPeriods = field(default_factory=lambda: QuietPeriods.uniform(90))
    key_case_leader: str = KEY_CASE_LEADER
    region: str = "local"
    regions: RegionRegistry = field(default_factory=lambda: single_region(default_registry()))


def require(state: CaseState, command: str) -> None:
    """Refuse ``command`` unless the state machine allows it from the case's status."""
    allowed = TRANSITIONS[command]
    if state.status in allowed:
        return
    if state.status in FINAL:
        raise TransitionRefused(
            f"case {state.case_id} is {state.status.value}; it takes no {command} (closed-is-final)",
            rule="closed-is-final",
        )
    if state.status == S.REPORTED:
        raise TransitionRefused(
            f"case {state.case_id} is not assessed yet; {command} comes after assessment (assess-first)",
            rule="assess-first",
        )
    statuses = ", ".join(sorted(s.value for s in allowed))
    raise TransitionRefused(
        f"case {state.case_id} is {state.status.value}; {command} is allowed from {statuses} (state-machine)",
        rule="state-machine",
    )
