"""Reading a link from the bytes as written (contracts.chain.written_hash, ``ChainVerifier.feed_written``):
an audit takes an event as intact without reading and writing out its whole document only when its bytes
show it, and then finds exactly what reading it in full finds — for canonical writes, for any alteration,
for documents written in another form and for hash members put elsewhere."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts.chain import ChainVerifier, written_hash, written_link
from contracts.envelope import GENESIS_HASH, canonical_bytes, compute_hash
from contracts.events import event_bytes
from services.reporting.domain.audit import AuditReport
from tests.unit.case_chains import assessed, chain, closed

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def documents(count: int, payloads: list[Any], case_id: str = "case-a") -> list[dict[str, Any]]:
    """A chain of ``count`` documents shaped as events are (``actor`` and ``case_id`` before ``hash``)."""
    out: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        document: dict[str, Any] = {
            "actor": {"id": "triage", "kind": "service"},
            "case_id": case_id,
            "event_id": str(uuid.UUID(int=seq)),
            "seq": seq,
            "prev_hash": previous,
            "payload": payloads[(seq - 1) % len(payloads)],
        }
        document["hash"] = compute_hash(document)
        previous = document["hash"]
        out.append(document)
    return out


def test_every_event_as_written_shows_its_hash() -> None:
    events = chain(assessed(), closed())
    for event in events:
        raw = event_bytes(event)
        assert written_hash(raw) == event.hash
        assert written_link(raw, ChainVerifier()._links, "case_id") == (
            str(event.case_id),
            event.seq,
            event.prev_hash,
            event.hash,
        )


@given(st.lists(json_values, min_size=1, max_size=4))
def test_canonical_bytes_show_their_hash_whatever_the_payload(payloads: list[Any]) -> None:
    for document in documents(3, payloads):
        assert written_hash(canonical_bytes(document)) == document["hash"]


def _rewrite(document: dict[str, Any], how: str, data: st.DataObject) -> bytes:
    """``document``'s bytes written in a way other than the canonical one, or altered."""
    raw = canonical_bytes(document)
    if how == "canonical":
        return raw
    if how == "spaced":
        return json.dumps(document, sort_keys=True).encode()
    if how == "escaped":
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    if how == "unsorted":
        reversed_keys = dict(reversed(document.items()))
        return json.dumps(reversed_keys, separators=(",", ":"), ensure_ascii=False).encode()
    if how == "hash_in_payload":
        moved = {**document, "payload": {"hash": document["hash"]}}
        del moved["hash"]
        return canonical_bytes(moved)
    if how == "hash_twice":
        member = b',"hash":"' + document["hash"].encode() + b'"'
        return raw.replace(b',"payload"', member + b',"payload"', 1)
    if how == "hash_nested_first":
        actor = {"hash": document["hash"], "id": "x", "kind": "service"}
        return canonical_bytes({**document, "actor": actor})
    if how == "altered_payload":
        return canonical_bytes({**document, "payload": [document["payload"], 1]})
    if how == "altered_seq":
        return canonical_bytes({**document, "seq": document["seq"] + 1})
    if how == "not_json":
        return raw[: data.draw(st.integers(min_value=0, max_value=len(raw) - 1))]
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    replacement = data.draw(st.binary(min_size=1, max_size=1))
    return raw[:position] + replacement + raw[position + 1 :]  # "byte": any one byte changed


HOW = [
    "canonical", "spaced", "escaped", "unsorted", "hash_in_payload", "hash_twice", "hash_nested_first",
    "altered_payload", "altered_seq", "not_json", "byte",
]  # fmt: skip


def findings(report: AuditReport) -> tuple[object, ...]:
    verifier = report.verifier
    return (
        report.breaks,
        verifier.events_checked,
        verifier.cases_checked,
        verifier.duplicates,
        [(u.partition, u.offset, u.reason) for u in report.unreadable],
    )


@given(st.lists(json_values, min_size=1, max_size=3), st.data())
def test_reading_only_the_links_finds_what_reading_every_document_finds(
    payloads: list[Any], data: st.DataObject
) -> None:
    records: list[bytes] = []
    for case in ("case-a", "case-b"):
        chain_documents = documents(data.draw(st.integers(min_value=1, max_value=5)), payloads, case)
        for document in chain_documents:
            records.append(_rewrite(document, data.draw(st.sampled_from(HOW)), data))
            if data.draw(st.booleans()):  # a late copy of an earlier link, as written
                records.append(canonical_bytes(data.draw(st.sampled_from(chain_documents))))
    order = data.draw(st.permutations(range(len(records))))
    in_full, by_links = AuditReport(), AuditReport()
    for offset, index in enumerate(order):
        in_full.feed_value(0, offset, records[index])
        by_links.verify_value(0, offset, records[index])
    assert findings(by_links) == findings(in_full)


def test_an_altered_event_is_never_taken_for_intact() -> None:
    (event,) = chain()
    raw = event_bytes(event)
    altered = raw.replace(b'"seq":1', b'"seq":2')
    verifier = ChainVerifier()
    assert written_hash(altered) is None
    assert verifier.feed_written(altered) is False
    assert verifier.events_checked == 0
