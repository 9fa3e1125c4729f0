"""Cases on a running stack, as the tests make and read them: the places they happen in, the clues
reported about them, officers' triage clients, and the case as triage shows it and the log holds it.

Shared by the integration, regions and end-to-end tests and the benchmarks; a test module never
imports another test module's helpers.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

import httpx

from cluetrail.demo import fake_credit_code
from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.chain import verify_chain
from contracts.events import UnreadableEvent, parse_document
from tests.harness import Stack, wait_until

LONGGANG_HUADU = "340102L01001"  # 合肥市瑶海区龙岗街道华都社区
DADIAN = "340102L01003"  # 合肥市瑶海区龙岗街道大店社区
LONGGANG_STREET = "340102L01"  # 龙岗街道
YAOHAI = "340102"  # 合肥市瑶海区
SHOUXIAN = "340422"  # 寿县
LITONG = "640302"  # 吴忠市利通区
STREET_OFFICER = "officer-longgang-01"
LEAD_OFFICER = "lead-yaohai-01"


# --- clues ---------------------------------------------------------------------------------------------


def credit_code() -> str:
    """A valid unified social credit code of a company no other test reports."""
    return fake_credit_code(random.Random())


def elderly_care_clue(**changes: Any) -> dict[str, Any]:
    """A care home in 华都社区 taking deposits for beds from old people: triage grades it serious (60)."""
    clue: dict[str, Any] = {
        "jurisdiction": LONGGANG_HUADU,
        "source": "grid_patrol",
        "subject": {"kind": "shop", "name": "华都康养服务中心"},
        "description": "以预订养老床位为名吸收老年人资金，承诺年化回报15%。",
        "sector": "elderly_care",
        "participants": 120,
        "estimated_amount_yuan": 3_000_000,
        "flags": ["vulnerable_targets"],
    }
    clue.update(changes)
    return clue


def unique_shop(**changes: Any) -> dict[str, Any]:
    """An elderly-care clue about a shop no other test reports (its own name and address)."""
    tag = uuid.uuid4().hex[:8]
    clue = elderly_care_clue(
        subject={"kind": "shop", "name": f"华都康养服务中心{tag}", "address": f"华都路{tag}号"}
    )
    clue.update(changes)
    return clue


def care_company_clue(**changes: Any) -> dict[str, Any]:
    """A registered care company in 华都社区 taking deposits from old people, its name and credit code
    unique per call: a small case (45 participants, 400,000 yuan), for intake's own checks."""
    clue: dict[str, Any] = {
        "jurisdiction": LONGGANG_HUADU,
        "source": "grid_patrol",
        "subject": {
            "kind": "company",
            "name": f"华都康养服务中心（{uuid.uuid4().hex[:10]}）",
            "credit_code": credit_code(),
            "address": "华都路18号",
        },
        "description": "以预订养老床位为名吸收老年人资金，承诺年化回报15%。",
        "sector": "elderly_care",
        "behaviours": ["promised_high_returns"],
        "estimated_amount_yuan": 400_000,
        "participants": 45,
        "flags": ["vulnerable_targets"],
    }
    clue.update(changes)
    return clue


def key_case_clue(**changes: Any) -> dict[str, Any]:
    """A clue triage grades as a key case (≥ 100 million yuan) and escalates to the lead office at once."""
    clue: dict[str, Any] = {
        "jurisdiction": DADIAN,
        "source": "grid_patrol",
        "subject": {"kind": "company", "name": f"某某财富管理有限公司{uuid.uuid4().hex[:6]}"},
        "description": "门店向老年人推介保本高息理财产品，承诺年化收益百分之十八",
        "sector": "wealth_management",
        "estimated_amount_yuan": 150_000_000,
        "participants": 420,
        "flags": ["vulnerable_targets", "promised_high_returns"],
        "reporter": {"name": "网格员甲", "phone": "000-0000"},
    }
    clue.update(changes)
    return clue


def accepted_clue(stack: Stack, clue: dict[str, Any]) -> dict[str, Any]:
    """Intake's answer to the clue, posted once under a key of its own: accepted (202)."""
    with stack.client("intake") as intake:
        answer = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


def report(stack: Stack, clue: dict[str, Any]) -> str:
    """The case id intake gives the clue."""
    return str(accepted_clue(stack, clue)["case_id"])


# --- officers ------------------------------------------------------------------------------------------


def client(
    stack: Stack, role: str, jurisdiction: str, subject: str, department: str | None = None
) -> httpx.Client:
    """A triage client of an officer of ``role`` at ``jurisdiction``."""
    return stack.client(
        "triage", token=stack.token(role, jurisdiction, subject=subject, department=department)
    )


def reader(stack: Stack) -> httpx.Client:
    """A triage client of an auditor: reads every case, changes none."""
    return client(stack, "auditor", "340000", "auditor-01")


