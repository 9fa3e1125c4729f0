"""A known set of case events for reporting's golden tests, and a real database to project them into.

The events go through the same code the live consumer runs (decode_record, then apply_events inside a
transaction aimed at a projection version), so the tables read back are the tables the service serves.
Six cases of 龙岗街道 (瑶海区), October 2026 unless said otherwise (all times China Standard Time):

A 华都  2026-10-03 grid patrol, elderly care, 2,000,000 yuan, 120 people; assessed serious; determined
        suspected illegal fundraising with 2 measures (10-06); to the police (10-10); closed 10-25 with
        500,000 yuan recovered.
A       also: a 2,000 yuan reward to its reporter (10-26).
B 华都  2026-10-12 12345 hotline, virtual currency, 300,000 yuan, 40 people, also in 枣庄高新区 (山东);
        assessed general; determined general violation with 1 measure (10-20); a seizure (10-22). Open.
C 史城  2026-09-20 big data, wealth management, 150,000,000 yuan, 1,500 people; assessed major, key case
        (09-21); determined suspected crime (10-02); to the police (10-03); notice to 利通区 (宁夏, 10-05);
        the police accept it (立案, 10-08).
D 大店  2026-10-28 public app, no sector, no amounts. Nothing else.
E 史城  2026-11-02 grid patrol, elderly care, 50,000 yuan, 10 people (next month).
F 大店  2026-10-15 petition, agriculture, 800,000 yuan, 60 people; assessed low; determined no violation
        (10-16); closed 10-17 with no violation.
H 新站  2026-10-05 media, film investment, 1,000,000 yuan, 20 people; assessed general; determined
        regularise with supervised return of funds (10-07); written off 10-30 with 900,000 yuan recovered;
        reopened by a look back (回头看) 10-31. Open.

Four criminal cases of 双桥镇 (寿县, another district and city), filed years ago, for the ageing lists:
J 2023-03-01 hotline, agriculture, 3,000,000 yuan, 200 people; determined suspected crime (03-10); to
        the police (03-15); accepted (立案) 2023-04-01; closed by the office 2023-06-30 as transferred to
        the police. The trial and the return of funds go on.
K 2020-05-01 grid patrol, elderly care, 50,000,000 yuan, 800 people; assessed major, key case; flagged
        2020-07-01 with the criminal case filed on 2020-06-15 (no acceptance event). Open.
L 2022-01-10 big data, wealth management, 6,000,000 yuan, 90 people; to the police 2022-02-01;
        accepted 2022-02-20; written off 2025-05-20 with the funds returned (4,000,000 yuan recovered).
M 2024-10-01 petition, virtual currency, 700,000 yuan, 35 people; to the police 2024-10-10; accepted
        2024-10-20; closed by the office 2024-12-01 as transferred to the police.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord

from cluetrail.consume import Incoming, decode_record
from cluetrail.db import ensure_database, migrate
from contracts.envelope import GENESIS_HASH, Actor, Envelope, compute_hash, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseReopened,
    CaseWrittenOff,
    ClosedPayload,
    ClueReported,
    ClueReportedPayload,
    DeterminedPayload,
    EscalatedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    MeasureRecorded,
    MeasureRecordedPayload,
    PoliceAccepted,
    PoliceAcceptedPayload,
    ReopenedPayload,
    RewardGranted,
    RewardGrantedPayload,
    Subject,
    WrittenOffPayload,
    seal_event,
)
from contracts.jurisdictions import default_registry
from services.reporting.adapters import SQL
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.versions import ensure_active_projection, use_active_projection
from services.reporting.domain.periods import CST
from tests.records import event_record

HUADU, SHICHENG, DADIAN, XINZHAN = "340102L01001", "340102L01002", "340102L01003", "340102L01004"
STREET, DISTRICT = "340102L01", "340102"
SHUANGQIAO, SHOU_COUNTY = "340422L01", "340422"  # 双桥镇, 寿县
OFFICER = Actor(kind="officer", id="officer-golden", role="street_officer")
REGISTRY = default_registry()
TRIAGE = Actor(kind="service", id="triage")
PG_BASE = "postgresql://cluetrail:cluetrail@127.0.0.1:55432"


def at(day: str) -> datetime:
    """A day at 10:00 China Standard Time: of 2026, e.g. at("10-03"), or of any year: at("2023-04-01")."""
    return datetime.fromisoformat(f"{day if len(day) == 10 else '2026-' + day}T10:00:00").replace(tzinfo=CST)


class CaseBuilder:
    """Seals one case's events in order, each continuing the chain."""

    def __init__(self, jurisdiction: str) -> None:
        self.case_id = uuid7()
        self.jurisdiction = jurisdiction
        self.events: list[Envelope] = []

    def add(
        self, cls: type[Envelope], payload: Any, day: str, actor: Actor = OFFICER, recorded: str | None = None
    ) -> CaseBuilder:
        """The next event, occurred on ``day`` and recorded then too, or on ``recorded`` (a late fact);
        as-of builds select events by when they were recorded."""
        prev = self.events[-1].hash if self.events else GENESIS_HASH
        sealed = seal_event(
            cls,
            case_id=self.case_id,
            seq=len(self.events) + 1,
            prev_hash=prev,
            jurisdiction=self.jurisdiction,
            actor=actor,
            payload=payload,
            correlation_id=self.case_id,
            occurred_at=at(day),
        )
        document = {**sealed.model_dump(mode="json"), "recorded_at": at(recorded or day).isoformat()}
        self.events.append(cls.model_validate({**document, "hash": compute_hash(document)}))
        return self

    def clue(self, day: str, source: str, name: str, sector: str | None, amount: int | None,
             people: int | None, regions: list[str] | None = None) -> CaseBuilder:  # fmt: skip
        payload = ClueReportedPayload(
            source=source,
            subject=Subject(kind="company", name=name),
            description=f"{name}：演示线索。",
            sector=sector,
            estimated_amount_yuan=amount,
            participants=people,
            regions_involved=regions or [],
            # A receipt code of the case's own (the receipt projection keys each case by its digest).
            receipt_digest=hashlib.sha256(self.case_id.bytes).hexdigest(),
        )
        self.figures = (people, amount)  # what triage grades the case on (assessed v3)
        return self.add(ClueReported, payload, day, Actor(kind="reporter", id="anon"))

    def assessed(self, day: str, grade: str, key_case: bool = False) -> CaseBuilder:
        payload = AssessedPayload(
            grade=grade, score=10, factors=[], rule_set="golden/1", key_case=key_case,
            responsible_department="财政金融局" if key_case else None,
            participants=self.figures[0], estimated_amount_yuan=self.figures[1],
        )  # fmt: skip
        return self.add(CaseAssessed, payload, day, TRIAGE)

    def determined(self, day: str, determination: str, measures: list[str]) -> CaseBuilder:
        payload = DeterminedPayload(determination=determination, basis="核查后研判。", measures=measures)
        return self.add(CaseDetermined, payload, day)

    def escalated(self, day: str, target: str, to: str) -> CaseBuilder:
        payload = EscalatedPayload(target=target, target_jurisdiction=to, reason="依规移送/通报。")
        return self.add(CaseEscalated, payload, day)

    def measure(self, day: str, measure: str) -> CaseBuilder:
        return self.add(MeasureRecorded, MeasureRecordedPayload(measure=measure, detail="现场处置。"), day)

    def police_accepted(self, day: str, number: str, police: str) -> CaseBuilder:
        payload = PoliceAcceptedPayload(
            police_case_number=number, accepted_at=at(day), police_jurisdiction=police
        )
        return self.add(PoliceAccepted, payload, day, Actor(kind="officer", id="police-1", role="police"))

    def key_case(self, day: str, filed_on: str | None = None) -> CaseBuilder:
        payload = KeyCaseFlaggedPayload(
            reasons=["amount_100m"], supervising_leader="县政府分管副县长",
            criminal_filed_on=date.fromisoformat(filed_on) if filed_on else None,
        )  # fmt: skip
        return self.add(KeyCaseFlagged, payload, day)

    def reward(self, day: str, amount: int) -> CaseBuilder:
        return self.add(RewardGranted, RewardGrantedPayload(amount_yuan=amount, basis="快查快奖。"), day)

    def written_off(self, day: str, outcome: str, recovered: int) -> CaseBuilder:
        payload = WrittenOffPayload(
            outcome=outcome, summary="资金清退完毕。", recovered_amount_yuan=recovered, claims_handled=20,
            quiet_period_days=90, conditions_met=["funds-returned"],
        )  # fmt: skip
        return self.add(CaseWrittenOff, payload, day)

    def reopened(self, day: str) -> CaseBuilder:
        return self.add(CaseReopened, ReopenedPayload(reason="回头看发现复发。", trigger="look_back"), day)

    def closed(self, day: str, outcome: str, recovered: int = 0) -> CaseBuilder:
        payload = ClosedPayload(outcome=outcome, summary="处置完毕。", recovered_amount_yuan=recovered)
        return self.add(CaseClosed, payload, day)


