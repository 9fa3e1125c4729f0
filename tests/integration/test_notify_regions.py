"""Notices across regions (跨区域通报) at notify of region ningxia (宁夏), on the real broker and database.

The real notify process runs as region ningxia (``CLUETRAIL_REGION``, the two-region regions file) on topics
and a database of its own. The test plays region anhui (安徽) the way ningxia's cluster sees it: anhui's
notices, sealed into anhui's chains, written to ``anhui.<prefix>.notices`` exactly as MirrorMaker writes
them; triage's importer's dead letters written to ningxia's dead-letter topic as the importer writes them;
ningxia's own case events written to its case topic as triage writes them. Each scenario waits on a record
written after the ones it checks, never on time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cluetrail.kafka import CASE_TOPIC_CONFIG, ORIGIN_REGION_HEADER, event_headers, notice_topic, read_log
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, Envelope, canonical_bytes, compute_hash, utcnow, uuid7
from contracts.events import CaseEscalated, HandoffRequested, HandoffRequestedPayload, event_bytes
from contracts.jurisdictions import default_registry
from contracts.notices import Notice, notice_bytes, seal_notice
from contracts.regions import RegionRegistry, importer_name
from contracts.vocabulary import EscalationTarget
from services.notify.domain.cases import CaseFacts
from services.notify.domain.refusals import refusal_key
from services.notify.domain.regions import (
    CHAIN_REFUSED,
    Here,
    ack_facts,
    ack_key,
    cross_region_facts,
    received_facts,
    received_key,
)
from tests.cases import LITONG, YAOHAI
from tests.dead_letters import importer_dead_letter
from tests.harness import ROOT, WebhookRecorder, wait_until
from tests.integration.deliveries import logged_notices
from tests.integration.notify_log import (
    DADIAN,
    OFFICER,
    CaseLog,
    OwnNotify,
    office,
    own_notify,
    signed_with,
)

pytestmark = pytest.mark.integration

REGIONS_FILE = ROOT / "deploy" / "regions" / "anhui-ningxia.json"
REGISTRY = default_registry()
ANHUI = Here("anhui", RegionRegistry.load(REGIONS_FILE, REGISTRY))
SHENGLI = "640302L01"  # 利通区胜利镇
# Both lead offices are in the routing file; ningxia's notify tells only 利通区's.
ESCALATIONS = {"event": "escalated", "targets": ["lead_office", "other_region"]}


@dataclass
class Anhui:
    """Region anhui's notices as ningxia's cluster holds them: each stream a chain, sealed as anhui's notify
    seals it, written to ``anhui.<prefix>.notices`` keyed by stream."""

    settings: CommonSettings
    heads: dict[str, Notice] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return self.settings.peer_topic("anhui", notice_topic(self.settings))

    def seal(
        self, kind: str, case_id: uuid.UUID, facts: dict[str, Any], dedupe_key: str, where: str = DADIAN
    ) -> Notice:
        """The next notice of the case's stream in anhui's chain."""
        stream = str(case_id)
        head = self.heads.get(stream)
        notice = seal_notice(
            kind=kind,
            stream=stream,
            seq=head.seq + 1 if head else 1,
            prev_hash=head.hash if head else GENESIS_HASH,
            jurisdiction=where,
            occurred_at=utcnow(),
            recipients=[],
            facts=facts,
            case_id=case_id,
            dedupe_key=dedupe_key,
        )
        self.heads[stream] = notice
        return notice

    def write(self, *records: tuple[str, bytes]) -> None:
        """Write (stream, value) records to anhui's replicated topic, as MirrorMaker does."""
        produce(self.settings, self.topic, [(k.encode(), v, {}) for k, v in records])

    def send(self, *notices: Notice) -> None:
        self.write(*((n.stream, notice_bytes(n)) for n in notices))


def produce(
    settings: CommonSettings, topic: str, records: list[tuple[bytes | None, bytes, dict[str, str]]]
) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for key, value, headers in records:
                await producer.send_and_wait(
                    topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
                )
        finally:
            await producer.stop()

    asyncio.run(send())


