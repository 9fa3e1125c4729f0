"""``cluetrail audit verify --region`` on one broker: region anhui's own topics, with region ningxia's anchors
as MirrorMaker 2 copies them into anhui's cluster (``ningxia.<prefix>.anchors``, written here by the test as
MirrorMaker writes them). A case of 华都 written by anhui through seq 3, handed to ningxia, which wrote 4 and
5: anhui's log holds the whole chain (copies name ningxia), and both regions' anchors agree with it. Then a
sixth event that ningxia anchored is not the one anhui's log holds: anhui's copy is named altered, from the
other side, by (region, case, seq, hash). Two regions on two clusters are the regions suite's
(``tests/regions``): regions share a topic prefix, so one broker holds one region's own topics only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from cluetrail.kafka import ORIGIN_REGION_HEADER, anchor_topic, ensure_topics
from cluetrail.settings import CommonSettings
from contracts.anchors import AnchoredHead, anchor_bytes, seal_anchor
from contracts.chain import START
from contracts.envelope import compute_hash
from contracts.events import event_bytes
from tests.harness import ROOT
from tests.unit.case_chains import assessed, chain, determined, escalated

pytestmark = pytest.mark.integration

ANHUI, NINGXIA = "anhui", "ningxia"
ENV = {**os.environ, "CLUETRAIL_ENVIRONMENT": "local", "COLUMNS": "250"}
Published = tuple[str, bytes, list[tuple[str, bytes]]]  # topic, value, headers


def region_settings() -> CommonSettings:
    return CommonSettings(environment="local", topic_prefix=f"test-audit-{uuid.uuid4().hex[:8]}")


def publish(settings: CommonSettings, key: str, records: list[Published]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for topic, value, headers in records:
                await producer.send_and_wait(topic, value, key=key.encode(), headers=headers)
        finally:
            await producer.stop()

    asyncio.run(send())


def audit(settings: CommonSettings, *regions: str) -> subprocess.CompletedProcess[str]:
    arguments = [arg for region in regions for arg in ("--region", region)]
    return subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "audit", "verify", "--strict", *arguments],
        # The clusters are the --region options'; CLUETRAIL_KAFKA_BOOTSTRAP is not read.
        env=ENV | {"CLUETRAIL_TOPIC_PREFIX": settings.topic_prefix, "CLUETRAIL_KAFKA_BOOTSTRAP": "unused:1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def head(document: dict[str, Any]) -> AnchoredHead:
    return AnchoredHead(case_id=uuid.UUID(document["case_id"]), seq=document["seq"], hash=document["hash"])


def test_a_region_agrees_with_its_peers_anchors_until_its_copy_contradicts_one() -> None:
    settings = region_settings()
    asyncio.run(ensure_topics(settings, peers=[NINGXIA]))
    events = chain(assessed(), determined(), escalated(), determined())
    documents = [json.loads(event_bytes(e)) for e in events]
    case = str(events[0].case_id)
    copy = [(ORIGIN_REGION_HEADER, NINGXIA.encode())]
    log = [(settings.case_topic, event_bytes(e), [] if e.seq <= 3 else copy) for e in events]
    anhui_anchor = seal_anchor(region=ANHUI, seq=1, prev_hash=START.hash, heads=[head(documents[2])])
    ningxia_anchor = seal_anchor(region=NINGXIA, seq=1, prev_hash=START.hash, heads=[head(documents[4])])
    replica = settings.peer_topic(NINGXIA, anchor_topic(settings))
    publish(settings, case, log)
    publish(settings, ANHUI, [(anchor_topic(settings), anchor_bytes(anhui_anchor), [])])
    publish(settings, NINGXIA, [(replica, anchor_bytes(ningxia_anchor), [])])

    agreed = audit(settings, f"{ANHUI}={settings.kafka_bootstrap}")
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "region anhui: events 5" in agreed.stdout and "anchors verified: 2" in agreed.stdout

    # ningxia wrote seq 6 and anchored it; anhui's log holds another seq 6 on the same chain.
    sixth, forged = json.loads(event_bytes(events[-1])), json.loads(event_bytes(events[-1]))
    for document, actor in ((sixth, "officer-ningxia"), (forged, "forger-01")):
        document.update(seq=6, prev_hash=documents[4]["hash"], event_id=str(uuid.uuid4()))
        document["actor"]["id"] = actor
        document["hash"] = compute_hash(document)
    second = seal_anchor(region=NINGXIA, seq=2, prev_hash=ningxia_anchor.hash, heads=[head(sixth)])
    publish(settings, case, [(settings.case_topic, json.dumps(forged).encode(), copy)])
    publish(settings, NINGXIA, [(replica, anchor_bytes(second), [])])

    contradicted = audit(settings, f"{ANHUI}={settings.kafka_bootstrap}")
    assert contradicted.returncode == 1, contradicted.stdout + contradicted.stderr
    lines = [line for line in contradicted.stdout.splitlines() if line.startswith(("altered", "fork", "gap"))]
    assert lines == [
        f"altered: region anhui case {case} seq 6 hash {forged['hash']}: "
        f"region ningxia anchored {sixth['hash']} at this seq"
    ], contradicted.stdout
    assert "offset" not in contradicted.stdout


def test_an_anchor_chain_of_a_peer_broken_in_this_cluster_is_named_and_bad_options_are_refused() -> None:
    settings = region_settings()
    asyncio.run(ensure_topics(settings, peers=[NINGXIA]))
    events = chain(assessed())
    first = seal_anchor(
        region=NINGXIA, seq=1, prev_hash=START.hash, heads=[head(json.loads(event_bytes(events[-1])))]
    )
    # The second anchor as it reached this cluster names a predecessor that is not the first.
    second = json.loads(
        anchor_bytes(seal_anchor(region=NINGXIA, seq=2, prev_hash="e" * 64, heads=first.heads))
    )
    replica = settings.peer_topic(NINGXIA, anchor_topic(settings))
    publish(
        settings, NINGXIA, [(replica, anchor_bytes(first), []), (replica, json.dumps(second).encode(), [])]
    )
    publish(settings, ANHUI, [(anchor_topic(settings), b"not an anchor", [])])

    found = audit(settings, f"{ANHUI}={settings.kafka_bootstrap}")
    assert found.returncode == 1, found.stdout + found.stderr
    assert (
        f"anchors: region ningxia anchor seq 2 hash {second['hash']}: prev_hash does not match"
        in found.stdout
    )
    assert "read in region anhui's cluster" in found.stdout
    assert "anchors: region anhui: a record that is no anchor" in found.stdout

    bad_options = (
        ["--region", "Anhui=127.0.0.1:9092"],
        ["--region", "anhui="],
        ["--region", "anhui=127.0.0.1:9092", "--region", "anhui=127.0.0.1:9092"],
        ["--region", "anhui=127.0.0.1:9092", "--file", str(ROOT / "README.md")],
    )
    for bad in bad_options:
        refused = subprocess.run(
            [sys.executable, "-m", "cluetrail.cli", "audit", "verify", *bad],
            env=ENV,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 2, refused.stdout + refused.stderr
