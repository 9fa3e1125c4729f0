"""Request and response bodies of triage's officer API beyond the shared ones in ``contracts.api``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from contracts.api import FROM_TEXT, OfficerAction
from contracts.codes import JurisdictionCode
from contracts.events import EvidenceRef, LongText, ShortText, Yuan
from contracts.taxonomy import BehaviourCodes, SectorCode
from contracts.vocabulary import CaseStatus, Determination, Grade, Measure, Outcome
from services.triage.domain.state import Escalation


class EscalationRequest(OfficerAction):
    """Escalate to the lead office (逐级上报) or transfer to the police (移送公安: with a summary)."""

    target: Literal["lead_office", "police"]
    reason: LongText
    summary: LongText | None = Field(default=None, description="Case summary for the police referral.")


class ReclassificationRequest(OfficerAction):
    """An officer's classification of the case: taxonomy codes of its sector and behaviours, and why."""

    sector: SectorCode
    behaviours: BehaviourCodes = Field(default_factory=list)
    reason: LongText


class ReporterView(BaseModel):
    """The reporter's identity sealed by intake, opened for an entitled officer; the reading is recorded."""

    case_id: uuid.UUID
    reporter: dict[str, Any]
    viewed_event_id: uuid.UUID


class MeasureRequest(OfficerAction):
    """A disposal measure taken (处置措施)."""

    measure: Annotated[Measure, FROM_TEXT]
    detail: LongText
    amount_yuan: Yuan | None = None


class WriteOffRequest(OfficerAction):
    """Write the risk off (风险销号): the outcome, money recovered and claims handled (or why neither)."""

    outcome: Annotated[Outcome, FROM_TEXT]
    summary: LongText
    recovered_amount_yuan: Yuan
    claims_handled: int = Field(ge=0, le=10**9)
    no_recovery_reason: LongText | None = Field(
        default=None,
        description="Why nothing was recovered and no claim handled although the case put money at risk "
        "(required then, unless its result is no violation).",
    )


class ReasonRequest(OfficerAction):
    """A command whose only fact is its reason (reopen by look back, police return, handoff return)."""

    reason: LongText


class PoliceAcceptanceRequest(OfficerAction):
    """The police accept a transferred case under their case number."""

    police_case_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class KeyCaseRequest(OfficerAction):
    """Flag a key case (重点案件) and name its supervising leader by role title, never by name."""

    reasons: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        min_length=1, max_length=10
    )
    supervising_leader: ShortText


class MergeRequest(OfficerAction):
    """Merge this case into another (并案)."""

    into_case_id: Annotated[uuid.UUID, FROM_TEXT]
    reason: LongText


class SplitRequest(OfficerAction):
    """Separate a linked clue from this case again (分案): its own case is reopened."""

    clue_case_id: Annotated[uuid.UUID, FROM_TEXT]
    reason: LongText


class HandoffRequest(OfficerAction):
    """Offer the case to another district (协商办理)."""

    to_jurisdiction: JurisdictionCode
    reason: LongText


class HandoffAnswer(OfficerAction):
    """The receiving district's acceptance (with an optional note)."""

    note: LongText | None = None


class RewardRequest(OfficerAction):
    """A reward for the case's reporter (举报奖励)."""

    amount_yuan: Annotated[int, Field(gt=0, le=10**9)]
    basis: LongText


class PoliceView(BaseModel):
    """The transfer to the police and their answer."""

    seq: int
    police_jurisdiction: str
    referral_seq: int | None
    manifest_sha256: str | None
    accepted_at: datetime | None
    police_case_number: str | None
    returned: bool


class KeyCaseView(BaseModel):
    """The key-case flag: supervising leader (a role title) and deadlines."""

    supervising_leader: str
    reasons: list[str]
    criminal_filed_on: date | None
    trial_and_return_by: date | None
    supervision_from: date | None
    clearance_by: date | None


class LinkedClueView(BaseModel):
    clue_case_id: uuid.UUID
    clue_event_id: uuid.UUID
    basis: str
    split: bool


class HandoffView(BaseModel):
    from_jurisdiction: str
    to_jurisdiction: str


class CaseView(BaseModel):
    """Triage's view of a case: where it stands, its grade, its handling, and the end of its chain."""

    case_id: uuid.UUID
    status: CaseStatus
    jurisdiction: str
    grade: Grade | None
    score: int | None
    rule_set: str | None
    key_case: bool
    key_case_reasons: list[str]
    responsible_department: str | None
    participants: int | None = Field(
        description="涉众规模: the clue's, plus linked clues', less those split off (as graded)."
    )
    estimated_amount_yuan: int | None = Field(
        description="风险敞口 in yuan: the clue's, plus linked clues', less those split off (as graded)."
    )
    determination: Determination | None
    outcome: Outcome | None
    recovered_amount_yuan: int
    escalations: list[Escalation]
    waiting_on: str | None = Field(
        description="While escalated: the jurisdiction of the office the case was reported up to."
    )
    measures: list[Measure]
    police: PoliceView | None
    key_case_flag: KeyCaseView | None
    linked_clues: list[LinkedClueView]
    merged_into: uuid.UUID | None
    handoff_pending: HandoffView | None
    held_by: list[str] = Field(description="Every jurisdiction that held the case, first to last.")
    reopened: int
    reward_granted: bool
    last_seq: int
    last_hash: str


class ReferralBundle(BaseModel):
    """The referral bundle for the police: case facts, evidence with hashes, the full event history and the
    manifest whose SHA-256 the ``referral-packaged`` event recorded (recompute it to verify)."""

    case_id: uuid.UUID
    manifest: dict[str, Any]
    manifest_sha256: str
    facts: dict[str, Any]
    evidence: list[EvidenceRef]
    events: list[dict[str, Any]]
