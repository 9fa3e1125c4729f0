"""A month of 龙岗街道's work (seed 000): 50 clues across sectors from its ten communities, posted through
intake, graded and routed by triage on the real broker.

Fourteen clues have their expected grade, key-case status, department and escalations written out by hand
below, from the table of triage-rules/2026.2 (services/triage/domain/grading.py) and seed 001's department
table, the default for 瑶海区. The other 36 are checked against invariants: the score adds up its factors,
the grade follows the thresholds with the key-case floor, the sector is the reporter's or the one the text
suggests, the department is the table's, a key case goes once to the district lead office, and exactly the
regions outside 瑶海区 are notified.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from cluetrail.demo import demo_clues
from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.envelope import verify_chain
from contracts.events import CaseAssessed, CaseEscalated, UnreadableEvent, parse_document, read_event
from contracts.jurisdictions import default_registry
from contracts.vocabulary import EscalationTarget, Grade
from services.triage.domain.classification import classify, top_sector
from services.triage.domain.grading import at_least, grade_for
from services.triage.rules import bundled_rule_set
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.e2e

YAOHAI = "340102"
LEAD_OFFICE = "区处非办（财政金融局）"  # default_department: no owner in the table
FINANCE = "财政金融局、人民银行"
REGULATOR = "按国家金融监督管理总局省监管局明确的管理责任划分"
RULES = bundled_rule_set()
REGISTRY = default_registry()


@dataclass(frozen=True)
class Expected:
    grade: Grade
    score: int
    key_case_reasons: list[str]
    department: str
    sector: str | None
    other_regions: list[str] = field(default_factory=list)


def clue(
    where: str,
    name: str,
    text: str,
    *,
    sector: str | None = None,
    behaviours: list[str] | None = None,
    participants: int | None = None,
    amount: int | None = None,
    flags: list[str] | None = None,
    regions: list[str] | None = None,
    source: str = "grid_patrol",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jurisdiction": where,
        "source": source,
        "subject": {"kind": "company" if "公司" in name else "shop", "name": name},
        "description": text,
        "behaviours": behaviours or [],
        "flags": flags or [],
        "regions_involved": regions or [],
    }
    if sector is not None:
        body["sector"] = sector
    if participants is not None:
        body["participants"] = participants
    if amount is not None:
        body["estimated_amount_yuan"] = amount
    return body


def by_hand(tag: str) -> list[tuple[dict[str, Any], Expected]]:
    """Clues written like the seeds, each with what 2026.2 gives it, worked out by hand."""
    return [
        (
            # 120 → 20 · 3,000,000 → 20 · behaviours imply vulnerable 10 and high returns 5 · elderly care 10
            clue(
                "340102L01001",
                f"华都康养服务中心（{tag}01）",
                "网格员扫楼发现该中心以预订养老床位为名，向辖区老年人收取“床位费”，承诺年化回报12%。",
                sector="elderly_care",
                behaviours=["promised_high_returns", "targeting_vulnerable"],
                participants=120,
                amount=3_000_000,
            ),
            Expected(Grade.SERIOUS, 65, [], "社会事务中心", "elderly_care"),
        ),
        (
            # no sector: 牛羊托管 suggests agriculture (5) · 45 → 10 · 400,000 → 10
            clue(
                "340102L01003",
                f"大店牧业经营部（{tag}02）",
                "群众举报该经营部以牛羊托管为名向居民集资，承诺每头每年分红15%。",
                participants=45,
                amount=400_000,
                source="hotline_12345",
            ),
            Expected(Grade.GENERAL, 25, [], "社会事务中心", "agriculture"),
        ),
        (
            # 380 → 30 · 2,000,000 → 20 · outcry 15 (alone: no key case) · commerce 0
            clue(
                "340102L01005",
                f"油坊生活超市（{tag}03）",
                "该超市开展“消费返利”活动，充值一万元每月返现8%，周边居民议论较多。",
                sector="commerce_services",
                behaviours=["consumption_rebate"],
                participants=380,
                amount=2_000_000,
                flags=["public_outcry"],
            ),
            Expected(Grade.SERIOUS, 65, [], "招商局", "commerce_services"),
        ),
        (
            # 1500 → 40 · 150,000,000 → 50 · stability 20 · 2 regions outside 瑶海区 10 · virtual currency 10
            clue(
                "340102L01004",
                f"新站数字科技有限公司（{tag}04）",
                "该公司在新站社区组织“数字资产”推介会，宣传挖矿收益每月10%，资金流向宁夏、山东。",
                sector="virtual_currency",
                behaviours=["virtual_assets"],
                participants=1500,
                amount=150_000_000,
                flags=["stability_risk"],
                regions=["640302", "3704GX"],
                source="fund_monitoring",
            ),
            Expected(
                Grade.MAJOR,
                130,
                ["amount_at_least_100m", "cross_region", "stability_risk"],
                FINANCE,
                "virtual_currency",
                ["640302", "3704GX"],
            ),
        ),
        (
            # regions inside 瑶海区 only: not cross-region · 30 → 10 · 1,000,000 → 20 · wealth management 5
            clue(
                "340102L01002",
                f"史城财富管理有限公司（{tag}05）",
                "该公司推介私募理财产品，口头承诺保本保息，客户涉及龙岗街道多个社区。",
                sector="wealth_management",
                participants=30,
                amount=1_000_000,
                regions=["340102L01005", "340102"],
            ),
            Expected(Grade.GENERAL, 35, [], FINANCE, "wealth_management"),
        ),
        (
            # 12 → 5 · 50,000 → 0 · stability 20 · film 5 = 30 (general) · key case: at least serious
            clue(
                "340102L01006",
                f"海洲影视文化传媒有限公司（{tag}06）",
                "以影视项目份额为名募集资金，承诺票房分红20%，部分参与人多次到街道反映。",
                sector="film_investment",
                participants=12,
                amount=50_000,
                flags=["stability_risk"],
            ),
            Expected(Grade.SERIOUS, 30, ["stability_risk"], "党群工作部", "film_investment"),
        ),
        (
            # 300 → 30 · 10,000,000 → 35 · outcry 15 · petition 15 · debt resolution 10
            clue(
                "340102L01007",
                f"王岗解债服务有限公司（{tag}07）",
                "以“债务化解”“共享经济”为名收取服务费并吸收资金，群众反映强烈，已有信访。",
                sector="debt_resolution",
                behaviours=["policy_slogans"],
                participants=300,
                amount=10_000_000,
                flags=["public_outcry", "petition_conflict"],
                source="petition",
            ),
            Expected(
                Grade.MAJOR, 105, ["public_outcry_with_petition_conflict"], REGULATOR, "debt_resolution"
            ),
        ),
        (
            # no sector: 数字藏品/NFT suggest digital collectibles (10) · nothing else · no owner in the table
            clue(
                "340102L01008",
                f"琥珀藏品平台（{tag}08）",
                "居民反映某平台发售数字藏品，宣称NFT半年升值三倍。",
                source="public_app",
            ),
            Expected(Grade.LOW, 10, [], LEAD_OFFICE, "digital_collectibles"),
        ),
        (
            # no sector and no sector phrase (slogans are a behaviour): 3 → 5 · 50,000 → 0 · lead office
            clue(
                "340102L01009",
                f"罗岗原始股认购点（{tag}09）",
                "打着“一带一路”“乡村振兴”旗号，以认购原始股为名吸收资金。",
                participants=3,
                amount=50_000,
            ),
            Expected(Grade.LOW, 5, [], LEAD_OFFICE, None),
        ),
        (
            # 100 → 20 · 5,000,000 → 20 · cross_region 10 · one region outside 5 · impersonation 10
            clue(
                "340102L01010",
                f"马岗某央企合作办事处（{tag}10）",
                "自称央企下属单位，以内部认购为名向居民吸收资金，参与人涉及寿县。",
                sector="state_enterprise_impersonation",
                participants=100,
                amount=5_000_000,
                flags=["cross_region"],
                regions=["340422"],
            ),
            Expected(
                Grade.SERIOUS,
                65,
                ["cross_region"],
                "国资和财政部门",
                "state_enterprise_impersonation",
                ["340422"],
            ),
        ),
        (
            # a grid: 1000 → 40 · exactly 100,000,000 → 50 and key case · vulnerable 10 · agriculture 5
            clue(
                "340102L01003001",
                f"大店养殖专业合作社（{tag}11）",
                "以肉牛托管养殖为名向老年人集资，已达一亿元。",
                sector="agriculture",
                behaviours=["livestock_custody"],
                participants=1000,
                amount=100_000_000,
                flags=["vulnerable_targets"],
            ),
            Expected(Grade.MAJOR, 105, ["amount_at_least_100m"], "社会事务中心", "agriculture"),
        ),
        (
            # 1 → 5 · 99,999 → 0 · education has no owner in seed 001's table
            clue(
                "340102L01001001",
                f"华都培训学校（{tag}12）",
                "培训学校预收学费后承诺退费返利。",
                sector="education",
                participants=1,
                amount=99_999,
            ),
            Expected(Grade.LOW, 5, [], LEAD_OFFICE, "education"),
        ),
        (
            # exactly 40: 100 → 20 · 1,000,000 → 20 · commerce 0
            clue(
                "340102L01002",
                f"史城商贸有限公司（{tag}13）",
                "以会员卡充值返现为名吸收资金。",
                sector="commerce_services",
                participants=100,
                amount=1_000_000,
            ),
            Expected(Grade.SERIOUS, 40, [], "招商局", "commerce_services"),
        ),
        (
            # exactly 70: 100 → 20 · 10,000,000 → 35 · high returns 5 (behaviour) · elderly care 10
            clue(
                "340102L01006",
                f"海洲老年公寓（{tag}14）",
                "以老年公寓入住权为名收取保证金，承诺年化回报10%。",
                sector="elderly_care",
                behaviours=["promised_high_returns"],
                participants=100,
                amount=10_000_000,
            ),
            Expected(Grade.MAJOR, 70, [], "社会事务中心", "elderly_care"),
        ),
    ]


def the_rest(tag: str, count: int) -> list[dict[str, Any]]:
    """Demo clues of the street (the generator's seed-like texts), some without a sector, some reaching
    into other regions or other communities of the same district."""
    rng = random.Random(2024_06)
    communities = [j.code for j in REGISTRY.all() if REGISTRY.is_within(j.code, "340102L01")]
    rest = []
    for index, generated in enumerate(demo_clues(count, seed=2024_06, jurisdictions=communities)):
        body = {
            **generated,
            # A subject of its own (no credit code, a tagged name): no clue here is a repeat of another.
            "subject": {"kind": generated["subject"]["kind"], "name": f"{generated['subject']['name']}{tag}"},
        }
        if index % 5 == 0:
            body.pop("sector")
        if index % 7 == 0:
            body["regions_involved"] = rng.sample(["340102L01005", "340102", "640302", "340422", "3703WC"], 2)
        rest.append(body)
    return rest


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
    return found


def wanted_escalations(body: dict[str, Any], key_case: bool) -> int:
    outside = [
        r for r in dict.fromkeys(body.get("regions_involved", [])) if not REGISTRY.is_within(r, YAOHAI)
    ]
    return len(outside) + (1 if key_case else 0)


def settled(settings: CommonSettings, posted: dict[str, dict[str, Any]]) -> dict[str, list[Any]] | None:
    """Every case's events once each case is assessed and has all the escalations it calls for."""
    documents = asyncio.run(case_documents(settings, set(posted)))
    events = {
        case: [read_event(d) for d in sorted(docs, key=lambda d: d["seq"])]
        for case, docs in documents.items()
    }
    for case_id, body in posted.items():
        history = events.get(case_id, [])
        assessed = [e for e in history if isinstance(e, CaseAssessed)]
        if not assessed:
            return None
        escalated = [e for e in history if isinstance(e, CaseEscalated) and e.payload.rule is not None]
        if len(escalated) < wanted_escalations(body, assessed[0].payload.key_case):
            return None
    return events


def check_invariants(body: dict[str, Any], history: list[Any]) -> None:
    (assessed,) = [e.payload for e in history if isinstance(e, CaseAssessed)]
    assert assessed.rule_set == "triage-rules/2026.2"
    assert (assessed.district, assessed.district_rules, assessed.overrides) == (YAOHAI, None, [])
    assert assessed.score == sum(f.points for f in assessed.factors)
    floor = RULES.key_case_min_grade if assessed.key_case else None
    assert assessed.grade == at_least(grade_for(assessed.score, RULES), floor)
    assert assessed.key_case == bool(assessed.key_case_reasons)
    suggested = top_sector(classify(body["description"], RULES.classification.rules))  # type: ignore[union-attr]
    expected_sector = body.get("sector") or (suggested.code if suggested else None)
    assert assessed.sector == expected_sector
    assert assessed.sector_source == (
        "reporter" if body.get("sector") else "suggested" if suggested else None
    )
    assert assessed.responsible_department == RULES.departments.get(expected_sector or "", LEAD_OFFICE)
    escalated = [e.payload for e in history if isinstance(e, CaseEscalated) and e.payload.rule is not None]
    lead = [e for e in escalated if e.target == EscalationTarget.LEAD_OFFICE and e.rule == "key-case"]
    assert [e.target_jurisdiction for e in lead] == ([YAOHAI] if assessed.key_case else [])
    notified = sorted(e.target_jurisdiction for e in escalated if e.target == EscalationTarget.OTHER_REGION)
    outside = sorted(r for r in set(body.get("regions_involved", [])) if not REGISTRY.is_within(r, YAOHAI))
    assert notified == outside, "exactly the regions outside 瑶海区 are notified, once each"


def test_a_month_of_longgang_street(stack: Stack, stack_settings: CommonSettings) -> None:
    tag = uuid.uuid4().hex[:6]
    hand = by_hand(tag)
    rest = the_rest(tag, 50 - len(hand))
    bodies = [body for body, _ in hand] + rest
    with stack.client("intake") as intake, ThreadPoolExecutor(8) as pool:
        case_ids = list(pool.map(lambda body: post(intake, body), bodies))
    posted = dict(zip(case_ids, bodies, strict=True))
    events = wait_until(
        lambda: settled(stack_settings, posted), timeout=180, interval=1.0, what="50 cases routed"
    )

    for case_id, (body, expected) in zip(case_ids, hand, strict=False):
        history = events[case_id]
        (assessed,) = [e.payload for e in history if isinstance(e, CaseAssessed)]
        got = (assessed.grade, assessed.score, assessed.key_case_reasons, assessed.responsible_department)
        want = (expected.grade, expected.score, expected.key_case_reasons, expected.department)
        assert got == want, body["subject"]["name"]
        assert assessed.sector == expected.sector
        notified = [
            e.payload.target_jurisdiction
            for e in history
            if isinstance(e, CaseEscalated) and e.payload.target == EscalationTarget.OTHER_REGION
        ]
        assert sorted(notified) == sorted(expected.other_regions)

    for case_id, body in posted.items():
        check_invariants(body, events[case_id])

    grades = [next(e.payload.grade for e in h if isinstance(e, CaseAssessed)) for h in events.values()]
    assert set(grades) == set(Grade), "a month of a street sees every grade"
    raw = asyncio.run(case_documents(stack_settings, set(posted)))
    assert verify_chain([d for docs in raw.values() for d in docs]) == {}