def golden_cases() -> dict[str, CaseBuilder]:
    return {
        "A": CaseBuilder(HUADU)
        .clue("10-03", "grid_patrol", "甲养老服务（演示）", "elderly_care", 2_000_000, 120)
        .assessed("10-04", "serious")
        .determined("10-06", "suspected_illegal_fundraising", ["warning_interview", "rectification_order"])
        .escalated("10-10", "police", DISTRICT)
        .closed("10-25", "transferred_to_police", 500_000)
        .reward("10-26", 2_000),
        "B": CaseBuilder(HUADU)
        .clue("10-12", "hotline_12345", "乙数字科技（演示）", "virtual_currency", 300_000, 40, ["3704GX"])
        .assessed("10-13", "general")
        .determined("10-20", "general_violation", ["warning_interview"])
        .measure("10-22", "seizure"),
        "C": CaseBuilder(SHICHENG)
        .clue("09-20", "big_data", "丙财富管理（演示）", "wealth_management", 150_000_000, 1500)
        .assessed("09-21", "major", key_case=True)
        .determined("10-02", "suspected_crime", [])
        .escalated("10-03", "police", DISTRICT)
        .escalated("10-05", "other_region", "640302")
        .police_accepted("10-08", "瑶公刑立〔2026〕001号", DISTRICT),
        "D": CaseBuilder(DADIAN).clue("10-28", "public_app", "丁商贸（演示）", None, None, None),
        "E": CaseBuilder(SHICHENG).clue("11-02", "grid_patrol", "戊康养（演示）", "elderly_care", 50_000, 10),
        "F": CaseBuilder(DADIAN)
        .clue("10-15", "petition", "己农业合作社（演示）", "agriculture", 800_000, 60)
        .assessed("10-16", "low")
        .determined("10-16", "no_violation", [])
        .closed("10-17", "no_violation"),
        "H": CaseBuilder(XINZHAN)
        .clue("10-05", "media", "庚影视文化（演示）", "film_investment", 1_000_000, 20)
        .assessed("10-06", "general")
        .determined("10-07", "regularise", ["supervised_fund_return"])
        .written_off("10-30", "funds_returned", 900_000)
        .reopened("10-31"),
        "J": CaseBuilder(SHUANGQIAO)
        .clue("2023-03-01", "hotline_12345", "壬牲畜托管合作社（演示）", "agriculture", 3_000_000, 200)
        .determined("2023-03-10", "suspected_crime", [])
        .escalated("2023-03-15", "police", SHOU_COUNTY)
        .police_accepted("2023-04-01", "寿公刑立〔2023〕017号", SHOU_COUNTY)
        .closed("2023-06-30", "transferred_to_police"),
        "K": CaseBuilder(SHUANGQIAO)
        .clue("2020-05-01", "grid_patrol", "癸康养服务（演示）", "elderly_care", 50_000_000, 800)
        .assessed("2020-05-02", "major", key_case=True)
        .key_case("2020-07-01", filed_on="2020-06-15"),
        "L": CaseBuilder(SHUANGQIAO)
        .clue("2022-01-10", "big_data", "子财富咨询（演示）", "wealth_management", 6_000_000, 90)
        .escalated("2022-02-01", "police", SHOU_COUNTY)
        .police_accepted("2022-02-20", "寿公刑立〔2022〕004号", SHOU_COUNTY)
        .written_off("2025-05-20", "funds_returned", 4_000_000),
        "M": CaseBuilder(SHUANGQIAO)
        .clue("2024-10-01", "petition", "丑数字资产（演示）", "virtual_currency", 700_000, 35)
        .escalated("2024-10-10", "police", SHOU_COUNTY)
        .police_accepted("2024-10-20", "寿公刑立〔2024〕031号", SHOU_COUNTY)
        .closed("2024-12-01", "transferred_to_police"),
    }


