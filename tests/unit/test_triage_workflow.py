"""The disposal workflow of 龙岗街道's cases: the state machine table, the facts each transition needs, police
transfer and referral bundles, key-case deadlines, write-off and reopening, linked clues, merge and split,
handoff and rewards — every refusal named by its rule."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import Actor, canonical_bytes
from contracts.events import (
    CaseWrittenOff,
    KeyCaseFlagged,
    ReferralPackaged,
)
from contracts.vocabulary import (
    CaseStatus,
    Determination,
    MatchBasis,
    Measure,
    Outcome,
)
from services.triage.domain import workflow
from services.triage.domain.chain import react
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.fold import fold, fold_all
from services.triage.domain.state import CaseState
from tests.unit.triage_cases import (
    LATER,
    LEAD,
    LONGGANG_HUADU,
    POLICE,
    POLICY,
    REGISTRY,
    RULES,
    SHOUXIAN,
    STREET,
    YAOHAI,
    assessed,
    close,
    closed,
    clue,
    determine,
    determined,
    run,
    transferred,
    write_off,
)

# --- the state machine, as a table -------------------------------------------------------------------

STATUSES = list(CaseStatus)


@pytest.mark.parametrize("command", sorted(workflow.TRANSITIONS))
@pytest.mark.parametrize("status", STATUSES, ids=[s.value for s in STATUSES])
def test_every_command_is_allowed_exactly_from_the_statuses_of_its_row(
    command: str, status: CaseStatus
) -> None:
    state = assessed().model_copy(update={"status": status})
    if status in workflow.TRANSITIONS[command]:
        workflow.require(state, command)
        return
    with pytest.raises(TransitionRefused) as refused:
        workflow.require(state, command)
    expected = (
        "closed-is-final"
        if status in (CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF, CaseStatus.MERGED)
        else "assess-first"
        if status == CaseStatus.REPORTED
        else "state-machine"
    )
    assert refused.value.rule == expected
    assert refused.value.status_code == 409
    assert expected in refused.value.reason


def test_a_measure_puts_an_assessed_case_under_disposal_and_is_kept() -> None:
    state = assessed()
    after, events = run(
        state, workflow.record_measure(state, STREET, Measure.WARNING_INTERVIEW, "约谈负责人。", None)
    )
    assert [e.type for e in events] == ["measure-recorded"]
    assert (after.status, after.measures) == (CaseStatus.UNDER_DISPOSAL, (Measure.WARNING_INTERVIEW,))


# --- police ---------------------------------------------------------------------------------------------


def test_a_transfer_needs_a_summary() -> None:
    state = assessed()
    with pytest.raises(TransitionRefused, match="transfer-needs-summary"):
        workflow.transfer_to_police(state, LEAD, reason="移送", summary=" ", district=YAOHAI)


def test_a_transfer_is_followed_by_a_referral_whose_manifest_covers_the_chain_up_to_it() -> None:
    after, events = transferred()
    assert [e.type for e in events] == ["escalated", "referral-packaged"]
    referral = events[1]
    assert isinstance(referral, ReferralPackaged)
    assert referral.payload.through_seq == events[0].seq == referral.seq - 1
    # the facts as of the transfer: the clue, its grade under 2026.1 (120 → 20, 3,000,000 → 20: serious)
    facts = {
        "jurisdiction": LONGGANG_HUADU,
        "subject_name": "华都康养服务中心",
        "credit_code": None,
        "address": "华都路1号",
        "sector": "elderly_care",
        "behaviours": [],
        "participants": 120,
        "estimated_amount_yuan": 3_000_000,
        "grade": "serious",
        "key_case": False,
        "determination": None,
        "determination_basis": None,
        "measures": [],
        "linked_clues": 0,
    }
    manifest = {
        "case_id": str(after.case_id),
        "through_seq": referral.payload.through_seq,
        "event_hashes": list(after.hashes[: referral.payload.through_seq]),
        "evidence": [],
        "summary": "门店吸收老年人资金三百万元。",
        "facts": facts,
    }
    assert referral.payload.manifest_sha256 == hashlib.sha256(canonical_bytes(manifest)).hexdigest()
    assert referral.payload.facts is not None
    assert referral.payload.facts.model_dump(mode="json") == facts
    assert referral.causation_id == events[0].event_id  # the bundle follows its transfer
    assert after.status == CaseStatus.TRANSFERRED
    assert after.police is not None and after.police.referral_seq == referral.seq


def test_the_police_accept_once_or_return_and_the_case_can_go_again() -> None:
    state, _ = transferred()
    now = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    accepted, events = run(
        state,
        workflow.accept_by_police(
            state, POLICE, police_case_number="瑶公立字[2026]7号", police_jurisdiction=YAOHAI, now=now
        ),
    )
    assert [e.type for e in events] == ["police-accepted"]
    assert accepted.police is not None and accepted.police.police_case_number == "瑶公立字[2026]7号"
    with pytest.raises(TransitionRefused, match="police-answer-once"):
        workflow.return_by_police(accepted, POLICE, reason="证据不足", police_jurisdiction=YAOHAI)

    returned, _ = run(
        state, workflow.return_by_police(state, POLICE, reason="证据不足", police_jurisdiction=YAOHAI)
    )
    assert returned.status == CaseStatus.UNDER_DISPOSAL and not returned.transferred_to_police
    again, events = run(
        returned,
        *workflow.transfer_to_police(
            returned, LEAD, reason="补充证据后再次移送", summary="补充了合同。", district=YAOHAI
        ),
    )
    assert [e.type for e in events] == ["escalated", "referral-packaged"]
    assert again.transferred_to_police


# --- key cases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "two", "three", "five"),
    [
        (date(2026, 7, 1), date(2028, 7, 1), date(2029, 7, 1), date(2031, 7, 1)),
        (date(2024, 2, 29), date(2026, 2, 28), date(2027, 2, 28), date(2029, 2, 28)),
    ],
)
def test_key_case_deadlines_count_from_the_criminal_filing(
    filed: date, two: date, three: date, five: date
) -> None:
    assert workflow.key_case_deadlines(filed) == {
        "trial_and_return_by": two,
        "supervision_from": three,
        "clearance_by": five,
    }


def test_a_key_case_gets_its_leader_then_deadlines_once_the_police_file_it() -> None:
    _, events = run(fold(None, clue(amount=150_000_000)))
    flags = [e for e in events if isinstance(e, KeyCaseFlagged)]
    assert len(flags) == 1 and flags[0].payload.supervising_leader == "区政府分管副区长"
    assert flags[0].payload.trial_and_return_by is None  # no deadlines before the police file it
    state, _ = transferred(amount=150_000_000)
    assert state.key_case and state.key_case_flag is not None
    # accepted late on 30 June UTC is 1 July in Beijing: the filing date is Beijing's
    now = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
    after, events = run(
        state,
        workflow.accept_by_police(
            state, POLICE, police_case_number="A-1", police_jurisdiction=YAOHAI, now=now
        ),
    )
    assert [e.type for e in events] == ["police-accepted", "key-case-flagged"]
    flag = after.key_case_flag
    assert flag is not None and flag.criminal_filed_on == date(2026, 7, 1)
    assert (flag.trial_and_return_by, flag.supervision_from, flag.clearance_by) == (
        date(2028, 7, 1),
        date(2029, 7, 1),
        date(2031, 7, 1),
    )
    assert react(after, RULES, REGISTRY, POLICY) is None


# --- closing, write-off, reopening ---------------------------------------------------------------------


def test_closing_refuses_outcomes_that_have_their_own_command() -> None:
    state = determined()
    for outcome in (Outcome.MERGED, Outcome.WRITTEN_OFF):
        with pytest.raises(TransitionRefused, match="outcome-by-command"):
            close(state, outcome)


def test_write_off_needs_a_recorded_result() -> None:
    state = assessed()
    state = state.model_copy(update={"status": CaseStatus.UNDER_DISPOSAL})
    with pytest.raises(TransitionRefused, match="write-off-needs-result"):
        write_off(state, LATER)


def test_write_off_waits_for_the_quiet_period_after_the_last_matching_clue() -> None:
    state = closed()
    with pytest.raises(TransitionRefused) as refused:
        write_off(state, datetime.now(UTC) + timedelta(days=10))
    assert refused.value.rule == "quiet-period" and "90 days" in refused.value.reason
    after, events = run(state, write_off(state, LATER))
    (event,) = events
    assert event.type == "written-off"
    assert isinstance(event, CaseWrittenOff)
    assert event.payload.conditions_met == ["result-recorded", "quiet-period", "funds-recovered"]
    # what it relied on, as an auditor checks it against the chain: the closing at seq 4 (after the
    # clue, its grade and the determination), the clue's date, the money the clue put at risk
    relied = event.payload.relied_on
    assert relied is not None
    assert (relied.result_type, relied.result_seq, relied.result) == ("closed", 4, "rectified")
    assert relied.last_clue_at == state.reported_at
    assert (relied.amount_at_risk_yuan, relied.police_seq, relied.no_recovery_reason) == (
        3_000_000,
        None,
        None,
    )
    assert (after.status, after.recovered_amount_yuan) == (CaseStatus.WRITTEN_OFF, 3_000_000)


def test_a_look_back_reopens_a_written_off_case_under_disposal() -> None:
    state = closed()
    state = run(state, write_off(state, LATER))[0]
    after, events = run(state, workflow.reopen(state, LEAD, reason="回头看发现门店恢复宣传。"))
    assert [e.type for e in events] == ["reopened"]
    assert (after.status, after.reopened, after.outcome) == (CaseStatus.UNDER_DISPOSAL, 1, None)
    with pytest.raises(TransitionRefused, match="state-machine"):
        workflow.reopen(after, LEAD, reason="再次")


# --- linked clues, merge and split -----------------------------------------------------------------------


def test_a_new_clue_after_write_off_reopens_the_case_and_raises_its_heat() -> None:
    state = closed()
    state = run(state, write_off(state, LATER))[0]
    newcomer = fold(None, clue())
    after, events = run(
        state,
        *workflow.link_clue(state, newcomer, Actor(kind="service", id="triage"), MatchBasis.CREDIT_CODE),
    )
    assert [e.type for e in events][:2] == ["reopened", "clue-linked"]
    assert events[0].payload.trigger == "new_clue"  # type: ignore[attr-defined]
    assert "assessed" in [e.type for e in events]  # graded again with the linked clue's heat
    assert after.clue.linked_clues == 1 and after.clue.participants == 240
    assert after.status == CaseStatus.UNDER_DISPOSAL
    assert after.linked[0].clue_case_id == newcomer.case_id


def test_merge_links_the_clue_on_the_target_and_split_gives_it_back() -> None:
    target = determined()
    source = assessed(name="华都康养服务中心二店")
    merged_decision, linked = workflow.merge(
        source, target, LEAD, reason="同一主体。", basis=MatchBasis.OFFICER
    )
    source_after, _ = run(source, merged_decision)
    target_after, events = run(target, *linked)
    assert source_after.status == CaseStatus.MERGED and source_after.merged_into == target.case_id
    assert events[0].type == "clue-linked"
    with pytest.raises(TransitionRefused, match="merge-into-open-case"):
        workflow.merge(assessed(), source_after, LEAD, reason="x", basis=MatchBasis.OFFICER)
    with pytest.raises(TransitionRefused, match="merge-other-case"):
        workflow.merge(target, target, LEAD, reason="x", basis=MatchBasis.OFFICER)

    here, reopened = workflow.split(target_after, source_after, LEAD, reason="实为另一主体。")
    target_split, _ = run(target_after, here)
    source_back, events = run(source_after, reopened)
    assert target_split.linked[0].split
    assert source_back.status == CaseStatus.UNDER_DISPOSAL and source_back.merged_into is None
    with pytest.raises(TransitionRefused, match="split-linked-clue"):
        workflow.split(target_split, source_back, LEAD, reason="again")


# --- handoff and rewards -----------------------------------------------------------------------------------


def test_a_handoff_to_another_district_moves_the_case_with_its_chain_when_accepted() -> None:
    state = determined()
    with pytest.raises(TransitionRefused, match="handoff-other-district"):
        workflow.request_handoff(
            state,
            LEAD,
            to_jurisdiction="340102L01",
            from_district=YAOHAI,
            to_district=YAOHAI,
            reason="x",
            region="local",
        )
    asked, _ = run(
        state,
        workflow.request_handoff(
            state,
            LEAD,
            to_jurisdiction=SHOUXIAN,
            from_district=YAOHAI,
            to_district=SHOUXIAN,
            reason="经营地在寿县。",
            region="local",
        ),
    )
    with pytest.raises(TransitionRefused, match="handoff-pending"):
        workflow.request_handoff(
            asked,
            LEAD,
            to_jurisdiction=SHOUXIAN,
            from_district=YAOHAI,
            to_district=SHOUXIAN,
            reason="x",
            region="local",
        )
    returned, events = run(
        asked, workflow.answer_handoff(asked, LEAD, accept=False, text="主要参与人在瑶海。")
    )
    assert (returned.jurisdiction, returned.handoff, events[0].type) == (
        LONGGANG_HUADU,
        None,
        "handoff-returned",
    )
    accepted, events = run(asked, workflow.answer_handoff(asked, LEAD, accept=True, text=None))
    assert (events[0].type, events[0].jurisdiction, events[0].prev_hash) == (
        "handoff-accepted",
        SHOUXIAN,
        asked.last_hash,
    )
    assert accepted.jurisdiction == SHOUXIAN and accepted.handoff is None
    with pytest.raises(TransitionRefused, match="handoff-pending"):
        workflow.answer_handoff(accepted, LEAD, accept=True, text=None)


def test_a_reward_needs_a_named_reporter_and_a_verified_clue_and_is_granted_once() -> None:
    with pytest.raises(TransitionRefused, match="reward-needs-reporter"):
        workflow.grant_reward(determined(reporter=False), LEAD, amount_yuan=500, basis="x", verified_in=None)
    with pytest.raises(TransitionRefused, match="reward-needs-verified-clue"):
        workflow.grant_reward(
            determined(Determination.NO_VIOLATION), LEAD, amount_yuan=500, basis="x", verified_in=None
        )
    state = determined()
    rewarded, _ = run(
        state, workflow.grant_reward(state, LEAD, amount_yuan=500, basis="线索属实。", verified_in=None)
    )
    assert rewarded.reward_granted_yuan == 500
    with pytest.raises(TransitionRefused, match="reward-once"):
        workflow.grant_reward(rewarded, LEAD, amount_yuan=500, basis="x", verified_in=None)


# --- replay ------------------------------------------------------------------------------------------------

COMMANDS = ["measure", "determine", "transfer", "accept", "return", "close", "write-off", "reopen"]


def attempt(state: CaseState, command: str) -> list[Decision]:
    if command == "measure":
        return [workflow.record_measure(state, STREET, Measure.PUBLIC_NOTICE, "张贴公告。", None)]
    if command == "determine":
        return determine(state, Determination.REGULARISE)
    if command == "transfer":
        return workflow.transfer_to_police(state, LEAD, reason="移送", summary="摘要。", district=YAOHAI)
    if command == "accept":
        return [
            workflow.accept_by_police(
                state, POLICE, police_case_number="A-9", police_jurisdiction=YAOHAI, now=LATER
            )
        ]
    if command == "return":
        return [workflow.return_by_police(state, POLICE, reason="退回。", police_jurisdiction=YAOHAI)]
    if command == "close":
        return [close(state)]
    if command == "write-off":
        return [write_off(state, LATER)]
    return [workflow.reopen(state, LEAD, reason="回头看。")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(COMMANDS), max_size=12), st.booleans())
def test_any_sequence_of_commands_replays_from_its_events_to_the_same_state(
    commands: list[str], key: bool
) -> None:
    first = clue(amount=150_000_000 if key else 3_000_000)
    state, events = run(fold(None, first))
    history = [first, *events]
    for command in commands:
        try:
            decided = attempt(state, command)
        except TransitionRefused:
            continue
        state, events = run(state, *decided)
        history += events
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert fold_all(None, history) == state
    assert react(state, RULES, REGISTRY, POLICY) is None


def test_an_officer_flags_a_key_case_with_a_leader_title_and_keeps_the_reasons_graded() -> None:
    state = determined()
    assert not state.key_case
    after, events = run(
        state,
        workflow.flag_key_case(state, LEAD, reasons=["petition_conflict"], leader="区政府主要负责同志"),
    )
    # a key case goes to the district lead office, as a graded one does
    assert [e.type for e in events] == ["key-case-flagged", "escalated"]
    assert after.key_case and after.key_case_flag is not None
    assert after.key_case_reasons == ("petition_conflict",)
    assert (after.key_case_flag.supervising_leader, after.key_case_flag.reasons) == (
        "区政府主要负责同志",
        ("petition_conflict",),
    )
    with pytest.raises(TransitionRefused, match="closed-is-final"):
        workflow.flag_key_case(closed(), LEAD, reasons=["petition_conflict"], leader="区长")