def create_peer_topics(own: OwnNotify) -> None:
    """anhui's replicated topics in ningxia's cluster, as MirrorMaker creates them."""
    settings = own.stack.settings()

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            topics = [settings.peer_topic("anhui", t) for t in (notice_topic(settings), settings.case_topic)]
            await admin.create_topics(
                [NewTopic(t, settings.case_partitions, 1, topic_configs=CASE_TOPIC_CONFIG) for t in topics]
            )
        finally:
            await admin.close()

    asyncio.run(create())


@dataclass
class Ningxia:
    own: OwnNotify
    anhui: Anhui

    @property
    def settings(self) -> CommonSettings:
        return self.own.stack.settings()

    def posts(self, path: str, case_id: uuid.UUID) -> list[dict[str, Any]]:
        return [p.json() for p in self.own.receiver.to(path) if p.json().get("case_id") == str(case_id)]

    def delivered(self, case_id: uuid.UUID, kind: str, count: int = 1) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            rows = [r for r in self.own.deliveries(case_id) if r["event_type"] == kind]
            return rows if len(rows) >= count and all(r["status"] == "delivered" for r in rows) else None

        found: list[dict[str, Any]] = wait_until(done, timeout=120, what=f"{kind} of {case_id} delivered")
        return found

    def refused(self, values: list[bytes]) -> list[dict[str, Any]]:
        """The dead letters of ``values`` refused by the reader of anhui's notices, in their order."""

        def found() -> list[dict[str, Any]] | None:
            letters = {
                d["value_text"]: d
                for d in all_dead_letters(self.settings)
                if d.get("consumer") == "notify-region-anhui"
            }
            wanted = [letters.get(v.decode()) for v in values]
            return [d for d in wanted if d is not None] if all(wanted) else None

        letters: list[dict[str, Any]] = wait_until(found, timeout=120, what="anhui's notices refused")
        return letters

    def publish(self, events: list[Envelope], origin: str | None = None) -> None:
        """Case events on ningxia's own log, as triage writes them (a copy of anhui's: its origin header)."""
        produce(
            self.settings,
            self.settings.case_topic,
            [
                (
                    str(e.case_id).encode(),
                    event_bytes(e),
                    event_headers(e) | ({ORIGIN_REGION_HEADER: origin} if origin else {}),
                )
                for e in events
            ],
        )

    def importer_refused(self, value: bytes, key: bytes, reason: str) -> None:
        """A dead letter of triage's importer of anhui's events, as it writes one."""
        document = importer_dead_letter(value, reason, key=key, prefix=self.settings.topic_prefix)
        produce(
            self.settings,
            self.settings.dead_letter_topic,
            [
                (
                    key,
                    json.dumps(document, ensure_ascii=False).encode(),
                    {"dead-letter-reason": reason[:200], "consumer": importer_name("anhui")},
                )
            ],
        )


def all_dead_letters(settings: CommonSettings) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for records, _ in read_log(settings, settings.dead_letter_topic):
            found.extend(json.loads(r.value or b"{}") for r in records)
        return found

    return asyncio.run(read())


@pytest.fixture(scope="module")
def ningxia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ningxia]:
    receiver = WebhookRecorder()
    handoffs = {"event": "handoff-requested"}
    recipients = [
        office("litong-lead-office", "利通区处非办", "lead_office", LITONG, receiver.url("/litong"),
               ESCALATIONS, handoffs),
        office("yaohai-lead-office", "瑶海区处非办", "lead_office", YAOHAI, receiver.url("/yaohai"),
               ESCALATIONS, handoffs),
    ]  # fmt: skip
    with own_notify(
        tmp_path_factory.mktemp("ningxia"),
        recipients,
        receiver,
        prepare=create_peer_topics,
        CLUETRAIL_REGION="ningxia",
        CLUETRAIL_REGIONS_FILE=str(REGIONS_FILE),
    ) as own:
        yield Ningxia(own, Anhui(own.stack.settings()))


