"""Case events: the payload of each type, its current schema version, and reading with upcasting.

Event types are past-tense facts about one case. The four core types are ``clue-reported``,
``assessed``, ``escalated`` and ``closed``; ``determined`` records an officer's determination. The
workflow types (measures, key-case flags, police acceptance and return, referral bundles, write-off,
reopening, linked clues, merge and split, handoff, rewards) are written by triage; every consumer folds a
type it does not project as history (it still advances the case's chain).
To change a payload: add a new model version, bump ``schema_version`` in the event class, and register
an upcaster from the old version in ``UPCASTERS`` so events already in the log still load.

The types by domain: ``clues``, ``grading``, ``handling``, ``police``, ``merging``, ``handoff`` and
``reporter`` (each payload with its event class), on ``common`` (what payloads are built from); then
``registry`` (``CaseEvent``, ``EVENT_CLASSES``, ``CURRENT_VERSIONS``), ``upcasting`` (``UPCASTERS``,
``upcast``) and ``wire`` (reading, the wire form, sealing).
"""

from contracts.events.clues import ClueReported, ClueReportedPayload, EvidenceRef, SealedValue, Subject
from contracts.events.common import LongText, RegionId, RuleName, ShortText, Yuan
from contracts.events.grading import (
    AssessedPayload,
    CaseAssessed,
    CaseReclassified,
    Factor,
    ReclassifiedPayload,
    RuleOverride,
    Suggestion,
    graded_figures,
)
from contracts.events.handling import (
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseReopened,
    CaseWrittenOff,
    ClosedPayload,
    DeterminedPayload,
    EscalatedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    MeasureRecorded,
    MeasureRecordedPayload,
    ReopenedPayload,
    WriteOffBasis,
    WrittenOffPayload,
)
from contracts.events.handoff import (
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    HandoffReturned,
    HandoffReturnedPayload,
)
from contracts.events.merging import (
    CaseMerged,
    CaseSplit,
    ClueLinked,
    ClueLinkedPayload,
    MergedPayload,
    SplitPayload,
)
from contracts.events.police import (
    PoliceAccepted,
    PoliceAcceptedPayload,
    PoliceReturned,
    PoliceReturnedPayload,
    ReferralFacts,
    ReferralPackaged,
    ReferralPackagedPayload,
)
from contracts.events.registry import CURRENT_VERSIONS, EVENT_CLASSES, CaseEvent
from contracts.events.reporter import (
    ReporterIdentityViewed,
    ReporterIdentityViewedPayload,
    RewardGranted,
    RewardGrantedPayload,
)
from contracts.events.upcasting import UPCASTERS, Document, UnreadableEvent, Upcaster, upcast
from contracts.events.wire import event_bytes, parse_document, read_document, read_event, seal_event

__all__ = [
    "CURRENT_VERSIONS",
    "EVENT_CLASSES",
    "UPCASTERS",
    "AssessedPayload",
    "CaseAssessed",
    "CaseClosed",
    "CaseDetermined",
    "CaseEscalated",
    "CaseEvent",
    "CaseMerged",
    "CaseReclassified",
    "CaseReopened",
    "CaseSplit",
    "CaseWrittenOff",
    "ClosedPayload",
    "ClueLinked",
    "ClueLinkedPayload",
    "ClueReported",
    "ClueReportedPayload",
    "DeterminedPayload",
    "Document",
    "EscalatedPayload",
    "EvidenceRef",
    "Factor",
    "HandoffAccepted",
    "HandoffAcceptedPayload",
    "HandoffRequested",
    "HandoffRequestedPayload",
    "HandoffReturned",
    "HandoffReturnedPayload",
    "KeyCaseFlagged",
    "KeyCaseFlaggedPayload",
    "LongText",
    "MeasureRecorded",
    "MeasureRecordedPayload",
    "MergedPayload",
    "PoliceAccepted",
    "PoliceAcceptedPayload",
    "PoliceReturned",
    "PoliceReturnedPayload",
    "ReclassifiedPayload",
    "ReferralFacts",
    "ReferralPackaged",
    "ReferralPackagedPayload",
    "RegionId",
    "ReopenedPayload",
    "ReporterIdentityViewed",
    "ReporterIdentityViewedPayload",
    "RewardGranted",
    "RewardGrantedPayload",
    "RuleName",
    "RuleOverride",
    "SealedValue",
    "ShortText",
    "SplitPayload",
    "Subject",
    "Suggestion",
    "UnreadableEvent",
    "Upcaster",
    "WriteOffBasis",
    "WrittenOffPayload",
    "Yuan",
    "event_bytes",
    "graded_figures",
    "parse_document",
    "read_document",
    "read_event",
    "seal_event",
    "upcast",
]
