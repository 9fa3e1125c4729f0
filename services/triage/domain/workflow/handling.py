"""An office's handling of a case: the determination (研判定性) with what it calls for, escalation one level
at a time (逐级上报), the officer's classification, disposal measures, closing and look-back reopening."""

from __future__ import annotations

from dataclasses import replace

from cluetrail.auth import Role
from contracts.envelope import Actor
from contracts.events import (
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseReclassified,
    CaseReopened,
    ClosedPayload,
    DeterminedPayload,
    EscalatedPayload,
    MeasureRecorded,
    MeasureRecordedPayload,
    ReclassifiedPayload,
    ReopenedPayload,
)
from contracts.jurisdictions import JurisdictionRegistry
from contracts.labels import LEAD_OFFICE_CRIME_TRANSFER
from contracts.vocabulary import (
    Determination,
    EscalationLevel,
    EscalationTarget,
    Measure,
    Outcome,
    ReopenTrigger,
)
from services.triage.domain.decisions import (
    RULE_DISPUTED,
    RULE_SUSPECTED_CRIME,
    Decision,
    district_of,
    escalation,
)
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.routing import one_level_up
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.police import transfer_to_police
from services.triage.domain.workflow.transitions import require

LEAD_OFFICE = Role.DISTRICT_LEAD_OFFICER.value


def determine(
    state: CaseState,
    actor: Actor,
    *,
    determination: Determination,
    basis: str,
    measures: list[str],
    office: str,
    registry: JurisdictionRegistry,
    summary: str | None = None,
) -> list[Decision]:
    """An officer's determination (研判定性) made by the office at ``office``, with what it calls for:

    - ``disputed``: the case is reported one level up from that office (rule ``disputed-determination``);
      the district lead office is the top, so it cannot leave a case disputed (``lead-office-decides``);
    - ``suspected_crime`` by any other office: the case goes to the district lead office (rule
      ``suspected-crime``), which transfers it to the police with a summary;
    - ``suspected_crime`` by the lead office: the case is transferred to the police at once, which needs
      ``summary`` (``transfer-needs-summary``).
    """
    require(state, "determination")
    lead = actor.role == LEAD_OFFICE
    determined = Decision(
        CaseDetermined, DeterminedPayload(determination=determination, basis=basis, measures=measures), actor
    )
    if determination == Determination.DISPUTED:
        if lead:
            raise TransitionRefused(
                "the district lead office is the top level a disputed case is reported to: it determines "
                "what the case is (lead-office-decides)",
                rule="lead-office-decides",
            )
        return [determined, _one_level_up(state, office, registry, RULE_DISPUTED)]
    if determination == Determination.SUSPECTED_CRIME:
        if lead:
            transfer = transfer_to_police(
                state,
                actor,
                reason=LEAD_OFFICE_CRIME_TRANSFER,
                summary=summary,
                district=district_of(state.jurisdiction, registry),
            )
            return [determined, *(replace(d, follows=True) for d in transfer)]
        district = district_of(state.jurisdiction, registry)
        to_lead_office = escalation(
            EscalationTarget.LEAD_OFFICE,
            district,
            "determined a suspected crime: the district lead office transfers it to the police",
            RULE_SUSPECTED_CRIME,
            level=EscalationLevel.DISTRICT,
            from_jurisdiction=office,
            follows=True,
        )
        return [determined, to_lead_office]
    return [determined]


def _level_of(code: str, registry: JurisdictionRegistry) -> EscalationLevel:
    """The escalation level of an office's node; anything that is no community or street is the district's
    lead office (an unknown code is its own lead jurisdiction, as ``district_of`` makes it)."""
    level = registry.get(code).level if code in registry else None
    return next((lv for lv in EscalationLevel if lv.value == level), EscalationLevel.DISTRICT)


def _one_level_up(state: CaseState, office: str, registry: JurisdictionRegistry, rule: str) -> Decision:
    """The case reported from ``office`` to the level above it, by triage's rule (a disputed case)."""
    above = one_level_up(office, state.jurisdiction, registry)
    target = above.code if above is not None else district_of(state.jurisdiction, registry)
    level = _level_of(target, registry)
    reason = (
        "determination disputed: the district lead office decides"
        if level == EscalationLevel.DISTRICT
        else f"determination disputed: reported up one level to {target}, which determines it or reports "
        "it further up"
    )
    return escalation(
        EscalationTarget.LEAD_OFFICE,
        target,
        reason,
        rule,
        level=level,
        from_jurisdiction=office,
        follows=True,
    )


def reclassify(
    state: CaseState, actor: Actor, *, sector: str, behaviours: list[str], reason: str
) -> Decision:
    """An officer's classification (人工定类) replaces the clue's sector and behaviours; the case is graded
    again with it (a reaction) and its responsible department follows the new sector."""
    require(state, "reclassification")
    payload = ReclassifiedPayload(sector=sector, behaviours=behaviours, reason=reason)
    return Decision(CaseReclassified, payload, actor)


def escalate_to_lead_office(
    state: CaseState, actor: Actor, *, reason: str, office: str, registry: JurisdictionRegistry
) -> Decision:
    """An officer at ``office`` reports the case one level up (逐级上报): a community to its street, a
    street (or a district's sector department) to the district lead office, which is the top."""
    require(state, "escalation")
    if actor.role == LEAD_OFFICE:
        raise TransitionRefused(
            "the district lead office is the top level of escalation: it determines the case or transfers "
            "it to the police (escalation-top)",
            rule="escalation-top",
        )
    above = one_level_up(office, state.jurisdiction, registry)
    target = above.code if above is not None else district_of(state.jurisdiction, registry)
    payload = EscalatedPayload(
        target=EscalationTarget.LEAD_OFFICE,
        target_jurisdiction=target,
        reason=reason,
        rule=None,
        level=_level_of(target, registry),
        from_jurisdiction=office,
    )
    return Decision(CaseEscalated, payload, actor)


def record_measure(
    state: CaseState, actor: Actor, measure: Measure, detail: str, amount_yuan: int | None
) -> Decision:
    """A disposal measure (处置措施); the first one puts an assessed case under disposal."""
    require(state, "measure")
    return Decision(
        MeasureRecorded,
        MeasureRecordedPayload(measure=measure, detail=detail, amount_yuan=amount_yuan),
        actor,
    )


def close(
    state: CaseState, actor: Actor, *, outcome: Outcome, summary: str, recovered_amount_yuan: int
) -> Decision:
    """Close with a recorded outcome and summary."""
    require(state, "closing")
    if outcome == Outcome.TRANSFERRED_TO_POLICE and not state.has_escalation(EscalationTarget.POLICE):
        raise TransitionRefused(
            f"case {state.case_id} was never escalated to the police; it cannot close as "
            "transferred_to_police (police-outcome-needs-transfer)",
            rule="police-outcome-needs-transfer",
        )
    if outcome in (Outcome.MERGED, Outcome.WRITTEN_OFF):
        raise TransitionRefused(
            f"a case is {outcome.value} by its own command, not by closing (outcome-by-command)",
            rule="outcome-by-command",
        )
    payload = ClosedPayload(outcome=outcome, summary=summary, recovered_amount_yuan=recovered_amount_yuan)
    return Decision(CaseClosed, payload, actor)


def reopen(state: CaseState, actor: Actor, *, reason: str) -> Decision:
    """Look back (回头看): reopen a closed or written-off case."""
    require(state, "reopening")
    return Decision(CaseReopened, ReopenedPayload(reason=reason, trigger=ReopenTrigger.LOOK_BACK), actor)
