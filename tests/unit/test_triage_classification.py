"""Classification suggestions from a clue's free text: the phrase rules, their data and their properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.triage.adapters.rules import bundled_rule_set
from services.triage.domain.classification import (
    ClassificationError,
    PhraseRule,
    classify,
    fold_text,
    load_classification,
    top_sector,
)

RULES = bundled_rule_set().classification.rules  # type: ignore[union-attr]


def codes(text: str, kind: str) -> list[str]:
    return [s.code for s in classify(text, RULES) if s.kind == kind]


@pytest.mark.parametrize(
    ("text", "sector", "behaviours"),
    [
        ("以预订养老床位为名吸收老年人资金，承诺年化回报12%。", "elderly_care", {"targeting_vulnerable"}),
        ("某康养基地向会员收取入住保证金。", "elderly_care", set()),
        ("以牛羊托管为名向村民集资，承诺每头每年分红15%。", "agriculture", {"livestock_custody"}),
        ("开展“消费返利”活动，充值一万元每月返现8%。", "commerce_services", {"consumption_rebate"}),
        ("发行数字藏品并承诺回购，宣称NFT升值。", "digital_collectibles", {"virtual_assets"}),
        ("平台出售ＮＦＴ头像，称可上链增值。", "digital_collectibles", {"virtual_assets"}),
        ("组织“数字资产”推介会，宣传挖矿收益每月5%。", "virtual_currency", {"virtual_assets"}),
        ("以“债务化解”“共享经济”为名收取服务费并吸收资金。", "debt_resolution", {"policy_slogans"}),
        ("打着一带一路、乡村振兴旗号募集资金。", None, {"policy_slogans"}),
        ("以影视项目份额为名募集资金，承诺票房分红。", "film_investment", {"promised_high_returns"}),
        ("自称央企下属单位，发售“产登”权益。", "property_registration_front", set()),
        ("推介私募理财产品，口头承诺保本保息。", "private_equity", {"guaranteed_principal"}),
    ],
)
def test_the_seeds_phrases_suggest_their_codes(text: str, sector: str | None, behaviours: set[str]) -> None:
    suggestions = classify(text, RULES)
    best = top_sector(suggestions)
    assert (best.code if best else None) == sector
    assert behaviours <= set(codes(text, "behaviour"))


def test_a_suggestion_names_the_phrases_that_matched() -> None:
    (agriculture,) = [s for s in classify("牛羊托管，合作社分红", RULES) if s.code == "agriculture"]
    assert agriculture.phrases == ["合作社", "牛羊托管"]
    assert agriculture.score == 4 + 2  # 牛羊托管 (weight 4) and 合作社 (weight 2)


def test_text_without_a_known_phrase_suggests_nothing() -> None:
    assert classify("今天天气很好。", RULES) == []
    assert top_sector([]) is None


rule_lists = st.lists(
    st.builds(
        PhraseRule,
        phrases=st.lists(st.sampled_from(["养老", "返利", "托管", "NFT", "合作社"]), min_size=1, max_size=3),
        sector=st.sampled_from(["elderly_care", "agriculture", None]),
        behaviours=st.just(["consumption_rebate"]),
        weight=st.integers(1, 5),
    ),
    max_size=6,
)


@given(st.text(max_size=40), rule_lists)
def test_every_matched_phrase_is_in_the_text_and_scores_sum_weights(
    text: str, rules: list[PhraseRule]
) -> None:
    suggestions = classify(text, rules)
    for suggestion in suggestions:
        assert all(fold_text(p) in fold_text(text) for p in suggestion.phrases)
        assert suggestion.score == sum(
            r.weight
            for r in rules
            if any(fold_text(p) in fold_text(text) for p in r.phrases)
            and (r.sector == suggestion.code or suggestion.code in r.behaviours)
        )
    scores = [s.score for s in suggestions]
    assert scores == sorted(scores, reverse=True)


@given(st.text(max_size=30), st.text(max_size=30))
def test_adding_text_never_removes_a_suggestion(text: str, more: str) -> None:
    before = {(s.kind, s.code) for s in classify(text, RULES)}
    after = {(s.kind, s.code) for s in classify(text + more, RULES)}
    assert before <= after


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"phrases": ["x"], "sector": "fortune_telling"}], r"rules.0 \(x\): unknown sector fortune_telling"),
        (
            [{"phrases": ["x"], "behaviours": ["time_travel"]}],
            r"rules.0 \(x\): unknown behaviour time_travel",
        ),
        ([{"phrases": ["x"]}], "suggests neither a sector nor a behaviour"),
        ([{"phrases": [], "sector": "agriculture"}], "rules.0.phrases"),
    ],
)
def test_bad_phrase_rules_are_refused_naming_the_entry(rules: list[object], message: str) -> None:
    text = json.dumps({"version": "classification/2026.9", "rules": rules})
    with pytest.raises(ClassificationError, match=message):
        load_classification(text, "phrases.json")
