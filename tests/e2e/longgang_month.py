"""The fifty clues of a month of 龙岗街道 (seed 000), each with what triage-rules/2026.2 gives it, worked
out by hand from the table in services/triage/domain/grading.py, the phrase rules of classification/2026.1
(for a clue without a sector) and seed 001's department table, the default for 瑶海区.

Points, for reading the comments: participants ≥1000: 40 · ≥300: 30 · ≥100: 20 · ≥30: 10 · ≥1: 5; amount
≥100,000,000: 50 · ≥10,000,000: 35 · ≥1,000,000: 20 · ≥100,000: 10; flags outcry 15, stability 20,
vulnerable 10, petition 15, high returns 5 (also from the behaviour), cross-region 10; regions outside 瑶海区
5 each; sector weight (elderly care, virtual currency, debt resolution, private equity, impersonation,
digital collectibles 10; agriculture, wealth management, film 5; others 0). Grade: ≥70 major, ≥40 serious,
≥20 general, else low; a key case (≥1亿, cross-region, stability risk, outcry with petition) is at least
serious.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.codes import uscc_check_character
from contracts.vocabulary import Grade

LEAD_OFFICE = "区处非办（财政金融局）"  # default_department: no owner in the table
FINANCE = "财政金融局、人民银行"
REGULATOR = "按国家金融监督管理总局省监管局明确的管理责任划分"
SOCIAL = "社会事务中心"
PARTY = "党群工作部"
COMMERCE = "招商局"


@dataclass(frozen=True)
class Expected:
    grade: Grade
    score: int
    key_case_reasons: list[str]
    department: str
    sector: str | None
    other_regions: list[str] = field(default_factory=list)


def credit_code(tag: str) -> str:
    """史城财富管理有限公司's unified social credit code (one per run)."""
    first17 = "91340102MA" + "".join(str(int(c, 16) % 10) for c in tag[:6]) + "X"
    return first17 + uscc_check_character(first17)


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
    credit_code: str | None = None,
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
    if credit_code is not None:
        body["subject"]["credit_code"] = credit_code
    return body


def by_hand(tag: str) -> list[tuple[dict[str, Any], Expected]]:
    """Fourteen clues written like the seeds, each at an edge of the table."""
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
            Expected(Grade.SERIOUS, 65, [], SOCIAL, "elderly_care"),
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
            Expected(Grade.GENERAL, 25, [], SOCIAL, "agriculture"),
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
            Expected(Grade.SERIOUS, 65, [], COMMERCE, "commerce_services"),
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
                credit_code=credit_code(tag),
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
            Expected(Grade.SERIOUS, 30, ["stability_risk"], PARTY, "film_investment"),
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
            Expected(Grade.MAJOR, 105, ["amount_at_least_100m"], SOCIAL, "agriculture"),
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
            Expected(Grade.SERIOUS, 40, [], COMMERCE, "commerce_services"),
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
            Expected(Grade.MAJOR, 70, [], SOCIAL, "elderly_care"),
        ),
    ]