def cross_region(anhui: Anhui, case: CaseLog | None = None, target: str = LITONG) -> Notice:
    """瑶海区's escalation of a 大店社区 case to ``target`` in ningxia, as anhui's notify records it."""
    if case is None:
        case = CaseLog(DADIAN)
        case.clue()
    escalated = case.escalated(EscalationTarget.OTHER_REGION, target)
    assert isinstance(escalated, CaseEscalated)
    facts = CaseFacts(case_id=case.case_id, jurisdiction=DADIAN, subject_name="某某财富管理有限公司")
    return anhui.seal(
        "cross-region",
        case.case_id,
        cross_region_facts(escalated, facts, REGISTRY, ANHUI, "ningxia"),
        f"cross-region/{escalated.event_id}",
    )


def test_anhuis_cross_region_notice_reaches_litong_once_and_its_acknowledgement_goes_back(
    ningxia: Ningxia,
) -> None:
    case = CaseLog(DADIAN)
    case.clue()
    first = cross_region(ningxia.anhui, case)
    # Written twice (a publisher's retry): one notice, one delivery. The case's next notice, to 金积镇,
    # comes after both.
    second = cross_region(ningxia.anhui, case, "640302L02")
    ningxia.anhui.send(first, first, second)
    rows = ningxia.delivered(case.case_id, "cross-region-received", 2)
    assert [(r["recipient_id"], r["origin"], r["needs_ack"]) for r in rows] == [
        ("litong-lead-office", "notice", True),
        ("litong-lead-office", "notice", True),
    ]
    assert len(ningxia.own.deliveries(case.case_id)) == 2
    posts = [p for p in ningxia.own.receiver.to("/litong") if p.json().get("case_id") == str(case.case_id)]
    assert [p.json()["facts"]["original_notice_id"] for p in posts] == [
        str(first.notice_id),
        str(second.notice_id),
    ]
    assert all(signed_with(ningxia.own.secrets["litong-lead-office"], p) for p in posts)
    body = posts[0].json()
    assert body["event_type"] == "cross-region-received"
    assert body["text"].startswith("【跨区域通报】安徽省合肥市瑶海区龙岗街道大店社区通报：")
    assert not ningxia.posts("/yaohai", case.case_id)  # anhui's office hears from anhui's notify

    url = httpx.URL(body["acknowledge_url"])
    with httpx.Client(base_url=ningxia.own.stack.url("notify"), timeout=30) as client:
        for _ in range(2):  # acknowledged twice: one acknowledgement travels back
            answer = client.post(url.path, json={"token": url.params["token"]})
            assert answer.status_code == 200, answer.text
    recorded = ningxia.own.notices(case.case_id)
    assert [n["kind"] for n in recorded] == [
        "cross-region-received",
        "cross-region-received",
        "cross-region-ack",
    ]
    ack = recorded[2]
    assert (ack["facts"]["from_region"], ack["facts"]["to_region"]) == ("ningxia", "anhui")
    assert ack["facts"]["original_notice_id"] == str(first.notice_id)
    assert ack["facts"]["acknowledged_by"] == "litong-lead-office"
    assert ack["prev_hash"] == recorded[1]["hash"]
    acknowledged = [r["acknowledged_at"] is not None for r in ningxia.own.deliveries(case.case_id)]
    assert acknowledged == [True, False]

    def on_topic() -> list[dict[str, Any]] | None:
        found = [n for n in logged_notices(ningxia.settings) if n["case_id"] == str(case.case_id)]
        return found if len(found) == len(recorded) else None

    published = wait_until(on_topic, timeout=120, what="the acknowledgement on ningxia's notices topic")
    assert [n["notice_id"] for n in published] == [n["notice_id"] for n in recorded]


def forge(notice: Notice, **changes: Any) -> bytes:
    """``notice`` changed, with a hash right for the change: only the chain can tell."""
    document = notice.model_dump(mode="json") | changes | {"notice_id": str(uuid7())}
    document["hash"] = compute_hash(document)
    return canonical_bytes(document)