def records(events: list[Envelope], topic: str = "golden.case-events") -> list[ConsumerRecord[bytes, bytes]]:
    """Events as records of one partition of the case log, in order."""
    return [event_record(event, topic=topic, offset=offset) for offset, event in enumerate(events)]


def incoming(events: list[Envelope], topic: str = "golden.case-events") -> list[Incoming]:
    """Events as the consumer receives them: records read back through decode_record."""
    return [decode_record(record) for record in records(events, topic)]


async def fresh_database() -> str:
    """A new, empty reporting database with its migrations applied; returns its DSN."""
    dsn = f"{PG_BASE}/test_golden_{uuid.uuid4().hex[:10]}"
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, SQL.migrations)
        await ensure_active_projection(conn)
    finally:
        await conn.close()
    return dsn


async def drop_database(dsn: str) -> None:
    base, _, name = dsn.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def project(conn: asyncpg.Connection, events: list[Incoming]) -> None:
    """Apply events one at a time, each in its own transaction, as the live consumer does."""
    for one in events:
        async with conn.transaction():
            await use_active_projection(conn)
            result = await apply_events(conn, [one])
            assert not result.rejected, result.rejected


def log_order(cases: dict[str, CaseBuilder]) -> list[Envelope]:
    """All events interleaved as the log received them, by recording (each case's events stay in seq
    order)."""
    return sorted((e for c in cases.values() for e in c.events), key=lambda e: (e.recorded_at, e.seq))


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """The rows of a table by the value of one of their columns."""
    return {row[key]: row for row in rows}
