"""A month of 龙岗街道's work (seed 000): fifty clues across sectors from its ten communities, posted through
intake, graded and routed by triage on the real broker — each checked against the grade, department,
key-case reasons and escalations worked out by hand in ``longgang_month`` — and then the month's handling:
a determination and its closing, a dispute reported up level by level to 瑶海区's lead office, a suspected
crime the lead office transfers to the police who accept it, and a second clue about a company on file
linked to its case, which is graded again.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.chain import verify_chain
from contracts.envelope import canonical_bytes
from contracts.events import CaseAssessed, CaseEscalated, UnreadableEvent, parse_document, read_event
from contracts.vocabulary import Grade
from tests.cases import LONGGANG_HUADU, YAOHAI
from tests.e2e.longgang_month import Expected, clue, the_month
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.e2e

LONGGANG = "340102L01"  # 龙岗街道


def post(intake: httpx.Client, body: dict[str, Any]) -> str:
    response = intake.post("/v1/clues", json=body)
    assert response.status_code == 202, response.text
    case_id: str = response.json()["case_id"]
    return case_id


async def case_documents(settings: CommonSettings, case_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async for batch, _ in read_log(settings):
        for record in batch:
            try:
                document = parse_document(record.value or b"")
            except UnreadableEvent:
                continue  # other tests put poison on the topic on purpose
            if document.get("case_id") in case_ids:
                found[document["case_id"]].append(document)
    return {case: sorted(docs, key=lambda d: d["seq"]) for case, docs in found.items()}


def documents_of(settings: CommonSettings, case_id: str) -> list[dict[str, Any]]:
    return asyncio.run(case_documents(settings, {case_id})).get(case_id, [])


Escalation = tuple[str, str, str | None, str | None, str | None]


def rule_escalations(history: list[Any]) -> list[Escalation]:
    """(target, to, level, from, rule) of the escalations triage decided by a rule."""
    return [
        (e.payload.target.value, e.payload.target_jurisdiction, e.payload.level, e.payload.from_jurisdiction,
         e.payload.rule)
        for e in history
        if isinstance(e, CaseEscalated) and e.payload.rule is not None
    ]  # fmt: skip


def wanted_escalations(body: dict[str, Any], expected: Expected) -> list[Escalation]:
    """A key case goes to 瑶海区's lead office from where it was reported, then each other region is told."""
    where = body["jurisdiction"]
    lead = [("lead_office", YAOHAI, "district", where, "key-case")] if expected.key_case_reasons else []
    told = [("other_region", region, None, where, "cross-region") for region in expected.other_regions]
    return lead + told


def settled(
    settings: CommonSettings, posted: dict[str, tuple[dict[str, Any], Expected]]
) -> dict[str, list[Any]] | None:
    """Every case's events once each case is assessed and has all the escalations it calls for."""
    documents = asyncio.run(case_documents(settings, set(posted)))
    events = {case: [read_event(d) for d in docs] for case, docs in documents.items()}
    for case_id, (body, expected) in posted.items():
        history = events.get(case_id, [])
        if not any(isinstance(e, CaseAssessed) for e in history):
            return None
        if len(rule_escalations(history)) < len(wanted_escalations(body, expected)):
            return None
    return events


def officer(stack: Stack, role: str, jurisdiction: str, subject: str) -> httpx.Client:
    return stack.client("triage", token=stack.token(role, jurisdiction, subject=subject))


def determine(client: httpx.Client, case_id: str, determination: str, **more: Any) -> None:
    body = {"determination": determination, "basis": "走访核查，调取宣传材料与合同。", **more}
    answer = client.post(f"/v1/cases/{case_id}/determination", json=body)
    assert answer.status_code == 202, answer.text


