"""``assessed`` v2 (classification, district rules, routing table): v1 events in the log still read."""

from __future__ import annotations

from pathlib import Path

from contracts.chain import verify_chain
from contracts.events import CaseAssessed, parse_document, read_event, upcast

GOLDEN = Path(__file__).parent / "fixtures" / "case-events-v1.jsonl"


def golden_assessed() -> bytes:
    return next(line for line in GOLDEN.read_bytes().splitlines() if b'"type":"assessed"' in line)


def test_a_v1_assessed_event_reads_as_v2_with_what_v1_did_not_know_absent() -> None:
    raw = golden_assessed()
    v1 = parse_document(raw)
    assert v1["schema_version"] == 1
    event = read_event(raw)
    assert isinstance(event, CaseAssessed)
    assert event.schema_version == 2
    payload = event.payload
    assert (payload.grade.value, payload.score, payload.rule_set) == ("serious", 50, "triage-rules/2026.1")
    assert [f.model_dump(mode="json") for f in payload.factors] == v1["payload"]["factors"]
    assert (payload.sector, payload.sector_source, payload.district, payload.routing_table) == (None,) * 4
    assert (payload.suggestions, payload.overrides) == ([], [])
    assert event.hash == v1["hash"]  # the stored hash is kept: chains are verified on the raw documents


def test_upcasting_leaves_the_raw_chain_verifiable() -> None:
    documents = [parse_document(line) for line in GOLDEN.read_bytes().splitlines()]
    assert verify_chain(documents) == {}
    upcast(dict(documents[1]))  # upcasting works on a copy; the raw document is what chains are checked on
    assert verify_chain(documents) == {}
    assert all(
        read_event(line).seq == d["seq"]
        for line, d in zip(GOLDEN.read_bytes().splitlines(), documents, strict=True)
    )
