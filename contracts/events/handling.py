"""An office's handling of a case: ``determined``, ``escalated``, ``measure-recorded``,
``key-case-flagged``, ``closed``, ``written-off`` (with what the write-off relied on) and ``reopened``."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events.common import LongText, RuleName, ShortText, Yuan, _Strict
from contracts.vocabulary import (
    Determination,
    EscalationLevel,
    EscalationTarget,
    Measure,
    Outcome,
    ReopenTrigger,
)


class DeterminedPayload(_Strict):
    """An officer's determination of what a case is (研判定性), with its basis and the measures taken."""

    determination: Determination
    basis: LongText
    measures: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=20
    )


class EscalatedPayload(_Strict):
    """A case sent up (逐级上报), to the police (移送公安) or announced to another region (跨区域通报).

    Version 2 records, for the ``lead_office`` target, the level of the office the case went up to (one level
    at a time: community, street, then the district lead office) and where it came from, so the trail shows
    every office it passed. A v1 escalation to the lead office reads with both absent: it went to the
    district lead office, as v1 escalations did.
    """

    target: EscalationTarget
    target_jurisdiction: JurisdictionCode
    reason: LongText
    rule: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The rule that escalated automatically; None when an officer did."
    )
    level: EscalationLevel | None = Field(
        default=None,
        description="lead_office target: the level of the office the case now waits on (district = the "
        "lead office); None for the police, another region, or a v1 event.",
    )
    from_jurisdiction: JurisdictionCode | None = Field(
        default=None, description="The office (or the case's own jurisdiction) it went up from; None in v1."
    )


class ClosedPayload(_Strict):
    """A case closed with its recorded outcome (销号 requires one)."""

    outcome: Outcome
    summary: LongText
    recovered_amount_yuan: Yuan = 0


class MeasureRecordedPayload(_Strict):
    """A disposal measure taken on the case (处置措施), e.g. a warning interview or a seizure."""

    measure: Measure
    detail: LongText
    amount_yuan: Yuan | None = Field(default=None, description="Money the measure concerns, if any.")


class KeyCaseFlaggedPayload(_Strict):
    """The case is a key case (重点案件) with a supervising leader (领导包案) and its deadlines."""

    reasons: list[Annotated[str, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=20)
    supervising_leader: ShortText = Field(description="A role title, e.g. 区政府分管副区长; never a name.")
    criminal_filed_on: date | None = Field(default=None, description="When the police filed the case.")
    trial_and_return_by: date | None = Field(default=None, description="2 years after police filing.")
    supervision_from: date | None = Field(default=None, description="3 years after filing: 挂牌督办.")
    clearance_by: date | None = Field(default=None, description="5 years after filing: must be cleared.")


class WriteOffBasis(_Strict):
    """What a write-off relied on, so an auditor can check each of its conditions against the case's chain:
    the recorded result (the ``determined`` or ``closed`` event at ``result_seq``), the last clue about the
    subject (the quiet period runs from it), the money at risk and the police's part, if any."""

    result_seq: int = Field(ge=1, description="Seq of the determination or closing relied on.")
    result_type: Literal["determined", "closed"]
    result: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] = Field(
        description="The determination or the closing outcome at result_seq."
    )
    last_clue_at: AwareDatetime = Field(
        description="When the last clue about the subject came in (the case's own or a linked one)."
    )
    amount_at_risk_yuan: Yuan | None = Field(
        default=None, description="Money at risk as the case stood (its clue and the clues linked to it)."
    )
    police_seq: int | None = Field(
        default=None, ge=1, description="The transfer to the police, returned or closed since, if any."
    )
    no_recovery_reason: LongText | None = Field(
        default=None,
        description="Why nothing was recovered and no claim handled although money was at risk.",
    )


class WrittenOffPayload(_Strict):
    """The risk written off (风险销号) with the conditions that held and what they relied on.

    Version 2 adds ``relied_on`` and names in ``conditions_met`` the conditions that held for this case
    (v1 wrote the same three names for every write-off). A v1 write-off reads with ``relied_on`` absent.
    """

    outcome: Outcome
    summary: LongText
    recovered_amount_yuan: Yuan
    claims_handled: int = Field(ge=0, le=10**9, description="Participants' claims settled.")
    quiet_period_days: int = Field(ge=0, le=3650, description="Days without a new matching clue required.")
    conditions_met: list[RuleName] = Field(min_length=1, max_length=20)
    relied_on: WriteOffBasis | None = Field(default=None, description="None in v1 write-offs.")


class ReopenedPayload(_Strict):
    """A closed, written-off or merged case opened again: look back (回头看), a new clue, or a split."""

    reason: LongText
    trigger: ReopenTrigger
    linked_case_id: uuid.UUID | None = Field(default=None, description="The case that caused it, if any.")


class CaseDetermined(Envelope):
    type: Literal["determined"] = "determined"
    schema_version: Literal[1] = 1
    payload: DeterminedPayload


class CaseEscalated(Envelope):
    type: Literal["escalated"] = "escalated"
    schema_version: Literal[2] = 2
    payload: EscalatedPayload


class CaseClosed(Envelope):
    type: Literal["closed"] = "closed"
    schema_version: Literal[1] = 1
    payload: ClosedPayload


class MeasureRecorded(Envelope):
    """A disposal measure taken on the case."""

    type: Literal["measure-recorded"] = "measure-recorded"
    schema_version: Literal[1] = 1
    payload: MeasureRecordedPayload


class KeyCaseFlagged(Envelope):
    """The case was flagged a key case with its supervising leader and deadlines."""

    type: Literal["key-case-flagged"] = "key-case-flagged"
    schema_version: Literal[1] = 1
    payload: KeyCaseFlaggedPayload


class CaseWrittenOff(Envelope):
    """The case's risk was written off with its conditions recorded."""

    type: Literal["written-off"] = "written-off"
    schema_version: Literal[2] = 2
    payload: WrittenOffPayload


class CaseReopened(Envelope):
    """The case was reopened."""

    type: Literal["reopened"] = "reopened"
    schema_version: Literal[1] = 1
    payload: ReopenedPayload
