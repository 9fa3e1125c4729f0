"""What triage decides by itself: automatic reactions to a case's state (officers' commands and the state
machine that admits them are in ``workflow``).

Reactions are a function of the state alone (``next_reaction``): an unassessed case is assessed (and assessed
again when a clue was linked to it, or an officer reclassified it, since); a key case not yet escalated to its
district's lead office is escalated there (rule ``key-case``); a cross-region case announces itself to every
region involved it has not yet announced itself to (rule ``cross-region``); a case determined
``suspected_crime`` not yet with the police is transferred to them (rule ``suspected-crime``); a case
determined ``disputed`` goes to the lead office (rule ``disputed-determination``). Once the event a reaction
asks for is folded into the state, the reaction no longer applies, so reacting twice to the same state — or to
a state rebuilt from a log that already holds the reaction — decides nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from contracts.envelope import Actor, Envelope
from contracts.events import CaseAssessed, CaseEscalated, EscalatedPayload
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import Determination, EscalationTarget
from services.triage.domain.grading import RuleSet, assess
from services.triage.domain.routing import escalation_path, regions_to_notify
from services.triage.domain.state import CaseState

SERVICE_ACTOR = Actor(kind="service", id="triage")
RULE_KEY_CASE = "key-case"
RULE_CROSS_REGION = "cross-region"
RULE_SUSPECTED_CRIME = "suspected-crime"
RULE_DISPUTED = "disputed-determination"


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
    # A clue linked since the last grade raises the case's heat, and an officer's classification changes
    # the sector and behaviours graded: either way, grade it again.
    if (
        state.grade is None
        or state.clue.linked_clues > state.assessed_linked_clues
        or state.classifications > state.assessed_classifications
    ):
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
    if state.determination == Determination.DISPUTED:
        return _disputed_escalation(state, district, registry)
    return None


def _disputed_escalation(state: CaseState, district: str, registry: JurisdictionRegistry) -> Decision | None:
    """A disputed case is reported up level by level (逐级上报): one escalation per office between the
    case and its district lead office, nearest first, so the trail shows every level it passed."""
    levels = (
        [node.code for node in escalation_path(state.jurisdiction, registry)]
        if (state.jurisdiction in registry)
        else []
    )
    for level in levels or [district]:
        if not state.has_escalation(
            EscalationTarget.LEAD_OFFICE, rule=RULE_DISPUTED, target_jurisdiction=level
        ):
            last = level == (levels or [district])[-1]
            reason = (
                "determination disputed: the district lead office decides"
                if last
                else f"determination disputed: reported up level by level through {level}"
            )
            return _escalation(EscalationTarget.LEAD_OFFICE, level, reason, RULE_DISPUTED)
    return None


def _escalation(target: EscalationTarget, jurisdiction: str, reason: str, rule: str | None) -> Decision:
    payload = EscalatedPayload(target=target, target_jurisdiction=jurisdiction, reason=reason, rule=rule)
    return Decision(CaseEscalated, payload, SERVICE_ACTOR)
