"""The registry of case event types: the discriminated union ``CaseEvent``, the class of each type
(``EVENT_CLASSES``) and its current schema version (``CURRENT_VERSIONS``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from contracts.envelope import Envelope
from contracts.events.clues import ClueReported
from contracts.events.grading import CaseAssessed, CaseReclassified
from contracts.events.handling import (
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseReopened,
    CaseWrittenOff,
    KeyCaseFlagged,
    MeasureRecorded,
)
from contracts.events.handoff import HandoffAccepted, HandoffRequested, HandoffReturned
from contracts.events.merging import CaseMerged, CaseSplit, ClueLinked
from contracts.events.police import PoliceAccepted, PoliceReturned, ReferralPackaged
from contracts.events.reporter import ReporterIdentityViewed, RewardGranted

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
