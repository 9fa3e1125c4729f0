"""Cases about one subject: a further clue linked to the case on file, a case merged into another (并案),
and a linked clue split off again (分案)."""

from __future__ import annotations

from contracts.envelope import Actor
from contracts.events import (
    CaseMerged,
    CaseReopened,
    CaseSplit,
    ClueLinked,
    ClueLinkedPayload,
    MergedPayload,
    ReopenedPayload,
    SplitPayload,
)
from contracts.vocabulary import ClueSource, MatchBasis, ReopenTrigger
from services.triage.domain.decisions import SERVICE_ACTOR, Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.transitions import S, require


def link_clue(state: CaseState, clue: CaseState, actor: Actor, basis: MatchBasis) -> list[Decision]:
    """Link the clue of case ``clue`` to ``state`` (reopening a closed or written-off case first)."""
    decisions: list[Decision] = []
    if state.status in (S.CLOSED, S.WRITTEN_OFF):
        decisions.append(
            Decision(
                CaseReopened,
                ReopenedPayload(
                    reason=f"a new clue about the same subject (case {clue.case_id}) after "
                    f"{state.status.value}",
                    trigger=ReopenTrigger.NEW_CLUE,
                    linked_case_id=clue.case_id,
                ),
                actor,
            )
        )
    payload = ClueLinkedPayload(
        clue_case_id=clue.case_id,
        clue_event_id=clue.clue_event_id,
        clue_hash=clue.clue_hash,
        basis=basis,
        source=clue.clue.source or ClueSource.REFERRAL,
        participants=clue.clue.participants,
        estimated_amount_yuan=clue.clue.estimated_amount_yuan,
        evidence=list(clue.evidence),
    )
    decisions.append(Decision(ClueLinked, payload, actor))
    return decisions


def merge(
    source: CaseState, target: CaseState, actor: Actor, *, reason: str, basis: MatchBasis
) -> tuple[Decision, list[Decision]]:
    """Merge ``source`` into ``target`` (并案): ``merged`` on the source, its clue linked on the target."""
    if source.case_id == target.case_id:
        raise TransitionRefused(
            "a case cannot be merged into itself (merge-other-case)", rule="merge-other-case"
        )
    require(source, "merge")
    if target.status == S.MERGED:
        raise TransitionRefused(
            f"case {target.case_id} was itself merged into {target.merged_into}; merge into that one "
            "(merge-into-open-case)",
            rule="merge-into-open-case",
        )
    if source.linked:
        raise TransitionRefused(
            f"case {source.case_id} holds linked clues of its own; split them first (merge-without-links)",
            rule="merge-without-links",
        )
    merged = Decision(
        CaseMerged, MergedPayload(into_case_id=target.case_id, reason=reason, basis=basis), actor
    )
    return merged, link_clue(target, source, actor, basis)


def merged_decision(target: CaseState, basis: MatchBasis) -> Decision:
    """The ``merged`` event of a new clue's own case whose subject is on file as ``target`` (automatic)."""
    return Decision(
        CaseMerged,
        MergedPayload(
            into_case_id=target.case_id,
            reason=f"the subject is on file as case {target.case_id} (same {basis.value}); "
            "the clue is followed there",
            basis=basis,
        ),
        SERVICE_ACTOR,
    )


def split(state: CaseState, clue_case: CaseState, actor: Actor, *, reason: str) -> tuple[Decision, Decision]:
    """Separate a linked clue again (分案): ``split`` here, its own case reopened to be handled on its own."""
    require(state, "split")
    moved = [e for e in state.linked if e.clue_case_id == clue_case.case_id and not e.split]
    if not moved:
        raise TransitionRefused(
            f"case {clue_case.case_id} is not a clue linked to case {state.case_id} (split-linked-clue)",
            rule="split-linked-clue",
        )
    here = Decision(
        CaseSplit,
        SplitPayload(
            new_case_id=clue_case.case_id, clue_event_ids=[e.clue_event_id for e in moved], reason=reason
        ),
        actor,
    )
    reopened = Decision(
        CaseReopened,
        ReopenedPayload(reason=reason, trigger=ReopenTrigger.SPLIT, linked_case_id=state.case_id),
        actor,
    )
    return here, reopened
