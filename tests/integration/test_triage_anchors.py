"""Chain-head anchors as triage publishes them (docs/regions.md, "Audit across regions"): every anchored head
is an event the case log holds, at the hash it holds; the latest anchored head of a case is its last event;
the anchors form one chain that survives a SIGKILL of triage and a triage database rebuilt from the log,
with no head anchored twice; and ``cluetrail audit verify --region`` over the region agrees."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cluetrail.db import ensure_database
from cluetrail.kafka import ORIGIN_REGION_HEADER, anchor_topic, read_log
from cluetrail.settings import CommonSettings
from contracts.anchors import Anchor, anchor_verifier
from tests.cases import unique_shop
from tests.commands import cluetrail
from tests.harness import Stack, WebhookRecorder, wait_until

pytestmark = pytest.mark.integration

Head = tuple[str, int, str]  # case, seq, hash


def own_events(settings: CommonSettings) -> dict[tuple[str, int], str]:
    """(case, seq) -> hash of each event this region wrote, as its case log holds it (first in log order)."""

    async def read() -> dict[tuple[str, int], str]:
        held: dict[tuple[str, int], str] = {}
        async for records, _ in read_log(settings):
            for record in sorted(records, key=lambda r: (r.partition, r.offset)):
                if any(k == ORIGIN_REGION_HEADER for k, _ in record.headers):
                    continue
                try:
                    document = json.loads(record.value or b"")
                    held.setdefault((str(document["case_id"]), int(document["seq"])), str(document["hash"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a poison record other tests publish: no event
        return held

    return asyncio.run(read())


def anchors(settings: CommonSettings) -> list[tuple[dict[str, Any], Anchor]]:
    """The region's anchors topic in log order, each record as its document and its model."""

    async def read() -> list[bytes]:
        values: list[bytes] = []
        async for records, _ in read_log(settings, anchor_topic(settings)):
            values += [r.value or b"" for r in sorted(records, key=lambda r: r.offset)]
        return values

    return [(json.loads(v), Anchor.model_validate_json(v)) for v in asyncio.run(read())]


def verified_heads(settings: CommonSettings) -> list[list[Head]]:
    """The heads of each anchor of the region's chain, the chain verified (a resend skipped as a repeat)."""
    verifier = anchor_verifier()
    chain: list[list[Head]] = []
    for document, anchor in anchors(settings):
        assert anchor.region == settings.region
        assert verifier.feed(document) is None, verifier.breaks
        if verifier.head(settings.region).seq == len(chain) + 1:
            chain.append([(str(h.case_id), h.seq, h.hash) for h in anchor.heads])
    return chain


def post_clue(stack: Stack) -> str:
    with stack.client("intake") as intake:
        answer = intake.post("/v1/clues", json=unique_shop(), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 202, answer.text
    case_id: str = answer.json()["case_id"]
    return case_id


def anchored_at_head(settings: CommonSettings, case_id: str) -> Head:
    """Wait until the case's last event this region wrote is anchored; that head."""

    def anchored() -> Head | None:
        held = own_events(settings)
        last = max((seq for case, seq in held if case == case_id), default=0)
        if last < 2:  # triage has not graded it yet
            return None
        heads = [h for anchor in verified_heads(settings) for h in anchor if h[0] == case_id]
        return heads[-1] if heads and heads[-1] == (case_id, last, held[(case_id, last)]) else None

    found: Head = wait_until(anchored, timeout=90, what=f"case {case_id} anchored at its head")
    return found


def test_every_anchored_head_is_an_event_of_the_log_and_the_latest_is_the_cases_last(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = post_clue(stack)
    anchored_at_head(stack_settings, case_id)
    held = own_events(stack_settings)
    chain = verified_heads(stack_settings)
    assert chain
    for heads in chain:
        for case, seq, hash_ in heads:
            assert held.get((case, seq)) == hash_, f"anchored {case} seq {seq} is not in the log as {hash_}"


def test_anchors_continue_one_chain_after_a_sigkill_and_a_rebuilt_database(tmp_path: Path) -> None:
    """Its own intake and triage, on topics and databases of their own: triage is killed with SIGKILL and its
    database dropped, so it is rebuilt from the log; its anchors read back from the anchors topic keep the
    chain going where it stood, and no head is anchored twice."""
    recorder = WebhookRecorder()
    recorder.start()
    stack = Stack(tmp_path, recorder, env={"CLUETRAIL_TRIAGE_ANCHOR_SECONDS": "0.5"})
    try:
        stack.init()
        stack.start("intake")
        stack.start("triage")
        settings = stack.settings()
        first = anchored_at_head(settings, post_clue(stack))

        stack.stop("triage", kill=True)
        asyncio.run(empty_database(settings, "triage"))
        stack.start("triage")
        second = anchored_at_head(settings, post_clue(stack))

        chain = verified_heads(settings)
        every = [head for heads in chain for head in heads]
        assert len(every) == len(set(every)), "a head was anchored twice"
        assert first in every and second in every
        assert [h for h in every if h[0] == first[0]][-1] == first, "the first case was anchored again"

        # The region's auditor, over the one region: its log, its anchors and their agreement.
        audited = cluetrail(
            stack, "audit", "verify", "--strict", "--region", f"local={settings.kafka_bootstrap}"
        )
        assert audited.returncode == 0, audited.stdout + audited.stderr
        assert f"anchors verified: {len(chain)}" in audited.stdout
    finally:
        stack.stop_all()
        recorder.stop()


async def empty_database(settings: CommonSettings, service: str) -> None:
    """Drop the service's database and create it again, empty (as an operator rebuilding it does)."""
    dsn = settings.database_for(service)
    conn = await asyncpg.connect(settings.database_url.rpartition("/")[0] + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE "{dsn.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await conn.close()
    await ensure_database(dsn)