def the_rest(tag: str) -> list[tuple[dict[str, Any], Expected]]:
    """Thirty-six more clues of the month, as the communities and grids of 龙岗街道 reported them."""
    film = "以影视项目份额为名募集资金，承诺票房分红{}%。"
    rebate = "开展“消费返利”活动，充值一万元每月返现{}%。"
    coin = "组织“数字资产”推介会，宣传挖矿收益每月{}%。"
    tour = "以旅游积分加盟为名收取会员费，承诺积分升值{}%。"
    cattle = "以牛羊托管为名向村民集资，承诺每头每年分红{}%。"
    wealth = "推介私募理财产品，口头承诺保本保息，年化{}%。"
    debt = "以“债务化解”“共享经济”为名收取服务费并吸收资金。"
    beds = "以预订养老床位为名吸收老年人资金，承诺年化回报{}%。"
    high, rebates, assets, points, custody, slogans = (
        ["promised_high_returns"],
        ["consumption_rebate"],
        ["virtual_assets"],
        ["franchise_points"],
        ["livestock_custody"],
        ["policy_slogans"],
    )
    return [
        # no sector: 影视/票房 suggest film (3) · 120 → 20 · 0 yuan · high returns 5 · 寿县 and 文昌湖区 10 ·
        # film 5
        (
            clue(
                "340102L01001002",
                f"王岗影视文化传媒有限公司（{tag}15）",
                film.format(15),
                behaviours=high,
                participants=120,
                amount=0,
                regions=["340422", "3703WC"],
                source="public_app",
            ),
            Expected(Grade.SERIOUS, 40, ["cross_region"], PARTY, "film_investment", ["340422", "3703WC"]),
        ),
        # 3 → 5 · 400,000 → 10 · commerce 0
        (
            clue(
                "340102L01001",
                f"王岗生活超市（{tag}16）",
                rebate.format(15),
                sector="commerce_services",
                behaviours=rebates,
                participants=3,
                amount=400_000,
                source="online_monitoring",
            ),
            Expected(Grade.LOW, 15, [], COMMERCE, "commerce_services"),
        ),
        # 380 → 30 · 2,000,000 → 20 · high returns 5 · outcry 15 (alone: no key case) · virtual currency 10
        (
            clue(
                "340102L01004001",
                f"海洲数字科技有限公司（{tag}17）",
                coin.format(36),
                sector="virtual_currency",
                behaviours=assets,
                participants=380,
                amount=2_000_000,
                flags=["promised_high_returns", "public_outcry"],
                source="hotline_12345",
            ),
            Expected(Grade.MAJOR, 80, [], FINANCE, "virtual_currency"),
        ),
        # 12 → 5 · 60,000,000 → 35 · outcry 15 · vulnerable 10 · cultural tourism 0
        (
            clue(
                "340102L01003",
                f"金积文旅发展有限公司（{tag}18）",
                tour.format(24),
                sector="cultural_tourism",
                behaviours=points,
                participants=12,
                amount=60_000_000,
                flags=["public_outcry", "vulnerable_targets"],
                source="online_monitoring",
            ),
            Expected(Grade.SERIOUS, 65, [], SOCIAL, "cultural_tourism"),
        ),
        # 120 → 20 · 60,000,000 → 35 · high returns 5 · stability 20 (key) · agriculture 5
        (
            clue(
                "340102L01001001",
                f"华都牧业专业合作社（{tag}19）",
                cattle.format(8),
                sector="agriculture",
                behaviours=custody,
                participants=120,
                amount=60_000_000,
                flags=["promised_high_returns", "stability_risk"],
                source="public_app",
            ),
            Expected(Grade.MAJOR, 85, ["stability_risk"], SOCIAL, "agriculture"),
        ),
        # no sector: 私募 (3) beats 理财 (2) · 380 → 30 · 50,000 → 0 · vulnerable 10 · outcry 15 ·
        # high returns 5 · private equity 10
        (
            clue(
                "340102L01009001",
                f"兴仁财富管理有限公司（{tag}20）",
                wealth.format(36),
                behaviours=high,
                participants=380,
                amount=50_000,
                flags=["vulnerable_targets", "public_outcry"],
            ),
            Expected(Grade.MAJOR, 70, [], FINANCE, "private_equity"),
        ),
        # 380 → 30 · 15,000,000 → 35 · debt resolution 10
        (
            clue(
                "340102L01008001",
                f"罗岗解债服务有限公司（{tag}21）",
                debt,
                sector="debt_resolution",
                behaviours=slogans,
                participants=380,
                amount=15_000_000,
                source="online_monitoring",
            ),
            Expected(Grade.MAJOR, 75, [], REGULATOR, "debt_resolution"),
        ),
        # 3 → 5 · 400,000 → 10 · high returns 5 · 利通区 outside 5 (油坊社区 is inside) · elderly care 10: 35,
        # general; cross-region: a key case, at least serious
        (
            clue(
                "340102L01004",
                f"大店康养服务中心（{tag}22）",
                beds.format(36),
                sector="elderly_care",
                behaviours=high,
                participants=3,
                amount=400_000,
                regions=["640302", "340102L01005"],
                source="hotline_12345",
            ),
            Expected(Grade.SERIOUS, 35, ["cross_region"], SOCIAL, "elderly_care", ["640302"]),
        ),
        # 12 → 5 · 0 yuan · outcry 15 · high returns 5 · debt resolution 10
        (
            clue(
                "340102L01002",
                f"王岗解债服务有限公司（{tag}23）",
                debt,
                sector="debt_resolution",
                behaviours=slogans,
                participants=12,
                amount=0,
                flags=["public_outcry", "promised_high_returns"],
                source="fund_monitoring",
            ),
            Expected(Grade.GENERAL, 35, [], REGULATOR, "debt_resolution"),
        ),
        # 12 → 5 · 400,000 → 10
        (
            clue(
                "340102L01005",
                f"马岗文旅发展有限公司（{tag}24）",
                tour.format(8),
                sector="cultural_tourism",
                behaviours=points,
                participants=12,
                amount=400_000,
                source="fund_monitoring",
            ),
            Expected(Grade.LOW, 15, [], SOCIAL, "cultural_tourism"),
        ),
        # no sector: 返利/返现 (3) and 充值 (1) suggest commerce · 0 people · 2,000,000 → 20 · outcry 15
        (
            clue(
                "340102L01009001",
                f"油坊生活超市（{tag}25）",
                rebate.format(8),
                behaviours=rebates,
                participants=0,
                amount=2_000_000,
                flags=["public_outcry"],
            ),
            Expected(Grade.GENERAL, 35, [], COMMERCE, "commerce_services"),
        ),
        # 3 → 5 · 0 yuan
        (
            clue(
                "340102L01005001",
                f"马岗文旅发展有限公司（{tag}26）",
                tour.format(12),
                sector="cultural_tourism",
                behaviours=points,
                participants=3,
                amount=0,
                source="online_monitoring",
            ),
            Expected(Grade.LOW, 5, [], SOCIAL, "cultural_tourism"),
        ),
        # 0 people · 2,000,000 → 20 · high returns 5 (flag and behaviour count once) · wealth management 5
        (
            clue(
                "340102L01008",
                f"王岗财富管理有限公司（{tag}27）",
                wealth.format(18),
                sector="wealth_management",
                behaviours=high,
                participants=0,
                amount=2_000_000,
                flags=["promised_high_returns"],
            ),
            Expected(Grade.GENERAL, 30, [], FINANCE, "wealth_management"),
        ),
        # 3 → 5 · 400,000 → 10 · outcry 15 · high returns 5 · film 5
        (
            clue(
                "340102L01006001",
                f"马岗影视文化传媒有限公司（{tag}28）",
                film.format(12),
                sector="film_investment",
                behaviours=high,
                participants=3,
                amount=400_000,
                flags=["public_outcry", "promised_high_returns"],
                source="public_app",
            ),
            Expected(Grade.SERIOUS, 40, [], PARTY, "film_investment"),
        ),
        # 3 → 5 · 0 yuan · high returns 5 · 文昌湖区 outside 5 · film 5: 20, general; cross-region: serious
        (
            clue(
                "340102L01006",
                f"兴仁影视文化传媒有限公司（{tag}29）",
                film.format(12),
                sector="film_investment",
                behaviours=high,
                participants=3,
                amount=0,
                regions=["340102L01005", "3703WC"],
                source="public_app",
            ),
            Expected(Grade.SERIOUS, 20, ["cross_region"], PARTY, "film_investment", ["3703WC"]),
        ),
        # no sector: film · 45 → 10 · 2,000,000 → 20 · stability 20 (key) · high returns 5 · film 5
        (
            clue(
                "340102L01007",
                f"华都影视文化传媒有限公司（{tag}30）",
                film.format(36),
                behaviours=high,
                participants=45,
                amount=2_000_000,
                flags=["stability_risk"],
                source="petition",
            ),
            Expected(Grade.SERIOUS, 60, ["stability_risk"], PARTY, "film_investment"),
        ),
        # 45 → 10 · 150,000,000 → 50 (key) · high returns 5 · virtual currency 10
        (
            clue(
                "340102L01003001",
                f"史城数字科技有限公司（{tag}31）",
                coin.format(18),
                sector="virtual_currency",
                behaviours=assets,
                participants=45,
                amount=150_000_000,
                flags=["promised_high_returns"],
            ),
            Expected(Grade.MAJOR, 75, ["amount_at_least_100m"], FINANCE, "virtual_currency"),
        ),
        # 12 → 5 · 2,000,000 → 20 · stability 20 (key) · high returns 5 · elderly care 10
        (
            clue(
                "340102L01002001",
                f"新站康养服务中心（{tag}32）",
                beds.format(24),
                sector="elderly_care",
                behaviours=high,
                participants=12,
                amount=2_000_000,
                flags=["stability_risk"],
                source="public_app",
            ),
            Expected(Grade.SERIOUS, 60, ["stability_risk"], SOCIAL, "elderly_care"),
        ),
        # reported at the street itself · 120 → 20 · 150,000,000 → 50 · stability 20 · commerce 0
        (
            clue(
                "340102L01",
                f"金积生活超市（{tag}33）",
                rebate.format(12),
                sector="commerce_services",
                behaviours=rebates,
                participants=120,
                amount=150_000_000,
                flags=["stability_risk"],
                source="online_monitoring",
            ),
            Expected(
                Grade.MAJOR, 90, ["amount_at_least_100m", "stability_risk"], COMMERCE, "commerce_services"
            ),
        ),
        # 12 → 5 · 400,000 → 10 · outcry 15 · virtual currency 10
        (
            clue(
                "340102L01008001",
                f"大店数字科技有限公司（{tag}34）",
                coin.format(8),
                sector="virtual_currency",
                behaviours=assets,
                participants=12,
                amount=400_000,
                flags=["public_outcry"],
            ),
            Expected(Grade.SERIOUS, 40, [], FINANCE, "virtual_currency"),
        ),
        # no sector: 债务化解 suggests debt resolution (4) · 3 → 5 · 60,000,000 → 35 · vulnerable 10 · debt 10
        (
            clue(
                "340102L01004",
                f"马岗解债服务有限公司（{tag}35）",
                debt,
                behaviours=slogans,
                participants=3,
                amount=60_000_000,
                flags=["vulnerable_targets"],
                source="petition",
            ),
            Expected(Grade.SERIOUS, 60, [], REGULATOR, "debt_resolution"),
        ),
        # 3 → 5 · 60,000,000 → 35 · stability 20 · 利通区 outside 5 · cultural tourism 0
        (
            clue(
                "340102L01005",
                f"新站文旅发展有限公司（{tag}36）",
                tour.format(18),
                sector="cultural_tourism",
                behaviours=points,
                participants=3,
                amount=60_000_000,
                flags=["stability_risk"],
                regions=["640302", "340102L01005"],
                source="public_app",
            ),
            Expected(
                Grade.SERIOUS, 65, ["cross_region", "stability_risk"], SOCIAL, "cultural_tourism", ["640302"]
            ),
        ),
        # 0 people · 60,000,000 → 35 · outcry 15 · high returns 5 · wealth management 5
        (
            clue(
                "340102L01010",
                f"海洲财富管理有限公司（{tag}37）",
                wealth.format(18),
                sector="wealth_management",
                behaviours=high,
                participants=0,
                amount=60_000_000,
                flags=["public_outcry", "promised_high_returns"],
            ),
            Expected(Grade.SERIOUS, 60, [], FINANCE, "wealth_management"),
        ),
        # reported at the street · 3 → 5 · 150,000,000 → 50 · outcry 15 · stability 20 · agriculture 5
        (
            clue(
                "340102L01",
                f"新站牧业专业合作社（{tag}38）",
                cattle.format(36),
                sector="agriculture",
                behaviours=custody,
                participants=3,
                amount=150_000_000,
                flags=["public_outcry", "stability_risk"],
                source="petition",
            ),
            Expected(Grade.MAJOR, 95, ["amount_at_least_100m", "stability_risk"], SOCIAL, "agriculture"),
        ),
        # 45 → 10 · 400,000 → 10 · high returns 5 · elderly care 10
        (
            clue(
                "340102L01005",
                f"罗岗康养服务中心（{tag}39）",
                beds.format(18),
                sector="elderly_care",
                behaviours=high,
                participants=45,
                amount=400_000,
                source="petition",
            ),
            Expected(Grade.GENERAL, 35, [], SOCIAL, "elderly_care"),
        ),
        # no sector: 旅游 suggests cultural tourism (2; 积分/加盟/会员费 are a behaviour) · 380 → 30 ·
        # 60,000,000 → 35
        (
            clue(
                "340102L01003",
                f"琥珀文旅发展有限公司（{tag}40）",
                tour.format(15),
                behaviours=points,
                participants=380,
                amount=60_000_000,
                source="petition",
            ),
            Expected(Grade.SERIOUS, 65, [], SOCIAL, "cultural_tourism"),
        ),
        # 0 people · 2,000,000 → 20 · debt resolution 10
        (
            clue(
                "340102L01003002",
                f"兴仁解债服务有限公司（{tag}41）",
                debt,
                sector="debt_resolution",
                behaviours=slogans,
                participants=0,
                amount=2_000_000,
                source="fund_monitoring",
            ),
            Expected(Grade.GENERAL, 30, [], REGULATOR, "debt_resolution"),
        ),
        # 0 people · 50,000 → 0 · high returns 5 · film 5
        (
            clue(
                "340102L01005",
                f"金积影视文化传媒有限公司（{tag}42）",
                film.format(24),
                sector="film_investment",
                behaviours=high,
                participants=0,
                amount=50_000,
                source="fund_monitoring",
            ),
            Expected(Grade.LOW, 10, [], PARTY, "film_investment"),
        ),
        # regions 瑶海区 and 油坊社区 are the case's own district: not cross-region · 15,000,000 → 35 · high
        # returns 5 · film 5
        (
            clue(
                "340102L01006",
                f"金积影视文化传媒有限公司（{tag}43）",
                film.format(12),
                sector="film_investment",
                behaviours=high,
                participants=0,
                amount=15_000_000,
                regions=["340102", "340102L01005"],
                source="petition",
            ),
            Expected(Grade.SERIOUS, 45, [], PARTY, "film_investment"),
        ),
        # 0 people · 400,000 → 10 · high returns 5 · wealth management 5
        (
            clue(
                "340102L01008001",
                f"琥珀财富管理有限公司（{tag}44）",
                wealth.format(15),
                sector="wealth_management",
                behaviours=high,
                participants=0,
                amount=400_000,
                source="public_app",
            ),
            Expected(Grade.GENERAL, 20, [], FINANCE, "wealth_management"),
        ),
        # no sector: 数字资产/挖矿 suggest virtual currency (收益每月 is only a suggested behaviour) ·
        # 380 → 30 · 2,000,000 → 20 · virtual currency 10
        (
            clue(
                "340102L01005001",
                f"华都数字科技有限公司（{tag}45）",
                coin.format(12),
                behaviours=assets,
                participants=380,
                amount=2_000_000,
                source="online_monitoring",
            ),
            Expected(Grade.SERIOUS, 60, [], FINANCE, "virtual_currency"),
        ),
        # 1500 → 40 · 150,000,000 → 50 (key) · agriculture 5
        (
            clue(
                "340102L01005001",
                f"华都牧业专业合作社（{tag}46）",
                cattle.format(15),
                sector="agriculture",
                behaviours=custody,
                participants=1500,
                amount=150_000_000,
                source="petition",
            ),
            Expected(Grade.MAJOR, 95, ["amount_at_least_100m"], SOCIAL, "agriculture"),
        ),
        # 380 → 30 · 60,000,000 → 35 · high returns 5 · film 5
        (
            clue(
                "340102L01010001",
                f"马岗影视文化传媒有限公司（{tag}47）",
                film.format(36),
                sector="film_investment",
                behaviours=high,
                participants=380,
                amount=60_000_000,
                source="online_monitoring",
            ),
            Expected(Grade.MAJOR, 75, [], PARTY, "film_investment"),
        ),
        # 0 people · 400,000 → 10 · high returns 5 · wealth management 5
        (
            clue(
                "340102L01009001",
                f"华都财富管理有限公司（{tag}48）",
                wealth.format(18),
                sector="wealth_management",
                behaviours=high,
                participants=0,
                amount=400_000,
                source="public_app",
            ),
            Expected(Grade.GENERAL, 20, [], FINANCE, "wealth_management"),
        ),
        # 380 → 30 · 400,000 → 10 · high returns 5 · outcry 15 · cultural tourism 0
        (
            clue(
                "340102L01010001",
                f"油坊文旅发展有限公司（{tag}49）",
                tour.format(36),
                sector="cultural_tourism",
                behaviours=points,
                participants=380,
                amount=400_000,
                flags=["promised_high_returns", "public_outcry"],
                source="public_app",
            ),
            Expected(Grade.SERIOUS, 60, [], SOCIAL, "cultural_tourism"),
        ),
        # no sector: commerce (4) · 1500 → 40 · 150,000,000 → 50 · high returns 5 · 文昌湖区 and 利通区 10
        (
            clue(
                "340102L01003",
                f"萌水生活超市（{tag}50）",
                rebate.format(15),
                behaviours=rebates,
                participants=1500,
                amount=150_000_000,
                flags=["promised_high_returns"],
                regions=["3703WC", "640302"],
            ),
            Expected(
                Grade.MAJOR,
                105,
                ["amount_at_least_100m", "cross_region"],
                COMMERCE,
                "commerce_services",
                ["3703WC", "640302"],
            ),
        ),
    ]


def the_month(tag: str) -> list[tuple[dict[str, Any], Expected]]:
    """All fifty clues of the month, each with its expectation."""
    return by_hand(tag) + the_rest(tag)
