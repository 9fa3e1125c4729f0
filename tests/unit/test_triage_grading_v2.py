"""Grading under triage-rules/2026.2 with district rule files; expected points computed by hand from the
table in services/triage/domain/grading.py and the files in services/triage/districts/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import RuleOverride
from contracts.jurisdictions import default_registry
from contracts.vocabulary import Grade, RiskFlag
from services.triage.adapters.rules import BUNDLED, assemble, bundled_rule_set
from services.triage.domain.grading import (
    RuleSet,
    RuleSetError,
    assess,
    at_least,
    grade_for,
    load_district_rules,
    load_rule_set,
)
from services.triage.domain.state import ClueFacts

RULES = bundled_rule_set()
REGISTRY = default_registry()
DADIAN = "340102L01003"  # 瑶海区龙岗街道大店社区


def grade(clue: ClueFacts, where: str = DADIAN, rules: RuleSet = RULES) -> Any:
    return assess(clue, rules, jurisdiction=where, registry=REGISTRY)


def points(payload: Any, name: str) -> int:
    return next(f.points for f in payload.factors if f.name == name)


ELDERLY = ClueFacts(
    sector="elderly_care",
    participants=120,
    estimated_amount_yuan=3_000_000,
    flags=(RiskFlag.VULNERABLE_TARGETS,),
    description="以预订养老床位为名吸收老年人资金。",
)

# (clue, jurisdiction, score, grade, key case, department, routing table), by hand:
HAND = {
    # 120 → 20; 3,000,000 → 20; vulnerable 10; elderly_care 10 = 60 → serious; seed 001's default table.
    "elderly care in 龙岗": (ELDERLY, DADIAN, 60, Grade.SERIOUS, False, "社会事务中心", "default"),
    # The same clue in 枣庄高新区: same points, the zone's own table (seed 001 wording).
    "elderly care in 兴仁街道": (
        ELDERLY,
        "3704GXL01",
        60,
        Grade.SERIOUS,
        False,
        "社会事务综合服务中心",
        "3704GX",
    ),
    # 利通区: participants ≥50 → 20 under its own bands (default bands give 10 for 60 people); agriculture
    # weighs 10 there (5 by default); 400,000 → 10. 20 + 10 + 10 = 40 → serious; 区农业农村局.
    "custody in 金积镇": (
        ClueFacts(participants=60, estimated_amount_yuan=400_000, description="以牛羊托管为名向村民集资。"),
        "640302L02",
        40,
        Grade.SERIOUS,
        False,
        "区农业农村局",
        "640302",
    ),
    # Stability risk alone: 20 → general by points, but a key case is at least serious.
    "stability risk only": (
        ClueFacts(sector="commerce_services", flags=(RiskFlag.STABILITY_RISK,)),
        DADIAN,
        20,
        Grade.SERIOUS,
        True,
        "招商局",
        "default",
    ),
    # 150,000,000 → 50; 1500 → 40; virtual_currency 10 = 100 → major, key case (亿元以上).
    "virtual currency, 1.5 yi": (
        ClueFacts(sector="virtual_currency", participants=1500, estimated_amount_yuan=150_000_000),
        DADIAN,
        100,
        Grade.MAJOR,
        True,
        "财政金融局、人民银行",
        "default",
    ),
    # No sector and nothing the phrases know: lead office, 0 points.
    "unknown sector": (
        ClueFacts(description="情况不明。"),
        DADIAN,
        0,
        Grade.LOW,
        False,
        "区处非办（财政金融局）",
        "default",
    ),
}


@pytest.mark.parametrize("name", list(HAND))
def test_hand_computed_grades(name: str) -> None:
    clue, where, score, expected, key_case, department, table = HAND[name]
    payload = grade(clue, where)
    assert (payload.score, payload.grade, payload.key_case) == (score, expected, key_case)
    assert (payload.responsible_department, payload.routing_table) == (department, table)
    assert payload.score == sum(f.points for f in payload.factors)
    assert payload.rule_set == "triage-rules/2026.2"


def test_the_text_classifies_a_clue_without_a_sector_and_the_reporter_wins_otherwise() -> None:
    text = "以牛羊托管为名向村民集资，承诺每头每年分红15%。"
    suggested = grade(ClueFacts(description=text))
    assert (suggested.sector, suggested.sector_source) == ("agriculture", "suggested")
    assert points(suggested, "sector") == 5
    assert {"牛羊托管"} <= set(suggested.suggestions[0].phrases)
    given_sector = grade(ClueFacts(description=text, sector="wealth_management"))
    assert (given_sector.sector, given_sector.sector_source) == ("wealth_management", "reporter")
    assert given_sector.suggestions == suggested.suggestions  # still shown, for the officer


def test_regions_inside_the_district_are_not_cross_region() -> None:
    inside = grade(ClueFacts(regions_involved=("340102L01005", "340102")))
    assert (points(inside, "regions_involved"), inside.key_case) == (0, False)
    outside = grade(ClueFacts(regions_involved=("340102L01005", "640302", "3704GX")))
    assert (points(outside, "regions_involved"), outside.key_case_reasons) == (10, ["cross_region"])


def test_behaviours_imply_flags_in_2026_2_but_not_in_2026_1() -> None:
    clue = ClueFacts(behaviours=("targeting_vulnerable", "promised_high_returns"))
    assert grade(clue).score == 10 + 5
    assert grade(clue, rules=bundled_rule_set("triage-rules/2026.1")).score == 0


def test_linked_clues_raise_the_heat_up_to_a_cap() -> None:
    assert points(grade(ClueFacts(linked_clues=2)), "linked_clues") == 10
    assert points(grade(ClueFacts(linked_clues=9)), "linked_clues") == 15


def test_the_event_records_the_district_file_and_each_override() -> None:
    payload = grade(HAND["custody in 金积镇"][0], "640302L02")
    assert (payload.district, payload.district_rules) == ("640302", "640302/2026.1")
    paths = [o.path for o in payload.overrides]
    assert "participants_points" in paths and "sector_points.agriculture" in paths
    assert "departments.agriculture" in paths
    plain = grade(ELDERLY)
    assert (plain.district, plain.district_rules, plain.overrides) == ("340102", None, [])


def rebuild(base: RuleSet, payload: Any) -> RuleSet:
    """What an auditor does: the base rule set with the event's recorded overrides applied."""
    data = base.model_dump(mode="json", exclude={"classification", "districts"})
    for override in payload.overrides:
        head, _, tail = override.path.partition(".")
        if head in ("phrases", "phrases_removed"):
            continue  # classification, not grading: the event records the suggestions it led to
        if tail:
            data[head] = {**data[head], tail: override.value}
        else:
            data[head] = override.value
    return load_rule_set(json.dumps(data))


