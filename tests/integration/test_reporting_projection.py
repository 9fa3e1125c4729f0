"""Reporting's live projection on the real broker and database: every clue of 龙岗街道 becomes exactly one
ledger row with a verifiable history, even when reporting is killed mid-stream, and poison is set aside."""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections import Counter
from typing import Any

import pytest

from cluetrail.settings import CommonSettings
from contracts.chain import verify_chain
from contracts.envelope import GENESIS_HASH, canonical_bytes, compute_hash, uuid7
from tests.cases import (
    dead_letters_for,
    log_documents,
    report,
)
from tests.harness import Stack, wait_until
from tests.integration.ledger import (
    all_assessed,
    all_in_ledger,
    ledger_rows,
    post_clues,
    publish_raw,
    publish_together,
    settled_ledger,
    some_clues,
    whole_ledger,
)

pytestmark = pytest.mark.integration


def test_every_clue_becomes_one_ledger_row_whose_history_is_its_verified_chain(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    clues = some_clues(40)
    case_ids = post_clues(stack, clues)
    assert len(set(case_ids)) == 40

    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        rows = wait_until(
            lambda: all_in_ledger(reporting, case_ids),
            timeout=90,
            what="40 cases in the ledger",
        )
        histories = {case_id: reporting.get(f"/v1/cases/{case_id}/history").json() for case_id in case_ids}

    for clue, case_id in zip(clues, case_ids, strict=True):
        row = rows[case_id]
        assert (row["jurisdiction"], row["subject_name"], row["source"]) == (
            clue["jurisdiction"],
            clue["subject"]["name"],
            clue["source"],
        )
        history = histories[case_id]
        assert history[0]["type"] == "clue-reported"
        assert history[0]["prev_hash"] == GENESIS_HASH
        assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
        for earlier, later in itertools.pairwise(history):
            assert later["prev_hash"] == earlier["hash"]

    documents = asyncio.run(log_documents(stack_settings, set(case_ids)))
    assert verify_chain(documents) == {}
    logged = {(d["case_id"], d["seq"]): d["hash"] for d in documents}
    for case_id, history in histories.items():
        # The history holds exactly the log's events, hash for hash (the log may have moved on since).
        assert all(logged[(case_id, h["seq"])] == h["hash"] for h in history)


def test_killed_mid_stream_reporting_resumes_with_every_case_exactly_once(stack: Stack) -> None:
    clues = some_clues(60)
    case_ids: list[str] = []
    posted_some = threading.Event()

    def post_all() -> None:
        for index, clue in enumerate(clues):
            case_ids.append(report(stack, clue))
            if index == 15:
                posted_some.set()

    poster = threading.Thread(target=post_all)
    poster.start()
    try:
        assert posted_some.wait(timeout=60)
        stack.stop("reporting", kill=True)  # SIGKILL: no clean shutdown, a batch may be half done
    finally:
        poster.join(timeout=120)
        stack.start("reporting")
    assert len(case_ids) == 60

    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        rows = wait_until(
            lambda: all_in_ledger(reporting, case_ids),
            timeout=120,
            what="60 cases in the ledger after the restart",
        )
        assert set(rows) == set(case_ids)
        for case_id in case_ids:
            history = reporting.get(f"/v1/cases/{case_id}/history").json()
            seqs = [h["seq"] for h in history]
            assert seqs == list(range(1, len(seqs) + 1)), f"case {case_id} history {seqs}"
            assert len({h["event_id"] for h in history}) == len(history)

        def counts_match_ledger() -> bool:
            # grade_counts is kept by increments: any event applied twice leaves it above the real counts.
            ledger = Counter((r["jurisdiction"], r["grade"] or "ungraded") for r in whole_ledger(reporting))
            stats = {
                (s["jurisdiction"], s["grade"]): s["cases"] for s in reporting.get("/v1/stats/grades").json()
            }
            return stats == dict(ledger)

        wait_until(counts_match_ledger, timeout=90, what="grade counts equal to the ledger's")
        mine = Counter(
            (r["jurisdiction"], r["grade"] or "ungraded") for r in ledger_rows(reporting, case_ids).values()
        )
        stats = {
            (s["jurisdiction"], s["grade"]): s["cases"] for s in reporting.get("/v1/stats/grades").json()
        }
        assert all(stats.get(cell, 0) >= n for cell, n in mine.items())


def test_a_malformed_message_is_dead_lettered_with_its_reason_and_the_stream_moves_on(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    key = f"not-a-case-{uuid.uuid4().hex[:8]}"
    asyncio.run(publish_raw(stack_settings, key.encode(), b"\x00\x01 this is not JSON {"))

    letters = wait_until(
        lambda: asyncio.run(dead_letters_for(stack_settings, key, "reporting")),
        timeout=60,
        what="reporting's dead letter for the malformed record",
    )
    assert len(letters) == 1
    assert "not JSON" in letters[0]["reason"]
    assert letters[0]["topic"] == stack_settings.case_topic

    (case_id,) = post_clues(stack, some_clues(1))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(
            lambda: reporting.get(f"/v1/cases/{case_id}").status_code == 200,
            timeout=60,
            what="the clue posted after the poison in the ledger",
        )


def test_an_event_off_its_chain_in_a_batch_is_dead_lettered_alone_and_the_rest_applied(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """Reporting applies a batch's events together; a batch holding an event that skips a seq fails as a
    whole and is applied again record by record, so that event alone is dead-lettered, once, and the
    others are applied, each once."""
    good, stray = post_clues(stack, some_clues(2))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(lambda: all_assessed(reporting, [good, stray]), timeout=90, what="both cases assessed")
        settled_ledger(reporting)
        good_last = reporting.get(f"/v1/cases/{good}/events").json()[-1]
        stray_last = reporting.get(f"/v1/cases/{stray}/events").json()[-1]

    def next_event(last: dict[str, Any], seq: int) -> dict[str, Any]:
        document = {**last, "event_id": str(uuid7()), "seq": seq, "prev_hash": last["hash"]}
        return {**document, "hash": compute_hash(document)}

    first = next_event(good_last, good_last["seq"] + 1)
    skipping = next_event(stray_last, stray_last["seq"] + 2)
    second = next_event(first, first["seq"] + 1)
    asyncio.run(
        publish_together(
            stack_settings,
            [
                (good.encode(), canonical_bytes(first)),
                (stray.encode(), canonical_bytes(skipping)),
                (good.encode(), canonical_bytes(second)),
            ],
        )
    )

    letters = wait_until(
        lambda: asyncio.run(dead_letters_for(stack_settings, stray, "reporting")),
        timeout=60,
        what="reporting's dead letter for the event that skips a seq",
    )
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        history = wait_until(
            lambda: (
                (h := reporting.get(f"/v1/cases/{good}/history").json())[-1]["seq"] == second["seq"] and h
            ),
            timeout=60,
            what="the good case's two new events in its history",
        )
        stray_history = reporting.get(f"/v1/cases/{stray}/history").json()
    assert [h["hash"] for h in history[-2:]] == [first["hash"], second["hash"]]
    assert [h["seq"] for h in history] == list(range(1, second["seq"] + 1))
    assert stray_history[-1]["seq"] == stray_last["seq"]
    assert len(letters) == 1
    assert stray in letters[0]["reason"]
    assert len(asyncio.run(dead_letters_for(stack_settings, good, "reporting"))) == 0