def lead_office(stack: Stack) -> httpx.Client:
    """A triage client of Yaohai's district lead office (区处非办)."""
    return client(stack, "district_lead_officer", YAOHAI, LEAD_OFFICER)


def street_office(stack: Stack) -> httpx.Client:
    """A triage client of Longgang street's office (街道处非办)."""
    return client(stack, "street_officer", LONGGANG_STREET, STREET_OFFICER)


def transfer_to_police(stack: Stack, case_id: str) -> int:
    """Yaohai's lead office transfers the case to the police; the seq of the escalation."""
    with client(stack, "district_lead_officer", YAOHAI, "officer-yaohai-1") as triage:
        response = triage.post(
            f"/v1/cases/{case_id}/escalation",
            json={
                "target": "police",
                "reason": "涉嫌非法吸收公众存款，已无力兑付，移送公安",
                "summary": "门店以养老为名吸收公众资金，已无力兑付。",
            },
        )
    assert response.status_code == 202, response.text
    return int(response.json()["seq"])


# --- the case, in triage and in the log ----------------------------------------------------------------


def case_view(triage: httpx.Client, case_id: str) -> dict[str, Any] | None:
    """Triage's view of the case, or None while triage does not show it."""
    answer = triage.get(f"/v1/cases/{case_id}")
    return answer.json() if answer.status_code == 200 else None


def wait_for_case(
    triage: httpx.Client, case_id: str, *, last_seq: int, timeout: float = 60
) -> dict[str, Any]:
    """Triage's view of the case once it holds at least ``last_seq`` events."""

    def reached() -> dict[str, Any] | None:
        view = case_view(triage, case_id)
        return view if view is not None and view["last_seq"] >= last_seq else None

    found: dict[str, Any] = wait_until(reached, timeout=timeout, what=f"case {case_id} at seq {last_seq}")
    return found


def case_documents(settings: CommonSettings, case_id: str) -> list[dict[str, Any]]:
    """The case's events as written in the log, in log order."""

    async def read() -> list[dict[str, Any]]:
        documents = []
        async for records, _ in read_log(settings):
            for record in records:
                if record.key == case_id.encode():
                    documents.append(json.loads(record.value or b"{}"))
        return documents

    return asyncio.run(read())


def wait_for_log(settings: CommonSettings, case_id: str, count: int) -> list[dict[str, Any]]:
    """The case's events in the log once there are at least ``count``."""

    def enough() -> list[dict[str, Any]] | None:
        documents = case_documents(settings, case_id)
        return documents if len(documents) >= count else None

    found: list[dict[str, Any]] = wait_until(
        enough, timeout=60, what=f"{count} events of case {case_id} in the log"
    )
    return found


def assert_valid_chain(documents: list[dict[str, Any]]) -> None:
    """The documents are one whole chain: every hash verifies and the seqs run 1, 2, … without a gap."""
    assert verify_chain(documents) == {}
    assert [d["seq"] for d in documents] == list(range(1, len(documents) + 1))


async def log_documents(settings: CommonSettings, case_ids: set[str]) -> list[dict[str, Any]]:
    """The documents of these cases as the case topic holds them from offset zero (records that are not
    events are passed over: other tests put poison on the topic on purpose)."""
    found: list[dict[str, Any]] = []
    async for batch, _ in read_log(settings):
        for record in batch:
            try:
                document = parse_document(record.value or b"")
            except UnreadableEvent:
                continue
            if document.get("case_id") in case_ids:
                found.append(document)
    return found


def clue_reports(settings: CommonSettings) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every clue-reported record of the case topic up to its current end: (key, event as written).

    Triage adds later events to the same cases at its own pace, so tests look at clue-reported only.
    """

    async def collect() -> list[tuple[bytes | None, dict[str, Any]]]:
        found: list[tuple[bytes | None, dict[str, Any]]] = []
        async for records, _ in read_log(settings):
            documents = ((r.key, parse_document(r.value or b"")) for r in records)
            found.extend((key, doc) for key, doc in documents if doc.get("type") == "clue-reported")
        return found

    return asyncio.run(collect())


def mentioning(settings: CommonSettings, subject_name: str) -> list[dict[str, Any]]:
    """The clue-reported events in the log about a subject of this name."""
    return [doc for _, doc in clue_reports(settings) if doc["payload"]["subject"]["name"] == subject_name]


async def dead_letters_for(
    settings: CommonSettings, key: str, consumer: str | None = None
) -> list[dict[str, Any]]:
    """The dead letters of records keyed ``key`` (a case id), set aside by ``consumer`` or by anyone."""
    found: list[dict[str, Any]] = []
    async for batch, _ in read_log(settings, settings.dead_letter_topic):
        for record in batch:
            letter = json.loads(record.value or b"{}")
            if letter.get("key") == key and consumer in (None, letter.get("consumer")):
                found.append(letter)
    return found
