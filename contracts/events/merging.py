"""Cases about one subject: a further clue linked to the case on file (``clue-linked``), a case merged
into another (``merged``, 并案) and linked clues split off again (``split``, 分案)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from contracts.envelope import Envelope, Sha256Hex
from contracts.events.clues import EvidenceRef
from contracts.events.common import LongText, Yuan, _Strict
from contracts.vocabulary import ClueSource, MatchBasis


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
