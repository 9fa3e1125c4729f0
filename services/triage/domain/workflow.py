"""The disposal workflow: officers' commands on a case, the state machine that admits them, and the facts
each transition needs. Every refusal raises ``TransitionRefused`` naming the rule (HTTP 409).

The state machine (``TRANSITIONS``: command -> statuses it is allowed from)::

    reported ──assessed──▶ assessed ──determined / measure──▶ under_disposal
        under_disposal ──escalated (lead office)──▶ escalated ──determined──▶ under_disposal
        assessed / under_disposal / escalated ──transfer (police)──▶ transferred
        transferred ──police-returned──▶ under_disposal      transferred ──police-accepted──▶ transferred
        any open status ──closed──▶ closed
        under_disposal / escalated / transferred / closed ──written-off──▶ written_off
        closed / written_off ──reopened (look back, or a new matching clue)──▶ under_disposal
        open ──merged──▶ merged ──reopened (split)──▶ under_disposal

Required facts: closing needs an outcome and a summary (the request model requires them) and, for the
outcome ``transferred_to_police``, a transfer; a transfer to the police needs a summary (its referral
bundle is built by ``referral``); the write-off's conditions are in ``write_off``. Commands refused on a
final case name ``closed-is-final``.

Escalation goes one level at a time (逐级上报): an office reports a case to the level above its own
(community → street → district lead office), and the office it waits on may determine it or report it up
again; the district lead office is the top. A determination carries its consequences with it: ``disputed``
reports the case one level up; ``suspected_crime`` by any other office sends it to the district lead office,
which alone transfers to the police; by the lead office itself it transfers the case at once, with the
summary the request must then carry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from cluetrail.auth import Role
from contracts.envelope import Actor
from contracts.events import (
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseMerged,
    CaseReclassified,
    CaseReopened,
    CaseSplit,
    ClosedPayload,
    ClueLinked,
    ClueLinkedPayload,
    DeterminedPayload,
    EscalatedPayload,
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    HandoffReturned,
    HandoffReturnedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    MeasureRecorded,
    MeasureRecordedPayload,
    MergedPayload,
    PoliceAccepted,
    PoliceAcceptedPayload,
    PoliceReturned,
    PoliceReturnedPayload,
    ReclassifiedPayload,
    ReferralPackaged,
    ReopenedPayload,
    RewardGranted,
    RewardGrantedPayload,
    SplitPayload,
)
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import (
    CaseStatus,
    ClueSource,
    Determination,
    EscalationLevel,
    EscalationTarget,
    MatchBasis,
    Measure,
    Outcome,
    ReopenTrigger,
)
from services.triage.domain.decisions import (
    RULE_DISPUTED,
    RULE_SUSPECTED_CRIME,
    SERVICE_ACTOR,
    Decision,
    district_of,
    escalation,
)
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.referral import package_referral
from services.triage.domain.routing import one_level_up
from services.triage.domain.state import FINAL, CaseState

S = CaseStatus
OPEN_HANDLED = frozenset({S.ASSESSED, S.UNDER_DISPOSAL, S.ESCALATED})
TRANSITIONS: dict[str, frozenset[CaseStatus]] = {
    "determination": OPEN_HANDLED,
    "measure": OPEN_HANDLED | {S.TRANSFERRED},
    "escalation": OPEN_HANDLED,
    "transfer": OPEN_HANDLED,
    "closing": OPEN_HANDLED | {S.TRANSFERRED},
    "write-off": frozenset({S.UNDER_DISPOSAL, S.ESCALATED, S.TRANSFERRED, S.CLOSED}),
    "reopening": frozenset({S.CLOSED, S.WRITTEN_OFF}),
    "police acceptance": frozenset({S.TRANSFERRED}),
    "police return": frozenset({S.TRANSFERRED}),
    "handoff": OPEN_HANDLED,
    "handoff answer": OPEN_HANDLED | {S.TRANSFERRED},
    "merge": frozenset({S.REPORTED}) | OPEN_HANDLED,
    "split": OPEN_HANDLED | {S.TRANSFERRED, S.CLOSED, S.WRITTEN_OFF},
    "reward": OPEN_HANDLED | {S.TRANSFERRED, S.CLOSED, S.WRITTEN_OFF, S.MERGED},
    "reclassification": frozenset({S.REPORTED}) | OPEN_HANDLED | {S.TRANSFERRED},
}
# Determinations that verify a clue: its reporter may be rewarded (快查快奖).
VERIFIED = frozenset(
    {
        Determination.GENERAL_VIOLATION,
        Determination.REGULARISE,
        Determination.SUSPECTED_ILLEGAL_FUNDRAISING,
        Determination.SUSPECTED_CRIME,
    }
)
CHINA = timezone(timedelta(hours=8))
KEY_CASE_LEADER = "区政府分管副区长"
LEAD_OFFICE = Role.DISTRICT_LEAD_OFFICER.value


@dataclass(frozen=True)
class WorkflowPolicy:
    """Configurable parts of the workflow: the write-off quiet period, the key-case leader's title and the
    region this deployment is (recorded at both ends of a handoff)."""

    quiet_period_days: int = 90
    key_case_leader: str = KEY_CASE_LEADER
    region: str = "local"


def require(state: CaseState, command: str) -> None:
    """Refuse ``command`` unless the state machine allows it from the case's status."""
    allowed = TRANSITIONS[command]
    if state.status in allowed:
        return
    if state.status in FINAL:
        raise TransitionRefused(
            f"case {state.case_id} is {state.status.value}; it takes no {command} (closed-is-final)",
            rule="closed-is-final",
        )
    if state.status == S.REPORTED:
        raise TransitionRefused(
            f"case {state.case_id} is not assessed yet; {command} comes after assessment (assess-first)",
            rule="assess-first",
        )
    statuses = ", ".join(sorted(s.value for s in allowed))
    raise TransitionRefused(
        f"case {state.case_id} is {state.status.value}; {command} is allowed from {statuses} (state-machine)",
        rule="state-machine",
    )


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
                reason="determined a suspected crime: transferred to the police (移送公安)",
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


