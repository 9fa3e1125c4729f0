"""Case events: the payload of each type, its current schema version, and reading with upcasting.

Event types are past-tense facts about one case. The four core types are ``clue-reported``,
``assessed``, ``escalated`` and ``closed``; ``determined`` records an officer's determination. The
workflow types (measures, key-case flags, police acceptance and return, referral bundles, write-off,
reopening, linked clues, merge and split, handoff, rewards) are written by triage; every consumer folds a
type it does not project as history (it still advances the case's chain).
To change a payload: add a new model version, bump ``schema_version`` in the event class, and register
an upcaster from the old version in ``UPCASTERS`` so events already in the log still load.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
)

from contracts.codes import CreditCode, JurisdictionCode
from contracts.envelope import (
    GENESIS_HASH,
    Actor,
    Envelope,
    Sha256Hex,
    canonical_bytes,
    compute_hash,
    utcnow,
    uuid7,
)
from contracts.taxonomy import BehaviourCodes, SectorCode
from contracts.vocabulary import (
    ClueSource,
    Determination,
    EscalationLevel,
    EscalationTarget,
    Grade,
    MatchBasis,
    Measure,
    Outcome,
    ReopenTrigger,
    RiskFlag,
    SubjectKind,
)

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Yuan = Annotated[int, Field(ge=0, le=10**15, description="Amount in yuan (元), whole yuan.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subject(_Strict):
    """The party a clue is about: a company, shop, person or online platform."""

    kind: SubjectKind
    name: ShortText
    credit_code: CreditCode | None = Field(default=None, description="统一社会信用代码, GB 32100")
    address: ShortText | None = None
    legal_representative: ShortText | None = None


class EvidenceRef(_Strict):
    """A piece of evidence held outside the log, referenced by the SHA-256 of its content."""

    sha256: Sha256Hex
    media_type: Annotated[str, StringConstraints(max_length=100)]
    filename: Annotated[str, StringConstraints(max_length=200)] | None = None
    size_bytes: int = Field(ge=0)


class SealedValue(_Strict):
    """A field encrypted with AES-256-GCM; the key is named by ``key_id`` and never travels in Kafka."""

    alg: Literal["AES-256-GCM"] = "AES-256-GCM"
    key_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    nonce: Annotated[str, StringConstraints(max_length=64)]
    ciphertext: Annotated[str, StringConstraints(max_length=8192)]


class ClueReportedPayload(_Strict):
    """A risk clue as its reporter gave it; never edited, corrections are later events."""

    source: ClueSource
    subject: Subject
    description: LongText
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    behaviours: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=20
    )
    estimated_amount_yuan: Yuan | None = None
    participants: int | None = Field(default=None, ge=0, le=10**9)
    flags: list[RiskFlag] = Field(default_factory=list, max_length=len(RiskFlag))
    regions_involved: list[JurisdictionCode] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=50)
    reporter: SealedValue | None = Field(default=None, description="None when reported anonymously.")
    receipt_digest: Sha256Hex = Field(description="SHA-256 of the receipt code given to the reporter.")


class Factor(_Strict):
    """One input to a grade, with the points it contributed, so an auditor can recompute the score."""

    name: Annotated[str, StringConstraints(max_length=64)]
    value: int | str | bool | None
    points: int


class Suggestion(_Strict):
    """A sector or behaviour code suggested by a clue's free text, with the phrases that matched."""

    kind: Literal["sector", "behaviour"]
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    score: int = Field(ge=0)
    phrases: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=50
    )


class RuleOverride(_Strict):
    """One entry of a district's rule file that replaced the default rule set's (path and new value)."""

    path: Annotated[str, StringConstraints(max_length=100)]
    value: JsonValue


class AssessedPayload(_Strict):
    """The graded risk of a case (分级分类) under a named, versioned rule set.

    Version 2 adds what an auditor needs besides the factors: the sector graded and whether the reporter
    gave it or the text suggested it, the suggestions with their matched phrases, the district whose rule
    file applied with every override it made, and the routing table the department came from.
    """

    grade: Grade
    score: int
    factors: list[Factor]
    rule_set: Annotated[str, StringConstraints(max_length=64)]
    key_case: bool
    key_case_reasons: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=list)
    responsible_department: ShortText | None = None
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    sector_source: Literal["reporter", "suggested", "officer"] | None = None
    suggestions: list[Suggestion] = Field(default_factory=list, max_length=50)
    classification_rules: Annotated[str, StringConstraints(max_length=64)] | None = None
    district: JurisdictionCode | None = None
    district_rules: Annotated[str, StringConstraints(max_length=64)] | None = None
    overrides: list[RuleOverride] = Field(default_factory=list, max_length=200)
    routing_table: Annotated[str, StringConstraints(max_length=64)] | None = None


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


RuleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
RegionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]


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


class PoliceAcceptedPayload(_Strict):
    """The police accepted the transferred case (受理/立案) under their case number."""

    police_case_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    accepted_at: AwareDatetime
    police_jurisdiction: JurisdictionCode


class PoliceReturnedPayload(_Strict):
    """The police returned the transferred case (退回), with their reason."""

    reason: LongText
    police_jurisdiction: JurisdictionCode


class ReferralFacts(_Strict):
    """The case's facts as they stood at its transfer to the police, as the referral bundle states them."""

    jurisdiction: JurisdictionCode
    subject_name: ShortText | None = None
    credit_code: Annotated[str, StringConstraints(max_length=18)] | None = None
    address: ShortText | None = None
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    behaviours: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=50
    )
    participants: int | None = Field(default=None, ge=0)
    estimated_amount_yuan: int | None = Field(default=None, ge=0)
    grade: Grade | None = None
    key_case: bool = False
    determination: Determination | None = None
    determination_basis: LongText | None = None
    measures: list[Measure] = Field(default_factory=list, max_length=500)
    linked_clues: int = Field(default=0, ge=0, description="Clues linked to the case and not split off.")


class ReferralPackagedPayload(_Strict):
    """The referral bundle for the police (移送材料); its manifest hash covers events 1..through_seq.

    Version 2 records the case's facts as of the transfer; the manifest hash covers them too, and the
    evidence includes that of the clues linked to the case. A v1 bundle reads with ``facts`` absent (its
    manifest never covered facts).
    """

    manifest_sha256: Sha256Hex
    through_seq: int = Field(ge=1, description="The last event of the case the bundle contains.")
    event_count: int = Field(ge=1)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=500)
    summary: LongText
    facts: ReferralFacts | None = Field(default=None, description="As of the transfer; None in v1.")


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


class ClueLinkedPayload(_Strict):
    """A further clue about this case's subject, reported as its own case, now followed here.

    Version 2 carries the clue's evidence, so a referral bundle of the case includes it; a v1 link reads
    with no evidence (the clue itself, found by ``clue_hash``, still holds it).
    """

    clue_case_id: uuid.UUID
    clue_event_id: uuid.UUID
    clue_hash: Sha256Hex = Field(description="Hash of the linked clue-reported event, seq 1 of its case.")
    basis: MatchBasis
    source: ClueSource
    participants: int | None = Field(default=None, ge=0, le=10**9)
    estimated_amount_yuan: Yuan | None = None
    evidence: list[EvidenceRef] = Field(
        default_factory=list, max_length=50, description="The linked clue's evidence; empty in v1."
    )


class MergedPayload(_Strict):
    """This case merged into another (并案); its clue is linked there, nothing is lost."""

    into_case_id: uuid.UUID
    reason: LongText
    basis: MatchBasis


class SplitPayload(_Strict):
    """Clues linked into this case separated out again: their own case carries them on (分案)."""

    new_case_id: uuid.UUID
    clue_event_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    reason: LongText


class HandoffRequestedPayload(_Strict):
    """A case offered to another jurisdiction (协商办理); full codes and regions so it can cross regions."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    reason: LongText


class HandoffAcceptedPayload(_Strict):
    """The receiving jurisdiction took the case over; from this event on it is the case's jurisdiction."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    note: LongText | None = None


class HandoffReturnedPayload(_Strict):
    """The receiving jurisdiction declined the handoff; the case stays where it was."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    reason: LongText


class RewardGrantedPayload(_Strict):
    """A reward granted to the case's reporter (举报奖励, 快查快奖)."""

    amount_yuan: Annotated[int, Field(gt=0, le=10**9, description="Reward in whole yuan.")]
    basis: LongText
    verified_in_case_id: uuid.UUID | None = Field(
        default=None, description="The case the clue was verified in, when it was merged into another."
    )


class ReclassifiedPayload(_Strict):
    """An officer's classification of the case (人工定类): it replaces the reporter's or the suggested
    sector and behaviours; the case is graded again with it. Codes must be in ``contracts.taxonomy``."""

    sector: SectorCode
    behaviours: BehaviourCodes = Field(default_factory=list)
    reason: LongText


