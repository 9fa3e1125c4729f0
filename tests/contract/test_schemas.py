"""The committed JSON Schemas are exactly what the models generate (run python -m contracts.schema_gen)."""

from __future__ import annotations

from contracts.schema_gen import SCHEMA_DIR, rendered_schemas


def test_committed_schemas_match_the_models() -> None:
    wanted = rendered_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(wanted), (
        "schema files added or missing: run python -m contracts.schema_gen"
    )
    drifted = [name for name, text in wanted.items() if committed[name] != text]
    assert not drifted, f"schemas drifted from the models: {drifted}; run python -m contracts.schema_gen"


def test_every_event_schema_names_its_version() -> None:
    for name in rendered_schemas():
        if name.startswith("event."):
            assert name.rsplit(".", 2)[-2].startswith("v")


def test_committed_asyncapi_document_matches_the_contracts() -> None:
    from contracts.asyncapi import OUTPUT, rendered

    assert OUTPUT.read_text(encoding="utf-8") == rendered(), "run python -m contracts.asyncapi"
