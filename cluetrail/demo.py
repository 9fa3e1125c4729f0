"""Demo data: plausible clues for the seeds' jurisdictions, made from templates (no real people).

``cluetrail demo load`` writes a seeded set of clues to a JSONL file, imports it through intake with
``cluetrail import`` and waits until the ledger shows every case. Tests and benchmarks use the same
generator, so what a person sees in ``make run`` is what the suite checks.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from typer.main import get_command

from cluetrail.auth import Principal, Role, issue_token
from cluetrail.settings import CommonSettings
from contracts.api import ClueSubmission
from contracts.codes import USCC_ALPHABET, uscc_check_character
from contracts.jurisdictions import default_registry
from contracts.regions import RegionRegistry

console = Console()

# (sector code, behaviour codes, subject name template, description template)
SCENARIOS: tuple[tuple[str, list[str], str, str], ...] = (
    (
        "elderly_care",
        ["promised_high_returns"],
        "{place}康养服务中心",
        "以预订养老床位为名吸收老年人资金，承诺年化回报{rate}%。",
    ),
    (
        "agriculture",
        ["livestock_custody"],
        "{place}牧业专业合作社",
        "以牛羊托管为名向村民集资，承诺每头每年分红{rate}%。",
    ),
    (
        "wealth_management",
        ["promised_high_returns"],
        "{place}财富管理有限公司",
        "推介私募理财产品，口头承诺保本保息，年化{rate}%。",
    ),
    (
        "virtual_currency",
        ["virtual_assets"],
        "{place}数字科技有限公司",
        "组织“数字资产”推介会，宣传挖矿收益每月{rate}%。",
    ),
    (
        "commerce_services",
        ["consumption_rebate"],
        "{place}生活超市",
        "开展“消费返利”活动，充值一万元每月返现{rate}%。",
    ),
    (
        "cultural_tourism",
        ["franchise_points"],
        "{place}文旅发展有限公司",
        "以旅游积分加盟为名收取会员费，承诺积分升值{rate}%。",
    ),
    (
        "film_investment",
        ["promised_high_returns"],
        "{place}影视文化传媒有限公司",
        "以影视项目份额为名募集资金，承诺票房分红{rate}%。",
    ),
    (
        "debt_resolution",
        ["policy_slogans"],
        "{place}解债服务有限公司",
        "以“债务化解”“共享经济”为名收取服务费并吸收资金。",
    ),
)
SOURCES = ("grid_patrol", "hotline_12345", "public_app", "fund_monitoring", "online_monitoring", "petition")
PLACES = (
    "华都",
    "史城",
    "大店",
    "新站",
    "油坊",
    "海洲",
    "王岗",
    "琥珀",
    "罗岗",
    "马岗",
    "双桥",
    "金积",
    "兴仁",
    "萌水",
)


def fake_credit_code(rng: random.Random) -> str:
    """A syntactically valid unified social credit code of no real company (random organisation part)."""
    body = "91" + "340102" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def demo_clues(count: int, seed: int = 2024, jurisdictions: list[str] | None = None) -> list[dict[str, Any]]:
    """``count`` clue submissions (as JSON objects), the same for the same seed."""
    rng = random.Random(seed)
    registry = default_registry()
    places = jurisdictions or [j.code for j in registry.all() if j.level in ("community", "street")]
    clues = []
    for index in range(count):
        sector, behaviours, name, text = rng.choice(SCENARIOS)
        place = rng.choice(PLACES)
        rate = rng.choice((8, 12, 15, 18, 24, 36))
        participants = rng.choice((0, 3, 12, 45, 120, 380, 1500))
        amount = rng.choice((0, 50_000, 400_000, 2_000_000, 15_000_000, 60_000_000, 150_000_000))
        flags = rng.sample(
            ["vulnerable_targets", "promised_high_returns", "public_outcry", "stability_risk"],
            rng.choice((0, 0, 1, 2)),
        )
        clue = {
            "jurisdiction": rng.choice(places),
            "source": rng.choice(SOURCES),
            "subject": {
                "kind": "company" if "公司" in name else "shop",
                "name": f"{name.format(place=place)}（演示{index + 1:04d}）",
                "credit_code": fake_credit_code(rng) if rng.random() < 0.7 else None,
                "address": f"{place}路{rng.randint(1, 300)}号",
            },
            "description": text.format(rate=rate),
            "sector": sector,
            "behaviours": behaviours,
            "estimated_amount_yuan": amount,
            "participants": participants,
            "flags": flags,
        }
        ClueSubmission.model_validate(clue)  # the generator must only make valid clues
        clues.append(clue)
    return clues


YAOHAI, LITONG = "340102", "640302"


def region_places() -> list[str] | None:
    """The streets and communities this deployment's region serves (None: one region serves them all):
    intake refuses a clue of another region's place."""
    settings = CommonSettings()
    registry = default_registry()
    regions = RegionRegistry.load(settings.regions_file, registry)
    if not regions.peers_of(settings.region):
        return None
    return [
        j.code
        for j in registry.all()
        if j.level in ("community", "street") and regions.region_of(j.code) == settings.region
    ]


