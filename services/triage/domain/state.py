"""A case as triage sees it: its clue, grade, handling and the end of its hash chain. The fold that advances
it event by event is in ``fold``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from contracts.envelope import GENESIS_HASH
from contracts.events import EvidenceRef
from contracts.vocabulary import (
    CaseStatus,
    ClueSource,
    Determination,
    EscalationLevel,
    EscalationTarget,
    Grade,
    Measure,
    Outcome,
    RiskFlag,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClueFacts(_Frozen):
    """What the clue said that grading reads: sector, 涉众规模, 风险敞口, flags and regions involved.

    ``participants`` and ``estimated_amount_yuan`` add up the clues linked to the case; ``linked_clues``
    counts them (a subject reported again and again is hotter).
    """

    sector: str | None = None
    participants: int | None = None
    estimated_amount_yuan: int | None = None
    flags: tuple[RiskFlag, ...] = ()
    regions_involved: tuple[str, ...] = ()
    source: ClueSource | None = None
    description: str | None = None
    behaviours: tuple[str, ...] = ()
    subject_name: str | None = None
    credit_code: str | None = None
    address: str | None = None
    has_reporter: bool = False
    linked_clues: int = 0
    classified_by_officer: bool = False


class Escalation(_Frozen):
    """One escalation recorded on the case; ``rule`` is None when an officer escalated. ``level`` is the
    level of the office a ``lead_office`` escalation went up to (None: the district lead office, as every
    escalation before levels were recorded)."""

    seq: int
    target: EscalationTarget
    target_jurisdiction: str
    rule: str | None = None
    level: EscalationLevel | None = None
    from_jurisdiction: str | None = None


class PoliceTransfer(_Frozen):
    """The case's transfer to the police (移送公安): the referral bundle, then acceptance or return."""

    seq: int
    police_jurisdiction: str
    summary: str
    rule: str | None = None
    referral_seq: int | None = None
    manifest_sha256: str | None = None
    accepted_at: datetime | None = None
    police_case_number: str | None = None
    returned: bool = False


class KeyCaseFlag(_Frozen):
    """The latest key-case flag: who supervises (a role title) and the deadlines that apply."""

    seq: int
    supervising_leader: str
    reasons: tuple[str, ...]
    criminal_filed_on: date | None = None
    trial_and_return_by: date | None = None
    supervision_from: date | None = None
    clearance_by: date | None = None


class LinkedClue(_Frozen):
    """A further clue about this case's subject, reported as its own case and linked here: what it added to
    the case's figures (taken off again when it is split off) and its evidence."""

    seq: int
    clue_case_id: uuid.UUID
    clue_event_id: uuid.UUID
    basis: str
    recorded_at: datetime
    split: bool = False
    participants: int | None = None
    estimated_amount_yuan: int | None = None
    evidence: tuple[EvidenceRef, ...] = ()


class PendingHandoff(_Frozen):
    """A handoff to another jurisdiction waiting for its answer."""

    seq: int
    from_jurisdiction: str
    to_jurisdiction: str
    from_region: str | None = None
    to_region: str | None = None


class RegionReporter(_Frozen):
    """Where the reporter's identity sealed for another region lies: the ``handoff-requested`` event (its
    seq) that carries it, sealed for ``region``'s public key."""

    seq: int
    region: str


class CaseState(_Frozen):
    """Triage's state of one case: where it stands, its grade, and the end of its chain."""

    case_id: uuid.UUID
    status: CaseStatus
    jurisdiction: str
    last_seq: int
    last_hash: str
    last_event_id: uuid.UUID
    correlation_id: uuid.UUID
    clue_event_id: uuid.UUID
    clue_traceparent: str | None = None
    clue: ClueFacts
    clue_hash: str = GENESIS_HASH
    reported_at: datetime | None = None
    evidence: tuple[EvidenceRef, ...] = ()
    grade: Grade | None = None
    score: int | None = None
    rule_set: str | None = None
    assessed_linked_clues: int = 0
    # Officers' classifications folded so far, and how many of them the last grade saw.
    classifications: int = 0
    assessed_classifications: int = 0
    key_case: bool = False
    key_case_reasons: tuple[str, ...] = ()
    responsible_department: str | None = None
    determination: Determination | None = None
    determination_basis: str | None = None
    determined_seq: int | None = None
    outcome: Outcome | None = None
    closed_seq: int | None = None
    recovered_amount_yuan: int = 0
    escalations: tuple[Escalation, ...] = ()
    # The office an escalation to the lead office left the case waiting on, and its level (None: the
    # district lead office). Only while the status is ``escalated``.
    escalated_to: str | None = None
    escalation_level: EscalationLevel | None = None
    measures: tuple[Measure, ...] = ()
    police: PoliceTransfer | None = None
    key_case_flag: KeyCaseFlag | None = None
    linked: tuple[LinkedClue, ...] = ()
    last_clue_at: datetime | None = None
    merged_into: uuid.UUID | None = None
    handoff: PendingHandoff | None = None
    # The latest reporter identity sealed for another region (a cross-region handoff's), if any.
    region_reporter: RegionReporter | None = None
    handoffs_accepted: int = 0
    # Accepted handoffs the last grade saw: a case taken over is routed (and graded) again where it is now.
    assessed_handoffs: int = 0
    # Every jurisdiction that held the case, first to last: each may still read its trail.
    held_by: tuple[str, ...] = ()
    reopened: int = 0
    written_off_at: datetime | None = None
    reward_granted_yuan: int = 0
    hashes: tuple[str, ...] = ()

    def has_escalation(
        self, target: EscalationTarget, *, rule: str | None = None, target_jurisdiction: str | None = None
    ) -> bool:
        """True when the case went to ``target`` (by ``rule``, to ``target_jurisdiction``, when given)."""
        return any(
            e.target == target
            and (rule is None or e.rule == rule)
            and (target_jurisdiction is None or e.target_jurisdiction == target_jurisdiction)
            for e in self.escalations
        )

    @property
    def is_open(self) -> bool:
        """Still being handled: neither closed, written off nor merged into another case."""
        return self.status not in FINAL

    @property
    def transferred_to_police(self) -> bool:
        """The police hold the case (transferred and not returned): they may read it."""
        return self.police is not None and not self.police.returned

    @property
    def clue_evidence(self) -> tuple[EvidenceRef, ...]:
        """The evidence of the case's clue and of every clue linked to it and not split off, each piece
        once."""
        pieces = [*self.evidence, *(e for link in self.linked if not link.split for e in link.evidence)]
        seen: set[str] = set()
        once = []
        for piece in pieces:
            if piece.sha256 not in seen:
                seen.add(piece.sha256)
                once.append(piece)
        return tuple(once)


# Statuses in which a case takes no further handling until it is reopened.
FINAL = frozenset({CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF, CaseStatus.MERGED})
