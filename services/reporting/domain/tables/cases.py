"""A case as the tables read it: its ledger row and its facts in seq order, and the case replayed from its
facts to any instant (``snapshot``), which every "as at the end of the period" figure reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from contracts.events import graded_figures
from services.reporting.domain.handoffs import Handoff
from services.reporting.domain.periods import CST

CLOSING_TYPES = frozenset({"closed", "written-off"})


@dataclass(frozen=True)
class Fact:
    """One event of a case's history as the tables read it."""

    type: str
    occurred_at: datetime
    jurisdiction: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CaseRecord:
    """A case: its ledger row (current state) and its facts in seq order."""

    row: Mapping[str, Any]
    facts: tuple[Fact, ...]

    @property
    def case_id(self) -> str:
        return str(self.row["case_id"])


@dataclass
class Snapshot:
    """A case as it stood just before an instant, replayed from its facts."""

    jurisdiction: str
    sector: str | None = None
    open: bool = True
    grade: str | None = None
    determination: str | None = None
    transferred: bool = False
    accepted: bool = False
    written_off: bool = False
    closed: bool = False
    outcome: str | None = None
    recovered_yuan: int = 0
    regions: list[str] = field(default_factory=list)
    # Handoffs (协商办理): every one accepted, in order, and the one waiting for its answer.
    handoffs: list[Handoff] = field(default_factory=list)
    offered: Handoff | None = None
    filed_at: datetime | None = None
    # The case's figures: its clue's until graded, then those of its latest grade (contracts: assessed v3).
    participants: int | None = None
    amount_yuan: int | None = None

    @property
    def figures_counted(self) -> tuple[int, int]:
        """The participants and money at risk this case adds to a table's totals: its figures, or none once
        it is merged — its clue is then counted in the case it went into."""
        if self.outcome == "merged":
            return 0, 0
        return self.participants or 0, self.amount_yuan or 0

    @property
    def awaiting_clearance(self) -> bool:
        """A filed criminal case (刑事立案) not yet cleared: open, or closed by the office as transferred to
        the police (the trial and the return of funds go on). Written off (risk cleared with a recorded
        outcome), merged, closed with another outcome, or returned by the police: cleared."""
        if self.filed_at is None or self.written_off:
            return False
        return self.open or (self.closed and self.outcome == "transferred_to_police")


def snapshot(case: CaseRecord, before: datetime) -> Snapshot | None:
    """The case as it stood just before ``before``; None when it had not been reported yet."""
    facts = [f for f in case.facts if f.occurred_at < before]
    if not facts or facts[0].type != "clue-reported":
        return None
    clue = facts[0].payload
    state = Snapshot(
        jurisdiction=facts[0].jurisdiction,
        sector=clue.get("sector"),
        participants=clue.get("participants"),
        amount_yuan=clue.get("estimated_amount_yuan"),
    )
    state.regions = list(facts[0].payload.get("regions_involved") or [])
    for fact in facts:
        state.jurisdiction = fact.jurisdiction
        p = fact.payload
        kind = fact.type
        if kind == "assessed":
            state.grade = p.get("grade")
            state.sector = p.get("sector") or state.sector
            state.participants, state.amount_yuan = graded_figures(p)
        elif kind == "determined":
            state.determination = p.get("determination")
        elif kind == "escalated" and p.get("target") == "police":
            state.transferred = True
            state.filed_at = state.filed_at or fact.occurred_at
        elif kind == "escalated" and p.get("target") == "other_region":
            state.regions.append(str(p.get("target_jurisdiction")))
        elif kind == "police-accepted":
            state.transferred = state.accepted = True
            # The criminal case is filed (刑事立案) when the police accept it; the ageing rules count from it.
            state.filed_at = (
                datetime.fromisoformat(str(p.get("accepted_at")))
                if p.get("accepted_at")
                else (fact.occurred_at)
            )
        elif kind == "police-returned":
            state.transferred = state.accepted = False
            state.filed_at = None
        elif kind == "key-case-flagged" and p.get("criminal_filed_on") and not state.accepted:
            filed = date.fromisoformat(str(p["criminal_filed_on"]))
            state.filed_at = datetime.combine(filed, time(0), tzinfo=CST)
        elif kind in CLOSING_TYPES or kind == "merged":
            # A handoff still waiting for its answer lapses with the closing.
            state.open, state.closed, state.offered = False, kind != "merged", None
            state.written_off = state.written_off or kind == "written-off"
            state.outcome = "merged" if kind == "merged" else p.get("outcome")
            if p.get("recovered_amount_yuan") is not None:
                state.recovered_yuan = int(p["recovered_amount_yuan"])
        elif kind == "reopened":
            state.open, state.closed, state.written_off, state.outcome = True, False, False, None
        elif kind == "handoff-accepted":
            state.jurisdiction = str(p.get("to_jurisdiction") or fact.jurisdiction)
            state.handoffs.append(_handoff(p, fact))
            state.offered = None
        elif kind in ("handoff-requested", "handoff-returned"):
            state.jurisdiction = str(p.get("from_jurisdiction") or fact.jurisdiction)
            state.offered = _handoff(p, fact) if kind == "handoff-requested" else None
    return state


def _handoff(payload: Mapping[str, Any], fact: Fact) -> Handoff:
    return Handoff(
        str(payload.get("from_jurisdiction") or fact.jurisdiction),
        str(payload.get("to_jurisdiction") or fact.jurisdiction),
        payload.get("from_region"),
        payload.get("to_region"),
        fact.occurred_at,
    )