def register(app: typer.Typer) -> None:
    demo_app = typer.Typer(help="Demo data for a local run.", no_args_is_help=True)
    app.add_typer(demo_app, name="demo")

    @demo_app.command("load")
    def load(
        count: int = typer.Option(60, help="How many demo clues"),
        seed: int = typer.Option(2024, help="Same seed, same clues (re-running imports nothing twice)"),
        file: Path = typer.Option(Path("var/demo/clues.jsonl"), help="Where to write the demo clues"),
        reporting_url: str = typer.Option("http://127.0.0.1:8003", envvar="CLUETRAIL_REPORTING_URL"),
    ) -> None:
        """Write demo clues, import them through intake, and wait until the ledger shows them."""
        file.parent.mkdir(parents=True, exist_ok=True)
        places = region_places()
        file.write_text(
            "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in demo_clues(count, seed, places)),
            encoding="utf-8",
        )
        try:
            get_command(app)(["import", str(file)], standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise

        settings = CommonSettings()
        auditor = Principal(subject="demo-auditor", role=Role.AUDITOR, jurisdiction="340000", name="演示审计")
        reporting = httpx.Client(
            base_url=reporting_url,
            timeout=10,
            headers={"Authorization": f"Bearer {issue_token(settings, auditor, audience='reporting')}"},
        )

        def cases(**filters: str) -> int:
            response = reporting.get("/v1/cases", params={"limit": 1, **filters})
            response.raise_for_status()
            return int(response.json()["total"])

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (cases() < count or cases(status="reported") > 0):
            time.sleep(0.5)  # until every clue is in the ledger and triage has graded it
        registry = default_registry()
        by_district: dict[str, dict[str, int]] = {}
        for row in reporting.get("/v1/stats/grades").json():
            district = registry.nearest(str(row["jurisdiction"]), "district")
            name = district.name if district else str(row["jurisdiction"])
            by_district.setdefault(name, {}).setdefault(str(row["grade"]), 0)
            by_district[name][str(row["grade"])] += int(row["cases"])
        grades = ("major", "serious", "general", "low", "ungraded")
        table = Table(title=f"台账 ledger: {cases()} cases, {cases(key_case='true')} key cases")
        for column in ("district", "重大 major", "较大 serious", "一般 general", "低 low", "not yet graded"):
            table.add_column(column, justify="right")
        for name, counts in sorted(by_district.items()):
            table.add_row(name, *(str(counts.get(g, 0)) for g in grades))
        console.print(table)
        # 瑶海区, or in a region that does not serve it (ningxia of make run REGIONS=2), 利通区.
        district = registry.get(
            YAOHAI if places is None or any(p.startswith(YAOHAI) for p in places) else LITONG
        )
        lead_officer = Principal(
            subject=f"demo-lead-{district.code}",
            role=Role.DISTRICT_LEAD_OFFICER,
            jurisdiction=district.code,
            name=f"{district.name}处非办（演示）",
        )
        # Plain print: a console would wrap the token and break copying it.
        print(
            f"dashboard: {reporting_url}/dashboard — sign in with a token, e.g. {district.name}处非办 (12 h):"
        )
        print(issue_token(settings, lead_officer))
        print("more: .venv/bin/cluetrail token issue --role auditor --jurisdiction 340000 --subject me")