class ReporterIdentityViewedPayload(_Strict):
    """Someone opened the sealed reporter identity (留痕): the actor says who, ``occurred_at`` when, and
    ``purpose`` why. The identity itself is never written here."""

    purpose: LongText
    viewer_jurisdiction: JurisdictionCode


class ClueReported(Envelope):
    type: Literal["clue-reported"] = "clue-reported"
    schema_version: Literal[1] = 1
    payload: ClueReportedPayload


class CaseAssessed(Envelope):
    type: Literal["assessed"] = "assessed"
    schema_version: Literal[2] = 2
    payload: AssessedPayload


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


class PoliceAccepted(Envelope):
    """The police accepted the case transferred to them."""

    type: Literal["police-accepted"] = "police-accepted"
    schema_version: Literal[1] = 1
    payload: PoliceAcceptedPayload


class PoliceReturned(Envelope):
    """The police returned the case transferred to them."""

    type: Literal["police-returned"] = "police-returned"
    schema_version: Literal[1] = 1
    payload: PoliceReturnedPayload


class ReferralPackaged(Envelope):
    """The referral bundle for the police was built and its manifest hash recorded."""

    type: Literal["referral-packaged"] = "referral-packaged"
    schema_version: Literal[2] = 2
    payload: ReferralPackagedPayload


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


class ClueLinked(Envelope):
    """A further clue about the case's subject was linked to the case."""

    type: Literal["clue-linked"] = "clue-linked"
    schema_version: Literal[2] = 2
    payload: ClueLinkedPayload


class CaseMerged(Envelope):
    """The case was merged into another case."""

    type: Literal["merged"] = "merged"
    schema_version: Literal[1] = 1
    payload: MergedPayload


class CaseSplit(Envelope):
    """Linked clues were separated from the case into their own case again."""

    type: Literal["split"] = "split"
    schema_version: Literal[1] = 1
    payload: SplitPayload


class HandoffRequested(Envelope):
    """A handoff of the case to another jurisdiction was requested."""

    type: Literal["handoff-requested"] = "handoff-requested"
    schema_version: Literal[1] = 1
    payload: HandoffRequestedPayload


class HandoffAccepted(Envelope):
    """The receiving jurisdiction accepted the handoff."""

    type: Literal["handoff-accepted"] = "handoff-accepted"
    schema_version: Literal[1] = 1
    payload: HandoffAcceptedPayload


class HandoffReturned(Envelope):
    """The receiving jurisdiction returned the handoff."""

    type: Literal["handoff-returned"] = "handoff-returned"
    schema_version: Literal[1] = 1
    payload: HandoffReturnedPayload


class RewardGranted(Envelope):
    """A reward was granted to the case's reporter."""

    type: Literal["reward-granted"] = "reward-granted"
    schema_version: Literal[1] = 1
    payload: RewardGrantedPayload


class CaseReclassified(Envelope):
    """An officer classified the case (sector and behaviours), overriding the clue's."""

    type: Literal["reclassified"] = "reclassified"
    schema_version: Literal[1] = 1
    payload: ReclassifiedPayload


class ReporterIdentityViewed(Envelope):
    """An entitled officer read the reporter's identity; the history shows who, when and why."""

    type: Literal["reporter-identity-viewed"] = "reporter-identity-viewed"
    schema_version: Literal[1] = 1
    payload: ReporterIdentityViewedPayload


CaseEvent = Annotated[
    ClueReported
    | CaseAssessed
    | CaseDetermined
    | CaseEscalated
    | CaseClosed
    | MeasureRecorded
    | KeyCaseFlagged
    | PoliceAccepted
    | PoliceReturned
    | ReferralPackaged
    | CaseWrittenOff
    | CaseReopened
    | ClueLinked
    | CaseMerged
    | CaseSplit
    | HandoffRequested
    | HandoffAccepted
    | HandoffReturned
    | RewardGranted
    | CaseReclassified
    | ReporterIdentityViewed,
    Field(discriminator="type"),
]
EVENT_CLASSES: dict[str, type[Envelope]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        ClueReported,
        CaseAssessed,
        CaseDetermined,
        CaseEscalated,
        CaseClosed,
        MeasureRecorded,
        KeyCaseFlagged,
        PoliceAccepted,
        PoliceReturned,
        ReferralPackaged,
        CaseWrittenOff,
        CaseReopened,
        ClueLinked,
        CaseMerged,
        CaseSplit,
        HandoffRequested,
        HandoffAccepted,
        HandoffReturned,
        RewardGranted,
        CaseReclassified,
        ReporterIdentityViewed,
    )
}
CURRENT_VERSIONS: dict[str, int] = {
    name: cls.model_fields["schema_version"].default for name, cls in EVENT_CLASSES.items()
}
_event_adapter: TypeAdapter[Any] = TypeAdapter(CaseEvent)

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]


