"""notify's notices in a case's auditable history at reporting.

On the real database, with the projection's own code: a key case in 大店社区 has its 2-year reminder, the
police's silence on it and its reporter told; each is kept as written, a repeat is skipped, a notice off
its stream's chain or altered is refused with the reason, and an as-of build keeps only those recorded by
its instant. Through the running services: the 瑶海区 finance bureau's mail server refuses the police
transfer of a key case, so the case's stream gets the reporter's notice and the delivery alert; reporting
serves both with hashes anyone can recompute (the same access rule as the case), the dashboard's case
page lists them as notify's notices, `cluetrail case history` prints and stamps them, and a rebuilt
projection and an as-of one hold the same notices.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from cluetrail.kafka import notice_topic, read_log
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, compute_hash, uuid7
from contracts.notices import Notice, notice_bytes, seal_notice, verify_notices
from services.reporting.adapters.notices import NOTICES_CONSUMER, apply_notices, case_notices
from services.reporting.adapters.projector import stored_positions
from services.reporting.adapters.rebuild import ProjectionBuilder, RebuildSummary
from services.reporting.adapters.versions import (
    asof_schema,
    create_projection,
    record_build,
    use_active_projection,
    use_schema,
)
from services.reporting.settings import ReportingSettings
from tests.cases import DADIAN, dead_letters_for, key_case_clue, report, transfer_to_police
from tests.commands import cluetrail
from tests.harness import Stack, wait_until
from tests.integration.deliveries import FINANCE_MAIL, wait_for_key_case_notices
from tests.integration.golden_reporting import drop_database, fresh_database
from tests.integration.ledger import active_version
from tests.records import consumer_record

pytestmark = pytest.mark.integration

SETTINGS = ReportingSettings(topic_prefix="notices-golden")
TOPIC = notice_topic(SETTINGS)


def sealed_stream(case_id: uuid.UUID) -> list[Notice]:
    """The case's stream as notify records it: the reminder, the police's silence, the reporter told."""
    first = seal_notice(
        kind="key-case-deadline",
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        occurred_at=datetime.fromisoformat("2026-03-31T09:00:00+08:00"),
        recipients=["yaohai-lead-office", "yaohai-police"],
        facts={"limit": "trial_and_return_by", "limit_label": "审结并清退资金期限", "due_on": "2026-04-10",
               "days_left": 10},
        case_id=case_id,
    )  # fmt: skip
    second = seal_notice(
        kind="unacknowledged",
        stream=str(case_id),
        seq=2,
        prev_hash=first.hash,
        jurisdiction=DADIAN,
        occurred_at=datetime.fromisoformat("2026-04-01T10:00:00+08:00"),
        recipients=["yaohai-police", "yaohai-lead-office"],
        facts={"original_kind": "key-case-deadline", "original_recipient_id": "yaohai-police", "hours": 24},
        case_id=case_id,
    )
    third = seal_notice(
        kind="reporter-update",
        stream=str(case_id),
        seq=3,
        prev_hash=second.hash,
        jurisdiction=DADIAN,
        occurred_at=datetime.fromisoformat("2026-04-02T10:00:00+08:00"),
        recipients=["anhui-reporters"],
        facts={"stage": "transferred", "text": "【举报进度】您举报的线索已移送公安机关。"},
        case_id=case_id,
    )
    return [first, second, third]


def records(values: list[tuple[str, bytes]]) -> list[ConsumerRecord[bytes, bytes]]:
    """(key, value) pairs as records of one partition of the notices topic, in order."""
    return [
        consumer_record(value, topic=TOPIC, offset=offset, key=key.encode())
        for offset, (key, value) in enumerate(values)
    ]


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    dsn = await fresh_database()
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()
        await drop_database(dsn)


async def test_each_cases_notices_are_kept_as_written_and_a_broken_chain_is_refused_with_the_reason(
    conn: asyncpg.Connection,
) -> None:
    case_id, other = uuid7(), uuid7()
    reminder, silence, told = sealed_stream(case_id)
    monthly = seal_notice(
        kind="reporting-deadline",
        stream=f"reporting-deadline/{DADIAN}",
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        occurred_at=datetime.fromisoformat("2026-03-16T09:00:00+08:00"),
        recipients=["dadian-community-office"],
        facts={"period": "2026-03", "due_on": "2026-03-20"},
    )
    others = sealed_stream(other)
    altered = json.loads(notice_bytes(others[0]))
    altered["facts"]["due_on"] = "2027-04-10"  # a later limit than notify recorded
    stream = str(case_id)
    log = records(
        [
            (stream, notice_bytes(reminder)),
            (monthly.stream, notice_bytes(monthly)),
            (stream, notice_bytes(silence)),
            (stream, notice_bytes(reminder)),  # published again after a later one
            (stream, notice_bytes(told)),
            (str(other), json.dumps(altered, ensure_ascii=False).encode()),
            (str(other), notice_bytes(others[1])),  # its seq 1 never applied
            (stream, b"not a notice"),
        ]
    )
    # The live consumer applies one record at a time, each in its own transaction.
    refused: list[tuple[int, str]] = []
    for record in log:
        async with conn.transaction():
            await use_active_projection(conn)
            result = await apply_notices(conn, [record])
        refused.extend((r.offset, reason) for r, reason in result.rejected)

    assert refused[0] == (
        5,
        f"notice stream {other} seq 1 ({altered['notice_id']}): "
        "hash does not match the notice's content (altered after it was written)",
    )
    assert refused[1][0] == 6 and refused[1][1].endswith("seq 2 follows seq 0: events 1..1 are missing")
    assert refused[2][0] == 7 and refused[2][1].startswith("not a notice")
    assert len(refused) == 3

    kept = await case_notices(conn, case_id)
    assert kept == [json.loads(notice_bytes(n)) for n in (reminder, silence, told)]
    assert all(compute_hash(n) == n["hash"] for n in kept) and verify_notices(kept) == {}
    assert await case_notices(conn, other) == []

    # A rebuild applies a whole batch at once and comes to the same notices.
    rebuilt = "ledger_v2"
    await create_projection(conn, rebuilt, version=2)
    builder = ProjectionBuilder(conn, SETTINGS, RebuildSummary(rebuilt, 2))
    await builder.apply(log)
    assert (builder.summary.notices, builder.summary.duplicates, builder.summary.rejected) == (4, 1, 3)
    async with conn.transaction():
        await use_schema(conn, rebuilt)
        assert await stored_positions(conn, NOTICES_CONSUMER, TOPIC) == {0: 7}
        documents = await conn.fetch("SELECT document FROM notices ORDER BY stream, seq")
        assert [json.loads(r["document"]) for r in documents] == [
            json.loads(notice_bytes(n)) for n in (reminder, silence, told, monthly)
        ]

    # As of an instant between the police's silence and the reporter told: the first two only.
    instant = silence.recorded_at + (told.recorded_at - silence.recorded_at) / 2
    assert silence.recorded_at < instant < told.recorded_at
    schema = asof_schema(instant)
    await create_projection(conn, schema, as_of=instant)
    as_of = ProjectionBuilder(conn, SETTINGS, RebuildSummary(schema, None), instant)
    await as_of.apply(log)
    await record_build(conn, schema, 0, 0)
    # Sealed later: the reporter's notice, the monthly reminder and the other case's two.
    assert (as_of.summary.notices, as_of.summary.after_as_of) == (2, 4)
    assert [n["seq"] for n in await case_notices(conn, case_id, schema)] == [1, 2]


def notices_on_topic(settings: CommonSettings, case_id: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for batch, _ in read_log(settings, notice_topic(settings)):
            found.extend(json.loads(r.value or b"{}") for r in batch)
        return [n for n in found if n.get("case_id") == case_id]

    return asyncio.run(read())


async def notices_table(settings: CommonSettings, schema: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        rows = await conn.fetch(f'SELECT * FROM "{schema}".notices ORDER BY stream, seq')
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


def test_a_key_cases_notices_show_in_its_timeline_api_dashboard_and_history_and_survive_a_rebuild(
    stack: Stack, stack_settings: CommonSettings, tmp_path: Path
) -> None:
    case_id = report(stack, key_case_clue())
    wait_for_key_case_notices(stack, case_id)
    stack.mail.refused.add(FINANCE_MAIL)
    try:
        transfer_to_police(stack, case_id)
        # The reporter is told of the transfer; the bureau's mail dies and the duty office is alerted.
        on_topic = wait_until(
            lambda: (
                (found := notices_on_topic(stack_settings, case_id))
                and {n["kind"] for n in found} == {"reporter-update", "delivery-dead"}
                and found
            ),
            timeout=90,
            what="the reporter's notice and the delivery alert on the notices topic",
        )
    finally:
        stack.mail.refused.discard(FINANCE_MAIL)

    auditor = stack.token("auditor", "340000")
    with stack.client("reporting", token=auditor) as reporting:
        served = wait_until(
            lambda: (
                (response := reporting.get(f"/v1/cases/{case_id}/notices")).status_code == 200
                and len(response.json()) == 2
                and response.json()
            ),
            timeout=60,
            what="both notices in reporting",
        )
    # Exactly as written: every hash recomputed from its own document, one chain from the stream's start.
    assert sorted(served, key=lambda n: n["seq"]) == sorted(on_topic, key=lambda n: n["seq"])
    assert all(compute_hash(n) == n["hash"] for n in served)
    assert verify_notices(sorted(served, key=lambda n: n["seq"])) == {}
    assert [n["recorded_at"] for n in served] == sorted(n["recorded_at"] for n in served)
    assert {n["stream"] for n in served} == {case_id}

    # The case's own access rule: the police it was transferred to read them, another district does not.
    police = stack.token("police", "340102", subject="yaohai-police-officer")
    elsewhere = stack.token("district_lead_officer", "340422", subject="officer-shouxian")  # 寿县
    with stack.client("reporting", token=police) as reader:
        assert reader.get(f"/v1/cases/{case_id}/notices").json() == served
    with stack.client("reporting", token=elsewhere) as reader:
        refused = reader.get(f"/v1/cases/{case_id}/notices")
        assert refused.status_code == 404
        assert refused.json()["detail"] == f"case {case_id} is not in the ledger"

    # The dashboard's case page: notify's notices in their own section, the reporter never named.
    lead = stack.token("district_lead_officer", "340102", subject="officer-yaohai-1")
    page = httpx.get(
        f"{stack.url('reporting')}/dashboard/cases/{case_id}", cookies={"cluetrail_token": lead}, timeout=30
    )
    assert page.status_code == 200
    section = page.text.split('id="notices-card"', 1)[1]
    assert "通知服务记录（共 2 条" in section and "不属于案件事件" in section
    rows = re.findall(r'<tr class="notice" data-kind="([a-z-]+)"', section)
    assert rows == [n["kind"] for n in served]
    assert "【通知】告知举报人" in section and "【通知】投递失败告警" in section
    assert "瑶海区财政金融局（电子邮件）" in section
    assert all(n["hash"] in section for n in served)
    assert "anhui-reporters" not in section

    # `cluetrail case history`: the notices after the events, stamped in the file `case check` verifies.
    timeline = tmp_path / "timeline.json"
    url = stack.url("reporting")
    history = cluetrail(stack, "case", "history", case_id, "--url", url, "-o", str(timeline))
    assert history.returncode == 0, history.stdout + history.stderr
    assert history.stdout.index("escalated") < history.stdout.index("reporter-update")
    assert "the reporter (receipt)" in history.stdout and "anhui-reporters" not in history.stdout
    head = max(served, key=lambda n: n["seq"])["hash"]
    assert f"notice head:     {head} (stream {case_id})" in history.stdout
    written = json.loads(timeline.read_text(encoding="utf-8"))
    assert written["timeline"]["notices"] == served
    checked = cluetrail(stack, "case", "check", str(timeline))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every event's and notice's hash" in checked.stdout

    # A rebuild replays the notices topic too: the new version holds the very same notices.
    version = asyncio.run(active_version(stack_settings))
    rebuilt = cluetrail(stack, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert asyncio.run(active_version(stack_settings)) == version + 1
    assert asyncio.run(notices_table(stack_settings, f"ledger_v{version + 1}")) == asyncio.run(
        notices_table(stack_settings, f"ledger_v{version}")
    )
    with stack.client("reporting", token=auditor) as reporting:
        assert reporting.get(f"/v1/cases/{case_id}/notices").json() == served

        # As of the first notice's recording: only the notices recorded by then.
        first = min(served, key=lambda n: n["recorded_at"])
        instant = datetime.fromisoformat(first["recorded_at"])
        later = [n for n in served if datetime.fromisoformat(n["recorded_at"]) > instant]
        assert later, "the two notices were recorded at one instant"
        built = cluetrail(stack, "rebuild", "--as-of", instant.isoformat())
        assert built.returncode == 0, built.stdout + built.stderr
        schema = built.stdout.rsplit("as-of projection:", 1)[1].split()[0]
        as_of = reporting.get(f"/v1/cases/{case_id}/notices", params={"as_of": schema}).json()
        assert as_of == [n for n in served if n not in later]


def test_a_record_on_the_notices_topic_that_is_no_notice_is_dead_lettered_with_the_reason(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """Valid JSON on a chain of its own (so `notify verify-notices` finds nothing wrong with the topic), but
    no notice: reporting's notices consumer refuses it and moves on."""
    stream = f"not-a-notice-{uuid.uuid4().hex[:8]}"
    document: dict[str, Any] = {"stream": stream, "seq": 1, "prev_hash": GENESIS_HASH, "kind": "birthday"}
    document["hash"] = compute_hash(document)

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack_settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                notice_topic(stack_settings), json.dumps(document).encode(), key=stream.encode()
            )
        finally:
            await producer.stop()

    asyncio.run(publish())
    assert verify_notices([document]) == {}
    letters = wait_until(
        lambda: asyncio.run(dead_letters_for(stack_settings, stream, NOTICES_CONSUMER)),
        timeout=60,
        what="reporting's dead letter for the record",
    )
    assert len(letters) == 1 and letters[0]["topic"] == notice_topic(stack_settings)
    assert letters[0]["reason"].startswith("not a notice: notice_id")