def test_a_month_of_longgang_street(stack: Stack, stack_settings: CommonSettings) -> None:
    tag = uuid.uuid4().hex[:6]
    month = the_month(tag)
    with stack.client("intake") as intake, ThreadPoolExecutor(8) as pool:
        case_ids = list(pool.map(lambda item: post(intake, item[0]), month))
    posted = dict(zip(case_ids, month, strict=True))
    events = wait_until(
        lambda: settled(stack_settings, posted), timeout=180, interval=1.0, what="50 cases routed"
    )

    for case_id, (body, expected) in posted.items():
        history = events[case_id]
        (assessed,) = [e.payload for e in history if isinstance(e, CaseAssessed)]
        got = (assessed.grade, assessed.score, assessed.key_case_reasons, assessed.responsible_department)
        want = (expected.grade, expected.score, expected.key_case_reasons, expected.department)
        assert got == want, body["subject"]["name"]
        assert (assessed.rule_set, assessed.district, assessed.overrides) == (
            "triage-rules/2026.2",
            YAOHAI,
            [],
        )
        assert assessed.score == sum(f.points for f in assessed.factors)
        assert assessed.sector == expected.sector, body["subject"]["name"]
        assert assessed.sector_source == (
            "reporter" if "sector" in body else "suggested" if expected.sector else None
        )
        assert rule_escalations(history) == wanted_escalations(body, expected), body["subject"]["name"]
    assert {expected.grade for _, expected in month} == set(Grade), "a month of a street sees every grade"

    case_of = {body["subject"]["name"]: case_id for case_id, (body, _) in posted.items()}
    rebate_shop = case_of[f"油坊生活超市（{tag}03）"]
    care_home = case_of[f"华都康养服务中心（{tag}01）"]
    trading = case_of[f"史城商贸有限公司（{tag}13）"]
    wealth = case_of[f"史城财富管理有限公司（{tag}05）"]
    wealth_code = posted[wealth][0]["subject"]["credit_code"]

    with (
        officer(stack, "street_officer", LONGGANG_HUADU, "officer-huadu-01") as huadu,
        officer(stack, "street_officer", LONGGANG, "officer-longgang-01") as longgang,
        officer(stack, "district_lead_officer", YAOHAI, "lead-yaohai-01") as lead,
        officer(stack, "police", YAOHAI, "police-yaohai-01") as police,
    ):
        # 油坊生活超市: the street finds a general violation, orders it to stop, and closes it once rectified
        determine(
            longgang, rebate_shop, "general_violation", measures=["warning_interview", "rectification_order"]
        )
        closing = {"outcome": "rectified", "summary": "已停止返利宣传，充值款退还完毕。"}
        assert longgang.post(f"/v1/cases/{rebate_shop}/close", json=closing).status_code == 202

        # 华都康养服务中心: 华都社区 cannot settle it, nor can 龙岗街道; 瑶海区's lead office decides
        determine(huadu, care_home, "disputed")
        determine(longgang, care_home, "disputed")
        determine(lead, care_home, "suspected_illegal_fundraising", measures=["supervised_fund_return"])

        # 史城商贸有限公司: the street suspects a crime; the lead office transfers it; the police accept it
        determine(longgang, trading, "suspected_crime")
        summary = "以会员卡充值返现为名吸收资金一百万元，涉及一百人，资金去向不明。"
        transfer = {"target": "police", "reason": "涉嫌非法吸收公众存款罪", "summary": summary}
        assert lead.post(f"/v1/cases/{trading}/escalation", json=transfer).status_code == 202
        bundle = police.get(f"/v1/cases/{trading}/referral")
        assert bundle.status_code == 200, bundle.text
        referral = bundle.json()
        assert (
            hashlib.sha256(canonical_bytes(referral["manifest"])).hexdigest() == referral["manifest_sha256"]
        )
        assert verify_chain(referral["events"]) == {}
        assert referral["manifest"]["facts"] == referral["facts"]
        assert (referral["facts"]["participants"], referral["facts"]["determination"]) == (
            100,
            "suspected_crime",
        )
        number = {"police_case_number": f"瑶公经立字〔2026〕{tag}号"}
        assert police.post(f"/v1/cases/{trading}/police-acceptance", json=number).status_code == 202

    # 史城财富管理有限公司 again, through 12345: linked to its case on file by the credit code
    again = clue(
        "340102L01002",
        "史城财富管理公司",
        "群众来电反映该公司仍在推介理财产品，承诺保本保息。",
        sector="wealth_management",
        participants=20,
        amount=500_000,
        source="hotline_12345",
        credit_code=wealth_code,
    )
    with stack.client("intake") as intake:
        repeat = post(intake, again)

    def linked() -> list[dict[str, Any]] | None:
        documents = documents_of(stack_settings, wealth)
        return documents if [d["type"] for d in documents][-2:] == ["clue-linked", "assessed"] else None

    wealth_log = wait_until(linked, timeout=60, what="the repeat clue linked and the case graded again")
    regraded = wealth_log[-1]["payload"]
    # 30 + 20 = 50 → 10 · 1,000,000 + 500,000 → 20 · one linked clue 5 · wealth management 5: 40, serious
    assert (regraded["grade"], regraded["score"]) == ("serious", 40)
    assert [d["type"] for d in documents_of(stack_settings, repeat)] == ["clue-reported", "merged"]

    acted = asyncio.run(case_documents(stack_settings, {rebate_shop, care_home, trading, wealth}))
    types = {case: [d["type"] for d in docs] for case, docs in acted.items()}
    assert types[rebate_shop] == ["clue-reported", "assessed", "determined", "closed"]
    assert types[care_home] == [
        "clue-reported", "assessed", "determined", "escalated", "determined", "escalated", "determined",
    ]  # fmt: skip
    assert types[trading] == [
        "clue-reported", "assessed", "determined", "escalated", "escalated", "referral-packaged",
        "police-accepted",
    ]  # fmt: skip
    assert types[wealth] == ["clue-reported", "assessed", "clue-linked", "assessed"]
    climbed = [read_event(d) for d in acted[care_home] if d["type"] == "escalated"]
    assert rule_escalations(climbed) == [
        ("lead_office", LONGGANG, "street", LONGGANG_HUADU, "disputed-determination"),
        ("lead_office", YAOHAI, "district", LONGGANG, "disputed-determination"),
    ]
    sent = [read_event(d) for d in acted[trading] if d["type"] == "escalated"]
    assert [(e.payload.target.value, e.payload.level, e.payload.rule) for e in sent] == [  # type: ignore[attr-defined]
        ("lead_office", "district", "suspected-crime"),
        ("police", None, None),
    ]
    assert acted[trading][-1]["payload"]["police_case_number"] == f"瑶公经立字〔2026〕{tag}号"

    raw = asyncio.run(case_documents(stack_settings, {*posted, repeat}))
    assert verify_chain([d for docs in raw.values() for d in docs]) == {}