def _assessed_v1_to_v2(document: Document) -> Document:
    """A v1 grade knew no classification, district rules or routing table: those are absent, not guessed."""
    payload = dict(document["payload"])
    sector_fields = ("sector", "sector_source", "classification_rules", "district", "district_rules")
    payload.update({name: None for name in (*sector_fields, "routing_table")})
    payload.update(suggestions=[], overrides=[])
    return {**document, "payload": payload}


def _absent(**fields: object) -> Upcaster:
    """An upcaster adding fields the older version did not record, with the value meaning "not recorded"."""

    def step(document: Document) -> Document:
        added = {name: list(value) if isinstance(value, list) else value for name, value in fields.items()}
        return {**document, "payload": {**document["payload"], **added}}

    return step


# (type, from_version) -> function returning the document at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("assessed", 1): _assessed_v1_to_v2,
    # A v1 escalation names no level: it went to the district lead office (or the police, another region).
    ("escalated", 1): _absent(level=None, from_jurisdiction=None),
    ("written-off", 1): _absent(relied_on=None),
    ("clue-linked", 1): _absent(evidence=[]),
    ("referral-packaged", 1): _absent(facts=None),
}


class UnreadableEvent(ValueError):
    """Bytes on a case topic that are not a case event this code can read."""


def upcast(document: Document, upcasters: dict[tuple[str, int], Upcaster] | None = None) -> Document:
    """Bring an event document to the current schema version of its type, one version at a time."""
    table = UPCASTERS if upcasters is None else upcasters
    event_type = document.get("type")
    if event_type not in CURRENT_VERSIONS:
        raise UnreadableEvent(f"unknown event type {event_type!r}")
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise UnreadableEvent("schema_version is missing or not an integer")
    target = CURRENT_VERSIONS[event_type]
    while version < target:
        step = table.get((event_type, version))
        if step is None:
            raise UnreadableEvent(f"no upcaster for {event_type} v{version}")
        document = step(document)
        version += 1
        document["schema_version"] = version
    if version > target:
        raise UnreadableEvent(f"{event_type} v{version} is newer than this code knows (v{target})")
    return document


def parse_document(raw: bytes) -> Document:
    """Parse raw bytes into an event document without interpreting it (for hash verification)."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UnreadableEvent("not a JSON object")
    return document


def read_event(raw: bytes | Document) -> Envelope:
    """Decode, upcast and validate one event. Raises ``UnreadableEvent`` with the reason."""
    document = parse_document(raw) if isinstance(raw, bytes) else dict(raw)
    try:
        event: Envelope = _event_adapter.validate_python(upcast(document))
    except ValueError as exc:
        if isinstance(exc, UnreadableEvent):
            raise
        raise UnreadableEvent(f"invalid event: {exc}") from exc
    return event


def event_bytes(event: Envelope) -> bytes:
    """The wire form of an event: canonical JSON including its hash."""
    return canonical_bytes(event.model_dump(mode="json"))


def seal_event(
    cls: type[Envelope],
    *,
    case_id: uuid.UUID,
    seq: int,
    prev_hash: str,
    jurisdiction: str,
    actor: Actor,
    payload: BaseModel,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Build the next event of a case: a fresh time-ordered id, recorded now, its hash computed."""
    recorded_at = utcnow()
    document: Document = {
        "event_id": str(uuid7()),
        "type": cls.model_fields["type"].default,
        "schema_version": cls.model_fields["schema_version"].default,
        "case_id": str(case_id),
        "seq": seq,
        "jurisdiction": jurisdiction,
        "occurred_at": occurred_at or recorded_at,
        "recorded_at": recorded_at,
        "actor": actor,
        "causation_id": causation_id,
        "correlation_id": correlation_id,
        "traceparent": traceparent,
        "prev_hash": prev_hash,
        "hash": GENESIS_HASH,
        "payload": payload,
    }
    # Validate first so the hash is computed over exactly the JSON the event serialises to.
    draft = cls.model_validate(document)
    body = draft.model_dump(mode="json")
    body["hash"] = compute_hash(body)
    return cls.model_validate(body)
