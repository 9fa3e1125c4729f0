"""What triage decides by itself: automatic reactions to a case's state (officers' commands and the state
machine that admits them are in ``workflow``).

Reactions are a function of the state alone (``next_reaction``): an unassessed case is assessed (and assessed
again when a clue was linked to it or split off, an officer reclassified it, or another district took it
over since — it is routed under that district's table and graded under its rules); a key case not yet
escalated to its district's lead office is escalated there directly (rule ``key-case``: key cases are the
lead office's); a cross-region case announces itself to every region involved it has not yet announced
itself to (rule ``cross-region``). Once the event a reaction asks for is folded into the state, the reaction
no longer applies, so reacting twice to the same state — or to a state rebuilt from a log that already holds
the reaction — decides nothing twice.

A determination's own consequences (a disputed case reported one level up, a suspected crime sent to the
lead office or, by the lead office, to the police) depend on the office that determined it, so they are
decided with the determination (``workflow.determine``), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from contracts.envelope import Actor, Envelope
from contracts.events import CaseAssessed, CaseEscalated, EscalatedPayload
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import EscalationLevel, EscalationRule, EscalationTarget
from services.triage.domain.grading import RuleSet, assess
from services.triage.domain.routing import regions_to_notify
from services.triage.domain.state import CaseState

SERVICE_ACTOR = Actor(kind="service", id="triage")
# The rules that escalate a case by themselves, as events name them (``contracts.vocabulary``).
RULE_KEY_CASE = EscalationRule.KEY_CASE.value
RULE_CROSS_REGION = EscalationRule.CROSS_REGION.value
RULE_SUSPECTED_CRIME = EscalationRule.SUSPECTED_CRIME.value
RULE_DISPUTED = EscalationRule.DISPUTED.value


@dataclass(frozen=True)
class Decision:
    """An event triage decided to write, before it is sealed into the case's chain.

    ``payload`` may be a function of the state the event is sealed onto (a referral bundle covers the
    events sealed just before it); ``jurisdiction`` is set when the event moves the case (a handoff).
    """

    event_type: type[Envelope]
    payload: BaseModel | Callable[[CaseState], BaseModel]
    actor: Actor
    jurisdiction: str | None = None
    # Caused by the event sealed just before it (a transfer's referral bundle, a determination's escalation)
    # rather than by what caused the command.
    follows: bool = False


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
    if not state.is_open:
        return None
    # A clue linked or split off since the last grade changes the case's heat and figures, an officer's
    # classification the sector and behaviours graded, a handoff the district whose table and rules apply:
    # either way, grade and route it again.
    if (
        state.grade is None
        or state.clue.linked_clues != state.assessed_linked_clues
        or state.classifications > state.assessed_classifications
        or state.handoffs_accepted > state.assessed_handoffs
    ):
        assessed = assess(state.clue, rules, jurisdiction=state.jurisdiction, registry=registry)
        return Decision(CaseAssessed, assessed, SERVICE_ACTOR)
    district = district_of(state.jurisdiction, registry)
    if state.key_case and not state.has_escalation(EscalationTarget.LEAD_OFFICE, rule=RULE_KEY_CASE):
        # Said in English for the log; a notice words it in Chinese from the rule and the case's key-case
        # reasons, which its assessed and key-case-flagged events carry (contracts.labels).
        reasons = ", ".join(state.key_case_reasons)
        return escalation(
            EscalationTarget.LEAD_OFFICE,
            district,
            f"key case: {reasons}",
            RULE_KEY_CASE,
            level=EscalationLevel.DISTRICT,
            from_jurisdiction=state.jurisdiction,
        )
    for region in regions_to_notify(state.jurisdiction, state.clue.regions_involved, registry):
        if not state.has_escalation(EscalationTarget.OTHER_REGION, target_jurisdiction=region):
            return escalation(
                EscalationTarget.OTHER_REGION,
                region,
                f"cross-region risk: the case in {state.jurisdiction} involves {region}",
                RULE_CROSS_REGION,
                from_jurisdiction=state.jurisdiction,
            )
    return None


def escalation(
    target: EscalationTarget,
    jurisdiction: str,
    reason: str,
    rule: str | None,
    *,
    level: EscalationLevel | None = None,
    from_jurisdiction: str | None = None,
    actor: Actor = SERVICE_ACTOR,
    follows: bool = False,
) -> Decision:
    """An ``escalated`` decision (by triage's rule ``rule``, or by an officer when ``rule`` is None)."""
    payload = EscalatedPayload(
        target=target,
        target_jurisdiction=jurisdiction,
        reason=reason,
        rule=rule,
        level=level,
        from_jurisdiction=from_jurisdiction,
    )
    return Decision(CaseEscalated, payload, actor, follows=follows)
