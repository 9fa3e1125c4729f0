"""``GET /v1/receipts/{receipt_code}``: what a reporter sees of a case through their receipt code — the stage
of handling, its history and the notices to them; nothing else of the case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from fastapi import APIRouter

from cluetrail.errors import NotFound, RuleViolation
from cluetrail.ids import normalise_receipt_code, receipt_digest
from cluetrail.service import Connection
from contracts.api import ReceiptMessage, ReceiptStatus, ReceiptStep
from services.intake.adapters import clues, receipts
from services.intake.domain.receipts import BEIJING, STEP_LABELS

router = APIRouter(prefix="/v1", tags=["intake"])


class MalformedReceiptCode(RuleViolation):
    """Text that cannot be a receipt code (wrong length, letters outside the alphabet, check fails)."""

    status_code = 400


@router.get(
    "/receipts/{receipt_code}",
    response_model=ReceiptStatus,
    responses={
        400: {"description": "Not a receipt code (length, alphabet or check symbol)"},
        404: {"description": "No case has this receipt code"},
    },
)
async def receipt_status(receipt_code: str, conn: Connection) -> ReceiptStatus:
    """The stage of handling of the case a receipt code belongs to, its history (stage and day) and the
    notices sent to its reporter; nothing else of the case."""
    code = normalise_receipt_code(receipt_code)
    if code is None:
        raise MalformedReceiptCode(
            "not a receipt code: 12 characters from 0-9 and A-Z without I, L, O, U "
            "(dashes optional), the last one a check symbol — check for a typo",
            rule="receipt_code_format",
        )
    found = await receipts.by_digest(conn, receipt_digest(code))
    if found is not None:
        return await receipt_view(conn, code, found)
    # Accepted, but the projection has not caught up (or Kafka has not answered yet): received.
    accepted = await clues.by_receipt(conn, code)
    if accepted is not None:
        on = accepted.recorded_at.astimezone(BEIJING).date()
        return ReceiptStatus(
            receipt_code=code,
            status="received",
            updated_at=accepted.recorded_at,
            history=[ReceiptStep(stage="received", label=STEP_LABELS["received"], on=on)],
        )
    raise NotFound("no case has this receipt code", rule="receipt_known")


# A merged case may itself be merged on: follow a few hops, never a loop.
MERGE_HOPS = 5


@dataclass(frozen=True)
class Since:
    """From when a case's notices are the reporter's: the instant its clue went into the case (a merge
    step's ``at``), or, for a step recorded before instants were kept, its day."""

    at: datetime | None
    on: date

    def covers(self, message: asyncpg.Record) -> bool:
        if self.at is not None:
            return bool(message["recorded_at"] >= self.at)
        return bool(message["on_day"] >= self.on)

    def later(self, other: Since) -> Since:
        """The later of the two: a clue is in a case only once it is in every case on the way to it."""
        if self.at is not None and other.at is not None:
            return self if self.at >= other.at else other
        return self if self.on >= other.on else other


def merged_since(steps: list[asyncpg.Record]) -> Since | None:
    """When the case was last merged into another, from its steps (None: never)."""
    merged = next((s for s in reversed(steps) if s["stage"] == "merged"), None)
    return None if merged is None else Since(merged["at"], merged["on_day"])


async def receipt_view(conn: asyncpg.Connection, code: str, found: receipts.Receipt) -> ReceiptStatus:
    """The receipt with its history and the notices to its reporter; a merged clue with the stage of the
    case it went into, and that case's notices to reporters from the instant of the merge on (notices to
    that case's own reporter earlier, even the same day, are not this reporter's)."""
    steps = await receipts.steps_of(conn, found.case_id)
    since: dict[uuid.UUID, Since] = {}
    merged_stage: str | None = None
    into = found.state.merged_into
    # A merge always shows a step; were it missing, every notice of the case would be shown, as before.
    joined = merged_since(steps) or Since(None, date.min)
    for _ in range(MERGE_HOPS):
        if into is None:
            break
        target = await receipts.by_case(conn, into)
        if target is None:
            break
        since[target.case_id] = joined
        merged_stage = target.state.stage
        into = target.state.merged_into
        if into is not None:
            onward = merged_since(await receipts.steps_of(conn, target.case_id))
            joined = joined if onward is None else onward.later(joined)
    messages = [
        ReceiptMessage(text=m["text"], stage=m["stage"], on=m["on_day"])
        for m in await receipts.messages_of(conn, [found.case_id, *since])
        if m["case_id"] == found.case_id or since[m["case_id"]].covers(m)
    ]
    return ReceiptStatus(
        receipt_code=code,
        status=found.state.stage,
        reward_granted=found.state.reward_granted,
        updated_at=found.updated_at,
        history=[ReceiptStep(stage=s["stage"], label=s["label"], on=s["on_day"]) for s in steps],
        messages=messages,
        merged_case_status=merged_stage if merged_stage != "merged" else None,
    )
