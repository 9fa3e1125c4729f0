"""What the workflow calls for by itself once the grading and escalation reactions settle: a transfer's
referral bundle and a key case's flag."""

from __future__ import annotations

from contracts.events import ReferralPackaged
from services.triage.domain.decisions import SERVICE_ACTOR, Decision
from services.triage.domain.referral import package_referral
from services.triage.domain.state import FINAL, CaseState
from services.triage.domain.workflow.key_cases import key_case_flag
from services.triage.domain.workflow.transitions import WorkflowPolicy


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
