"""Writing a risk off (风险销号): the conditions it needs, and the record of what it relied on.

A risk is written off only with a recorded result — a closing, or a determination that says what the case
is (not ``disputed`` or ``undetermined``) — never while the police hold the case, once no new clue about the
subject has come in for the quiet period of that result (data, ``quiet_periods``), and, when the case put
money at risk and its result is a violation, with money recovered, claims handled or the recorded reason
why neither. The ``written-off`` event names each condition that held and what it relied on (the result's
seq, the last clue's date, the money at risk, the transfer to the police) and the quiet period applied, so
an auditor can check them against the chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from contracts.envelope import Actor
from contracts.events import CaseWrittenOff, WriteOffBasis, WrittenOffPayload
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Outcome
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.workflow import WorkflowPolicy, require

S = CaseStatus
# Determinations that do not say what the case is: a write-off cannot rest on them.
INCONCLUSIVE = frozenset({Determination.DISPUTED, Determination.UNDETERMINED})


def write_off(
    state: CaseState,
    actor: Actor,
    *,
    outcome: Outcome,
    summary: str,
    recovered_amount_yuan: int,
    claims_handled: int,
    now: datetime,
    policy: WorkflowPolicy,
    no_recovery_reason: str | None = None,
) -> Decision:
    """Write the risk off (风险销号) once its conditions hold; the event records each condition that held
    and what it relied on (the result's seq, the last clue's date, the money at risk, the police's part),
    so an auditor can check them against the chain."""
    require(state, "write-off")
    if outcome in (Outcome.MERGED, Outcome.WRITTEN_OFF):
        raise TransitionRefused(
            f"{outcome.value} is not a result a case is written off with (write-off-outcome)",
            rule="write-off-outcome",
        )
    police = state.police
    if state.status == S.TRANSFERRED and police is not None:
        raise TransitionRefused(
            f"case {state.case_id} is with the police (transferred at seq {police.seq}); it is written off "
            "once they return it or it is closed with their result (write-off-police-holding)",
            rule="write-off-police-holding",
        )
    if outcome == Outcome.TRANSFERRED_TO_POLICE and not state.has_escalation(EscalationTarget.POLICE):
        raise TransitionRefused(
            f"case {state.case_id} was never transferred to the police; it cannot be written off as "
            "transferred_to_police (police-outcome-needs-transfer)",
            rule="police-outcome-needs-transfer",
        )
    result_type, result_seq, result = _recorded_result(state)
    last_clue = state.last_clue_at or state.reported_at
    quiet_days = policy.quiet_periods.days_for(result)
    quiet = timedelta(days=quiet_days)
    if last_clue is not None and now - last_clue < quiet:
        ready = (last_clue + quiet).date().isoformat()
        raise TransitionRefused(
            f"a clue about this subject came in {last_clue.date().isoformat()}; a write-off resting on "
            f"{result} needs {quiet_days} days without a new matching clue ({policy.quiet_periods.version}), "
            f"i.e. from {ready} (quiet-period)",
            rule="quiet-period",
        )
    at_risk = state.clue.estimated_amount_yuan
    violation = result != Outcome.NO_VIOLATION.value
    recovery = (
        "funds-recovered"
        if recovered_amount_yuan > 0
        else "claims-handled"
        if claims_handled > 0
        else "no-money-at-risk"
        if not violation or not at_risk
        else "no-recovery-reason"
        if no_recovery_reason is not None and no_recovery_reason.strip()
        else None
    )
    if recovery is None:
        raise TransitionRefused(
            f"case {state.case_id} put {at_risk} yuan at risk and its result is {result}: a write-off needs "
            "money recovered, claims handled, or the reason why neither (write-off-needs-recovery)",
            rule="write-off-needs-recovery",
        )
    conditions = ["result-recorded", "quiet-period", recovery]
    if police is not None:
        conditions.append("police-returned" if police.returned else "police-result-closed")
    payload = WrittenOffPayload(
        outcome=outcome,
        summary=summary,
        recovered_amount_yuan=recovered_amount_yuan,
        claims_handled=claims_handled,
        quiet_period_days=quiet_days,
        conditions_met=conditions,
        relied_on=WriteOffBasis(
            result_seq=result_seq,
            result_type=result_type,
            result=result,
            last_clue_at=last_clue or now,
            amount_at_risk_yuan=at_risk,
            police_seq=police.seq if police is not None else None,
            no_recovery_reason=no_recovery_reason if recovery == "no-recovery-reason" else None,
        ),
    )
    return Decision(CaseWrittenOff, payload, actor)


def _recorded_result(state: CaseState) -> tuple[Literal["determined", "closed"], int, str]:
    """The result a write-off rests on: the closing of a closed case, else a determination that says what
    the case is. Refused (``write-off-needs-result``) when there is neither."""
    if state.status == S.CLOSED and state.closed_seq is not None and state.outcome is not None:
        return "closed", state.closed_seq, state.outcome.value
    determination = state.determination
    if determination is not None and determination not in INCONCLUSIVE and state.determined_seq is not None:
        return "determined", state.determined_seq, determination.value
    found = (
        f"its determination is only {determination.value}"
        if determination is not None
        else "it has no determination"
    )
    raise TransitionRefused(
        f"case {state.case_id} has no recorded result yet ({found}): determine what it is or close it first "
        "(write-off-needs-result)",
        rule="write-off-needs-result",
    )
