"""Sealing decisions into a case's chain: each decision becomes the next event (seq + 1, prev_hash = the
last hash), is folded into the state at once, and the reactions the new state calls for follow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import BaseModel

from contracts.envelope import Envelope
from contracts.events import seal_event
from contracts.jurisdictions import JurisdictionRegistry
from services.triage.domain.decisions import Decision, next_reaction
from services.triage.domain.fold import fold
from services.triage.domain.grading import RuleSet
from services.triage.domain.state import CaseState
from services.triage.domain.workflow import WorkflowPolicy, workflow_reaction

DEFAULT_POLICY = WorkflowPolicy()

# A state needs a handful of reactions at most (assess, lead office, one per region involved, police);
# more means a rule that never settles, which must fail loudly rather than write forever.
MAX_REACTIONS = 60


def react(
    state: CaseState, rules: RuleSet, registry: JurisdictionRegistry, policy: WorkflowPolicy = DEFAULT_POLICY
) -> Decision | None:
    """The next reaction of the case: grading and escalations first, then the workflow's own."""
    return next_reaction(state, rules, registry) or workflow_reaction(state, policy)


def seal(
    state: CaseState, decision: Decision, *, causation_id: uuid.UUID | None, traceparent: str | None
) -> Envelope:
    """The decision as the case's next event."""
    payload = decision.payload if isinstance(decision.payload, BaseModel) else decision.payload(state)
    return seal_event(
        decision.event_type,
        case_id=state.case_id,
        seq=state.last_seq + 1,
        prev_hash=state.last_hash,
        jurisdiction=decision.jurisdiction or state.jurisdiction,
        actor=decision.actor,
        payload=payload,
        correlation_id=state.correlation_id,
        causation_id=causation_id,
        traceparent=traceparent,
    )


def advance(
    state: CaseState,
    decisions: Sequence[Decision],
    *,
    causation_id: uuid.UUID | None,
    traceparent: str | None,
    rules: RuleSet,
    registry: JurisdictionRegistry,
    policy: WorkflowPolicy = DEFAULT_POLICY,
) -> tuple[CaseState, list[Envelope]]:
    """Seal ``decisions`` (caused by ``causation_id``), then every reaction the state calls for.

    Reactions are caused by the event that made them necessary: the first decision if there is one,
    else ``causation_id`` (the event just read from the log). A decision that ``follows`` another (a
    determination's escalation, a transfer's referral bundle) is caused by the event sealed before it.
    """
    events: list[Envelope] = []
    for decision in decisions:
        caused_by = events[-1].event_id if decision.follows and events else causation_id
        event = seal(state, decision, causation_id=caused_by, traceparent=traceparent)
        state = fold(state, event)
        events.append(event)
    cause = events[0].event_id if events else causation_id
    while (reaction := react(state, rules, registry, policy)) is not None:
        if len(events) >= MAX_REACTIONS:
            raise RuntimeError(f"case {state.case_id}: reactions do not settle after {MAX_REACTIONS} events")
        event = seal(state, reaction, causation_id=cause, traceparent=traceparent)
        state = fold(state, event)
        events.append(event)
    return state, events
