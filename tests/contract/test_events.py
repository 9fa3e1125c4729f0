"""Events survive the wire unchanged, their hashes chain, and old events stay readable."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts.events as events_module
from contracts.chain import verify_chain
from contracts.envelope import GENESIS_HASH, Actor, compute_hash, uuid7
from contracts.events import (
    ClueReported,
    ClueReportedPayload,
    Subject,
    UnreadableEvent,
    event_bytes,
    parse_document,
    read_event,
    seal_event,
    upcast,
)
from contracts.vocabulary import ClueSource, RiskFlag, SubjectKind

GOLDEN = Path(__file__).parent / "fixtures" / "case-events-v1.jsonl"
# The same case continued (after its escalation at seq 4) through every workflow event type, version 1.
GOLDEN_WORKFLOW = Path(__file__).parent / "fixtures" / "case-events-workflow-v1.jsonl"

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60
)
clue_payloads = st.builds(
    ClueReportedPayload,
    source=st.sampled_from(ClueSource),
    subject=st.builds(Subject, kind=st.sampled_from(SubjectKind), name=texts.filter(str.strip)),
    description=texts.filter(str.strip),
    estimated_amount_yuan=st.none() | st.integers(0, 10**15),
    participants=st.none() | st.integers(0, 10**9),
    flags=st.lists(st.sampled_from(RiskFlag), max_size=3, unique=True),
    receipt_digest=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)


def clue(payload: ClueReportedPayload, seq: int = 1, prev_hash: str = GENESIS_HASH) -> ClueReported:
    event = seal_event(
        ClueReported,
        case_id=uuid7(),
        seq=seq,
        prev_hash=prev_hash,
        jurisdiction="340102L01001",
        actor=Actor(kind="reporter", id="anonymous"),
        payload=payload,
        correlation_id=uuid7(),
    )
    assert isinstance(event, ClueReported)
    return event


@settings(max_examples=150, deadline=None)
@given(clue_payloads)
def test_event_round_trips_through_bytes_and_keeps_its_hash(payload: ClueReportedPayload) -> None:
    event = clue(payload)
    raw = event_bytes(event)
    assert read_event(raw) == event
    document = parse_document(raw)
    assert compute_hash(document) == event.hash
    assert verify_chain([document]) == {}


@settings(max_examples=100, deadline=None)
@given(clue_payloads, st.integers(0, 10**6))
def test_any_change_to_a_written_event_breaks_its_hash(
    payload: ClueReportedPayload, participants: int
) -> None:
    document = parse_document(event_bytes(clue(payload)))
    if document["payload"]["participants"] == participants:
        participants += 1
    document["payload"]["participants"] = participants
    broken = verify_chain([document])
    assert [b.seq for b in broken.values()] == [1]


def test_golden_events_written_by_version_1_still_read_and_verify() -> None:
    lines = GOLDEN.read_bytes().splitlines()
    documents = [parse_document(line) for line in lines]
    assert verify_chain(documents) == {}
    events = [read_event(line) for line in lines]
    assert [e.type for e in events] == ["clue-reported", "assessed", "determined", "escalated", "closed"]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]


def test_golden_workflow_events_read_verify_and_cover_every_type() -> None:
    head = GOLDEN.read_bytes().splitlines()[:4]
    lines = head + GOLDEN_WORKFLOW.read_bytes().splitlines()
    assert verify_chain([parse_document(line) for line in lines]) == {}
    events = [read_event(line) for line in lines]
    assert [e.seq for e in events] == list(range(1, len(lines) + 1))
    assert {e.type for e in events} | {"closed", "determined"} == set(events_module.EVENT_CLASSES)
    for line, event in zip(lines, events, strict=True):
        if parse_document(line)["schema_version"] == event.schema_version:  # upcast events read newer
            assert event_bytes(event) == line, f"{event.type} does not round-trip byte for byte"


@pytest.mark.parametrize("event_type", sorted(events_module.EVENT_CLASSES))
def test_every_event_type_has_a_past_tense_name_and_a_strict_payload(event_type: str) -> None:
    cls = events_module.EVENT_CLASSES[event_type]
    payload_model = cls.model_fields["payload"].annotation
    assert isinstance(payload_model, type)
    assert payload_model.model_config.get("extra") == "forbid"
    assert payload_model.__doc__
    last_word = event_type.rsplit("-", 1)[-1]
    assert last_word.endswith(("ed", "split", "off")), f"{event_type} is not a past-tense fact"


def test_chain_names_the_first_event_whose_prev_hash_does_not_link() -> None:
    documents = [parse_document(line) for line in GOLDEN.read_bytes().splitlines()]
    documents[2]["prev_hash"] = "f" * 64
    documents[2]["hash"] = compute_hash(documents[2])  # re-hashed, but no longer linked
    (found,) = verify_chain(documents).values()
    assert found.seq == 3
    assert "prev_hash" in found.reason


def test_a_missing_event_is_named() -> None:
    documents = [parse_document(line) for line in GOLDEN.read_bytes().splitlines()]
    del documents[1]
    (found,) = verify_chain(documents).values()
    assert found.seq == 3
    assert "missing" in found.reason


def test_upcasters_bring_old_versions_forward_one_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(events_module.CURRENT_VERSIONS, "closed", 3)
    table = {
        ("closed", 1): lambda d: {**d, "payload": {**d["payload"], "recovered_amount_yuan": 0}},
        ("closed", 2): lambda d: {**d, "payload": {**d["payload"], "note": "v3"}},
    }
    document = {"type": "closed", "schema_version": 1, "payload": {"outcome": "rectified"}}
    result = upcast(document, table)
    assert result["schema_version"] == 3
    assert result["payload"] == {"outcome": "rectified", "recovered_amount_yuan": 0, "note": "v3"}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"type": "rumoured", "schema_version": 1}, "unknown event type"),
        ({"type": "closed", "schema_version": 99}, "newer than this code knows"),
        ({"type": "closed"}, "schema_version"),
    ],
)
def test_unreadable_events_say_why(document: dict[str, object], reason: str) -> None:
    with pytest.raises(UnreadableEvent, match=reason):
        read_event(json.dumps(document).encode())


def test_payloads_refuse_unknown_fields_and_negative_amounts() -> None:
    document = parse_document(GOLDEN.read_bytes().splitlines()[0])
    document["payload"]["estimated_amount_yuan"] = -1
    with pytest.raises(UnreadableEvent, match="greater than or equal"):
        read_event(document)
    document["payload"]["estimated_amount_yuan"] = 1
    document["payload"]["surprise"] = True
    with pytest.raises(UnreadableEvent, match="surprise"):
        read_event(document)


def test_case_ids_are_time_ordered() -> None:
    first, second = uuid7(), uuid7()
    assert first.version == 7
    assert first.bytes[:6] <= second.bytes[:6]
    assert isinstance(first, uuid.UUID)
