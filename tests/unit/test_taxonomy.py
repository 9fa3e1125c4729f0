"""The taxonomy of sectors and behaviours: domain and demo codes, validated data, intake's check."""

from __future__ import annotations

import json

import pytest

from cluetrail.demo import SCENARIOS, demo_clues
from contracts.api import ClueSubmission
from contracts.taxonomy import Taxonomy, TaxonomyError, default_taxonomy
from services.intake.domain.clues import taxonomy_problems

TAXONOMY = default_taxonomy()


def test_domain_sectors_and_behaviours_have_codes_and_both_labels() -> None:
    for code, zh in [
        ("elderly_care", "养老"),
        ("agriculture", "涉农"),
        ("private_equity", "伪私募"),
        ("financial_exchange", "伪金交所"),
        ("digital_collectibles", "元宇宙、NFT、数字藏品"),
        ("debt_resolution", "解债服务"),
    ]:
        assert TAXONOMY.label(code) == zh
        assert TAXONOMY.label(code, "en")
    for code in (
        "consumption_rebate",
        "mutual_funds",
        "franchise_points",
        "virtual_assets",
        "policy_slogans",
    ):
        assert TAXONOMY.is_behaviour(code)
    assert TAXONOMY.label("no_such_code") == "no_such_code"


def test_every_code_the_demo_generator_uses_is_in_the_taxonomy() -> None:
    for sector, behaviours, _, _ in SCENARIOS:
        assert TAXONOMY.is_sector(sector), sector
        assert all(TAXONOMY.is_behaviour(b) for b in behaviours), behaviours
    for clue in demo_clues(40, seed=7):
        assert taxonomy_problems(ClueSubmission.model_validate(clue), TAXONOMY) == []


def test_sectors_and_behaviours_never_share_a_code() -> None:
    sectors = {t.code for t in TAXONOMY.sectors}
    behaviours = {t.code for t in TAXONOMY.behaviours}
    assert not sectors & behaviours


def data(**change: object) -> str:
    raw = json.loads(json.dumps(TAXONOMY.model_dump()))
    raw.update(change)
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        (data(version="2026.1"), "version"),
        (
            data(sectors=[*TAXONOMY.model_dump()["sectors"], {**TAXONOMY.sectors[0].model_dump()}]),
            r"sectors.26 \(private_lending_intermediary\): code appears twice",
        ),
        (
            data(behaviours=[{"code": "elderly_care", "zh": "养老", "en": "x", "group": "behaviour"}]),
            r"behaviours.0 \(elderly_care\): code appears twice",
        ),
        (
            data(behaviours=[{"code": "x_y", "zh": "某", "en": "x", "group": "traditional"}]),
            r"behaviours.0 \(x_y\): group traditional is wrong here",
        ),
        (data(sectors=[{"code": "Bad Code", "zh": "某", "en": "x", "group": "other"}]), r"sectors.0.code"),
    ],
)
def test_bad_taxonomy_data_is_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=message):
        Taxonomy.from_json(text, "taxonomy.json")


def test_intake_names_each_unknown_code_by_its_field() -> None:
    clue = ClueSubmission.model_validate(
        {**demo_clues(1, seed=3)[0], "sector": "fortune_telling", "behaviours": ["consumption_rebate", "x_y"]}
    )
    problems = taxonomy_problems(clue, TAXONOMY)
    assert [(p.field, p.kind) for p in problems] == [
        ("sector", "unknown_sector"),
        ("behaviours.1", "unknown_behaviour"),
    ]
    assert "fortune_telling" in problems[0].reason and TAXONOMY.version in problems[0].reason