def transfer_to_police(
    state: CaseState, actor: Actor, *, reason: str, summary: str | None, district: str
) -> list[Decision]:
    """Transfer to the police (移送公安): the escalation, then the referral bundle's manifest."""
    require(state, "transfer")
    if state.transferred_to_police:
        raise TransitionRefused(
            f"case {state.case_id} is with the police already (police-once)", rule="police-once"
        )
    if summary is None or not summary.strip():
        raise TransitionRefused(
            "a transfer to the police needs a summary of the case (transfer-needs-summary)",
            rule="transfer-needs-summary",
        )
    escalated = EscalatedPayload(
        target=EscalationTarget.POLICE,
        target_jurisdiction=district,
        reason=reason,
        rule=None,
        from_jurisdiction=state.jurisdiction,
    )
    # The bundle's manifest covers the chain up to the transfer, so it is built once that is sealed.
    return [
        Decision(CaseEscalated, escalated, actor),
        Decision(
            ReferralPackaged, lambda transferred: package_referral(transferred, summary), actor, follows=True
        ),
    ]


def accept_by_police(
    state: CaseState, actor: Actor, *, police_case_number: str, police_jurisdiction: str, now: datetime
) -> Decision:
    """The police accept the transferred case under their case number (受理/立案)."""
    require(state, "police acceptance")
    police = state.police
    if police is None or police.returned or police.accepted_at is not None:
        raise TransitionRefused(
            f"case {state.case_id} has no transfer waiting for the police's answer (police-answer-once)",
            rule="police-answer-once",
        )
    payload = PoliceAcceptedPayload(
        police_case_number=police_case_number, accepted_at=now, police_jurisdiction=police_jurisdiction
    )
    return Decision(PoliceAccepted, payload, actor)


