"""Regions as data: every province of the tree in exactly one region, the region of any place, and a bad
file named by its entry (docs/regions.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.jurisdictions import default_registry
from contracts.regions import RegionError, RegionRegistry

ROOT = Path(__file__).resolve().parents[2]
TREE = default_registry()
TWO = RegionRegistry.load(ROOT / "deploy" / "regions" / "anhui-ningxia.json", TREE)


def regions(*entries: dict[str, object]) -> str:
    return json.dumps({"regions": list(entries)})


def test_the_bundled_deployment_is_one_region_serving_the_whole_tree() -> None:
    one = RegionRegistry.load(None, TREE)
    assert one.aliases == ("local",) and one.peers_of("local") == ()
    assert {one.region_of(n.code) for n in TREE.all()} == {"local"}


def test_two_regions_place_each_community_in_its_province_region() -> None:
    assert TWO.aliases == ("anhui", "ningxia")
    assert TWO.region_of("340102L01003") == "anhui"  # 龙岗街道大店社区, 合肥市瑶海区
    assert TWO.region_of("640302") == "ningxia"  # 吴忠市利通区
    assert TWO.region_of("3704GX") == "anhui"  # 枣庄高新区, served with Anhui in this deployment
    assert TWO.region_of("110000") is None  # Beijing: no region of this deployment serves it
    assert TWO.peers_of("anhui") == ("ningxia",)
    with pytest.raises(RegionError, match="unknown region shanghai"):
        TWO.peers_of("shanghai")


@given(st.sampled_from([n.code for n in TREE.all()]))
def test_every_place_of_the_tree_has_exactly_the_region_of_its_province(code: str) -> None:
    province = TREE.nearest(code, "province")
    assert province is not None
    assert TWO.region_of(code) == TWO.region_of(province.code) in TWO.aliases


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            regions({"alias": "anhui", "name": "安徽", "provinces": ["340000"]}),
            "province 370000 belongs to no region",
        ),
        (
            regions(
                {"alias": "anhui", "name": "安徽", "provinces": ["340000", "370000"]},
                {"alias": "east", "name": "华东", "provinces": ["370000", "640000"]},
            ),
            "province 370000 belongs to two regions",
        ),
        (
            regions(
                {"alias": "anhui", "name": "安徽", "provinces": ["340000", "370000"]},
                {"alias": "anhui", "name": "又一个", "provinces": ["640000"]},
            ),
            "region anhui is named twice",
        ),
        (
            regions({"alias": "all", "name": "全部", "provinces": ["340000", "370000", "640000", "340102"]}),
            "region all: 340102 is not a province of the tree",
        ),
        (regions({"alias": "Anhui", "name": "安徽", "provinces": ["340000"]}), "regions.0.alias"),
    ],
)
def test_a_bad_regions_file_is_named_by_its_entry(text: str, reason: str) -> None:
    with pytest.raises(RegionError, match=reason) as raised:
        RegionRegistry.from_json(text, TREE, "mine.json")
    assert str(raised.value).startswith("mine.json: ")
