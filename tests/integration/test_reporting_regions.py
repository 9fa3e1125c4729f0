"""Reporting in two regions (deploy/regions/anhui-ningxia.json), each a reporting service configured as its
region on its own case log, fed what that log holds as triage and its importer write it: the region's own
events, and byte-identical copies of the other region's events with the ``origin-region`` header.

Case 甲 of 华都社区 (合肥市瑶海区, 安徽) is offered to 胜利镇 (吴忠市利通区, 宁夏) on 5 November 2026,
accepted and worked on there, offered back to 史城社区 on 20 November and accepted by 瑶海区. Case 乙 of
史城社区 is offered to 金积镇 on 9 November and returned. Each region's ledger shows the handoff from its own
side (offered out/in, handed out/in, in Chinese), its officers read what the rule lets them, and each
region's cross-province register, computed from its own log, lists the case where it stands — the same
row in both. An as-of projection agrees with what the live one served at its instant, and a rebuild gives
the same rows as the live projection."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from cluetrail.kafka import event_headers
from contracts.envelope import Actor, Envelope
from contracts.events import (
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    HandoffReturned,
    HandoffReturnedPayload,
    event_bytes,
)
from contracts.jurisdictions import default_registry
from contracts.regions import RegionRegistry
from tests.commands import cluetrail
from tests.harness import ROOT, Stack, WebhookRecorder, wait_until
from tests.integration.golden_reporting import CaseBuilder
from tests.integration.ledger import active_version, schemas_differ

pytestmark = pytest.mark.integration

REGIONS_FILE = ROOT / "deploy" / "regions" / "anhui-ningxia.json"
REGIONS = RegionRegistry.load(REGIONS_FILE, default_registry())
HUADU, SHICHENG, YAOHAI = "340102L01001", "340102L01002", "340102"  # 华都社区, 史城社区, 瑶海区 (安徽)
SHENGLI, JINJI, LITONG = "640302L01", "640302L02", "640302"  # 胜利镇, 金积镇, 利通区 (宁夏)
LEAD_LITONG = Actor(kind="officer", id="lead-litong-01", role="district_lead_officer")
LEAD_YAOHAI = Actor(kind="officer", id="lead-yaohai-01", role="district_lead_officer")
NOVEMBER = "2026-11"


@pytest.fixture(scope="module")
def regions(
    recorder: WebhookRecorder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Stack]]:
    """A reporting service per region, each on its own case log and database (the other services are not
    needed: the test writes each log as triage and its importer would)."""
    stacks: dict[str, Stack] = {}
    try:
        for alias in ("anhui", "ningxia"):
            stack = Stack(
                Path(tmp_path_factory.mktemp(alias)),
                recorder,
                region=alias,
                env={"CLUETRAIL_REGIONS_FILE": str(REGIONS_FILE)},
            )
            stacks[alias] = stack
            stack.init()
            stack.start("reporting")
        yield stacks
    finally:
        for stack in stacks.values():
            stack.stop_all()


def ends(source: str, target: str) -> dict[str, str | None]:
    """A handoff's ends with the regions triage records for them: the region serving each place."""
    return {
        "from_jurisdiction": source,
        "to_jurisdiction": target,
        "from_region": REGIONS.region_of(source),
        "to_region": REGIONS.region_of(target),
    }


def offer(case: CaseBuilder, target: str, day: str, actor: Actor) -> CaseBuilder:
    payload = HandoffRequestedPayload(**ends(case.jurisdiction, target), reason="参与人主要在对方辖区。")
    return case.add(HandoffRequested, payload, day, actor)


def accept(case: CaseBuilder, target: str, day: str, actor: Actor) -> CaseBuilder:
    """The receiving jurisdiction takes the case over: the acceptance is written for it."""
    source, case.jurisdiction = case.jurisdiction, target
    return case.add(HandoffAccepted, HandoffAcceptedPayload(**ends(source, target)), day, actor)


def log(stack: Stack, records: list[tuple[Envelope, str | None]]) -> None:
    """Append to the region's own case log: its own events, and copies of a peer's (``origin``)."""

    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.settings().kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            for event, origin in records:
                headers = [(k, v.encode()) for k, v in event_headers(event, origin).items()]
                await producer.send_and_wait(
                    stack.settings().case_topic,
                    event_bytes(event),
                    key=str(event.case_id).encode(),
                    headers=headers,
                )
        finally:
            await producer.stop()

    asyncio.run(send())


def client(stack: Stack, role: str, jurisdiction: str) -> httpx.Client:
    return stack.client("reporting", token=stack.token(role, jurisdiction, subject=f"{role}-{jurisdiction}"))


def row_at(stack: Stack, case: CaseBuilder, seq: int) -> dict[str, Any]:
    """The case's ledger row once the region's projection has applied its event ``seq``."""
    with client(stack, "auditor", "340000") as auditor:

        def reached() -> dict[str, Any] | None:
            answer = auditor.get(f"/v1/cases/{case.case_id}")
            row: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
            return row if row is not None and row["last_seq"] >= seq else None

        found: dict[str, Any] = wait_until(reached, timeout=90, what=f"case {case.case_id} at seq {seq}")
        return found


