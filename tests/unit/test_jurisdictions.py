"""The jurisdiction registry: the seeds' places, the rules of codes, and resolving what people type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.jurisdictions import (
    JurisdictionError,
    JurisdictionRegistry,
    code_stem,
    default_registry,
    normalise_code,
    short_name,
)

REGISTRY = default_registry()

# Codes tests and demo data already use: they must never be renumbered.
CODES_IN_USE = {
    "340102L01": "龙岗街道",
    "340102L01001": "华都社区",
    "340102L01001001": "华都第一网格",
    "340102L01003": "大店社区",
    "340102L01003001": "大店第一网格",
    "340102L01005": "油坊社区",
    "340102L01008": "琥珀社区",
    "340422L01": "双桥镇",
    "3704GXL01": "兴仁街道",
    "3703WCL01": "萌水镇",
    "640302L01": "胜利镇",
}


def test_codes_in_use_keep_their_places() -> None:
    for code, name in CODES_IN_USE.items():
        assert REGISTRY.get(code).name == name


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("340000", "安徽省"),
        ("340100", "合肥市"),
        ("340102", "瑶海区"),
        ("340400", "淮南市"),
        ("340422", "寿县"),
        ("370000", "山东省"),
        ("370400", "枣庄市"),
        ("370300", "淄博市"),
        ("640000", "宁夏回族自治区"),
        ("640300", "吴忠市"),
        ("640302", "利通区"),
    ],
)
def test_official_codes_are_gb_t_2260(code: str, name: str) -> None:
    node = REGISTRY.get(code)
    assert (node.name, node.official) == (name, True)


def test_the_seeds_places_are_all_there() -> None:
    longgang = {c.name for c in REGISTRY.children("340102L01")}
    assert longgang == {
        f"{n}社区" for n in ("华都", "海洲", "琥珀", "大店", "罗岗", "马岗", "油坊", "王岗", "史城", "新站")
    }
    litong = {c.name for c in REGISTRY.children("640302")}
    assert litong == {
        "金积镇",
        "高闸镇",
        "金银滩镇",
        "扁担沟镇",
        "古城镇",
        "上桥镇",
        "胜利镇",
        "金星镇",
        "东塔寺乡",
        "板桥乡",
        "马莲渠乡",
        "郭家桥乡",
    }
    assert len(REGISTRY.children("3704GX")) == 3  # "3为各街道" (seed 001)
    assert {c.name for c in REGISTRY.children("3703WC")} == {"萌水镇", "商家镇"}  # "两镇" (seed 004)
    assert [c.name for c in REGISTRY.children("340422")] == ["双桥镇"]


def test_zones_and_everything_below_a_district_carry_local_codes() -> None:
    for node in REGISTRY.all():
        below_district = node.level in ("street", "community", "grid")
        if below_district or node.kind == "zone":
            assert not node.official, node
        if node.parent is not None:
            assert node.code.startswith(code_stem(node.parent))


def entries(*extra: dict[str, Any]) -> str:
    base = [
        {"code": "340000", "name": "安徽省", "level": "province"},
        {"code": "340100", "name": "合肥市", "level": "city", "parent": "340000"},
        {"code": "340102", "name": "瑶海区", "level": "district", "parent": "340100"},
    ]
    return json.dumps({"jurisdictions": [*base, *extra]})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"code": "3402L01", "name": "某街道", "level": "street", "parent": "340102", "official": False},
            r"3402L01 \(某街道\): code must extend its parent's code 340102",
        ),
        (
            {"code": "340102L01", "name": "某街道", "level": "street", "parent": "340102"},
            r"340102L01 \(某街道\): only provinces, cities and districts have official",
        ),
        (
            {"code": "340103", "name": "某区", "level": "district", "parent": "340100", "official": False},
            r"340103 \(某区\): a local code must not look like",
        ),
        (
            {"code": "340110", "name": "某区", "level": "district", "parent": "340100", "kind": "town"},
            r"340110 \(某区\): kind town is not a kind of district",
        ),
        (
            {"code": "340200", "name": "某区", "level": "district", "parent": "340100"},
            r"340200 \(某区\): code must extend",
        ),
        (
            {"code": "340199", "name": "瑶海区", "level": "district", "parent": "340100"},
            r"\(瑶海区\): another child of 340100 has the same name",
        ),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(JurisdictionError, match=message):
        JurisdictionRegistry.from_json(entries(entry))


def test_a_province_code_must_look_like_one() -> None:
    with pytest.raises(JurisdictionError, match=r"340100 \(安徽省\): not a GB/T 2260 code of a province"):
        JurisdictionRegistry.from_json(
            json.dumps({"jurisdictions": [{"code": "340100", "name": "安徽省", "level": "province"}]})
        )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("340102L01003", "340102L01003"),
        (" 340102l01003 ", "340102L01003"),
        ("340102-L01-003", "340102L01003"),
        ("３４０１０２", "340102"),  # full-width digits
        ("大店社区", "340102L01003"),
        ("龙岗", "340102L01"),
        ("龙岗街道筹备组", "340102L01"),
        ("合肥市瑶海区龙岗街道", "340102L01"),
        ("瑶海区龙岗街道大店社区", "340102L01003"),
        ("文昌湖省级旅游度假区", "3703WC"),
        ("宁夏", "640000"),
        ("寿县双桥镇", "340422L01"),
    ],
)
def test_resolve_what_people_type(text: str, code: str) -> None:
    node = REGISTRY.resolve(text)
    assert node is not None and node.code == code


@pytest.mark.parametrize("text", ["", "   ", "不存在的地方", "999999"])
def test_resolve_refuses_what_it_does_not_know(text: str) -> None:
    assert REGISTRY.resolve(text) is None


@given(st.sampled_from([n.code for n in REGISTRY.all()]), st.sampled_from(["", " ", "-", "\t"]))
def test_any_spelling_of_a_known_code_resolves_to_it(code: str, noise: str) -> None:
    typed = noise.join(code.lower()) if noise else code.lower()
    assert normalise_code(typed) == code
    assert REGISTRY.resolve(typed).code == code  # type: ignore[union-attr]


@given(st.sampled_from([n.code for n in REGISTRY.all()]))
def test_every_node_resolves_by_its_full_path_name(code: str) -> None:
    assert REGISTRY.resolve(REGISTRY.path_name(code)).code == code  # type: ignore[union-attr]


@given(st.sampled_from([n.code for n in REGISTRY.all()]))
def test_a_subtree_is_its_root_and_every_node_whose_ancestors_include_it(root: str) -> None:
    below = {n.code for n in REGISTRY.all() if root in {a.code for a in REGISTRY.ancestors(n.code)}}
    assert {n.code for n in REGISTRY.subtree(root)} == below | {root}


def test_short_names_drop_one_suffix_only() -> None:
    assert short_name("龙岗街道") == "龙岗"
    assert short_name("宁夏回族自治区") == "宁夏"
    assert short_name("县") == "县"
    assert short_name("东塔寺乡") == "东塔寺"
