"""Handoffs across regions through what befalls real deployments: MirrorMaker killed mid-handoff, the
receiving region's services down for a minute, and events forged into a replicated topic."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import canonical_bytes
from tests.cases import LITONG, reader
from tests.harness import SERVICES, wait_until
from tests.regions.cases import (
    accept_all,
    dead_letters,
    forge,
    graded_cases,
    in_region,
    log_records,
    offer_all,
    topic_records,
)
from tests.regions.cluster import ANHUI, NINGXIA, Region, TwoRegions

pytestmark = pytest.mark.integration


def assert_one_chain_in_both(regions: TwoRegions, case_ids: list[str], last_seq: dict[str, int]) -> None:
    """Each case's log in each region runs from seq 1 to at least ``last_seq`` once, byte-identical
    across the regions; each replicated topic holds every record of the case once."""
    for case_id in case_ids:

        def both(case_id: str = case_id) -> tuple[list[Any], list[Any]] | None:
            a = log_records(regions.anhui.stack, case_id)
            b = log_records(regions.ningxia.stack, case_id)
            return (a, b) if len(a) == len(b) >= last_seq[case_id] else None

        in_a, in_b = wait_until(both, timeout=180, what=f"case {case_id} whole in both regions")
        seqs = [json.loads(r.value)["seq"] for r in in_a]
        assert seqs == list(range(1, len(in_a) + 1)), f"case {case_id}: {seqs}"
        assert [r.value for r in in_a] == [r.value for r in in_b], f"case {case_id} differs"
    prefix = regions.anhui.stack.settings().topic_prefix
    for region, peer in ((regions.ningxia, ANHUI), (regions.anhui, NINGXIA)):
        copies = Counter(
            (r.key, json.loads(r.value)["seq"])
            for r in topic_records(region.stack, f"{peer}.{prefix}.case-events")
            if r.key is not None and r.key.decode() in case_ids
        )
        repeated = {k: n for k, n in copies.items() if n > 1}
        assert not repeated, f"{peer}'s records reached {region.alias} more than once: {repeated}"


def test_mirrormaker_killed_mid_handoff_neither_repeats_nor_loses(regions: TwoRegions) -> None:
    case_ids = graded_cases(regions.anhui, 8)
    offers = offer_all(regions.anhui, case_ids[:4])
    # Killed while the offers are on their way: its open transaction is aborted, never read.
    regions.mirror.kill()
    offers |= offer_all(regions.anhui, case_ids[4:])
    time.sleep(3)
    regions.mirror.start()
    acceptances = accept_all(regions.ningxia, offers)
    assert_one_chain_in_both(regions, case_ids, acceptances)
    audit = regions.audit()
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_handoff_to_a_region_whose_services_are_down_completes_when_they_return(
    regions: TwoRegions,
) -> None:
    case_ids = graded_cases(regions.anhui, 3)
    for name in SERVICES:
        regions.ningxia.stack.stop(name, kill=True)
    try:
        offers = offer_all(regions.anhui, case_ids)
        time.sleep(60)
    finally:
        for name in SERVICES:
            regions.ningxia.stack.start(name, timeout=180)
    acceptances = accept_all(regions.ningxia, offers)
    assert_one_chain_in_both(regions, case_ids, acceptances)


def test_events_forged_into_a_replicated_topic_are_refused_with_their_reason(regions: TwoRegions) -> None:
    ningxia = regions.ningxia.stack
    case_id = graded_cases(regions.anhui, 1)[0]
    offers = offer_all(regions.anhui, [case_id])
    accept_all(regions.ningxia, offers)
    with reader(ningxia) as read:
        held = in_region(read, case_id, offers[case_id] + 1)

    def told_of_offer() -> bool:
        return any(
            p.json().get("case_id") == case_id and p.json().get("event_type") == "handoff-requested"
            for p in regions.ningxia.recorder.to("/litong-lead-office")
        )

    # ningxia's notify knows the case (it told 利通区 of the offer): its alerts go where the case stands.
    wait_until(told_of_offer, timeout=120, what="ningxia's notify told 利通区 of the offer")
    documents = [json.loads(r.value) for r in log_records(ningxia, case_id)]
    last = documents[-1]
    forgeries = {
        # 宁夏 writes the case now: an event from 安徽 at its next seq is a second writer.
        "second writer": forge(last, seq=last["seq"] + 1, prev_hash=last["hash"]),
        # Another event at a seq the chain already holds: a fork.
        "fork": forge(documents[1], recorded_at="2026-01-01T00:00:00Z"),
        # An altered event under its old hash.
        "altered": canonical_bytes({**documents[1], "jurisdiction": LITONG}),
    }
    topic = f"{ANHUI}.{ningxia.settings().topic_prefix}.case-events"

    async def write() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=regions.ningxia.broker.bootstrap, acks="all")
        await producer.start()
        try:
            for value in forgeries.values():
                await producer.send_and_wait(topic, value, key=case_id.encode())
        finally:
            await producer.stop()

    asyncio.run(write())

    def refused() -> list[dict[str, Any]] | None:
        found = [
            d
            for d in dead_letters(ningxia)
            if d["key"] == case_id and d["consumer"] == f"triage-import-{ANHUI}"
        ]
        return found if len(found) == len(forgeries) else None

    letters = wait_until(refused, timeout=120, what="the three forgeries dead-lettered in 宁夏")
    assert [d["value_text"].encode() for d in letters] == list(forgeries.values())
    reasons = [d["reason"] for d in letters]
    assert "second writer" in reasons[0] and case_id in reasons[0], reasons[0]
    assert reasons[1].startswith("chain fork: ") and "seq 2" in reasons[1], reasons[1]
    assert "hash" in reasons[2], reasons[2]
    # Beside the words, the fault as a code and, where triage holds the case, where it stands.
    details = [d.get("details", {}) for d in letters]
    assert [d.get("fault") for d in details] == ["second-writer", "fork", "altered"], details
    assert [d.get("case_jurisdiction") for d in details[:2]] == [held["jurisdiction"]] * 2, details
    with reader(ningxia) as read:
        after = read.get(f"/v1/cases/{case_id}").json()
    assert (after["last_seq"], after["status"]) == (held["last_seq"], held["status"])
    assert all(r.value not in forgeries.values() for r in log_records(ningxia, case_id))

    # Each refusal is alerted to the case's lead office in 宁夏, and, through 宁夏's notices, in 安徽.
    for region, office in ((regions.ningxia, "/litong-lead-office"), (regions.anhui, "/yaohai-lead-office")):

        def alerted(region: Region = region, office: str = office) -> list[Any] | None:
            found = [
                p.json()
                for p in region.recorder.to(office)
                if p.json().get("case_id") == case_id and p.json().get("event_type") == "region-chain-refused"
            ]
            return found if len(found) >= len(forgeries) else None

        alerts = wait_until(alerted, timeout=120, what=f"the refusals alerted in {region.alias}")
        assert len(alerts) == len(forgeries), [a["facts"] for a in alerts]