clues = st.builds(
    ClueFacts,
    sector=st.none() | st.sampled_from(["elderly_care", "agriculture", "virtual_currency", "education"]),
    participants=st.none() | st.integers(0, 5000),
    estimated_amount_yuan=st.none() | st.integers(0, 300_000_000),
    flags=st.lists(st.sampled_from(RiskFlag), unique=True, max_size=3).map(tuple),
    regions_involved=st.lists(
        st.sampled_from(["640302", "340102L01005", "3704GX", "340422"]), max_size=3
    ).map(tuple),
    description=st.sampled_from(["", "养老床位", "牛羊托管，滩羊", "数字藏品", "情况不明"]),
    behaviours=st.lists(st.sampled_from(["targeting_vulnerable", "consumption_rebate"]), max_size=2).map(
        tuple
    ),
    linked_clues=st.integers(0, 5),
)


@settings(max_examples=200, deadline=None)
@given(clues, st.sampled_from(["340102L01003001", "3704GXL02", "640302L05", "3703WCL01", "340422L01"]))
def test_an_auditor_recomputes_every_grade_from_the_event(clue: ClueFacts, where: str) -> None:
    payload = grade(clue, where)
    rules = rebuild(RULES, payload)
    assert payload.score == sum(f.points for f in payload.factors)
    floor = rules.key_case_min_grade if payload.key_case else None
    assert payload.grade == at_least(grade_for(payload.score, rules), floor)
    in_force, _ = RULES.for_district(payload.district)
    assert rules.model_dump(exclude={"classification", "districts"}) == in_force.model_dump(
        exclude={"classification", "districts"}
    )


@settings(max_examples=100, deadline=None)
@given(clues, st.integers(0, 10_000), st.integers(0, 10**9))
def test_more_people_or_money_never_lowers_the_grade(clue: ClueFacts, people: int, money: int) -> None:
    before = grade(clue)
    more = clue.model_copy(
        update={
            "participants": (clue.participants or 0) + people,
            "estimated_amount_yuan": (clue.estimated_amount_yuan or 0) + money,
        }
    )
    after = grade(more)
    order = [Grade.LOW, Grade.GENERAL, Grade.SERIOUS, Grade.MAJOR]
    assert order.index(after.grade) >= order.index(before.grade)
    assert after.score >= before.score


