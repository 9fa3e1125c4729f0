"""Request and response bodies of the services' HTTP APIs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.codes import JurisdictionCode
from contracts.events import EvidenceRef, LongText, ShortText, Subject, Yuan
from contracts.vocabulary import CaseStatus, ClueSource, Determination, Grade, Measure, Outcome, RiskFlag

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]


def nul_at(value: object, path: str = "") -> str | None:
    """Where in ``value`` (a parsed JSON body) text holds U+0000, as a dotted path, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return where
        found = nul_at(item, where)
        if found is not None:
            return found
    return None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold U+0000: an event carrying it would be accepted, then refused by
        every projection that reads it (and the case's later events with it), so it is refused here."""
        where = nul_at(data)
        if where is not None:
            raise ValueError(f"{where or 'body'}: text must not contain the NUL character (U+0000)")
        return data


class ReporterIdentity(_Request):
    """Who reported, when not anonymous. Sealed by intake before anything is published."""

    name: ShortText
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+\- ]{3,20}$")] | None = None
    contact: ShortText | None = None


class ClueSubmission(_Request):
    """A risk clue as a reporter or grid worker submits it to intake (POST /v1/clues)."""

    jurisdiction: JurisdictionCode
    source: ClueSource
    subject: Subject
    description: LongText
    sector: Code | None = None
    behaviours: list[Code] = Field(default_factory=list, max_length=20)
    estimated_amount_yuan: Yuan | None = None
    participants: int | None = Field(default=None, ge=0, le=10**9)
    flags: list[RiskFlag] = Field(default_factory=list, max_length=len(RiskFlag))
    regions_involved: list[JurisdictionCode] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=50)
    observed_at: AwareDatetime | None = Field(default=None, description="When the reporter saw it.")
    reporter: ReporterIdentity | None = None


# Where an accepted request stands: on the case log (Kafka acknowledged it, acks=all), or stored in the
# service's database and queued for the case log because Kafka did not answer in time. A pending one is
# published by the service's relay as soon as Kafka answers; a retry with the same Idempotency-Key (or a
# look at the receipt) tells when.
Publication = Literal["published", "pending"]


class ClueAccepted(BaseModel):
    """Intake's answer (202) to a clue it stored: ``published`` once Kafka holds it durably, ``pending``
    when Kafka did not answer within the wait (the clue is kept and goes to the case log when it does;
    never a second copy)."""

    case_id: uuid.UUID
    receipt_code: str
    event_id: uuid.UUID
    recorded_at: datetime
    status: Publication = "published"


ReceiptStage = Literal["received", "under_review", "in_handling", "closed", "merged"]


class ReceiptStep(BaseModel):
    """One change of a case's handling its reporter may see (办理进度): the stage and the day (Beijing),
    nothing of who handled it or how."""

    stage: Literal[
        "received", "under_review", "transferred", "in_handling", "closed", "reward_granted", "merged"
    ]
    label: str = Field(description="The stage in Chinese, e.g. 已移送公安机关")
    on: date


class ReceiptMessage(BaseModel):
    """A notice to the reporter (notify's ``reporter-update``): a Chinese text, the stage and the day."""

    text: str
    stage: str | None = None
    on: date


class ReceiptStatus(BaseModel):
    """What a reporter may see through a receipt code: the stage of handling and its history, the notices
    sent to the reporter, nothing else. A clue merged into another case (并案) shows that case's stage."""

    receipt_code: str
    status: ReceiptStage
    reward_granted: bool = Field(default=False, description="A reward (举报奖励) was granted for the clue.")
    updated_at: datetime
    history: list[ReceiptStep] = Field(
        default_factory=list, description="Reporter-visible changes, oldest first"
    )
    messages: list[ReceiptMessage] = Field(
        default_factory=list, description="Notices to the reporter, oldest first"
    )
    merged_case_status: Literal["received", "under_review", "in_handling", "closed"] | None = Field(
        default=None,
        description="For a merged clue: the stage of the case its subject is now handled in",
    )


class OfficerAction(_Request):
    """A command of an officer; who acts is the subject of the access token, never a field of the body."""


class DeterminationRequest(OfficerAction):
    """An officer's determination (研判定性): what the case is, on what basis, and the measures taken.

    ``summary`` is the case summary for the police: the district lead office that determines a suspected
    crime transfers the case at once, and a transfer needs it.
    """

    determination: Determination
    basis: LongText
    measures: list[Measure] = Field(default_factory=list, max_length=20)
    summary: LongText | None = Field(
        default=None,
        description="Case summary for the police referral; required when the district lead office "
        "determines suspected_crime.",
    )


class CloseRequest(OfficerAction):
    outcome: Outcome
    summary: LongText
    recovered_amount_yuan: Yuan = 0


class EventAccepted(BaseModel):
    """An officer's action recorded as event ``seq`` of the case: ``published`` once Kafka holds it,
    ``pending`` when Kafka did not answer within the wait (recorded, and published when it does)."""

    case_id: uuid.UUID
    event_id: uuid.UUID
    seq: int
    type: str
    status: Publication = "published"


class LedgerRow(BaseModel):
    """One case in the dynamic management ledger (动态管理台账)."""

    case_id: uuid.UUID
    jurisdiction: str
    status: CaseStatus
    source: ClueSource
    subject_name: str
    credit_code: str | None
    sector: str | None
    estimated_amount_yuan: int | None
    participants: int | None
    grade: Grade | None
    score: int | None
    key_case: bool
    determination: Determination | None
    outcome: Outcome | None
    recovered_amount_yuan: int
    escalations: int
    reported_at: datetime
    updated_at: datetime
    last_seq: int
    last_hash: str
    held_by: list[str] = Field(
        default_factory=list, description="Every jurisdiction that held the case, first to last (handoffs)."
    )


class LedgerPage(BaseModel):
    items: list[LedgerRow]
    total: int
    offset: int
    limit: int


class HistoryEntry(BaseModel):
    """One event of a case's history as the auditor sees it."""

    seq: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: dict[str, object]
    prev_hash: str
    hash: str
    payload: dict[str, object]


class ProblemDetail(BaseModel):
    """Every 4xx/5xx body: a reason a person can act on, plus per-field errors where they apply."""

    detail: str
    errors: list[dict[str, object]] = Field(default_factory=list)
