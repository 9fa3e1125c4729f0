"""Handoffs between regions in reporting, as pure functions: the fold keeps the handoff waiting for its
answer and the last one accepted between regions; each region reads them from its own side (offered or
handed, out or in); a returned handoff, a closing and a handoff back move that reading; the cross-province
register lists a case by where it stands with every province its handoffs touched; and who may read it.

The regions are the two-region deployment of deploy/regions/anhui-ningxia.json: 安徽 (anhui, with 山东)
and 宁夏 (ningxia). A case's events carry the regions triage recorded for each end of a handoff, the
region serving that place (contracts.regions), as the events built here do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluetrail.auth import AccessPolicy, Principal, Role
from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    CaseClosed,
    CaseReopened,
    ClosedPayload,
    ClueReported,
    ClueReportedPayload,
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    HandoffReturned,
    HandoffReturnedPayload,
    MeasureRecorded,
    MeasureRecordedPayload,
    ReopenedPayload,
    Subject,
    event_bytes,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.regions import RegionError, RegionRegistry
from contracts.vocabulary import RegionHandoff
from services.reporting.domain.handoffs import Handoff, Regions, region_handoff
from services.reporting.domain.ledger import LedgerState, fold
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import readable
from services.reporting.domain.tables import CaseRecord, Fact, cross_province_register, ledger_table
from services.reporting.domain.tables.cross_province import province_of

ROOT = Path(__file__).resolve().parents[2]
TREE = default_registry()
TWO = RegionRegistry.load(ROOT / "deploy" / "regions" / "anhui-ningxia.json", TREE)
ANHUI, NINGXIA = Regions.load("anhui", TWO), Regions.load("ningxia", TWO)
HUADU, SHICHENG = "340102L01001", "340102L01002"  # 华都社区, 史城社区 (合肥市瑶海区龙岗街道)
SHUANGQIAO = "340422L01"  # 双桥镇, 寿县 (安徽)
MENGSHUI = "3703WCL01"  # 萌水镇, 淄博文昌湖区 (山东, served by the anhui region)
SHENGLI, JINJI = "640302L01", "640302L02"  # 胜利镇, 金积镇 (吴忠市利通区, 宁夏)
LITONG = "640302"
PLACES = [HUADU, SHICHENG, SHUANGQIAO, MENGSHUI, SHENGLI, JINJI]
OFFICER = Actor(kind="officer", id="lead-01", role="district_lead_officer")
NOVEMBER = Period(2026, 11)
START = datetime(2026, 11, 2, 10, tzinfo=CST)


class Case:
    """One case's chain, sealed event by event as its writers (triage of either region) seal them; the
    place it stands, the handoff waiting for an answer and whether it is closed, as triage keeps them."""

    def __init__(self, place: str = HUADU) -> None:
        self.place = place
        self.pending: tuple[str, str] | None = None
        self.closed = False
        self.events: list[Envelope] = []
        self._seal(ClueReported, self._clue(), place)

    def _clue(self) -> ClueReportedPayload:
        return ClueReportedPayload(
            source="grid_patrol",
            subject=Subject(kind="company", name="跨区康养（演示）"),
            description="以康养项目为名吸收资金，参与人分布在两地。",
            sector="elderly_care",
            estimated_amount_yuan=3_000_000,
            participants=80,
            receipt_digest="c" * 64,
        )

    def _seal(self, cls: type[Envelope], payload: Any, jurisdiction: str) -> Envelope:
        last = self.events[-1] if self.events else None
        event = seal_event(
            cls,
            case_id=last.case_id if last else uuid7(),
            seq=len(self.events) + 1,
            prev_hash=last.hash if last else GENESIS_HASH,
            jurisdiction=jurisdiction,
            actor=OFFICER,
            correlation_id=uuid7(),
            payload=payload,
            occurred_at=START + timedelta(hours=len(self.events)),
        )
        self.events.append(event)
        return event

    def ends(self, to: str) -> dict[str, Any]:
        return {
            "from_jurisdiction": self.place,
            "to_jurisdiction": to,
            "from_region": TWO.region_of(self.place),
            "to_region": TWO.region_of(to),
        }

    def offer(self, to: str) -> Case:
        payload = HandoffRequestedPayload(**self.ends(to), reason="参与人主要在对方辖区。")
        self._seal(HandoffRequested, payload, self.place)
        self.pending = (self.place, to)
        return self

    def accept(self) -> Case:
        assert self.pending is not None
        to = self.pending[1]
        self._seal(HandoffAccepted, HandoffAcceptedPayload(**self.ends(to)), to)
        self.place, self.pending = to, None
        return self

    def give_back(self) -> Case:
        assert self.pending is not None
        payload = HandoffReturnedPayload(**self.ends(self.pending[1]), reason="经核查不属本辖区。")
        self._seal(HandoffReturned, payload, self.place)
        self.pending = None
        return self

    def close(self) -> Case:
        self._seal(CaseClosed, ClosedPayload(outcome="rectified", summary="已整改。"), self.place)
        self.closed, self.pending = True, None
        return self

    def reopen(self) -> Case:
        self._seal(CaseReopened, ReopenedPayload(reason="回头看。", trigger="look_back"), self.place)
        self.closed = False
        return self

    def measure(self) -> Case:
        payload = MeasureRecordedPayload(measure="warning_interview", detail="约谈负责人。")
        self._seal(MeasureRecorded, payload, self.place)
        return self

    def state(self) -> LedgerState:
        state = None
        for event in self.events:
            state = fold(state, event)
        assert state is not None
        return state

    def record(self) -> CaseRecord:
        """The case as the tables read it: its facts, payloads as written."""
        facts = tuple(
            Fact(e.type, e.occurred_at, e.jurisdiction, json.loads(event_bytes(e))["payload"])
            for e in self.events
        )
        return CaseRecord({"case_id": self.events[0].case_id}, facts)


def seen(regions: Regions, state: LedgerState) -> tuple[RegionHandoff, str, str] | None:
    view = region_handoff(regions.here, state.handoff_pending, state.handoff_across_regions)
    return None if view is None else (view.state, view.peer_region, view.peer_jurisdiction)


def test_a_case_handed_to_ningxia_reads_handed_out_in_anhui_and_handed_in_in_ningxia() -> None:
    case = Case(HUADU).measure().offer(SHENGLI)
    offered = case.state()
    assert offered.jurisdiction == HUADU  # it stays until the answer
    assert seen(ANHUI, offered) == (RegionHandoff.OFFERED_OUT, "ningxia", SHENGLI)
    assert seen(NINGXIA, offered) == (RegionHandoff.OFFERED_IN, "anhui", HUADU)

    taken = case.accept().measure().state()
    assert taken.jurisdiction == SHENGLI and taken.held_by == (HUADU, SHENGLI)
    assert seen(ANHUI, taken) == (RegionHandoff.HANDED_OUT, "ningxia", SHENGLI)
    assert seen(NINGXIA, taken) == (RegionHandoff.HANDED_IN, "anhui", HUADU)
    across = taken.handoff_across_regions
    assert across is not None and across.at == case.events[3].occurred_at

    columns = ANHUI.columns({"handoff_pending": None, "handoff_across_regions": across.as_json()})
    assert columns == {
        "region_handoff": "handed_out",
        "region_handoff_label": "已移出",
        "peer_region": "ningxia",
        "peer_region_name": "宁夏回族自治区",
        "peer_jurisdiction": SHENGLI,
        "region_handoff_at": case.events[3].occurred_at,
    }
    assert NINGXIA.columns({"handoff_across_regions": across.as_json()})["region_handoff_label"] == "已移入"


def test_a_returned_handoff_and_a_handoff_back_move_the_reading() -> None:
    case = Case(HUADU).offer(SHENGLI).give_back()
    returned = case.state()
    assert returned.jurisdiction == HUADU and returned.handoff_pending is None
    assert seen(ANHUI, returned) is None and seen(NINGXIA, returned) is None

    case.offer(SHENGLI).accept().offer(SHICHENG)  # 宁夏 offers it back to 瑶海区
    assert seen(ANHUI, case.state()) == (RegionHandoff.OFFERED_IN, "ningxia", SHENGLI)
    assert seen(NINGXIA, case.state()) == (RegionHandoff.OFFERED_OUT, "anhui", SHICHENG)
    case.give_back()  # 瑶海区 declines: it reads as handed over again
    assert seen(ANHUI, case.state()) == (RegionHandoff.HANDED_OUT, "ningxia", SHENGLI)
    case.offer(SHICHENG).accept()
    back = case.state()
    assert back.jurisdiction == SHICHENG
    assert seen(ANHUI, back) == (RegionHandoff.HANDED_IN, "ningxia", SHENGLI)
    assert seen(NINGXIA, back) == (RegionHandoff.HANDED_OUT, "anhui", SHICHENG)


def test_a_handoff_within_a_region_is_no_region_handoff_and_an_offer_lapses_with_a_closing() -> None:
    within = Case(HUADU).offer(MENGSHUI).accept().state()  # 安徽 → 山东: both served by anhui
    assert within.handoff_across_regions is None and seen(ANHUI, within) is None
    lapsed = Case(HUADU).offer(SHENGLI).close().state()
    assert lapsed.handoff_pending is None and seen(ANHUI, lapsed) is None
    # An event written before regions were recorded names none: taken as within one region.
    old = Handoff(HUADU, SHENGLI, None, None, START)
    assert not old.across_regions and region_handoff("anhui", None, old) is None


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["offer", "accept", "return", "close", "reopen", "measure"]), st.sampled_from(PLACES)
    ),
    max_size=25,
)


class Step(NamedTuple):
    """The case after one action: the action, where triage has it then, and the ledger row folded."""

    action: str
    place: str
    state: LedgerState


def play(actions: list[tuple[str, str]], start: str) -> tuple[Case, list[Step]]:
    """The case after every action triage would allow (others are left out), and the case at the end."""
    case = Case(start)
    state = case.state()
    steps = [Step("clue", case.place, state)]
    for action, place in actions:
        if action == "offer" and case.pending is None and not case.closed and place != case.place:
            case.offer(place)
        elif action == "accept" and case.pending is not None:
            case.accept()
        elif action == "return" and case.pending is not None:
            case.give_back()
        elif action == "close" and not case.closed:
            case.close()
        elif action == "reopen" and case.closed:
            case.reopen()
        elif action == "measure":
            case.measure()
        else:
            continue
        state = fold(state, case.events[-1])
        steps.append(Step(action, case.place, state))
    return case, steps


MIRROR = {
    RegionHandoff.OFFERED_OUT: RegionHandoff.OFFERED_IN,
    RegionHandoff.OFFERED_IN: RegionHandoff.OFFERED_OUT,
    RegionHandoff.HANDED_OUT: RegionHandoff.HANDED_IN,
    RegionHandoff.HANDED_IN: RegionHandoff.HANDED_OUT,
}


@settings(max_examples=150, deadline=None)
@given(ACTIONS, st.sampled_from(PLACES))
def test_both_regions_read_every_history_as_mirror_images_of_where_the_case_stands(
    actions: list[tuple[str, str]], start: str
) -> None:
    case, steps = play(actions, start)
    for _, place, state in steps:
        here = TWO.region_of(state.jurisdiction)
        assert state.jurisdiction == place
        a, n = seen(ANHUI, state), seen(NINGXIA, state)
        # Two regions: a handoff between them is read by both, each from its own side.
        assert (a is None) == (n is None)
        if a is None or n is None:
            continue
        assert MIRROR[a[0]] == n[0] and (a[1], n[1]) == ("ningxia", "anhui")
        for region, (reading, _, _) in (("anhui", a), ("ningxia", n)):
            # An offer leaves the case where it is; a handoff moves it: the reading says where it stands.
            stands_here = reading in (RegionHandoff.OFFERED_OUT, RegionHandoff.HANDED_IN)
            assert (here == region) == stands_here, (region, reading, state.jurisdiction)
        accepted = [e for e in case.events[: state.last_seq] if isinstance(e, HandoffAccepted)]
        assert set(state.held_by) >= {
            p for e in accepted for p in (e.payload.from_jurisdiction, e.payload.to_jurisdiction)
        }


@settings(max_examples=150, deadline=None)
@given(ACTIONS, st.sampled_from(PLACES))
def test_a_returned_or_lapsed_offer_reads_as_before_it(actions: list[tuple[str, str]], start: str) -> None:
    _, steps = play(actions, start)
    before_offer: dict[str, Any] = {}
    previous = None
    for action, _, state in steps:
        readings = (seen(ANHUI, state), seen(NINGXIA, state))
        if action == "offer":
            assert before_offer == {}
            before_offer = {"readings": previous}
        elif action in ("return", "close") and before_offer:
            assert readings == before_offer["readings"]
        if action in ("accept", "return", "close"):
            before_offer = {}
        previous = readings


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(PLACES),
    st.sampled_from(PLACES),
    st.none() | st.sampled_from(TWO.aliases),
    st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.just(CST)),
)
def test_a_handoff_survives_its_ledger_column(a: str, b: str, region: str | None, at: datetime) -> None:
    handoff = Handoff(a, b, region, TWO.region_of(b), at)
    assert Handoff.from_json(json.loads(json.dumps(handoff.as_json()))) == handoff


def register(case: Case, root: str) -> list[dict[str, Any]]:
    return cross_province_register([case.record()], TREE, root, NOVEMBER).rows


def test_the_register_lists_a_handed_case_where_it_stands_with_the_provinces_it_crossed() -> None:
    case = Case(HUADU).offer(SHENGLI)
    (offered,) = register(case, "340102")
    assert offered["provinces"] == "宁夏回族自治区"
    assert offered["handoff"] == "2026-11-02提请移交宁夏回族自治区吴忠市利通区胜利镇，待接收"
    assert register(case, LITONG) == []

    case.accept()
    assert register(case, "340102") == []  # registered where it is handled now
    (taken,) = register(case, LITONG)
    assert (taken["jurisdiction"], taken["provinces"], taken["progress"]) == (SHENGLI, "安徽省", "在办")
    assert (
        taken["handoff"]
        == "2026-11-02由安徽省合肥市瑶海区龙岗街道华都社区移交宁夏回族自治区吴忠市利通区胜利镇"
    )

    declined = Case(SHICHENG).offer(JINJI).give_back()
    assert register(declined, "340102") == [] and register(declined, LITONG) == []
    # Between two provinces of one region it is a cross-province case all the same.
    shandong = Case(HUADU).offer(MENGSHUI).accept()
    (row,) = register(shandong, "3703WC")
    assert (row["provinces"], row["handoff"][10:]) == (
        "安徽省",
        "由安徽省合肥市瑶海区龙岗街道华都社区移交山东省淄博市文昌湖区萌水镇",
    )
    # A handoff within a province is no cross-province handoff: the row of a case pending to 山东 says so.
    (pending,) = register(Case(HUADU).offer(SHICHENG).accept().offer(MENGSHUI), "340102")
    assert pending["handoff"].endswith("提请移交山东省淄博市文昌湖区萌水镇，待接收")


@settings(max_examples=100, deadline=None)
@given(ACTIONS, st.sampled_from(PLACES))
def test_a_case_held_in_two_provinces_is_in_the_register_of_the_place_it_stands(
    actions: list[tuple[str, str]], start: str
) -> None:
    case, steps = play(actions, start)
    state = steps[-1].state
    held = {province_of(TREE, p) for p in state.held_by}
    if case.pending is not None:
        held.add(province_of(TREE, case.pending[1]))
    province = province_of(TREE, state.jurisdiction)
    rows = register(case, province)
    assert len(rows) == (1 if held - {province} else 0)
    if rows:
        names = {TREE.get(p).name for p in held - {province}}
        assert set(rows[0]["provinces"].split("、")) == names
    for other in {"340000", "370000", "640000"} - {province}:
        assert register(case, other) == []


def principal(role: str, jurisdiction: str) -> Principal:
    return Principal(subject="officer", role=Role(role), jurisdiction=jurisdiction)


def row_of(state: LedgerState) -> dict[str, object]:
    """The ledger row as reads.py gives it: lists and handoffs decoded from their JSON columns."""
    pending, across = state.handoff_pending, state.handoff_across_regions
    return {
        "jurisdiction": state.jurisdiction,
        "transferred_to_police": state.transferred_to_police,
        "held_by": list(state.held_by),
        "handoff_pending": pending.as_json() if pending is not None else None,
        "handoff_across_regions": across.as_json() if across is not None else None,
    }


def test_who_reads_a_case_handed_between_regions() -> None:
    policy = AccessPolicy(TREE)
    lead_litong, town_shengli = (
        principal("district_lead_officer", LITONG),
        principal("street_officer", SHENGLI),
    )
    town_jinji, lead_yaohai = principal("street_officer", JINJI), principal("district_lead_officer", "340102")
    auditor, police = principal("auditor", "340000"), principal("police", LITONG)
    case = Case(HUADU).offer(SHENGLI)
    offered = row_of(case.state())
    # The office asked to take it over reads it; its offices below do once it is theirs.
    assert [readable(policy, who, offered) for who in (lead_litong, town_shengli, lead_yaohai)] == [
        True,
        False,
        True,
    ]
    taken = row_of(case.accept().state())
    assert [readable(policy, who, taken) for who in (lead_litong, town_shengli, town_jinji)] == [
        True,
        True,
        False,
    ]
    # 瑶海区 keeps the trail of what it handed out; the police read only what was transferred to them.
    assert [readable(policy, who, taken) for who in (lead_yaohai, auditor, police)] == [True, True, False]
    declined = row_of(Case(SHICHENG).offer(JINJI).give_back().state())
    assert [readable(policy, who, declined) for who in (lead_litong, lead_yaohai)] == [False, True]


def test_the_ledger_table_shows_the_handoff_in_chinese_from_this_regions_side() -> None:
    state = Case(HUADU).offer(SHENGLI).accept().state()
    row = {**row_of(state), "case_id": state.case_id, "status": "reported", "source": "grid_patrol"}
    (anhui,) = ledger_table("ledger", [row], TREE, ANHUI).rows
    (ningxia,) = ledger_table("ledger", [row], TREE, NINGXIA).rows
    assert (anhui["region_handoff_label"], anhui["peer_region_name"], anhui["peer_jurisdiction_name"]) == (
        "已移出", "宁夏回族自治区", "宁夏回族自治区吴忠市利通区胜利镇",
    )  # fmt: skip
    assert (ningxia["region_handoff_label"], ningxia["peer_jurisdiction_name"]) == (
        "已移入", "安徽省合肥市瑶海区龙岗街道华都社区",
    )  # fmt: skip
    across = state.handoff_across_regions
    assert across is not None and anhui["region_handoff_at"] == across.at.isoformat()
    (single,) = ledger_table("ledger", [row], TREE).rows  # one region: nothing crosses regions
    assert single["region_handoff_label"] is None


def test_a_region_the_regions_file_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(RegionError, match="unknown region shanghai"):
        Regions.load("shanghai", TWO)
    assert ANHUI.name("gansu") == "gansu"  # a region an old event names, unknown here: shown as named
