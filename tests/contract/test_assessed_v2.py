"""``assessed`` v2 (classification, district rules, routing table) and v3 (the case's figures graded): v1
and v2 events in the log still read, at the current version."""

from __future__ import annotations

from pathlib import Path

from contracts.chain import verify_chain
from contracts.events import CaseAssessed, graded_figures, parse_document, read_event, upcast

GOLDEN = Path(__file__).parent / "fixtures" / "case-events-v1.jsonl"


def golden_assessed() -> bytes:
    return next(line for line in GOLDEN.read_bytes().splitlines() if b'"type":"assessed"' in line)


def test_a_v1_assessed_event_reads_as_v3_with_what_v1_did_not_know_absent() -> None:
    raw = golden_assessed()
    v1 = parse_document(raw)
    assert v1["schema_version"] == 1
    event = read_event(raw)
    assert isinstance(event, CaseAssessed)
    assert event.schema_version == 3
    payload = event.payload
    assert (payload.grade.value, payload.score, payload.rule_set) == ("serious", 50, "triage-rules/2026.1")
    assert [f.model_dump(mode="json") for f in payload.factors] == v1["payload"]["factors"]
    assert (payload.sector, payload.sector_source, payload.district, payload.routing_table) == (None,) * 4
    assert (payload.suggestions, payload.overrides) == ([], [])
    # The case's figures it graded were its factors in v1 and v2; v3 names them (this grade recorded no
    # amount factor, so its amount is absent, not guessed).
    factors = {f["name"]: f["value"] for f in v1["payload"]["factors"]}
    assert (
        (payload.participants, payload.estimated_amount_yuan)
        == (factors["participants"], None)
        == (120, None)
    )
    assert graded_figures(v1["payload"]) == (payload.participants, payload.estimated_amount_yuan)
    assert event.hash == v1["hash"]  # the stored hash is kept: chains are verified on the raw documents


def test_a_v2_assessed_event_reads_its_figures_from_its_factors_and_v3_names_them() -> None:
    v2 = {
        "grade": "major",
        "score": 80,
        "factors": [
            {"name": "participants", "value": 460, "points": 30},
            {"name": "estimated_amount_yuan", "value": 8_500_000, "points": 30},
        ],
    }
    assert graded_figures(v2) == (460, 8_500_000)
    assert graded_figures({**v2, "participants": 500, "estimated_amount_yuan": None}) == (500, None)
    assert graded_figures({"factors": [{"name": "participants", "value": True}]}) == (None, None)


def test_upcasting_leaves_the_raw_chain_verifiable() -> None:
    documents = [parse_document(line) for line in GOLDEN.read_bytes().splitlines()]
    assert verify_chain(documents) == {}
    upcast(dict(documents[1]))  # upcasting works on a copy; the raw document is what chains are checked on
    assert verify_chain(documents) == {}
    assert all(
        read_event(line).seq == d["seq"]
        for line, d in zip(GOLDEN.read_bytes().splitlines(), documents, strict=True)
    )
