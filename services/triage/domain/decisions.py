"""What triage decides: automatic reactions to a case's state, and officers' commands on it.

Reactions are a function of the state alone (``next_reaction``): an unassessed case is assessed; a key case
not yet escalated to its district's lead office is escalated there (rule ``key-case``); a cross-region case
announces itself to every region involved it has not yet announced itself to (rule ``cross-region``); a case
determined ``suspected_crime`` not yet with the police is transferred to them (rule ``suspected-crime``); a
case determined ``disputed`` goes to the lead office (rule ``disputed-determination``). Once the event a
reaction asks for is folded into the state, the reaction no longer applies, so reacting twice to the same
state — or to a state rebuilt from a log that already holds the reaction — decides nothing twice.

The state machine (refusals of officers' commands raise ``TransitionRefused`` naming the rule)::

    event        allowed from                              status after
    clue         (new case)                                reported
    assessed     reported (triage itself)                  assessed
    determined   assessed, under_disposal, escalated       under_disposal
    escalated    assessed, under_disposal, escalated       escalated
    closed       assessed, under_disposal, escalated       closed

- ``assess-first``: a case still ``reported`` (not graded) takes no officer command.
- ``closed-is-final``: a ``closed`` case takes no command (reopening is a separate, later event).
- ``police-once``: a case is transferred to the police (移送公安) once.
- ``police-outcome-needs-transfer``: closing as ``transferred_to_police`` needs an escalation to the police.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from contracts.api import CloseRequest, DeterminationRequest
from contracts.envelope import Actor, Envelope
from contracts.events import (
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    ClosedPayload,
    DeterminedPayload,
    EscalatedPayload,
)
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Outcome
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.grading import RuleSet, assess
from services.triage.domain.routing import regions_to_notify
from services.triage.domain.state import CaseState

SERVICE_ACTOR = Actor(kind="service", id="triage")
RULE_KEY_CASE = "key-case"
RULE_CROSS_REGION = "cross-region"
RULE_SUSPECTED_CRIME = "suspected-crime"
RULE_DISPUTED = "disputed-determination"


@dataclass(frozen=True)
class Decision:
    """An event triage decided to write, before it is sealed into the case's chain."""

    event_type: type[Envelope]
    payload: BaseModel
    actor: Actor


def district_of(code: str, registry: JurisdictionRegistry) -> str:
    """The district (区/县 or zone) of a jurisdiction: its lead office (区处非办) takes escalations.

    A node above district level, or a code the tree does not know, is its own lead jurisdiction: escalating
    to the node itself is the nearest correct target there is.
    """
    if code not in registry:
        return code
    district = registry.nearest(code, "district")
    return district.code if district is not None else code


def next_reaction(state: CaseState, rules: RuleSet, registry: JurisdictionRegistry) -> Decision | None:
    """The next event the case's state calls for, or None when the state asks for nothing."""
    if state.status == CaseStatus.CLOSED:
        return None
    if state.grade is None:
        assessed = assess(state.clue, rules, jurisdiction=state.jurisdiction, registry=registry)
        return Decision(CaseAssessed, assessed, SERVICE_ACTOR)
    district = district_of(state.jurisdiction, registry)
    if state.key_case and not state.has_escalation(EscalationTarget.LEAD_OFFICE, rule=RULE_KEY_CASE):
        reasons = ", ".join(state.key_case_reasons)
        return _escalation(EscalationTarget.LEAD_OFFICE, district, f"key case: {reasons}", RULE_KEY_CASE)
    for region in regions_to_notify(state.jurisdiction, state.clue.regions_involved, registry):
        if not state.has_escalation(EscalationTarget.OTHER_REGION, target_jurisdiction=region):
            return _escalation(
                EscalationTarget.OTHER_REGION,
                region,
                f"cross-region risk: the case in {state.jurisdiction} involves {region}",
                RULE_CROSS_REGION,
            )
    if state.determination == Determination.SUSPECTED_CRIME and not state.has_escalation(
        EscalationTarget.POLICE
    ):
        return _escalation(
            EscalationTarget.POLICE,
            district,
            "determined a suspected crime: transfer to the police",
            RULE_SUSPECTED_CRIME,
        )
    if state.determination == Determination.DISPUTED and not state.has_escalation(
        EscalationTarget.LEAD_OFFICE, rule=RULE_DISPUTED
    ):
        return _escalation(
            EscalationTarget.LEAD_OFFICE,
            district,
            "determination disputed: the district lead office decides",
            RULE_DISPUTED,
        )
    return None


def _escalation(target: EscalationTarget, jurisdiction: str, reason: str, rule: str | None) -> Decision:
    payload = EscalatedPayload(target=target, target_jurisdiction=jurisdiction, reason=reason, rule=rule)
    return Decision(CaseEscalated, payload, SERVICE_ACTOR)


def _officer(officer_id: str) -> Actor:
    return Actor(kind="officer", id=officer_id)


def _require_open_and_assessed(state: CaseState, command: str) -> None:
    if state.status == CaseStatus.CLOSED:
        raise TransitionRefused(
            f"case {state.case_id} is closed; it takes no {command} (closed-is-final)", rule="closed-is-final"
        )
    if state.status == CaseStatus.REPORTED or state.grade is None:
        raise TransitionRefused(
            f"case {state.case_id} is not assessed yet; {command} comes after assessment (assess-first)",
            rule="assess-first",
        )


def determine(state: CaseState, request: DeterminationRequest) -> Decision:
    """An officer's determination (研判定性). Escalations it implies follow as reactions."""
    _require_open_and_assessed(state, "determination")
    payload = DeterminedPayload(
        determination=request.determination, basis=request.basis, measures=list(request.measures)
    )
    return Decision(CaseDetermined, payload, _officer(request.officer_id))


def escalate(
    state: CaseState,
    *,
    officer_id: str,
    target: EscalationTarget,
    reason: str,
    registry: JurisdictionRegistry,
) -> Decision:
    """An officer escalates the case to the district lead office (逐级上报) or the police (移送公安)."""
    _require_open_and_assessed(state, "escalation")
    if target == EscalationTarget.OTHER_REGION:
        raise TransitionRefused(
            "officers hand a case to another region by handoff, not escalation (officer-escalation-targets)",
            rule="officer-escalation-targets",
        )
    if target == EscalationTarget.POLICE and state.has_escalation(EscalationTarget.POLICE):
        raise TransitionRefused(
            f"case {state.case_id} was already transferred to the police (police-once)", rule="police-once"
        )
    payload = EscalatedPayload(
        target=target, target_jurisdiction=district_of(state.jurisdiction, registry), reason=reason, rule=None
    )
    return Decision(CaseEscalated, payload, _officer(officer_id))


def close(state: CaseState, request: CloseRequest) -> Decision:
    """Close (销号) with a recorded outcome and summary."""
    _require_open_and_assessed(state, "closing")
    if request.outcome == Outcome.TRANSFERRED_TO_POLICE and not state.has_escalation(EscalationTarget.POLICE):
        raise TransitionRefused(
            f"case {state.case_id} was never escalated to the police; it cannot close as "
            "transferred_to_police (police-outcome-needs-transfer)",
            rule="police-outcome-needs-transfer",
        )
    payload = ClosedPayload(
        outcome=request.outcome, summary=request.summary, recovered_amount_yuan=request.recovered_amount_yuan
    )
    return Decision(CaseClosed, payload, _officer(request.officer_id))
