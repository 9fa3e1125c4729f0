"""Rewards for a case's reporter (举报奖励, 快查快奖) once a determination verifies the clue."""

from __future__ import annotations

from contracts.envelope import Actor
from contracts.events import RewardGranted, RewardGrantedPayload
from contracts.vocabulary import Determination
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.transitions import require

# Determinations that verify a clue: its reporter may be rewarded (快查快奖).
VERIFIED = frozenset(
    {
        Determination.GENERAL_VIOLATION,
        Determination.REGULARISE,
        Determination.SUSPECTED_ILLEGAL_FUNDRAISING,
        Determination.SUSPECTED_CRIME,
    }
)


def grant_reward(
    state: CaseState, actor: Actor, *, amount_yuan: int, basis: str, verified_in: CaseState | None
) -> Decision:
    """A reward for the case's reporter (举报奖励) once the clue is verified, here or in the case it was
    merged into (``verified_in``)."""
    require(state, "reward")
    if not state.clue.has_reporter:
        raise TransitionRefused(
            f"case {state.case_id} was reported anonymously; there is no reporter to reward "
            "(reward-needs-reporter)",
            rule="reward-needs-reporter",
        )
    if state.reward_granted_yuan > 0:
        raise TransitionRefused(
            f"case {state.case_id} was rewarded already (reward-once)", rule="reward-once"
        )
    verifying = verified_in if verified_in is not None else state
    if verifying.determination not in VERIFIED:
        raise TransitionRefused(
            f"the clue of case {state.case_id} is not verified by a determination yet "
            "(reward-needs-verified-clue)",
            rule="reward-needs-verified-clue",
        )
    payload = RewardGrantedPayload(
        amount_yuan=amount_yuan,
        basis=basis,
        verified_in_case_id=verified_in.case_id if verified_in is not None else None,
    )
    return Decision(RewardGranted, payload, actor)
