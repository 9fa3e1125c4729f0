"""风险销号 of 龙岗街道's cases: a risk is written off only with a recorded result, never while the police
hold it, with money recovered, claims handled or the reason why neither when money was at risk — and the
event records what it relied on, so an auditor can check each condition against the chain."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from contracts.events import CaseWrittenOff
from contracts.vocabulary import Determination, Outcome
from services.triage.adapters.rules import quiet_periods_for
from services.triage.domain import workflow
from services.triage.domain import write_off as write_off_rule
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.quiet_periods import WRITE_OFF_RESULTS, QuietPeriodsError, load_quiet_periods
from services.triage.domain.state import CaseState
from services.triage.settings import TriageSettings
from tests.unit.triage_cases import (
    LATER,
    LEAD,
    POLICE,
    POLICY,
    STREET,
    YAOHAI,
    assessed,
    close,
    determine,
    determined,
    run,
    transferred,
)


def write_off(
    state: CaseState,
    outcome: Outcome = Outcome.FUNDS_RETURNED,
    recovered: int = 0,
    claims: int = 0,
    reason: str | None = None,
    now: datetime = LATER,
) -> Decision:
    return write_off_rule.write_off(
        state,
        LEAD,
        outcome=outcome,
        summary="门店停业，资金清退完毕。",
        recovered_amount_yuan=recovered,
        claims_handled=claims,
        no_recovery_reason=reason,
        now=now,
        policy=POLICY,
    )


def refused(state: CaseState, **kwargs: object) -> str:
    with pytest.raises(TransitionRefused) as refusal:
        write_off(state, **kwargs)  # type: ignore[arg-type]
    assert refusal.value.rule in refusal.value.reason and refusal.value.status_code == 409
    return refusal.value.rule


@pytest.mark.parametrize("kind", [Determination.DISPUTED, Determination.UNDETERMINED])
def test_a_determination_that_does_not_say_what_the_case_is_is_no_result_to_write_off(
    kind: Determination,
) -> None:
    state = assessed()
    state = run(state, *determine(state, kind, actor=STREET))[0]
    assert refused(state, recovered=3_000_000) == "write-off-needs-result"


def test_a_case_the_police_hold_is_not_written_off_until_they_return_it_or_it_is_closed() -> None:
    state, _ = transferred()
    assert refused(state, recovered=3_000_000) == "write-off-police-holding"
    accepted, _ = run(
        state,
        workflow.accept_by_police(
            state, POLICE, police_case_number="瑶公立[2026]9号", police_jurisdiction=YAOHAI, now=LATER
        ),
    )
    assert refused(accepted, recovered=3_000_000) == "write-off-police-holding"
    # the police file it; the case closes with their result and is written off then
    closed, _ = run(accepted, close(accepted, Outcome.TRANSFERRED_TO_POLICE))
    decision = write_off(closed, Outcome.TRANSFERRED_TO_POLICE, claims=120)
    _, (event,) = run(closed, decision)
    assert isinstance(event, CaseWrittenOff) and event.payload.relied_on is not None
    assert event.payload.conditions_met == [
        "result-recorded",
        "quiet-period",
        "claims-handled",
        "police-result-closed",
    ]
    relied = event.payload.relied_on
    assert (relied.result_type, relied.result, relied.police_seq) == ("closed", "transferred_to_police", 3)
    assert relied.result_seq == closed.last_seq


def test_the_outcome_transferred_to_police_needs_a_transfer() -> None:
    state = determined()
    assert (
        refused(state, outcome=Outcome.TRANSFERRED_TO_POLICE, recovered=1) == "police-outcome-needs-transfer"
    )


def test_a_case_returned_by_the_police_is_written_off_on_the_offices_own_determination() -> None:
    state, _ = transferred()
    returned, _ = run(
        state, workflow.return_by_police(state, POLICE, reason="不构成犯罪。", police_jurisdiction=YAOHAI)
    )
    ruled, _ = run(returned, *determine(returned, Determination.GENERAL_VIOLATION, actor=LEAD, office=YAOHAI))
    _, (event,) = run(ruled, write_off(ruled, Outcome.RECTIFIED, recovered=500_000))
    assert isinstance(event, CaseWrittenOff) and event.payload.relied_on is not None
    assert event.payload.conditions_met[-1] == "police-returned"
    relied = event.payload.relied_on
    assert (relied.result_type, relied.result_seq, relied.result) == ("determined", 6, "general_violation")


def test_money_at_risk_needs_recovery_claims_or_a_recorded_reason() -> None:
    state = determined()  # general violation; the clue put 3,000,000 yuan at risk
    assert refused(state) == "write-off-needs-recovery"
    assert refused(state, reason="   ") == "write-off-needs-recovery"
    for kwargs, condition in (
        ({"recovered": 1_000_000}, "funds-recovered"),
        ({"claims": 40}, "claims-handled"),
        ({"reason": "参与人均已自行退出，无人申报损失。"}, "no-recovery-reason"),
    ):
        _, (event,) = run(state, write_off(state, **kwargs))  # type: ignore[arg-type]
        assert isinstance(event, CaseWrittenOff) and event.payload.relied_on is not None
        assert event.payload.conditions_met == ["result-recorded", "quiet-period", condition]
        assert event.payload.relied_on.amount_at_risk_yuan == 3_000_000
        assert event.payload.relied_on.no_recovery_reason == kwargs.get("reason")


def test_a_case_without_violation_or_without_money_at_risk_needs_no_recovery() -> None:
    clean = assessed()
    clean = run(clean, *determine(clean, Determination.NO_VIOLATION))[0]
    _, (event,) = run(clean, write_off(clean, Outcome.NO_VIOLATION))
    assert event.payload.conditions_met[-1] == "no-money-at-risk"  # type: ignore[attr-defined]
    closed_clean, _ = run(determined(), close(determined(), Outcome.NO_VIOLATION))
    _, (event,) = run(closed_clean, write_off(closed_clean, Outcome.NO_VIOLATION))
    assert event.payload.relied_on.result == "no_violation"  # type: ignore[attr-defined]
    penniless = determined(amount=0)
    _, (event,) = run(penniless, write_off(penniless, Outcome.RECTIFIED))
    assert event.payload.conditions_met[-1] == "no-money-at-risk"  # type: ignore[attr-defined]


# --- the quiet period, by the result the write-off rests on (data: write-off-2026.1.json) ----------------

BUNDLED_PERIODS = quiet_periods_for(TriageSettings())


def written_off_after(state: CaseState, days: int, outcome: Outcome) -> CaseWrittenOff:
    decision = write_off_rule.write_off(
        state,
        LEAD,
        outcome=outcome,
        summary="核查结论已记录。",
        recovered_amount_yuan=3_000_000,
        claims_handled=0,
        now=state.reported_at + timedelta(days=days),  # type: ignore[operator]
        policy=workflow.WorkflowPolicy(quiet_periods=BUNDLED_PERIODS),
    )
    _, (event,) = run(state, decision)
    assert isinstance(event, CaseWrittenOff)
    return event


def test_nothing_found_is_written_off_at_once_a_violation_after_its_quiet_period() -> None:
    """No violation needs no quiet period; a general violation waits out the 30 days of its rectification,
    named in the refusal; the event records the period applied."""
    nothing = determined(Determination.NO_VIOLATION)
    event = written_off_after(nothing, 0, Outcome.NO_VIOLATION)
    assert event.payload.quiet_period_days == 0 and event.payload.relied_on is not None
    assert event.payload.relied_on.result == "no_violation"

    violation = determined(Determination.GENERAL_VIOLATION)
    with pytest.raises(TransitionRefused) as refusal:
        written_off_after(violation, 29, Outcome.RECTIFIED)
    assert refusal.value.rule == "quiet-period"
    assert "resting on general_violation needs 30 days" in refusal.value.reason
    assert "write-off/2026.1" in refusal.value.reason
    assert written_off_after(violation, 30, Outcome.RECTIFIED).payload.quiet_period_days == 30


def test_the_bundled_periods_cover_every_result_and_a_bad_file_is_named_by_its_entry() -> None:
    assert set(BUNDLED_PERIODS.quiet_period_days) == WRITE_OFF_RESULTS
    assert BUNDLED_PERIODS.days_for("suspected_crime") == 180
    with pytest.raises(QuietPeriodsError, match=r"mine.json: quiet_period_days.merged: not a result"):
        load_quiet_periods(
            json.dumps(
                {"version": "x", "quiet_period_days": {**BUNDLED_PERIODS.quiet_period_days, "merged": 1}}
            ),
            "mine.json",
        )
    short = dict(BUNDLED_PERIODS.quiet_period_days)
    del short["penalised"]
    with pytest.raises(QuietPeriodsError, match=r"quiet_period_days.penalised: missing"):
        load_quiet_periods(json.dumps({"version": "x", "quiet_period_days": short}), "mine.json")
    with pytest.raises(QuietPeriodsError, match=r"quiet_period_days.rectified: .*greater than or equal to 0"):
        load_quiet_periods(
            json.dumps({"version": "x", "quiet_period_days": {**short, "penalised": 1, "rectified": -1}}),
            "mine.json",
        )
