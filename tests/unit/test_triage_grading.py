"""Grading under triage-rules/2026.1, with points computed by hand from the table in the module docstring."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from contracts.vocabulary import Grade, RiskFlag
from services.triage.adapters.rules import rule_set_for
from services.triage.domain.grading import RuleSet, RuleSetError, assess, load_rule_set
from services.triage.domain.state import ClueFacts
from services.triage.settings import TriageSettings

RULES_TEXT = (
    resources.files("services.triage").joinpath("triage-rules-2026.1.json").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rule_set(RULES_TEXT)


def points(payload_factors: list[object], name: str) -> int:
    return next(f.points for f in payload_factors if f.name == name)  # type: ignore[attr-defined]


def test_longgang_elderly_care_shop_with_120_people_and_3_million_is_serious(rules: RuleSet) -> None:
    # 瑶海区龙岗街道: an elderly-care shop taking deposits for beds from 120 old people, 3,000,000 yuan.
    clue = ClueFacts(
        sector="elderly_care",
        participants=120,
        estimated_amount_yuan=3_000_000,
        flags=(RiskFlag.VULNERABLE_TARGETS,),
    )
    assessed = assess(clue, rules)
    # 120 ≥ 100 → 20; 3,000,000 ≥ 1,000,000 → 20; vulnerable targets → 10; no regions → 0.
    assert points(assessed.factors, "participants") == 20
    assert points(assessed.factors, "estimated_amount_yuan") == 20
    assert points(assessed.factors, "flag:vulnerable_targets") == 10
    assert points(assessed.factors, "flag:public_outcry") == 0
    assert points(assessed.factors, "regions_involved") == 0
    assert assessed.score == 50
    assert assessed.grade == Grade.SERIOUS
    assert assessed.key_case is False
    assert assessed.key_case_reasons == []
    assert assessed.rule_set == "triage-rules/2026.1"
    assert assessed.responsible_department == "社会事务中心"


def test_every_factor_is_listed_so_an_auditor_can_recompute_the_score(rules: RuleSet) -> None:
    assessed = assess(ClueFacts(participants=12, estimated_amount_yuan=50_000), rules)
    names = [f.name for f in assessed.factors]
    assert names == [
        "participants",
        "estimated_amount_yuan",
        *(f"flag:{flag.value}" for flag in RiskFlag),
        "regions_involved",
    ]
    assert sum(f.points for f in assessed.factors) == assessed.score == 5
    assert assessed.grade == Grade.LOW


def test_150_million_yuan_is_a_key_case(rules: RuleSet) -> None:
    assessed = assess(ClueFacts(participants=380, estimated_amount_yuan=150_000_000), rules)
    # 380 ≥ 300 → 30; 150,000,000 ≥ 100,000,000 → 50: 80 → major.
    assert assessed.score == 80
    assert assessed.grade == Grade.MAJOR
    assert assessed.key_case is True
    assert assessed.key_case_reasons == ["amount_at_least_100m"]


def test_just_under_100_million_is_not_a_key_case(rules: RuleSet) -> None:
    assessed = assess(ClueFacts(estimated_amount_yuan=99_999_999), rules)
    assert (assessed.score, assessed.grade, assessed.key_case) == (35, Grade.GENERAL, False)


def test_cross_region_by_regions_or_by_flag(rules: RuleSet) -> None:
    by_regions = assess(ClueFacts(participants=45, regions_involved=("640302", "370400", "3703WC")), rules)
    # 45 ≥ 30 → 10; three regions → 15: 25 → general.
    assert (by_regions.score, by_regions.grade) == (25, Grade.GENERAL)
    assert by_regions.key_case_reasons == ["cross_region"]
    by_flag = assess(ClueFacts(flags=(RiskFlag.CROSS_REGION,)), rules)
    assert (by_flag.score, by_flag.key_case_reasons) == (10, ["cross_region"])


def test_region_points_are_capped(rules: RuleSet) -> None:
    many = tuple(f"64030{i}" for i in range(6))
    assessed = assess(ClueFacts(regions_involved=many), rules)
    assert points(assessed.factors, "regions_involved") == 20


def test_stability_risk_alone_is_a_key_case_outcry_needs_a_petition_conflict(rules: RuleSet) -> None:
    assert assess(ClueFacts(flags=(RiskFlag.STABILITY_RISK,)), rules).key_case_reasons == ["stability_risk"]
    outcry = assess(ClueFacts(flags=(RiskFlag.PUBLIC_OUTCRY,)), rules)
    assert (outcry.key_case, outcry.score) == (False, 15)
    both = assess(ClueFacts(flags=(RiskFlag.PUBLIC_OUTCRY, RiskFlag.PETITION_CONFLICT)), rules)
    assert both.key_case_reasons == ["public_outcry_with_petition_conflict"]
    assert (both.score, both.grade) == (30, Grade.GENERAL)


def test_everything_at_once_is_major_with_every_reason(rules: RuleSet) -> None:
    clue = ClueFacts(
        participants=1500,
        estimated_amount_yuan=150_000_000,
        flags=tuple(RiskFlag),
        regions_involved=("640302",),
    )
    assessed = assess(clue, rules)
    # 40 + 50 + (15 + 20 + 10 + 15 + 5 + 10) + 5 = 170.
    assert assessed.score == 170
    assert assessed.grade == Grade.MAJOR
    assert assessed.key_case_reasons == [
        "amount_at_least_100m",
        "cross_region",
        "stability_risk",
        "public_outcry_with_petition_conflict",
    ]


def test_unknown_participants_and_amount_give_no_points(rules: RuleSet) -> None:
    assessed = assess(ClueFacts(), rules)
    assert (assessed.score, assessed.grade, assessed.responsible_department) == (0, Grade.LOW, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["flag_points"].pop("stability_risk"), "no points for stability_risk"),
        (lambda d: d["participants_points"].reverse(), "participants_points"),
        (lambda d: d["grade_thresholds"].pop(), "one threshold per grade"),
        (lambda d: d.update(version="rules-2026"), "version"),
        (lambda d: d["amount_points"][0].update(points=-1), "amount_points.0.points"),
    ],
)
def test_a_bad_rule_set_is_refused_naming_the_entry(change: object, message: str) -> None:
    data = json.loads(RULES_TEXT)
    change(data)  # type: ignore[operator]
    with pytest.raises(RuleSetError, match=message):
        load_rule_set(json.dumps(data), "test rules")


def test_the_bundled_rule_set_is_in_force_unless_a_deployment_names_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CLUETRAIL_TRIAGE_RULES_FILE", raising=False)
    assert rule_set_for(TriageSettings()).version == "triage-rules/2026.2"
    data = json.loads(RULES_TEXT)
    data["version"] = "triage-rules/2026.9"
    data["flag_points"]["vulnerable_targets"] = 25
    local = tmp_path / "rules.json"
    local.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("CLUETRAIL_TRIAGE_RULES_FILE", str(local))
    rules = rule_set_for(TriageSettings())
    assessed = assess(ClueFacts(flags=(RiskFlag.VULNERABLE_TARGETS,)), rules)
    assert (assessed.rule_set, assessed.score) == ("triage-rules/2026.9", 25)
    local.write_text("{", encoding="utf-8")
    with pytest.raises(RuleSetError, match=f"{local}: not JSON"):
        rule_set_for(TriageSettings())