def return_by_police(state: CaseState, actor: Actor, *, reason: str, police_jurisdiction: str) -> Decision:
    """The police return the transferred case (退回) with their reason; the office handles it again."""
    require(state, "police return")
    police = state.police
    if police is None or police.returned or police.accepted_at is not None:
        raise TransitionRefused(
            f"case {state.case_id} has no transfer waiting for the police's answer (police-answer-once)",
            rule="police-answer-once",
        )
    return Decision(
        PoliceReturned, PoliceReturnedPayload(reason=reason, police_jurisdiction=police_jurisdiction), actor
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


def key_case_deadlines(filed_on: date) -> dict[str, date]:
    """Deadlines from the criminal filing: tried and funds returned in 2 years, supervised from 3, cleared
    by 5 (a 29 February filing falls due on 28 February)."""

    def years_after(n: int) -> date:
        try:
            return filed_on.replace(year=filed_on.year + n)
        except ValueError:
            return filed_on.replace(year=filed_on.year + n, day=28)

    return {
        "trial_and_return_by": years_after(2),
        "supervision_from": years_after(3),
        "clearance_by": years_after(5),
    }


# KeyCaseFlaggedPayload.reasons holds at most this many.
KEY_CASE_REASONS_MAX = 20


def key_case_flag(state: CaseState, actor: Actor, leader: str) -> Decision:
    """Flag a key case (重点案件) with its supervising leader; deadlines once the police filed it.

    The flag names the case's first reasons, as many as the event holds: a re-assessment may have
    added grading reasons to an officer's."""
    reasons = list(state.key_case_reasons)[:KEY_CASE_REASONS_MAX] or ["key_case"]
    police = state.police
    filed_on = (
        police.accepted_at.astimezone(CHINA).date()
        if police is not None and police.accepted_at is not None and not police.returned
        else None
    )
    deadlines: dict[str, date] = key_case_deadlines(filed_on) if filed_on is not None else {}
    payload = KeyCaseFlaggedPayload(
        reasons=reasons, supervising_leader=leader, criminal_filed_on=filed_on, **deadlines
    )
    return Decision(KeyCaseFlagged, payload, actor)


def flag_key_case(state: CaseState, actor: Actor, *, reasons: list[str], leader: str) -> Decision:
    """An officer flags a case as key (or names another supervising leader)."""
    require(state, "measure")
    merged = list(dict.fromkeys([*state.key_case_reasons, *reasons]))
    if len(merged) > KEY_CASE_REASONS_MAX:
        raise TransitionRefused(
            f"case {state.case_id} would have {len(merged)} key-case reasons; a key case has at most "
            f"{KEY_CASE_REASONS_MAX} (key-case-reasons-max)",
            rule="key-case-reasons-max",
        )
    return key_case_flag(state.model_copy(update={"key_case_reasons": tuple(merged)}), actor, leader)


def request_handoff(
    state: CaseState,
    actor: Actor,
    *,
    to_jurisdiction: str,
    from_district: str,
    to_district: str,
    reason: str,
    region: str,
    to_region: str | None = None,
) -> Decision:
    """Offer the case to another district (协商办理); it stays here until that district accepts. ``region``
    is this deployment's region; the receiving district's is ``to_region`` (default: the same region)."""
    require(state, "handoff")
    if state.handoff is not None:
        raise TransitionRefused(
            f"case {state.case_id} already waits for {state.handoff.to_jurisdiction} to answer a handoff "
            "(handoff-pending)",
            rule="handoff-pending",
        )
    if from_district == to_district:
        raise TransitionRefused(
            f"{to_jurisdiction} is in the case's own district {from_district}; a handoff goes to another "
            "district (handoff-other-district)",
            rule="handoff-other-district",
        )
    payload = HandoffRequestedPayload(
        from_jurisdiction=state.jurisdiction,
        to_jurisdiction=to_jurisdiction,
        from_region=region,
        to_region=to_region or region,
        reason=reason,
    )
    return Decision(HandoffRequested, payload, actor)


def answer_handoff(state: CaseState, actor: Actor, *, accept: bool, text: str | None) -> Decision:
    """The receiving district accepts (the case moves there, chain and all) or returns the handoff."""
    require(state, "handoff answer")
    pending = state.handoff
    if pending is None:
        raise TransitionRefused(
            f"case {state.case_id} has no handoff waiting for an answer (handoff-pending)",
            rule="handoff-pending",
        )
    ends = {
        "from_jurisdiction": pending.from_jurisdiction,
        "to_jurisdiction": pending.to_jurisdiction,
        "from_region": pending.from_region,
        "to_region": pending.to_region,
    }
    if accept:
        return Decision(
            HandoffAccepted,
            HandoffAcceptedPayload(**ends, note=text),
            actor,
            jurisdiction=pending.to_jurisdiction,
        )
    if text is None or not text.strip():
        raise TransitionRefused(
            "returning a handoff needs a reason (handoff-return-reason)", rule="handoff-return-reason"
        )
    return Decision(HandoffReturned, HandoffReturnedPayload(**ends, reason=text), actor)


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


def workflow_reaction(state: CaseState, policy: WorkflowPolicy) -> Decision | None:
    """What the workflow itself calls for after the grading and escalation reactions settle:

    - ``referral-package``: a transfer to the police is followed by its referral bundle;
    - ``key-case-flag``: a key case gets its supervising leader; once the police accept (file) it, the
      flag is renewed with the 2/3/5-year deadlines counted from the filing date.
    """
    if state.status in FINAL:
        return None
    police = state.police
    if police is not None and not police.returned and police.referral_seq is None:
        # An automatic transfer (by rule) is summarised by the determination that caused it.
        summary = (state.determination_basis if police.rule is not None else None) or police.summary
        return Decision(ReferralPackaged, package_referral(state, summary), SERVICE_ACTOR)
    if state.key_case:
        flag = state.key_case_flag
        filed = police is not None and police.accepted_at is not None and not police.returned
        if flag is None or (filed and flag.criminal_filed_on is None):
            leader = flag.supervising_leader if flag is not None else policy.key_case_leader
            return key_case_flag(state, SERVICE_ACTOR, leader)
    return None
