"""The anchor contract: an anchor reads back from its bytes exactly as sealed, its hash covers its content,
a region's anchors chain, and anything off the published schema is refused."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from contracts.anchors import MAX_HEADS, Anchor, AnchoredHead, anchor_bytes, anchor_verifier, seal_anchor
from contracts.chain import START, Fault
from contracts.envelope import compute_hash
from contracts.schema_gen import SCHEMA_DIR

CASE = uuid.UUID("01950000-0000-7000-8000-0000000000c1")


def head(seq: int = 4, hash_: str = "a" * 64) -> AnchoredHead:
    return AnchoredHead(case_id=CASE, seq=seq, hash=hash_)


def test_an_anchor_reads_back_from_its_bytes_as_sealed_and_its_hash_covers_its_content() -> None:
    anchor = seal_anchor(region="anhui", seq=1, prev_hash=START.hash, heads=[head()])
    raw = anchor_bytes(anchor)
    assert Anchor.model_validate_json(raw) == anchor
    assert anchor_bytes(Anchor.model_validate_json(raw)) == raw
    document = json.loads(raw)
    assert document["hash"] == compute_hash(document) == anchor.hash
    assert document["type"] == "anchor" and document["schema_version"] == 1
    schema = json.loads((SCHEMA_DIR / "anchor.v1.json").read_text(encoding="utf-8"))
    assert sorted(schema["required"]) == sorted(k for k in document if k not in ("type", "schema_version"))


def test_a_regions_anchors_chain_and_one_altered_afterwards_breaks_the_chain() -> None:
    first = seal_anchor(region="anhui", seq=1, prev_hash=START.hash, heads=[head(4)])
    second = seal_anchor(region="anhui", seq=2, prev_hash=first.hash, heads=[head(6, "b" * 64)])
    verifier = anchor_verifier()
    for anchor in (first, second, first):  # a resend of the first is a duplicate
        assert verifier.feed(json.loads(anchor_bytes(anchor))) is None
    assert verifier.head("anhui").seq == 2 and verifier.duplicates == 1

    altered = json.loads(anchor_bytes(second))
    altered["heads"][0]["seq"] = 5
    again = anchor_verifier()
    again.feed(json.loads(anchor_bytes(first)))
    found = again.feed(altered)
    assert found is not None and found.fault is Fault.ALTERED and found.case_id == "anhui" and found.seq == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seq": "1"}, "seq"),
        ({"region": "Anhui"}, "region"),
        ({"heads": []}, "heads"),
        ({"heads": [{"case_id": str(CASE), "seq": 0, "hash": "a" * 64}]}, "heads"),
        ({"surplus": True}, "surplus"),
        ({"anchored_at": "2026-03-01T08:00:00"}, "anchored_at"),
    ],
)
def test_an_anchor_off_the_schema_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    document = json.loads(
        anchor_bytes(seal_anchor(region="anhui", seq=1, prev_hash=START.hash, heads=[head()]))
    )
    with pytest.raises(ValidationError) as refused:
        Anchor.model_validate_json(json.dumps(document | change))
    assert refused.value.errors()[0]["loc"][0] == field


def test_an_anchor_names_at_most_max_heads() -> None:
    heads = [head(seq) for seq in range(1, MAX_HEADS + 2)]
    with pytest.raises(ValidationError):
        seal_anchor(region="anhui", seq=1, prev_hash=START.hash, heads=heads)