def test_forged_and_out_of_chain_notices_of_anhui_are_dead_lettered_with_their_reason_never_told(
    ningxia: Ningxia,
) -> None:
    anhui = ningxia.anhui
    genuine = cross_region(anhui)
    assert genuine.case_id is not None
    stream = genuine.stream
    document = genuine.model_dump(mode="json")
    elsewhere = anhui.seal(
        "cross-region",
        genuine.case_id,
        {**genuine.facts, "from_region": "gansu"},
        "cross-region/elsewhere",
    )
    forgeries = [
        # Another notice at a seq anhui's chain already holds.
        (stream, forge(genuine, facts={**genuine.facts, "target_jurisdiction": "640302L02"})),
        # The genuine notice altered under its old hash.
        (stream, canonical_bytes({**document, "facts": {**genuine.facts, "reason": "伪造"}})),
        # A notice three ahead: the ones between are missing.
        (stream, forge(genuine, seq=4, prev_hash=genuine.hash)),
        # Next in the chain, but speaking for another region.
        (stream, notice_bytes(elsewhere)),
        (stream, b"not a notice"),
    ]
    anhui.write((stream, notice_bytes(genuine)), *forgeries)
    letters = ningxia.refused([v for _, v in forgeries])
    reasons = [d["reason"] for d in letters]
    assert "seq 1 was already recorded with a different hash" in reasons[0], reasons[0]
    assert "altered" in reasons[1], reasons[1]
    assert "seq 4 follows seq 1" in reasons[2], reasons[2]
    assert "says it is from region gansu, but it is on region anhui's notices topic" in reasons[3], reasons[3]
    assert reasons[4].startswith("not a notice of region anhui"), reasons[4]
    [told] = ningxia.delivered(genuine.case_id, "cross-region-received")
    assert ningxia.own.deliveries(genuine.case_id) == [told]
    assert [n["kind"] for n in ningxia.own.notices(genuine.case_id)] == ["cross-region-received"]


def test_an_escalation_ningxia_writes_crosses_to_anhui_and_anhuis_acknowledgement_marks_it(
    ningxia: Ningxia,
) -> None:
    # A copy of anhui's escalation of one of its cases to 利通区, handed to ningxia afterwards: anhui's
    # cross-region notice tells 利通区, so ningxia's notify neither tells it directly nor raises another.
    copied = CaseLog(DADIAN)
    copied.clue()
    copied.escalated(EscalationTarget.OTHER_REGION, LITONG)
    copied.add(
        HandoffRequested,
        HandoffRequestedPayload(
            from_jurisdiction=DADIAN,
            to_jurisdiction=LITONG,
            from_region="anhui",
            to_region="ningxia",
            reason="实际经营地与参与人均在利通区。",
        ),
        OFFICER,
    )
    ningxia.publish(copied.events, origin="anhui")
    [offer] = ningxia.delivered(copied.case_id, "handoff-requested")
    assert offer["recipient_id"] == "litong-lead-office"
    assert [r["event_type"] for r in ningxia.own.deliveries(copied.case_id)] == ["handoff-requested"]
    assert ningxia.own.notices(copied.case_id) == []

    # 胜利镇's case involves 瑶海区: ningxia raises the cross-region notice, addressed to anhui.
    case = CaseLog(SHENGLI)
    case.clue()
    case.assessed(key_case=True)
    case.escalated(EscalationTarget.OTHER_REGION, YAOHAI)
    ningxia.publish(case.events)

    def raised() -> list[dict[str, Any]] | None:
        return ningxia.own.notices(case.case_id) or None

    [notice] = wait_until(raised, timeout=120, what="ningxia's cross-region notice")
    assert notice["kind"] == "cross-region" and notice["recipients"] == []
    facts = notice["facts"]
    assert (facts["from_region"], facts["to_region"], facts["target_jurisdiction"]) == (
        "ningxia",
        "anhui",
        YAOHAI,
    )
    assert facts["case"]["participants"] == 420 and facts["escalation_seq"] == 3
    assert notice["acknowledged_by_regions"] == []
    assert ningxia.own.deliveries(case.case_id) == []  # told to no office here, nor to anhui's directly

    # anhui receives it, tells 瑶海区, whose acknowledgement comes back on anhui's notices topic.
    sent = Notice.model_validate(
        {k: v for k, v in notice.items() if k not in ("published_at", "acknowledged_by_regions")}
    )
    anhui = ningxia.anhui
    received = anhui.seal(
        "cross-region-received", case.case_id, received_facts(sent), received_key(sent, "ningxia"), YAOHAI
    )
    at = utcnow()
    ack = anhui.seal(
        "cross-region-ack",
        case.case_id,
        ack_facts(received, "yaohai-lead-office", "瑶海区处非办", at),
        ack_key(received, "yaohai-lead-office"),
        YAOHAI,
    )
    # An acknowledgement of a notice ningxia never raised is refused.
    stray = anhui.seal(
        "cross-region-ack",
        case.case_id,
        {**ack.facts, "original_notice_id": str(uuid7())},
        "cross-region-ack/stray",
        YAOHAI,
    )
    anhui.send(received, ack, ack, stray)
    [letter] = ningxia.refused([notice_bytes(stray)])
    assert "which is no cross-region notice of region ningxia to region anhui" in letter["reason"]
    [marked] = ningxia.own.notices(case.case_id)
    [by] = marked["acknowledged_by_regions"]
    assert (by["region"], by["recipient_id"], by["recipient_name"]) == (
        "anhui",
        "yaohai-lead-office",
        "瑶海区处非办",
    )
    assert by["ack_notice_id"] == str(ack.notice_id)


