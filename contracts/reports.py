"""Submitted reports: a monthly table set an office sent, frozen with its figures and where they came from.

Reporting writes one ``report-submitted`` record per (jurisdiction, period) on the
``<prefix>.report-submissions`` topic (unlimited retention, keyed by jurisdiction), so the submissions
table it keeps can be rebuilt from the log like every other store. The record carries the tables exactly
as sent (columns with their Chinese headers, rows), the projection version and the case-topic offsets the
figures were computed from, and ``content_sha256`` over its canonical bytes (contracts.envelope).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from contracts.codes import JurisdictionCode
from contracts.envelope import Actor, Sha256Hex, canonical_bytes, compute_hash, utcnow, uuid7

PeriodText = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrozenColumn(_Strict):
    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    header: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class FrozenTable(_Strict):
    """One table as sent: its name, title, columns and rows (cells as JSON values)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{1,40}$")]
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    columns: list[FrozenColumn] = Field(max_length=100)
    rows: list[dict[str, JsonValue]] = Field(max_length=100_000)


class ReportSubmitted(_Strict):
    """An office's monthly tables, submitted and frozen (报送)."""

    type: Literal["report-submitted"] = "report-submitted"
    schema_version: Literal[1] = 1
    submission_id: uuid.UUID
    jurisdiction: JurisdictionCode
    period: PeriodText
    submitted_at: AwareDatetime
    submitted_by: Actor
    projection: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="The projection version (schema) the figures were read from."
    )
    case_topic: Annotated[str, StringConstraints(max_length=249)]
    positions: dict[str, int] = Field(
        description="Partition -> last case-topic offset applied to that version when the figures were read."
    )
    tables: list[FrozenTable] = Field(min_length=1, max_length=20)
    content_sha256: Sha256Hex = Field(description="SHA-256 of the canonical JSON without this field.")


def seal_submission(
    *,
    jurisdiction: str,
    period: str,
    submitted_by: Actor,
    projection: str,
    case_topic: str,
    positions: dict[int, int],
    tables: list[dict[str, Any]],
) -> ReportSubmitted:
    """A new submission with a fresh time-ordered id, submitted now, its content hash computed."""
    body = ReportSubmitted.model_validate(
        {
            "submission_id": uuid7(),
            "jurisdiction": jurisdiction,
            "period": period,
            "submitted_at": utcnow(),
            "submitted_by": submitted_by,
            "projection": projection,
            "case_topic": case_topic,
            "positions": {str(p): o for p, o in sorted(positions.items())},
            "tables": tables,
            "content_sha256": "0" * 64,
        }
    ).model_dump(mode="json")
    body["content_sha256"] = content_hash(body)
    return ReportSubmitted.model_validate(body)


def content_hash(document: dict[str, Any]) -> str:
    """The content hash of a submission document (the same rule as an event's hash)."""
    return compute_hash({k: v for k, v in document.items() if k != "content_sha256"})


def submission_bytes(submission: ReportSubmitted) -> bytes:
    return canonical_bytes(submission.model_dump(mode="json"))


def read_submission(raw: bytes) -> ReportSubmitted:
    """Decode and check a submission; ``ValueError`` with the reason when it is not one or was altered."""
    submission = ReportSubmitted.model_validate_json(raw)
    if content_hash(submission.model_dump(mode="json")) != submission.content_sha256:
        raise ValueError(f"submission {submission.submission_id}: content does not match content_sha256")
    return submission
