"""协商办理 across regions, on two Kafka clusters joined by MirrorMaker 2: a case of 合肥市瑶海区 (安徽) is
worked on there, handed to 吴忠市利通区 (宁夏), accepted and worked on in 宁夏, handed back and accepted in
瑶海区 — one chain from seq 1 to the end, byte-identical in both regions' logs, verified by the audit."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import ConsumerRecord

from cluetrail.kafka import ORIGIN_REGION_HEADER
from tests.cases import LITONG, YAOHAI, assert_valid_chain, client, reader, report, unique_shop
from tests.harness import wait_until
from tests.regions.cases import MEASURE, PURPOSE, accepted, every_value, in_region, log_records
from tests.regions.cluster import ANHUI, NINGXIA, TwoRegions

pytestmark = pytest.mark.integration


def test_a_case_crosses_to_ningxia_and_back_with_one_verified_chain(regions: TwoRegions) -> None:
    anhui, ningxia = regions.anhui.stack, regions.ningxia.stack
    reporter = {"name": f"举报人{uuid.uuid4().hex[:4]}", "phone": "13900001111"}
    with anhui.client("intake") as intake:
        answer = intake.post(
            "/v1/clues",
            json=unique_shop(participants=250, reporter=reporter),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    case_id = accepted(answer)["case_id"]

    with (
        reader(anhui) as read_a,
        reader(ningxia) as read_b,
        client(anhui, "district_lead_officer", YAOHAI, "lead-yaohai-01") as yaohai,
        client(anhui, "sector_department", YAOHAI, "dept-yaohai-01", "社会事务中心") as social,
        client(ningxia, "district_lead_officer", LITONG, "lead-litong-01") as litong,
        client(ningxia, "sector_department", LITONG, "dept-litong-01", "区民政局") as civil_affairs,
    ):
        graded = in_region(read_a, case_id, 2)
        # 瑶海区 works on it first: two measures by its department.
        accepted(social.post(f"/v1/cases/{case_id}/measures", json=MEASURE))
        accepted(social.post(f"/v1/cases/{case_id}/measures", json=MEASURE))
        before = in_region(read_a, case_id, graded["last_seq"] + 2)
        offer = {"to_jurisdiction": LITONG, "reason": "实际经营地与参与人均在利通区。"}
        handed = accepted(yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer))
        offered_at = before["last_seq"] + 1
        assert offered_at >= 5

        # From the offer on 宁夏 writes the case: 瑶海区 keeps the trail and decides nothing more.
        held = social.post(f"/v1/cases/{case_id}/measures", json=MEASURE)
        assert held.status_code == 409, held.text
        assert held.json()["errors"] == [{"rule": "case-held-by-region"}]

        # 宁夏's importer brings the whole case in; its lead office takes it over.
        in_b = in_region(read_b, case_id, offered_at)
        assert in_b["handoff_pending"]["to_jurisdiction"] == LITONG
        accepted(litong.post(f"/v1/cases/{case_id}/handoff/accept", json={}))
        seen = litong.get(f"/v1/cases/{case_id}/reporter", params=PURPOSE)
        assert seen.status_code == 200, seen.text
        assert seen.json()["reporter"]["name"] == reporter["name"]
        after_accept = wait_until(
            lambda: (
                (v := read_b.get(f"/v1/cases/{case_id}").json())["responsible_department"] == "区民政局" and v
            ),
            timeout=120,
            what="the case routed under 利通区's table in 宁夏",
        )
        accepted(civil_affairs.post(f"/v1/cases/{case_id}/measures", json=MEASURE))
        worked = in_region(read_b, case_id, after_accept["last_seq"] + 1)

        # 宁夏 hands it back; 瑶海区 accepts and writes it again.
        back = {"to_jurisdiction": YAOHAI, "reason": "经核查主要参与人在瑶海区。"}
        accepted(litong.post(f"/v1/cases/{case_id}/handoff", json=back))
        returned = in_region(read_a, case_id, worked["last_seq"] + 1)
        assert returned["handoff_pending"]["to_jurisdiction"] == YAOHAI
        accepted(yaohai.post(f"/v1/cases/{case_id}/handoff/accept", json={}))
        accepted(
            wait_until(
                lambda: (
                    (r := social.post(f"/v1/cases/{case_id}/measures", json=MEASURE)).status_code == 202 and r
                ),
                timeout=60,
                what="瑶海区 writing the case again",
            )
        )
        final_a = in_region(read_a, case_id, returned["last_seq"] + 2)
        assert final_a["jurisdiction"] == YAOHAI

    # Both logs hold the whole chain, byte for byte; each copy names the region it was written in.
    def same_logs() -> tuple[list[ConsumerRecord[bytes, bytes]], ...] | None:
        a, b = log_records(anhui, case_id), log_records(ningxia, case_id)
        return (a, b) if len(a) == len(b) >= final_a["last_seq"] else None

    in_anhui, in_ningxia = wait_until(same_logs, timeout=120, what="the case's whole chain in both logs")
    by_seq_a = {json.loads(r.value)["seq"]: r for r in in_anhui}
    by_seq_b = {json.loads(r.value)["seq"]: r for r in in_ningxia}
    assert sorted(by_seq_a) == sorted(by_seq_b) == list(range(1, len(in_anhui) + 1))  # nothing twice
    for seq in by_seq_a:
        assert by_seq_a[seq].value == by_seq_b[seq].value, f"seq {seq} differs between the regions"
    assert_valid_chain([json.loads(r.value) for r in in_anhui])
    origin_a = {seq: dict(r.headers).get(ORIGIN_REGION_HEADER) for seq, r in by_seq_a.items()}
    origin_b = {seq: dict(r.headers).get(ORIGIN_REGION_HEADER) for seq, r in by_seq_b.items()}
    for seq in by_seq_a:
        # Written in exactly one region: the other holds a copy naming it.
        assert (origin_a[seq], origin_b[seq]) in ((None, ANHUI.encode()), (NINGXIA.encode(), None)), seq
    assert origin_a[handed["seq"]] is None and origin_b[offered_at] == ANHUI.encode()

    # The reporter's identity crossed sealed: never in plaintext in either cluster.
    prefix = anhui.settings().topic_prefix
    for stack, peer in ((anhui, NINGXIA), (ningxia, ANHUI)):
        topics = [f"{prefix}.case-events", f"{prefix}.notices", f"{peer}.{prefix}.case-events"]
        assert reporter["name"].encode() not in every_value(stack, topics)
        assert reporter["phone"].encode() not in every_value(stack, topics)

    for region in (regions.anhui, regions.ningxia):
        audit = regions.audit_one(region)
        assert audit.returncode == 0, audit.stdout + audit.stderr
    # Both regions at once: every case merged by seq across them, and checked against the anchors.
    across = regions.audit()
    assert across.returncode == 0, across.stdout + across.stderr


def test_an_offer_ningxia_returns_gives_the_case_back_to_anhui(regions: TwoRegions) -> None:
    anhui, ningxia = regions.anhui.stack, regions.ningxia.stack
    case_id = report(anhui, unique_shop())
    with (
        reader(anhui) as read_a,
        reader(ningxia) as read_b,
        client(anhui, "district_lead_officer", YAOHAI, "lead-yaohai-01") as yaohai,
        client(anhui, "sector_department", YAOHAI, "dept-yaohai-01", "社会事务中心") as social,
        client(ningxia, "district_lead_officer", LITONG, "lead-litong-01") as litong,
    ):
        in_region(read_a, case_id, 2)
        offer = {"to_jurisdiction": LITONG, "reason": "疑似在利通区经营。"}
        offered = accepted(yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer))
        in_region(read_b, case_id, offered["seq"])
        declined = {"reason": "经核查，该主体未在利通区经营。"}
        returned = accepted(litong.post(f"/v1/cases/{case_id}/handoff/return", json=declined))
        # The writer moves back: anhui folds ningxia's answer and acts on the case again.
        back = in_region(read_a, case_id, returned["seq"])
        assert back["handoff_pending"] is None and back["jurisdiction"].startswith(YAOHAI)
        measure = wait_until(
            lambda: (
                (r := social.post(f"/v1/cases/{case_id}/measures", json=MEASURE)).status_code == 202 and r
            ),
            timeout=60,
            what="瑶海区 writing the case again",
        )
        # ningxia holds the trail, and no longer writes it.
        assert in_region(read_b, case_id, measure.json()["seq"])["handoff_pending"] is None
        again = litong.post(f"/v1/cases/{case_id}/handoff/accept", json={})
        assert again.status_code in (403, 409), again.text
