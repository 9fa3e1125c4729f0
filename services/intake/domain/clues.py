"""From a clue submission to the ``clue-reported`` event that opens a case."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from cluetrail.crypto import FieldSealer
from cluetrail.ids import receipt_digest
from contracts.api import ClueSubmission
from contracts.envelope import GENESIS_HASH, Actor, canonical_bytes
from contracts.events import ClueReported, ClueReportedPayload, EvidenceRef, Subject, seal_event
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from contracts.taxonomy import Taxonomy

ANONYMOUS = "anonymous"
NAMED_REPORTER = "named-reporter"


@dataclass(frozen=True)
class FieldProblem:
    """One field of a submission that breaks a rule, with the reason a person can act on."""

    field: str
    reason: str
    kind: str


def jurisdiction_problems(submission: ClueSubmission, registry: JurisdictionRegistry) -> list[FieldProblem]:
    """Every jurisdiction code in the submission must name a node of the jurisdiction tree."""
    problems = []
    if submission.jurisdiction not in registry:
        problems.append(
            FieldProblem(
                "jurisdiction",
                f"unknown jurisdiction code {submission.jurisdiction}",
                "unknown_jurisdiction",
            )
        )
    for index, code in enumerate(submission.regions_involved):
        if code not in registry:
            problems.append(
                FieldProblem(
                    f"regions_involved.{index}", f"unknown jurisdiction code {code}", "unknown_jurisdiction"
                )
            )
    return problems


def region_problems(submission: ClueSubmission, regions: RegionRegistry, region: str) -> list[FieldProblem]:
    """A clue is reported to the region serving its place (docs/regions.md): that region writes the case."""
    serving = regions.region_of(submission.jurisdiction)
    if serving is None or serving == region:
        return []
    name = regions.get(serving).name
    return [
        FieldProblem(
            "jurisdiction",
            f"{submission.jurisdiction} is served by region {serving} ({name}), not this one ({region}): "
            "report the clue there",
            "jurisdiction_of_another_region",
        )
    ]


def taxonomy_problems(submission: ClueSubmission, taxonomy: Taxonomy) -> list[FieldProblem]:
    """A sector or behaviour the clue names must be a code of the taxonomy (none at all is fine)."""
    problems = []
    if submission.sector is not None and not taxonomy.is_sector(submission.sector):
        problems.append(
            FieldProblem(
                "sector", f"unknown sector code {submission.sector} ({taxonomy.version})", "unknown_sector"
            )
        )
    for index, code in enumerate(submission.behaviours):
        if not taxonomy.is_behaviour(code):
            problems.append(
                FieldProblem(
                    f"behaviours.{index}",
                    f"unknown behaviour code {code} ({taxonomy.version})",
                    "unknown_behaviour",
                )
            )
    return problems


def request_digest(submission: ClueSubmission) -> str:
    """What an idempotent retry must repeat: the submission's content, independent of JSON layout."""
    return hashlib.sha256(canonical_bytes(submission.model_dump(mode="json"))).hexdigest()


def reporter_actor(submission: ClueSubmission) -> Actor:
    """The actor of a clue: a reporter, never named in the log (the identity travels sealed)."""
    return Actor(kind="reporter", id=NAMED_REPORTER if submission.reporter else ANONYMOUS)


def clue_reported(
    submission: ClueSubmission,
    *,
    actor: Actor | None = None,
    case_id: uuid.UUID,
    receipt_code: str,
    sealer: FieldSealer,
    correlation_id: uuid.UUID,
    traceparent: str | None,
    now: datetime,
) -> ClueReported:
    """Seq 1 of a new case: the clue as reported, the reporter sealed to this case, the receipt digested.

    ``actor`` is the officer who filed it (a grid worker on patrol, say); else the reporter is the actor.
    """
    sealed = (
        sealer.seal(submission.reporter.model_dump(mode="json", exclude_none=True), str(case_id))
        if submission.reporter is not None
        else None
    )
    payload = ClueReportedPayload(
        source=submission.source,
        subject=Subject.model_validate(submission.subject.model_dump()),
        description=submission.description,
        sector=submission.sector,
        behaviours=submission.behaviours,
        estimated_amount_yuan=submission.estimated_amount_yuan,
        participants=submission.participants,
        flags=submission.flags,
        regions_involved=submission.regions_involved,
        evidence=[EvidenceRef.model_validate(e.model_dump()) for e in submission.evidence],
        reporter=sealed,
        receipt_digest=receipt_digest(receipt_code),
    )
    return cast(
        ClueReported,
        seal_event(
            ClueReported,
            case_id=case_id,
            seq=1,
            prev_hash=GENESIS_HASH,
            jurisdiction=submission.jurisdiction,
            actor=actor or reporter_actor(submission),
            payload=payload,
            correlation_id=correlation_id,
            occurred_at=submission.observed_at or now,
            traceparent=traceparent,
        ),
    )
