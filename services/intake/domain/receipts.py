"""What a reporter sees of a case through a receipt code: the stage of handling and its history, nothing
else (no officer, no measure, no subject, no figures).

The receipt projection follows each case's events in order and keeps the case's chain position, so it
applies each event once, skips an identical repeat, and refuses anything that breaks the chain. The steps
a reporter may see (accepted, under verification, transferred to the police, closed, reopened, reward
granted, merged) are kept with their day; a clue merged into another case (并案) is shown with the stage
of that case, where its subject is still being handled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from contracts.chain import START, ChainFault, Head, Step, chain_step, needs_recorded_hash
from contracts.envelope import Envelope
from contracts.events import CaseEscalated, CaseMerged
from contracts.vocabulary import EscalationTarget

ReceiptStage = Literal["received", "under_review", "in_handling", "closed", "merged"]
StepStage = Literal[
    "received", "under_review", "transferred", "in_handling", "closed", "reward_granted", "merged"
]
# A reporter's day is a day in China (one offset all year).
BEIJING = timezone(timedelta(hours=8))

# The stage each event type moves a case to (``_moves`` has the last word, with the steps shown); other
# event types keep the stage (and advance the chain): reward-granted, for one, comes after verification
# and leaves the stage as it was.
STAGE_AFTER: dict[str, ReceiptStage] = {
    "clue-reported": "received",
    "assessed": "under_review",
    "determined": "in_handling",
    "escalated": "in_handling",
    "closed": "closed",
    "measure-recorded": "in_handling",
    "key-case-flagged": "in_handling",
    "police-accepted": "in_handling",
    "police-returned": "in_handling",
    "referral-packaged": "in_handling",
    "reopened": "in_handling",
    "clue-linked": "in_handling",
    "split": "in_handling",
    "handoff-requested": "in_handling",
    "handoff-accepted": "in_handling",
    "handoff-returned": "in_handling",
    "written-off": "closed",
    "merged": "merged",
}

# The stage a receipt is at, as the follow-up page names it to the reporter.
STAGE_NAMES: dict[str, str] = {
    "received": "已受理",
    "under_review": "核查中",
    "in_handling": "处理中",
    "closed": "已办结",
    "merged": "已并入其他案件一并办理",
}
# The steps a reporter is shown, by event type (an escalation only when it is to the police).
STEP_LABELS: dict[StepStage, str] = {
    "received": "线索已受理",
    "under_review": "线索核查中",
    "transferred": "已移送公安机关依法处理",
    "in_handling": "已重新核查处理",
    "closed": "已办结",
    "reward_granted": "举报奖励已发放",
    "merged": "已并入其他案件一并办理",
}
STEP_AFTER: dict[str, StepStage] = {
    "clue-reported": "received",
    "assessed": "under_review",
    "closed": "closed",
    "written-off": "closed",
    "reopened": "in_handling",
    "reward-granted": "reward_granted",
    "merged": "merged",
}


@dataclass(frozen=True)
class ReceiptState:
    """Where a case stands for its reporter, and the last event of the case applied."""

    stage: ReceiptStage
    last_seq: int
    last_hash: str
    reward_granted: bool = False
    merged_into: uuid.UUID | None = None
    # The hash of every event applied, by seq: a late copy of any of them is known for the duplicate it is.
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceiptStep:
    """A change of handling the reporter sees: the stage, its Chinese label, the day; and the instant the
    log recorded it (not shown: it tells which notices came after a merge)."""

    stage: StepStage
    label: str
    on: date
    at: datetime | None = None


# The status a shown step puts the case in (a reward leaves it where it was).
STATUS_OF_STEP: dict[StepStage, ReceiptStage | None] = {
    "received": "received",
    "under_review": "under_review",
    "transferred": "in_handling",
    "in_handling": "in_handling",
    "closed": "closed",
    "reward_granted": None,
    "merged": "merged",
}
# The stages a case works through; it moves on through them without a step of its own (a determination
# puts it in handling), never back. Leaving closed or merged is always a step the reporter is shown.
WORKING: tuple[ReceiptStage, ...] = ("received", "under_review", "in_handling")


def _moves(before: ReceiptState | None, event: Envelope) -> tuple[ReceiptStage, StepStage | None]:
    """The status ``event`` leaves the case in for its reporter and the step it shows them, if any: one
    rule for both, so the status never says what the history does not (a case reopened and graded again
    is still in handling, not back under verification)."""
    current: ReceiptStage = "received" if before is None else before.stage
    step: StepStage | None
    if isinstance(event, CaseEscalated):
        step = "transferred" if event.payload.target == EscalationTarget.POLICE else None
    else:
        step = STEP_AFTER.get(event.type)
    if step == "under_review" and before is not None and before.stage != "received":
        step = None  # graded again later: the reporter saw verification begin once
    if step == "closed" and before is not None and before.stage == "closed":
        step = None
    if step is not None:
        return STATUS_OF_STEP[step] or current, step
    moved = STAGE_AFTER.get(event.type, current)
    if current in WORKING and moved in WORKING and WORKING.index(moved) > WORKING.index(current):
        return moved, None
    return current, None


def stage_after(before: ReceiptState | None, event: Envelope) -> ReceiptStage:
    """The status the reporter sees after ``event``."""
    return _moves(before, event)[0]


def step_of(before: ReceiptState | None, event: Envelope) -> ReceiptStep | None:
    """The step ``event`` shows the reporter, or None (internal work, or no change they would see: a case
    graded again is still under verification; a closed case written off is still closed)."""
    stage = _moves(before, event)[1]
    if stage is None:
        return None
    return ReceiptStep(
        stage, STEP_LABELS[stage], event.occurred_at.astimezone(BEIJING).date(), event.recorded_at
    )


class ChainBroken(ValueError):
    """An event that does not continue its case's chain; the message says how."""


def follow(state: ReceiptState | None, event: Envelope) -> ReceiptState | None:
    """The state after ``event``, or None when the event is a copy of one applied before (``contracts.chain``:
    the same hash at its seq, however late it comes)."""
    head = START if state is None else Head(state.last_seq, state.last_hash)
    # A receipt applied before hashes were kept holds fewer than its last seq: they stay unknown.
    hashes = () if state is None else state.hashes
    complete = len(hashes) == head.seq
    recorded = None
    if needs_recorded_hash(head, event.seq):
        if not complete:
            raise ChainBroken(
                f"case {event.case_id}: no hash is kept for seq {event.seq} (applied before hashes were "
                "kept): rebuild the receipt projection to tell a copy from a fork"
            )
        recorded = hashes[event.seq - 1]
    try:
        if chain_step(head, event.seq, event.prev_hash, event.hash, recorded) is Step.DUPLICATE:
            return None
    except ChainFault as exc:
        raise ChainBroken(f"case {event.case_id}: {exc.reason}") from None
    if state is None and event.type != "clue-reported":
        raise ChainBroken(f"case {event.case_id}: starts with {event.type}, not clue-reported")
    stage = stage_after(state, event)
    rewarded = event.type == "reward-granted" or (state is not None and state.reward_granted)
    # Merged, the clue follows the case it went into until something of its own moves it again.
    merged_into = state.merged_into if state is not None and stage == "merged" else None
    if isinstance(event, CaseMerged):
        merged_into = event.payload.into_case_id
    return ReceiptState(
        stage=stage,
        last_seq=event.seq,
        last_hash=event.hash,
        reward_granted=rewarded,
        merged_into=merged_into,
        hashes=(*hashes, event.hash) if complete else hashes,
    )
