"""Intake's rules: which clues it accepts, the event a clue becomes, and what a reporter sees."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluetrail.crypto import FieldSealer
from cluetrail.ids import new_receipt_code, receipt_digest
from contracts.api import ClueSubmission
from contracts.envelope import GENESIS_HASH, Actor, Envelope, compute_hash, uuid7
from contracts.events import (
    EVENT_CLASSES,
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseReopened,
    ClosedPayload,
    DeterminedPayload,
    ReopenedPayload,
    RewardGranted,
    RewardGrantedPayload,
    event_bytes,
    read_event,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.vocabulary import ReopenTrigger
from services.intake.domain.clues import clue_reported, jurisdiction_problems, request_digest
from services.intake.domain.receipts import STAGE_AFTER, ChainBroken, ReceiptState, follow

LONGGANG_HUADU = "340102L01001"  # 华都社区, 龙岗街道, 瑶海区
SEALER = FieldSealer({"k1": b"k" * 32}, "k1")
OFFICER = Actor(kind="officer", id="officer-1")


def elderly_care_clue(**changes: object) -> ClueSubmission:
    clue: dict[str, object] = {
        "jurisdiction": LONGGANG_HUADU,
        "source": "grid_patrol",
        "subject": {"kind": "company", "name": "华都康养服务中心（演示）"},
        "description": "以预订养老床位为名吸收老年人资金，承诺年化回报15%。",
        "sector": "elderly_care",
        "estimated_amount_yuan": 400_000,
        "participants": 45,
    }
    clue.update(changes)
    return ClueSubmission.model_validate(clue)


def reported(submission: ClueSubmission, code: str | None = None, now: datetime | None = None) -> Envelope:
    return clue_reported(
        submission,
        case_id=uuid7(),
        receipt_code=code or new_receipt_code(),
        sealer=SEALER,
        correlation_id=uuid7(),
        traceparent=None,
        now=now or datetime.now(UTC),
    )


def test_a_clue_in_a_known_community_has_no_jurisdiction_problem() -> None:
    clue = elderly_care_clue(regions_involved=["340102", "640302"])
    assert jurisdiction_problems(clue, default_registry()) == []


def test_unknown_jurisdictions_are_named_by_field() -> None:
    clue = elderly_care_clue(jurisdiction="999999", regions_involved=["340102", "888888"])
    problems = jurisdiction_problems(clue, default_registry())
    assert [(p.field, p.reason) for p in problems] == [
        ("jurisdiction", "unknown jurisdiction code 999999"),
        ("regions_involved.1", "unknown jurisdiction code 888888"),
    ]


def test_the_request_digest_ignores_json_layout_but_not_content() -> None:
    clue = elderly_care_clue()
    same = ClueSubmission.model_validate_json(json.dumps(json.loads(clue.model_dump_json()), indent=2))
    assert request_digest(same) == request_digest(clue)
    assert request_digest(elderly_care_clue(participants=46)) != request_digest(clue)


def test_an_anonymous_clue_becomes_seq_1_of_a_new_case() -> None:
    code = new_receipt_code()
    event = reported(elderly_care_clue(), code)
    assert (event.type, event.seq, event.prev_hash) == ("clue-reported", 1, GENESIS_HASH)
    assert event.hash == compute_hash(event.model_dump(mode="json"))
    assert event.actor == Actor(kind="reporter", id="anonymous")
    assert event.jurisdiction == LONGGANG_HUADU
    payload = event.payload  # type: ignore[attr-defined]
    assert payload.reporter is None
    assert payload.receipt_digest == receipt_digest(code)
    assert code not in event_bytes(event).decode()


def test_a_named_reporter_travels_sealed_to_the_case() -> None:
    clue = elderly_care_clue(reporter={"name": "举报人甲", "phone": "138 0000 0000"})
    event = reported(clue)
    assert event.actor.id == "named-reporter"
    assert "举报人甲" not in event_bytes(event).decode()
    sealed = event.payload.reporter  # type: ignore[attr-defined]
    assert SEALER.open(sealed, str(event.case_id)) == {"name": "举报人甲", "phone": "138 0000 0000"}


def test_the_clue_occurred_when_the_reporter_saw_it() -> None:
    seen = datetime(2026, 11, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    now = datetime(2026, 11, 2, tzinfo=UTC)
    assert reported(elderly_care_clue(observed_at=seen.isoformat()), now=now).occurred_at == seen
    assert reported(elderly_care_clue(), now=now).occurred_at == now


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
        ),
    ),
    st.booleans(),
)
def test_a_stored_event_republishes_as_the_very_same_bytes(observed_at: datetime, named: bool) -> None:
    clue = elderly_care_clue(
        observed_at=observed_at.isoformat(), reporter={"name": "举报人乙"} if named else None
    )
    stored = event_bytes(reported(clue))
    assert event_bytes(read_event(stored)) == stored


def next_event(cls: type[Envelope], before: Envelope, payload: object) -> Envelope:
    return seal_event(
        cls,
        case_id=before.case_id,
        seq=before.seq + 1,
        prev_hash=before.hash,
        jurisdiction=before.jurisdiction,
        actor=OFFICER,
        payload=payload,  # type: ignore[arg-type]
        correlation_id=before.correlation_id,
    )


def case_history() -> list[Envelope]:
    first = reported(elderly_care_clue())
    assessed = next_event(
        CaseAssessed,
        first,
        AssessedPayload(
            grade="general",
            score=30,
            factors=[],
            rule_set="test-1",
            key_case=False,
            participants=45,
            estimated_amount_yuan=400_000,
        ),
    )
    determined = next_event(
        CaseDetermined,
        assessed,
        DeterminedPayload(determination="general_violation", basis="现场核查属一般违规。"),
    )
    closed = next_event(CaseClosed, determined, ClosedPayload(outcome="rectified", summary="已整改。"))
    return [first, assessed, determined, closed]


def test_a_reporter_sees_received_under_review_in_handling_closed() -> None:
    state: ReceiptState | None = None
    stages = []
    for event in case_history():
        state = follow(state, event)
        assert state is not None
        stages.append(state.stage)
    assert stages == ["received", "under_review", "in_handling", "closed"]


def test_an_identical_repeat_is_skipped() -> None:
    first, assessed, *_ = case_history()
    state = follow(follow(None, first), assessed)
    assert follow(state, assessed) is None


def test_a_late_copy_of_an_earlier_event_is_skipped() -> None:
    """An intake retry with the same Idempotency-Key puts seq 1 in the log again after triage wrote more;
    a triage relay that lost its published marks sends seq 2 again after seq 3."""
    first, assessed, determined, _ = case_history()
    state = follow(follow(follow(None, first), assessed), determined)
    assert state is not None and state.hashes == (first.hash, assessed.hash, determined.hash)
    assert follow(state, first) is None
    assert follow(state, assessed) is None


def test_an_event_that_breaks_the_chain_is_refused() -> None:
    first, assessed, determined, _ = case_history()
    state = follow(None, first)
    with pytest.raises(ChainBroken, match=r"events 2\.\.2 are missing"):
        follow(state, determined)
    with pytest.raises(ChainBroken, match="seq 1 was already recorded with a different hash"):
        follow(follow(state, assessed), first.model_copy(update={"hash": "f" * 64}))
    forged = assessed.model_copy(update={"prev_hash": "f" * 64})
    with pytest.raises(ChainBroken, match="prev_hash"):
        follow(state, forged)


def test_a_case_must_start_with_its_clue() -> None:
    _, assessed, *_ = case_history()
    orphan = assessed.model_copy(update={"seq": 1, "prev_hash": GENESIS_HASH, "case_id": uuid.uuid4()})
    with pytest.raises(ChainBroken, match="not clue-reported"):
        follow(None, orphan)


def test_every_case_event_type_moves_a_receipt_and_a_reward_shows_after_closing() -> None:
    # Reward, classification and identity readings leave the reporter's stage where it is.
    assert set(STAGE_AFTER) | {"reward-granted", "reclassified", "reporter-identity-viewed"} == set(
        EVENT_CLASSES
    )
    first, assessed, determined, closed = case_history()
    state = None
    for event in (first, assessed, determined, closed):
        state = follow(state, event)
    rewarded = next_event(RewardGranted, closed, RewardGrantedPayload(amount_yuan=2000, basis="线索属实。"))
    after = follow(state, rewarded)
    assert after is not None
    assert (after.stage, after.reward_granted) == ("closed", True)
    reopened = next_event(
        CaseReopened, rewarded, ReopenedPayload(reason="回头看发现复燃。", trigger=ReopenTrigger.LOOK_BACK)
    )
    again = follow(after, reopened)
    assert again is not None
    assert (again.stage, again.reward_granted) == ("in_handling", True)


def steps_through(events: list[Envelope]) -> list[str]:
    from services.intake.domain.receipts import step_of

    state: ReceiptState | None = None
    shown = []
    for event in events:
        step = step_of(state, event)
        if step is not None:
            shown.append(f"{step.stage}:{step.label}")
        state = follow(state, event)
    return shown


def test_the_reporter_sees_each_step_with_its_day_and_nothing_of_the_work_between() -> None:
    from contracts.events import (
        AssessedPayload as Graded,
    )
    from contracts.events import CaseEscalated, EscalatedPayload
    from contracts.vocabulary import EscalationTarget
    from services.intake.domain.receipts import step_of

    first, assessed, determined, closed = case_history()
    graded = Graded(
        grade="serious",
        score=50,
        factors=[],
        rule_set="t",
        key_case=False,
        participants=45,
        estimated_amount_yuan=400_000,
    )
    regraded = next_event(CaseAssessed, determined, graded)
    upward = next_event(
        CaseEscalated,
        regraded,
        EscalatedPayload(target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason="上报"),
    )
    police = next_event(
        CaseEscalated,
        upward,
        EscalatedPayload(target=EscalationTarget.POLICE, target_jurisdiction="340102", reason="移送"),
    )
    closed = next_event(
        CaseClosed, police, ClosedPayload(outcome="transferred_to_police", summary="已移送。")
    )
    rewarded = next_event(RewardGranted, closed, RewardGrantedPayload(amount_yuan=2000, basis="线索属实。"))
    assert steps_through([first, assessed, determined, regraded, upward, police, closed, rewarded]) == [
        "received:线索已受理",
        "under_review:线索核查中",  # graded again: still under verification, shown once
        "transferred:已移送公安机关依法处理",  # an escalation to the lead office is the offices' business
        "closed:已办结",
        "reward_granted:举报奖励已发放",
    ]
    # The day is the day in China: 23:30 UTC on 1 March is 2 March in Beijing.
    late = first.model_copy(update={"occurred_at": datetime(2026, 3, 1, 23, 30, tzinfo=UTC)})
    step = step_of(None, late)
    assert step is not None and step.on.isoformat() == "2026-03-02"


def test_a_merged_clue_is_merged_not_closed_and_follows_its_own_case_again_when_split_back() -> None:
    from contracts.events import CaseMerged, MergedPayload
    from contracts.vocabulary import MatchBasis

    first, assessed, *_ = case_history()
    into = uuid.uuid4()
    merged = next_event(
        CaseMerged,
        assessed,
        MergedPayload(into_case_id=into, reason="同一主体。", basis=MatchBasis.CREDIT_CODE),
    )
    state = follow(follow(follow(None, first), assessed), merged)
    assert state is not None and (state.stage, state.merged_into) == ("merged", into)
    assert steps_through([first, assessed, merged])[-1] == "merged:已并入其他案件一并办理"
    back = next_event(
        CaseReopened, merged, ReopenedPayload(reason="分案：主体不同。", trigger=ReopenTrigger.LOOK_BACK)
    )
    again = follow(state, back)
    assert again is not None and (again.stage, again.merged_into) == ("in_handling", None)


def test_after_a_reopening_the_status_and_the_history_agree() -> None:
    """Reopened and graded again, a case showed 线索核查中 (under review) while its history ended with
    已重新核查处理 (reopened, in handling): the status and the steps were decided by two tables."""
    from contracts.events import MeasureRecorded, MeasureRecordedPayload
    from services.intake.domain.receipts import STATUS_OF_STEP, step_of

    first, assessed, determined, closed = case_history()
    reopened = next_event(
        CaseReopened, closed, ReopenedPayload(reason="回头看发现复燃。", trigger=ReopenTrigger.LOOK_BACK)
    )
    graded = AssessedPayload(
        grade="serious",
        score=55,
        factors=[],
        rule_set="test-1",
        key_case=False,
        participants=45,
        estimated_amount_yuan=400_000,
    )
    regraded = next_event(CaseAssessed, reopened, graded)
    closed_again = next_event(CaseClosed, regraded, ClosedPayload(outcome="rectified", summary="再次整改。"))
    late_measure = next_event(
        MeasureRecorded,
        closed_again,
        MeasureRecordedPayload(measure="warning_interview", detail="回访约谈。"),
    )
    state: ReceiptState | None = None
    shown: list[str] = []
    statuses: list[str] = []
    for event in (first, assessed, determined, closed, reopened, regraded, closed_again, late_measure):
        step = step_of(state, event)
        state = follow(state, event)
        assert state is not None
        if step is not None:
            shown.append(step.stage)
        statuses.append(state.stage)
        said = STATUS_OF_STEP[shown[-1]]  # type: ignore[index]
        # The status is what the last step says, or further along the work without a step of its own.
        assert state.stage == said or (said, state.stage) == ("under_review", "in_handling"), statuses
    assert shown == ["received", "under_review", "closed", "in_handling", "closed"]
    assert statuses[-4:] == ["in_handling", "in_handling", "closed", "closed"]