def test_a_refused_peer_event_is_alerted_once_here_and_anhuis_refusal_too(ningxia: Ningxia) -> None:
    case = CaseLog(SHENGLI)
    case.clue()
    case.assessed(key_case=False)
    ningxia.publish(case.events)
    key = str(case.case_id).encode()
    fork = json.loads(event_bytes(case.events[1])) | {
        "event_id": str(uuid7()),
        "recorded_at": "2026-01-01T00:00:00Z",
    }
    fork["hash"] = compute_hash(fork)
    forged = canonical_bytes(fork)
    reason = f"chain fork: seq 2 was already recorded with a different hash (assessed, {fork['event_id']})"
    ningxia.importer_refused(forged, key, reason)
    ningxia.importer_refused(forged, key, reason)  # the importer's batch redelivered: dead-lettered again
    gap = canonical_bytes({**fork, "seq": 9, "event_id": str(uuid7())})
    ningxia.importer_refused(gap, key, "chain gap: seq 9 follows seq 2: events 3..8 are missing")
    alerts = ningxia.delivered(case.case_id, CHAIN_REFUSED, 2)
    assert {r["recipient_id"] for r in alerts} == {"litong-lead-office"}
    notices = ningxia.own.notices(case.case_id)
    assert [n["facts"]["fault"] for n in notices] == ["fork", "gap"]
    assert notices[0]["dedupe_key"] == refusal_key("ningxia", hashlib.sha256(forged).hexdigest())
    assert notices[0]["facts"]["detected_in"] == "ningxia" and notices[0]["facts"]["seq"] == 2
    posts = ningxia.posts("/litong", case.case_id)
    assert [p["facts"]["fault"] for p in posts] == ["fork", "gap"]
    assert posts[0]["text"].startswith("【跨区域案件告警】宁夏回族自治区拒收了来自安徽省的案件")

    # anhui relays ningxia's alert (known here: nothing new) and alerts its own refusal of the case.
    anhui = ningxia.anhui
    ours = Notice.model_validate(
        {k: v for k, v in notices[0].items() if k not in ("published_at", "acknowledged_by_regions")}
    )
    relay = anhui.seal(
        CHAIN_REFUSED, case.case_id, {**ours.facts, "relayed_from": "ningxia"}, str(ours.dedupe_key)
    )
    theirs = anhui.seal(
        CHAIN_REFUSED,
        case.case_id,
        {**ours.facts, "detected_in": "anhui", "from_region": "ningxia", "record_sha256": "cd" * 32},
        refusal_key("anhui", "cd" * 32),
    )
    anhui.send(relay, theirs)
    alerts = ningxia.delivered(case.case_id, CHAIN_REFUSED, 3)
    assert len(alerts) == 3
    said = [
        (n["kind"], n["facts"]["detected_in"], n["facts"]["relayed_from"])
        for n in ningxia.own.notices(case.case_id)
    ]
    assert said == [
        (CHAIN_REFUSED, "ningxia", None),
        (CHAIN_REFUSED, "ningxia", None),
        (CHAIN_REFUSED, "anhui", "anhui"),
    ]