def handoff(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["region_handoff"], row["region_handoff_label"], row["peer_region"], row["peer_region_name"],
            row["peer_jurisdiction"])  # fmt: skip


def register(stack: Stack, root: str, as_of: str | None = None) -> list[dict[str, Any]]:
    params = {"period": NOVEMBER, "jurisdiction": root, **({"as_of": as_of} if as_of else {})}
    with client(stack, "auditor", "340000") as auditor:
        answer = auditor.get("/v1/reports/cross_province", params=params)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


def visible(stack: Stack, role: str, jurisdiction: str, case: CaseBuilder) -> bool:
    with client(stack, role, jurisdiction) as reader:
        answer = reader.get(f"/v1/cases/{case.case_id}/history")
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


def listed(stack: Stack, role: str, jurisdiction: str) -> dict[str, dict[str, Any]]:
    with client(stack, role, jurisdiction) as reader:
        page = reader.get("/v1/cases", params={"limit": 500}).json()
    return {row["case_id"]: row for row in page["items"]}


def test_a_case_handed_between_regions_in_each_regions_ledger_access_and_register(
    regions: dict[str, Stack],
) -> None:
    anhui, ningxia = regions["anhui"], regions["ningxia"]
    jia = CaseBuilder(HUADU).clue("11-02", "grid_patrol", "甲康养跨区（演示）", "elderly_care", 3_000_000, 80)
    jia.assessed("11-03", "serious").measure("11-04", "warning_interview")
    offer(jia, SHENGLI, "11-05", LEAD_YAOHAI)
    # anhui writes 1..4; ningxia's importer copies them into its log when the offer names its district.
    log(anhui, [(e, None) for e in jia.events])
    log(ningxia, [(e, "anhui") for e in jia.events])

    offered_a, offered_n = row_at(anhui, jia, 4), row_at(ningxia, jia, 4)
    assert handoff(offered_a) == ("offered_out", "移出待接收", "ningxia", "宁夏回族自治区", SHENGLI)
    assert handoff(offered_n) == ("offered_in", "移入待接收", "anhui", "安徽省", HUADU)
    assert offered_a["jurisdiction"] == offered_n["jurisdiction"] == HUADU
    # The district lead office asked to take it over reads it; its towns once it is theirs.
    assert visible(ningxia, "district_lead_officer", LITONG, jia)
    assert not visible(ningxia, "street_officer", SHENGLI, jia)
    (pending,) = register(anhui, YAOHAI)
    assert (pending["provinces"], pending["handoff"]) == (
        "宁夏回族自治区", "2026-11-05提请移交宁夏回族自治区吴忠市利通区胜利镇，待接收",
    )  # fmt: skip

    # ningxia accepts and works on it; anhui's importer copies its events back.
    accept(jia, SHENGLI, "11-06", LEAD_LITONG).measure("11-07", "seizure")
    written_in_ningxia = jia.events[4:]
    log(ningxia, [(e, None) for e in written_in_ningxia])
    log(anhui, [(e, "ningxia") for e in written_in_ningxia])

    out, into = row_at(anhui, jia, 6), row_at(ningxia, jia, 6)
    assert handoff(out) == ("handed_out", "已移出", "ningxia", "宁夏回族自治区", SHENGLI)
    assert handoff(into) == ("handed_in", "已移入", "anhui", "安徽省", HUADU)
    assert out["region_handoff_at"] == into["region_handoff_at"] == jia.events[4].occurred_at.isoformat()
    assert out["jurisdiction"] == into["jurisdiction"] == SHENGLI and out["held_by"] == [HUADU, SHENGLI]
    # One chain in both regions: the same events, the same hashes.
    with client(anhui, "auditor", "340000") as a, client(ningxia, "auditor", "640000") as n:
        history_a = [(h["seq"], h["hash"]) for h in a.get(f"/v1/cases/{jia.case_id}/history").json()]
        history_n = [(h["seq"], h["hash"]) for h in n.get(f"/v1/cases/{jia.case_id}/history").json()]
    assert history_a == history_n == [(e.seq, e.hash) for e in jia.events]

    # Who reads it now: where it is, in ningxia; its trail, where it was, in anhui; auditors, everything.
    assert visible(ningxia, "street_officer", SHENGLI, jia) and not visible(
        ningxia, "street_officer", JINJI, jia
    )
    assert visible(anhui, "district_lead_officer", YAOHAI, jia) and visible(
        anhui, "street_officer", "340102L01", jia
    )
    assert not visible(anhui, "police", YAOHAI, jia)
    assert visible(anhui, "auditor", "640000", jia) and visible(ningxia, "auditor", "340000", jia)
    # anhui's ledger of 瑶海区 keeps the case, handed out; its list of risks held does not.
    assert listed(anhui, "district_lead_officer", YAOHAI)[str(jia.case_id)]["region_handoff"] == "handed_out"
    assert listed(ningxia, "street_officer", SHENGLI)[str(jia.case_id)]["region_handoff"] == "handed_in"
    with client(anhui, "district_lead_officer", YAOHAI) as yaohai:
        exported = yaohai.get("/v1/reports/ledger/export", params={"format": "csv"})
        risks = yaohai.get("/v1/reports/risks", params={"period": NOVEMBER}).json()["rows"]
        page = yaohai.get(f"/dashboard/cases/{jia.case_id}")
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    (exported_row,) = [r for r in table if r["线索编号"] == str(jia.case_id)]
    assert (exported_row["跨区域移交"], exported_row["移交对方区域"], exported_row["移交对方辖区"]) == (
        "已移出", "宁夏回族自治区", "宁夏回族自治区吴忠市利通区胜利镇",
    )  # fmt: skip
    assert str(jia.case_id) not in {r["case_id"] for r in risks}
    assert page.status_code == 200 and 'id="region-handoff" data-state="handed_out"' in page.text
    assert "已移出（移往宁夏回族自治区）" in page.text

    # Each region's register, from its own log: the case where it is handled, the same row in both.
    in_ningxia = register(ningxia, LITONG)
    taken_over = "2026-11-06由安徽省合肥市瑶海区龙岗街道华都社区移交宁夏回族自治区吴忠市利通区胜利镇"
    assert [(r["case_id"], r["provinces"], r["handoff"]) for r in in_ningxia] == [
        (str(jia.case_id), "安徽省", taken_over)
    ]
    assert register(anhui, LITONG) == in_ningxia
    assert register(anhui, YAOHAI) == register(ningxia, YAOHAI) == []

    # 乙 is offered to 金积镇 and returned: it stays in 史城社区, as if never offered.
    yi = CaseBuilder(SHICHENG).clue(
        "11-08", "hotline_12345", "乙理财跨区（演示）", "wealth_management", 500_000, 30
    )
    offer(yi, JINJI, "11-09", LEAD_YAOHAI)
    declined = HandoffReturnedPayload(**ends(SHICHENG, JINJI), reason="经核查不属本辖区。")
    yi.add(HandoffReturned, declined, "11-10", LEAD_LITONG)
    log(anhui, [(e, None) for e in yi.events[:2]] + [(yi.events[2], "ningxia")])
    log(ningxia, [(e, "anhui") for e in yi.events[:2]] + [(yi.events[2], None)])
    for stack in (anhui, ningxia):
        returned = row_at(stack, yi, 3)
        assert returned["jurisdiction"] == SHICHENG and returned["region_handoff"] is None
    assert not visible(ningxia, "district_lead_officer", LITONG, yi)
    served_then = {"row": row_at(ningxia, jia, 6), "register": register(ningxia, LITONG)}

    # ningxia hands 甲 back to 史城社区, where 瑶海区 accepts it: the readings turn round.
    offer(jia, SHICHENG, "11-20", LEAD_LITONG)
    accept(jia, SHICHENG, "11-21", LEAD_YAOHAI)
    log(ningxia, [(jia.events[6], None), (jia.events[7], "anhui")])
    log(anhui, [(jia.events[6], "ningxia"), (jia.events[7], None)])
    back_a, back_n = row_at(anhui, jia, 8), row_at(ningxia, jia, 8)
    assert handoff(back_a) == ("handed_in", "已移入", "ningxia", "宁夏回族自治区", SHENGLI)
    assert handoff(back_n) == ("handed_out", "已移出", "anhui", "安徽省", SHICHENG)
    assert (
        listed(ningxia, "district_lead_officer", LITONG)[str(jia.case_id)]["region_handoff"] == "handed_out"
    )
    (home,) = register(anhui, YAOHAI)
    assert (home["jurisdiction"], home["provinces"]) == (SHICHENG, "宁夏回族自治区")
    assert (
        home["handoff"]
        == "2026-11-21由宁夏回族自治区吴忠市利通区胜利镇移交安徽省合肥市瑶海区龙岗街道史城社区"
    )
    assert register(ningxia, YAOHAI) == [home] and register(ningxia, LITONG) == []

    # As of 15 November, ningxia's projection serves what the live one served then.
    instant = "2026-11-15T12:00:00+08:00"
    with client(ningxia, "auditor", "640000") as auditor:
        asked = auditor.post("/v1/projections/as-of", json={"as_of": instant})
        assert asked.status_code in (200, 202), asked.text
        wait_until(
            lambda: auditor.get(f"/v1/projections/as-of/{instant}").json()["state"] == "ready",
            timeout=120,
            what="the as-of projection built",
        )
        then = auditor.get(f"/v1/cases/{jia.case_id}", params={"as_of": instant}).json()
    assert then == served_then["row"]
    assert register(ningxia, LITONG, as_of=instant) == served_then["register"]

    # A rebuild of ningxia's projection folds its log into the same rows as the live one did.
    settings = ningxia.settings()
    live = asyncio.run(active_version(settings))
    rebuilt = cluetrail(ningxia, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert asyncio.run(schemas_differ(settings, f"ledger_v{live}", f"ledger_v{live + 1}")) == 0
    assert row_at(ningxia, jia, 8) == back_n
