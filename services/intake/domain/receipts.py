"""What a reporter sees of a case through a receipt code: the stage of handling, nothing else.

The receipt projection follows each case's events in order and keeps the case's chain position, so it
applies each event once, skips an identical repeat, and refuses anything that breaks the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.envelope import GENESIS_HASH, Envelope

ReceiptStage = Literal["received", "under_review", "in_handling", "closed"]

# The stage each event type moves a case to; other event types keep the stage (and advance the chain):
# reward-granted, for one, comes after verification and leaves the stage as it was.
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
    "merged": "closed",
}


@dataclass(frozen=True)
class ReceiptState:
    """Where a case stands for its reporter, and the last event of the case applied."""

    stage: ReceiptStage
    last_seq: int
    last_hash: str
    reward_granted: bool = False


class ChainBroken(ValueError):
    """An event that does not continue its case's chain; the message says how."""


def follow(state: ReceiptState | None, event: Envelope) -> ReceiptState | None:
    """The state after ``event``, or None when the event is an identical repeat of the last one applied."""
    last_seq, last_hash = (0, GENESIS_HASH) if state is None else (state.last_seq, state.last_hash)
    if event.seq == last_seq and event.hash == last_hash:
        return None
    if event.seq <= last_seq:
        raise ChainBroken(f"case {event.case_id}: seq {event.seq} repeats or goes back after seq {last_seq}")
    if event.seq != last_seq + 1:
        raise ChainBroken(
            f"case {event.case_id}: seq {event.seq} follows seq {last_seq}, "
            f"events {last_seq + 1}..{event.seq - 1} are missing"
        )
    if event.prev_hash != last_hash:
        raise ChainBroken(f"case {event.case_id}: prev_hash of seq {event.seq} does not match seq {last_seq}")
    if state is None and event.type != "clue-reported":
        raise ChainBroken(f"case {event.case_id}: starts with {event.type}, not clue-reported")
    stage = STAGE_AFTER.get(event.type, state.stage if state is not None else "received")
    rewarded = event.type == "reward-granted" or (state is not None and state.reward_granted)
    return ReceiptState(stage=stage, last_seq=event.seq, last_hash=event.hash, reward_granted=rewarded)