def test_a_rebuilt_database_reads_anhuis_notices_again_and_records_and_tells_nothing_twice(
    ningxia: Ningxia,
) -> None:
    own, anhui = ningxia.own, ningxia.anhui
    # anhui's notice to 利通区, told and acknowledged.
    theirs = CaseLog(DADIAN)
    theirs.clue()
    first = cross_region(anhui, theirs)
    anhui.send(first)
    [row] = ningxia.delivered(theirs.case_id, "cross-region-received")
    [post] = [p.json() for p in own.receiver.to("/litong") if p.json()["delivery_id"] == row["delivery_id"]]
    url = httpx.URL(post["acknowledge_url"])
    with httpx.Client(base_url=own.stack.url("notify"), timeout=30) as client:
        assert client.post(url.path, json={"token": url.params["token"]}).status_code == 200
    # ningxia's notice to 瑶海区, acknowledged there.
    ours = CaseLog(SHENGLI)
    ours.clue()
    ours.escalated(EscalationTarget.OTHER_REGION, YAOHAI)
    ningxia.publish(ours.events)
    [raised] = wait_until(lambda: own.notices(ours.case_id) or None, timeout=120, what="ningxia's notice")
    sent = Notice.model_validate(
        {k: v for k, v in raised.items() if k not in ("published_at", "acknowledged_by_regions")}
    )
    received = anhui.seal(
        "cross-region-received", ours.case_id, received_facts(sent), received_key(sent, "ningxia"), YAOHAI
    )
    ack = ack_facts(received, "yaohai-lead-office", "瑶海区处非办", utcnow())
    anhui.send(
        received,
        anhui.seal("cross-region-ack", ours.case_id, ack, ack_key(received, "yaohai-lead-office"), YAOHAI),
    )
    wait_until(
        lambda: own.notices(ours.case_id)[0]["acknowledged_by_regions"],
        timeout=120,
        what="anhui's acknowledgement read",
    )
    before = {c: own.notices(c) for c in (theirs.case_id, ours.case_id)}
    wait_until(
        lambda: len([n for n in logged_notices(ningxia.settings) if n["case_id"] in map(str, before)]) == 3,
        timeout=120,
        what="ningxia's notices on its topic",
    )

    # The database is lost: notify starts on a new one, same topics, same consumer groups.
    own.stop()
    own.env["CLUETRAIL_DATABASE_PREFIX"] = own.env["CLUETRAIL_DATABASE_PREFIX"] + "_rebuilt"
    own.start()
    # anhui's next notice of the case comes after the one already told: it alone is told now.
    second = cross_region(anhui, theirs, "640302L02")
    anhui.send(second)
    [told] = ningxia.delivered(theirs.case_id, "cross-region-received")
    assert told["delivery_id"] != row["delivery_id"]
    posts = [p for p in own.receiver.to("/litong") if p.json()["case_id"] == str(theirs.case_id)]
    assert [p.json()["facts"]["original_notice_id"] for p in posts] == [
        str(first.notice_id),
        str(second.notice_id),
    ]
    after = own.notices(theirs.case_id)
    assert [n["notice_id"] for n in after[:2]] == [n["notice_id"] for n in before[theirs.case_id]]
    assert [n["kind"] for n in after] == [
        "cross-region-received",
        "cross-region-ack",
        "cross-region-received",
    ]
    assert after[2]["seq"] == 3 and after[2]["prev_hash"] == after[1]["hash"]
    # anhui's acknowledgement of ningxia's notice is read again from anhui's topic.
    marked = wait_until(
        lambda: own.notices(ours.case_id)[0]["acknowledged_by_regions"],
        timeout=120,
        what="anhui's acknowledgement read again",
    )
    assert [(a["region"], a["recipient_id"]) for a in marked] == [("anhui", "yaohai-lead-office")]
    assert [n["notice_id"] for n in own.notices(ours.case_id)] == [raised["notice_id"]]