def district_file(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    folder = tmp_path / "districts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return folder


BASE_TEXT = BUNDLED.joinpath("triage-rules-2026.2.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"grading": {"grade_thresholds": [{"grade": "major", "at_least": 10}]}},
            r"340102.json: district 340102 \(340102/2026.1\): grade_thresholds: .*one threshold per grade",
        ),
        ({"grading": {"score_bonus": 5}}, r"340102.json: grading: .*score_bonus cannot be overridden"),
        (
            {"departments": {"fortune_telling": "某部门"}},
            r"340102.json: .*departments: .*unknown sector fortune_telling",
        ),
        (
            {"grading": {"sector_points": {"astrology": 5}}},
            r"340102.json: .*sector_points: .*unknown sector astrology",
        ),
        (
            {"phrases": [{"phrases": ["x"], "sector": "astrology"}]},
            r"340102.json: rules.0 \(x\): unknown sector astrology",
        ),
        (
            {"phrases_removed": ["理财", "星座"]},
            r"340102.json: phrases_removed.1 \(星座\): not a phrase of the base classification",
        ),
        (
            {
                "grading": {
                    "participants_points": [{"at_least": 1, "points": 5}, {"at_least": 10, "points": 9}]
                }
            },
            "band",
        ),
    ],
)
def test_a_bad_district_file_stops_start_up_naming_file_and_entry(
    tmp_path: Path, doc: dict[str, Any], message: str
) -> None:
    folder = district_file(tmp_path, "340102.json", {"district": "340102", "version": "340102/2026.1", **doc})
    with pytest.raises(RuleSetError, match=message):
        assemble(BASE_TEXT, "base", district_dir=folder)


def test_a_district_file_must_be_named_after_its_district(tmp_path: Path) -> None:
    folder = district_file(tmp_path, "瑶海.json", {"district": "340102", "version": "340102/2026.1"})
    with pytest.raises(RuleSetError, match=r"the file must be 340102\.json"):
        assemble(BASE_TEXT, "base", district_dir=folder)


def test_a_deployment_file_replaces_the_bundled_one_of_its_district(tmp_path: Path) -> None:
    doc = {"district": "3704GX", "version": "3704GX/2026.2", "departments": {"elderly_care": "某中心"}}
    rules = assemble(BASE_TEXT, "base", district_dir=district_file(tmp_path, "3704GX.json", doc))
    payload = assess(ELDERLY, rules, jurisdiction="3704GXL01", registry=REGISTRY)
    assert (payload.responsible_department, payload.district_rules) == ("某中心", "3704GX/2026.2")
    assert payload.overrides[0].path == "departments.elderly_care"
    load_district_rules(json.dumps(doc), RULES, "ok")  # valid on its own too


def test_a_district_file_must_name_a_district_of_the_tree(tmp_path: Path) -> None:
    for code in ("340102L01", "999999"):
        doc = {"district": code, "version": f"{code}/2026.1"}
        folder = district_file(tmp_path / code, f"{code}.json", doc)
        with pytest.raises(RuleSetError, match=f"{code} is not a district of the jurisdiction tree"):
            assemble(BASE_TEXT, "base", district_dir=folder, registry=REGISTRY)
    assert sorted(assemble(BASE_TEXT, "base", registry=REGISTRY).districts) == ["3704GX", "640302"]


def sectors(payload: Any) -> list[tuple[str, int]]:
    return [(s.code, s.score) for s in payload.suggestions if s.kind == "sector"]


def test_a_district_removes_base_phrases_and_re_weights_them_with_its_own(tmp_path: Path) -> None:
    # 枣庄高新区 reads 理财 as third-party wealth management, not as a wealth product
    doc = {
        "district": "3704GX",
        "version": "3704GX/2026.3",
        "phrases_removed": ["理财", "理财产品"],
        "phrases": [{"phrases": ["理财", "理财产品"], "sector": "wealth_management", "weight": 3}],
    }
    rules = assemble(BASE_TEXT, "base", district_dir=district_file(tmp_path, "3704GX.json", doc))
    text = ClueFacts(description="门店向居民推介理财产品，承诺年化8%。")
    elsewhere = assess(text, rules, jurisdiction="340102L01001", registry=REGISTRY)
    assert sectors(elsewhere) == [("wealth_products", 2)]
    here = assess(text, rules, jurisdiction="3704GXL01", registry=REGISTRY)
    assert sectors(here) == [("wealth_management", 3)]
    assert (here.sector, here.sector_source) == ("wealth_management", "suggested")
    assert RuleOverride(path="phrases_removed", value=["理财", "理财产品"]) in here.overrides
    # a base rule keeps the phrases the district did not remove
    only_one = {**doc, "phrases_removed": ["理财"], "phrases": []}
    rules = assemble(BASE_TEXT, "base", district_dir=district_file(tmp_path / "b", "3704GX.json", only_one))
    kept = assess(text, rules, jurisdiction="3704GXL01", registry=REGISTRY)
    assert [(s.code, s.phrases) for s in kept.suggestions if s.kind == "sector"] == [
        ("wealth_products", ["理财产品"])
    ]
