"""Shared pieces: reporter sealing, jurisdiction tree rules, settings that refuse development secrets."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cluetrail.crypto import FieldSealer, SealError
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import JurisdictionError, JurisdictionRegistry, default_registry


def sealer() -> FieldSealer:
    return FieldSealer({"k1": b"1" * 32, "k2": b"2" * 32}, "k2")


def test_reporter_identity_opens_only_for_its_own_case() -> None:
    sealed = sealer().seal({"name": "举报人甲", "phone": "138****0000"}, "case-a")
    assert "举报人" not in sealed.ciphertext
    assert sealer().open(sealed, "case-a") == {"name": "举报人甲", "phone": "138****0000"}
    with pytest.raises(SealError):
        sealer().open(sealed, "case-b")


def test_a_sealed_value_names_the_key_and_fails_without_it() -> None:
    sealed = sealer().seal("x", "case")
    assert sealed.key_id == "k2"
    with pytest.raises(SealError, match="no key"):
        FieldSealer({"k1": b"1" * 32}, "k1").open(sealed, "case")


def test_demo_tree_holds_the_ten_communities_of_longgang_street() -> None:
    registry = default_registry()
    communities = registry.children("340102L01")
    assert len(communities) == 10
    assert {c.name for c in communities} >= {"华都社区", "琥珀社区", "马岗社区"}
    assert registry.nearest("340102L01003", "district").name == "瑶海区"  # type: ignore[union-attr]
    assert registry.is_within("340102L01003001", "340100")
    assert not registry.is_within("340102L01003", "640302")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"code": "340000", "name": "安徽省", "level": "province"}] * 2, "appears twice"),
        (
            [{"code": "340102", "name": "瑶海区", "level": "district", "parent": "340100"}],
            "parent 340100 unknown",
        ),
        (
            [
                {"code": "340000", "name": "安徽省", "level": "province"},
                {"code": "340100", "name": "合肥市", "level": "province", "parent": "340000"},
            ],
            "is a province under province",
        ),
        ([{"code": "34-01", "name": "坏代码", "level": "province"}], "entry 0"),
    ],
)
def test_bad_jurisdiction_data_is_refused_naming_the_entry(
    entries: list[dict[str, str]], message: str
) -> None:
    with pytest.raises(JurisdictionError, match=message):
        JurisdictionRegistry.from_json(json.dumps({"jurisdictions": entries}))


def test_production_refuses_the_development_reporter_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUETRAIL_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development key"):
        CommonSettings()


def test_each_service_gets_its_own_database() -> None:
    settings = CommonSettings(database_url="postgresql://u:p@db:5432/cluetrail", database_prefix="east")
    assert settings.database_for("triage") == "postgresql://u:p@db:5432/east_triage"
