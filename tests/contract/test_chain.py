"""The one chain step (contracts.chain): apply, duplicate, fork, gap — as every reader of a chain decides.

The scenario behind it: an intake retry with the same Idempotency-Key after triage wrote seq 2–4 puts seq 1
in the log again; a triage outbox relay that lost its "published" marks in a PostgreSQL outage sends seq 2–4
again after seq 5. Neither is a break: both are copies of links already applied.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.chain import (
    START,
    ChainFault,
    ChainVerifier,
    Fault,
    Head,
    Step,
    chain_step,
    needs_recorded_hash,
    step_against,
    verify_chain,
)
from contracts.envelope import GENESIS_HASH, compute_hash


def links(count: int, case_id: str = "case-a") -> list[dict[str, Any]]:
    """A chain of ``count`` minimal documents, each hashed over its content and its predecessor's hash."""
    chain: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        document: dict[str, Any] = {
            "case_id": case_id,
            "event_id": str(uuid.UUID(int=seq)),
            "seq": seq,
            "prev_hash": previous,
            "payload": {"n": seq},
        }
        document["hash"] = compute_hash(document)
        previous = document["hash"]
        chain.append(document)
    return chain


def other_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_next_link_applies_and_the_first_follows_genesis() -> None:
    first, second = links(2)
    assert chain_step(START, 1, GENESIS_HASH, first["hash"]) is Step.APPLY
    assert chain_step(Head(1, first["hash"]), 2, first["hash"], second["hash"]) is Step.APPLY


def test_a_copy_of_the_last_or_of_an_earlier_link_is_a_duplicate() -> None:
    chain = links(4)
    head = Head(4, chain[-1]["hash"])
    assert chain_step(head, 4, chain[2]["hash"], chain[3]["hash"]) is Step.DUPLICATE
    assert needs_recorded_hash(head, 1) and not needs_recorded_hash(head, 4)
    assert (
        chain_step(head, 1, GENESIS_HASH, chain[0]["hash"], recorded_hash=chain[0]["hash"]) is Step.DUPLICATE
    )


def test_another_link_at_an_applied_seq_or_naming_another_predecessor_is_a_fork() -> None:
    chain = links(3)
    head = Head(3, chain[-1]["hash"])
    with pytest.raises(ChainFault, match="seq 2 was already recorded with a different hash") as forked:
        chain_step(head, 2, chain[0]["hash"], other_hash("x"), recorded_hash=chain[1]["hash"])
    assert forked.value.fault is Fault.FORK
    with pytest.raises(ChainFault, match="prev_hash does not match the hash of seq 3") as renamed:
        chain_step(head, 4, other_hash("y"), other_hash("z"))
    assert renamed.value.fault is Fault.FORK


def test_a_link_further_ahead_is_a_gap() -> None:
    with pytest.raises(ChainFault, match=r"seq 3 follows seq 1: events 2\.\.2 are missing") as gap:
        chain_step(Head(1, other_hash("a")), 3, other_hash("b"), other_hash("c"))
    assert gap.value.fault is Fault.GAP


def test_an_earlier_seq_cannot_be_decided_without_its_recorded_hash() -> None:
    with pytest.raises(ValueError, match="hash recorded at seq 1 is needed"):
        chain_step(Head(3, other_hash("a")), 1, GENESIS_HASH, other_hash("b"))


def test_the_verifier_takes_late_resends_of_earlier_links_as_duplicates() -> None:
    """The two outages of the module docstring, in one log: seq 1 again after seq 4, seq 2–4 after seq 5."""
    chain = links(5)
    log = [*chain[:4], chain[0], chain[4], *chain[1:4]]
    verifier = ChainVerifier()
    for document in log:
        verifier.feed(document)
    assert verifier.breaks == {}
    assert verifier.duplicates == 4 and verifier.head("case-a") == Head(5, chain[4]["hash"])


def test_the_verifier_names_a_fork_an_altered_copy_and_a_gap() -> None:
    chain = links(3)
    fork = {**chain[1], "payload": {"n": "other"}}
    fork["hash"] = compute_hash(fork)
    breaks = verify_chain([*chain, fork])
    assert breaks["case-a"].seq == 2 and breaks["case-a"].fault is Fault.FORK

    altered_copy = {**chain[0], "payload": {"n": "changed"}}  # claims the hash it was written with
    assert verify_chain([*chain, altered_copy])["case-a"].fault is Fault.ALTERED

    gap = verify_chain([chain[0], chain[2]])["case-a"]
    assert gap.fault is Fault.GAP and "events 2..2 are missing" in gap.reason


@given(st.data())
def test_any_interleaving_of_copies_of_applied_links_verifies(data: st.DataObject) -> None:
    """However many copies of links already written come after them, the chain verifies, every reader's
    head is the last link, and the number of duplicates is the number of copies."""
    chain = links(data.draw(st.integers(min_value=1, max_value=12)))
    log: list[dict[str, Any]] = []
    copies = 0
    for index, document in enumerate(chain):
        log.append(document)
        for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
            log.append(chain[data.draw(st.integers(min_value=0, max_value=index))])
            copies += 1
    verifier = ChainVerifier()
    for document in log:
        verifier.feed(document)
    assert verifier.breaks == {} and verifier.duplicates == copies
    hashes: list[str] = []
    for document in log:
        if step_against(hashes, document["seq"], document["prev_hash"], document["hash"]) is Step.APPLY:
            hashes.append(document["hash"])
    assert hashes == [d["hash"] for d in chain]


@given(st.integers(min_value=2, max_value=10), st.data())
def test_any_other_link_at_an_applied_seq_is_a_fork(length: int, data: st.DataObject) -> None:
    chain = links(length)
    hashes = [d["hash"] for d in chain]
    seq = data.draw(st.integers(min_value=1, max_value=length))
    impostor = other_hash(f"impostor {seq}")
    with pytest.raises(ChainFault) as raised:
        step_against(hashes, seq, chain[seq - 1]["prev_hash"], impostor)
    assert raised.value.fault is Fault.FORK
