"""The report API and exports on the running service: tokens and scopes, JSON tables, XLSX and CSV files
opened back and compared cell by cell, and the same export from `cluetrail report export`.

Its clues go to 商家镇 (3703WCL02, 文昌湖区); demo clues of other tests may land there too, so figures are
checked against the ledger of the same place once it has settled."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from cluetrail.demo import demo_clues
from cluetrail.kafka import read_log, report_submission_topic
from cluetrail.settings import CommonSettings
from contracts.envelope import compute_hash
from services.reporting.domain.exports import cell_value
from services.reporting.domain.periods import Period
from services.reporting.domain.tables import DISPOSAL_COLUMNS, WORK_COLUMNS
from services.reporting.domain.timeline import stamped_timeline, timeline_file_bytes
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration
SHANGJIA = "3703WCL02"  # 商家镇, a street without communities in the demo tree


@pytest.fixture(scope="module")
def shangjia(stack: Stack) -> tuple[list[str], str]:
    """Three clues of 商家镇 in the ledger, and the period they were reported in."""
    clues = demo_clues(3, seed=uuid.uuid4().int % 1_000_000, jurisdictions=[SHANGJIA])
    with stack.client("intake") as intake:
        case_ids = [intake.post("/v1/clues", json=clue).json()["case_id"] for clue in clues]
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:

        def histories() -> list[list[dict[str, Any]]] | None:
            found = [auditor.get(f"/v1/cases/{case_id}/history") for case_id in case_ids]
            return [r.json() for r in found] if all(r.status_code == 200 for r in found) else None

        timelines = wait_until(histories, timeout=60, what="three clues of 商家镇 in the ledger")
    periods = {str(Period.of(datetime.fromisoformat(t[0]["occurred_at"]))) for t in timelines}
    assert len(periods) == 1  # three clues posted together fall in one month
    period = periods.pop()
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        settled(auditor, "/v1/reports/annex", {"period": period, "jurisdiction": SHANGJIA})
    return case_ids, period


def settled(client: httpx.Client, path: str, params: dict[str, str]) -> Any:
    """The answer once two reads a second apart agree (clues of earlier tests may still be arriving)."""
    previous: list[Any] = [None]

    def same_twice() -> Any:
        now = client.get(path, params=params).json()
        stable = now == previous[0]
        previous[0] = now
        return now if stable else None

    return wait_until(same_twice, timeout=120, interval=1.0, what=f"a settled {path}")


def test_reads_need_a_token_and_stay_in_the_readers_subtree(
    stack: Stack, shangjia: tuple[list[str], str]
) -> None:
    case_ids, period = shangjia
    with stack.client("reporting") as anonymous:
        assert anonymous.get("/v1/reports/work").status_code == 401
        assert anonymous.get("/v1/cases").status_code == 401
        assert anonymous.get(f"/v1/cases/{case_ids[0]}").status_code == 401
    with stack.client("reporting", token=stack.token("street_officer", SHANGJIA)) as officer:
        work = officer.get("/v1/reports/work", params={"period": period})
        assert work.status_code == 200, work.text
        body = work.json()
        assert body["meta"]["jurisdiction"] == SHANGJIA  # their own subtree by default
        assert [r["jurisdiction_name"] for r in body["rows"]] == ["商家镇"]
        assert body["rows"][0]["new_clues"] >= 3
        refused = officer.get("/v1/reports/work", params={"jurisdiction": "340102"})
        assert refused.status_code == 403 and "340102" not in refused.text
        assert officer.get(f"/v1/cases/{case_ids[0]}").status_code == 200
        with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
            everywhere = auditor.get("/v1/cases", params={"jurisdiction": SHANGJIA}).json()["total"]
        assert officer.get("/v1/cases").json()["total"] == everywhere >= 3
    with stack.client("reporting", token=stack.token("street_officer", "340102L01")) as other:
        assert other.get(f"/v1/cases/{case_ids[0]}").status_code == 404  # does not say it exists
        assert other.get(f"/v1/cases/{case_ids[0]}/history").status_code == 404
    with stack.client("reporting", token=stack.token("police", "3703WC")) as police:
        # None of these was transferred to the police.
        assert police.get("/v1/cases", params={"jurisdiction": SHANGJIA}).json()["total"] == 0
        rows = police.get("/v1/reports/work", params={"period": period, "jurisdiction": SHANGJIA}).json()[
            "rows"
        ]
        assert rows[0]["new_clues"] == 0
        assert police.get(f"/v1/cases/{case_ids[0]}").status_code == 404
    with stack.client("reporting", token=stack.token("auditor", "640000")) as auditor:
        assert (
            auditor.get("/v1/reports/work", params={"jurisdiction": SHANGJIA, "period": period}).status_code
            == 200
        )
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        assert auditor.get("/v1/reports/nonsense").status_code == 404
        assert auditor.get("/v1/reports/work", params={"period": "2026-13"}).status_code == 422
        # An offset past PostgreSQL's bigint is refused, not failed in the driver.
        assert auditor.get("/v1/cases", params={"offset": str(2**63)}).status_code == 422
        assert auditor.get("/v1/cases", params={"offset": str(2**63 - 1)}).status_code == 200


def test_an_auditors_ledger_covers_every_tree_like_the_case_list(
    stack: Stack, shangjia: tuple[list[str], str]
) -> None:
    """An auditor of 安徽 (340000) who names no jurisdiction reads the whole ledger in /v1/cases; the
    ledger tables and their exports cover the same cases, 商家镇's (山东) included, not only 安徽's."""
    case_ids, _ = shangjia
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:

        def listed() -> set[str]:
            found: set[str] = set()
            offset = 0
            while True:
                page = auditor.get("/v1/cases", params={"offset": offset, "limit": 500}).json()
                found |= {item["case_id"] for item in page["items"]}
                offset += 500
                if offset >= page["total"]:
                    return found

        def same() -> tuple[dict[str, Any], set[str]] | None:
            ledger = auditor.get("/v1/reports/ledger").json()
            cases = listed()
            return (ledger, cases) if {r["case_id"] for r in ledger["rows"]} == cases else None

        ledger, cases = wait_until(same, timeout=60, interval=1.0, what="the ledger table and the case list")
        assert set(case_ids) <= cases
        assert ledger["meta"]["jurisdiction"] is None and ledger["meta"]["jurisdiction_name"] == "全部辖区"
        risks = auditor.get("/v1/reports/risks").json()
        assert set(case_ids) <= {r["case_id"] for r in risks["rows"]}
        export = auditor.get("/v1/reports/ledger/export", params={"format": "csv"})
        assert export.status_code == 200 and "ledger-all-" in export.headers["content-disposition"]
        exported = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert set(case_ids) <= {row[1] for row in exported[1:]}
        # Naming a jurisdiction still narrows it to that subtree, and the annex tables keep their tree.
        anhui = auditor.get("/v1/reports/ledger", params={"jurisdiction": "340000"}).json()
        assert anhui["meta"]["jurisdiction"] == "340000"
        assert set(case_ids).isdisjoint(r["case_id"] for r in anhui["rows"])
        assert auditor.get("/v1/reports/work").json()["meta"]["jurisdiction"] == "340000"
    with stack.client("reporting", token=stack.token("street_officer", SHANGJIA)) as officer:
        own = officer.get("/v1/reports/ledger").json()
        assert own["meta"]["jurisdiction"] == SHANGJIA and set(case_ids) <= {
            r["case_id"] for r in own["rows"]
        }


def fetch(stack: Stack, path: str, **params: str) -> httpx.Response:
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        response = auditor.get(path, params=params)
    assert response.status_code == 200, response.text
    return response


def test_the_annex_workbook_matches_the_json_tables_cell_by_cell(
    stack: Stack, shangjia: tuple[list[str], str]
) -> None:
    _, period = shangjia
    params = {"period": period, "jurisdiction": SHANGJIA}
    tables = fetch(stack, "/v1/reports/annex", **params).json()
    export = fetch(stack, "/v1/reports/annex/export", format="xlsx", **params)
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f"annex-{SHANGJIA}-{period}.xlsx" in export.headers["content-disposition"]
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == [
        "工作情况统计表",
        "风险线索排查处置情况统计表",
        "跨省非法集资案件(风险)办理情况登记统计表",
    ]
    work = book["工作情况统计表"]
    assert work["A1"].value == "打击非法集资专项行动工作情况统计表"
    assert (
        work["A2"].value.startswith("填报单位：商家镇")
        and f"统计期：{Period.parse(period).label}" in work["A2"].value
    )
    assert [c.value for c in work[3]] == [c.header for c in WORK_COLUMNS]
    assert [c.value for c in work[4]][:3] == [1, "商家镇", "街道/乡镇"] and work["D4"].value >= 3
    for table in tables:
        sheet = book.worksheets[tables.index(table)]
        assert [c.value for c in sheet[3]] == [c["header"] for c in table["columns"]]
        assert sheet.max_row == 3 + len(table["rows"])
        for number, row in enumerate(table["rows"], start=4):
            expected = [cell_value(row.get(c["key"])) for c in table["columns"]]
            assert [("" if c.value is None else c.value) for c in sheet[number]] == expected
    disposal = book["风险线索排查处置情况统计表"]
    assert [c.value for c in disposal[3]] == [c.header for c in DISPOSAL_COLUMNS]
    total = [c.value for c in disposal[disposal.max_row]]
    assert total[1] == "合计" and total[2] >= total[3] >= 3


def test_csv_export_has_the_chinese_headers_and_the_same_rows(
    stack: Stack, shangjia: tuple[list[str], str]
) -> None:
    _, period = shangjia
    params = {"period": period, "jurisdiction": SHANGJIA}
    table = fetch(stack, "/v1/reports/work", **params).json()
    export = fetch(stack, "/v1/reports/work/export", format="csv", **params)
    assert export.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == [c.header for c in WORK_COLUMNS]
    assert rows[1] == [str(cell_value(table["rows"][0][c.key])) for c in WORK_COLUMNS]
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        assert auditor.get("/v1/reports/annex/export", params={"format": "csv"}).status_code == 422


def test_the_cli_writes_the_same_workbook(
    stack: Stack, shangjia: tuple[list[str], str], tmp_path: Path
) -> None:
    _, period = shangjia
    out = tmp_path / "work.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "report", "export", "work", "--period", period,
         "--jurisdiction", SHANGJIA, "--format", "xlsx", "-o", str(out)],
        env={**stack.env, "COLUMNS": "250"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 row(s)" in done.stdout
    api = fetch(stack, "/v1/reports/work/export", format="xlsx", period=period, jurisdiction=SHANGJIA)
    from_cli = load_workbook(out).worksheets[0]
    from_api = load_workbook(io.BytesIO(api.content)).worksheets[0]
    assert [[c.value for c in row] for row in from_cli.iter_rows()] == [
        [c.value for c in row] for row in from_api.iter_rows()
    ]


def test_an_office_submits_its_month_once_and_it_is_served_as_submitted(
    stack: Stack, shangjia: tuple[list[str], str]
) -> None:
    _, period = shangjia
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        refused = auditor.post("/v1/reports/submissions", json={"period": period, "jurisdiction": SHANGJIA})
        assert refused.status_code == 403  # auditors read and never change
    with stack.client("reporting", token=stack.token("street_officer", "340102L01")) as elsewhere:
        refused = elsewhere.post("/v1/reports/submissions", json={"period": period, "jurisdiction": SHANGJIA})
        assert refused.status_code == 403
    done = subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "report", "submit", "--period", period,
         "--token", stack.token("street_officer", SHANGJIA, subject="shangjia-office")],
        env={**stack.env, "COLUMNS": "250", "CLUETRAIL_REPORTING_URL": stack.url("reporting")},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"submitted {SHANGJIA} {period}" in done.stdout
    with stack.client("reporting", token=stack.token("street_officer", SHANGJIA)) as office:
        recorded = wait_until(
            lambda: (
                (r := office.get(f"/v1/reports/submissions/{SHANGJIA}/{period}")).status_code == 200
                and r.json()
            ),
            timeout=60,
            what="the submission kept from the topic",
        )
        assert recorded["submitted_by"]["id"] == "shangjia-office"
        assert [t["name"] for t in recorded["tables"]] == ["work", "disposal", "cross_province"]
        assert recorded["positions"] and recorded["projection"].startswith("ledger_v")
        work = office.get("/v1/reports/work", params={"period": period}).json()
        assert work["meta"]["submitted"] and work["meta"]["submission"] == recorded["submission_id"]
        assert work["rows"] == recorded["tables"][0]["rows"]
        again = office.post("/v1/reports/submissions", json={"period": period})
        assert again.status_code == 409 and "adjustment" in again.json()["detail"]


def test_a_case_timeline_is_written_as_a_hash_stamped_file(
    stack: Stack, shangjia: tuple[list[str], str], tmp_path: Path
) -> None:
    case_id = shangjia[0][0]
    out = tmp_path / "timeline.json"
    # No --token: the command issues itself an auditor's token at the root of the jurisdiction tree.
    env = {**stack.env, "COLUMNS": "250", "CLUETRAIL_REPORTING_URL": stack.url("reporting")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cluetrail.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    written = cli("case", "history", case_id, "--output", str(out))
    assert written.returncode == 0, written.stdout + written.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    events = document["timeline"]["events"]
    head = events[-1]["hash"]
    assert document["timeline"]["format"] == "cluetrail-case-timeline/3"
    assert document["timeline"]["notices"] == [] and document["stamp"]["notice_heads"] == {}
    assert document["stamp"]["chain_head"] == head and document["stamp"]["chain_linked"] is True
    assert document["stamp"]["hashes_recomputed"] is True
    assert f"file sha256:     {hashlib.sha256(out.read_bytes()).hexdigest()}" in written.stdout
    assert f"chain head:      {head}" in written.stdout
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        history = auditor.get(f"/v1/cases/{case_id}/history").json()
        assert [e["hash"] for e in events] == [e["hash"] for e in history]
        # Whole envelopes as the case log holds them: every field the hash covers.
        assert {"case_id", "correlation_id", "jurisdiction", "traceparent"} <= set(events[0])
        assert all(compute_hash(e) == e["hash"] for e in events)
        assert auditor.get(f"/v1/cases/{case_id}/events").json() == events
    with stack.client("reporting", token=stack.token("street_officer", "340102L01")) as other:
        assert other.get(f"/v1/cases/{case_id}/events").status_code == 404
    checked = cli("case", "check", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every event's and notice's hash and the chain links verified" in checked.stdout

    events[0]["actor"]["id"] = "someone-else"
    out.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    tampered = cli("case", "check", str(out))
    assert tampered.returncode == 1 and "does not match its stamp" in tampered.stdout

    # Altered and stamped again, so the stamp holds: the event's own hash gives it away.
    restamped = tmp_path / "restamped.json"
    restamped.write_bytes(timeline_file_bytes(stamped_timeline(case_id, events, source="altered")))
    caught = cli("case", "check", str(restamped))
    assert caught.returncode == 1, caught.stdout
    assert f"seq 1 event {events[0]['event_id']}: hash does not match" in caught.stdout


def test_concurrent_submissions_of_a_month_record_one_and_refuse_the_others_naming_it(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """Four officers of 龙岗街道 send 马岗社区's November at once: one submission is recorded (and served
    as submitted as soon as it is answered), the others are refused with 409 naming it, and the
    submissions topic holds that one record only."""
    period, community = "2026-11", "340102L01010"
    tokens = [stack.token("street_officer", "340102L01", subject=f"longgang-{n}") for n in range(4)]
    barrier = threading.Barrier(len(tokens))

    def send(token: str) -> httpx.Response:
        with stack.client("reporting", token=token) as office:
            barrier.wait()
            return office.post("/v1/reports/submissions", json={"period": period, "jurisdiction": community})

    with ThreadPoolExecutor(len(tokens)) as pool:
        answers = list(pool.map(send, tokens))
    accepted = [a for a in answers if a.status_code == 202]
    assert len(accepted) == 1, [(a.status_code, a.text) for a in answers]
    first = accepted[0].json()["submission_id"]
    refused = [a for a in answers if a is not accepted[0]]
    assert all(a.status_code == 409 for a in refused), [(a.status_code, a.text) for a in refused]
    assert all(f"submission {first}" in a.json()["detail"] for a in refused)
    with stack.client("reporting", token=stack.token("street_officer", "340102L01")) as office:
        # Served as submitted at once, before the subscriber has read the record back.
        work = office.get("/v1/reports/work", params={"period": period, "jurisdiction": community}).json()
        assert work["meta"]["submitted"] is True and work["meta"]["submission"] == first
        assert office.get(f"/v1/reports/submissions/{community}/{period}").json()["submission_id"] == first
        late = office.post("/v1/reports/submissions", json={"period": period, "jurisdiction": community})
        assert late.status_code == 409 and f"submission {first}" in late.json()["detail"]

    async def on_the_topic() -> list[dict[str, Any]]:
        found = []
        async for batch, _ in read_log(stack_settings, report_submission_topic(stack_settings)):
            found.extend(json.loads(r.value or b"{}") for r in batch if r.key == community.encode())
        return found

    sent = [d for d in asyncio.run(on_the_topic()) if d["period"] == period]
    assert [d["submission_id"] for d in sent] == [first]

    async def placed() -> bool:
        conn = await asyncpg.connect(stack_settings.database_for("reporting"))
        try:
            return bool(
                await conn.fetchval(
                    "SELECT kafka_offset IS NOT NULL FROM reporting_meta.submissions "
                    "WHERE jurisdiction = $1 AND period = $2",
                    community,
                    period,
                )
            )
        finally:
            await conn.close()

    wait_until(lambda: asyncio.run(placed()), timeout=60, what="the submission's place on the topic noted")


def test_live_recomputes_a_submitted_month_over_http_and_in_the_cli(
    stack: Stack, shangjia: tuple[list[str], str], tmp_path: Path
) -> None:
    """商家镇 submits the month, then a further clue of that month arrives: the month is served as
    submitted, and with live=true (--live) as it now stands."""
    _, period = shangjia
    params = {"period": period, "jurisdiction": SHANGJIA}
    with stack.client("reporting", token=stack.token("street_officer", SHANGJIA)) as office:
        sent = office.post("/v1/reports/submissions", json={"period": period})
        assert sent.status_code in (202, 409), sent.text  # the submission test may have sent it already
        frozen = office.get("/v1/reports/work", params=params).json()
        assert frozen["meta"]["submitted"] is True
        (more,) = demo_clues(1, seed=uuid.uuid4().int % 1_000_000, jurisdictions=[SHANGJIA])
        with stack.client("intake") as intake:
            case_id = intake.post("/v1/clues", json=more).json()["case_id"]
        wait_until(lambda: office.get(f"/v1/cases/{case_id}").status_code == 200, what="the further clue")

        live = office.get("/v1/reports/work", params={**params, "live": "true"}).json()
        assert live["meta"]["submitted"] is False
        assert office.get("/v1/reports/work", params=params).json()["rows"] == frozen["rows"]
        assert live["rows"][0]["new_clues"] > frozen["rows"][0]["new_clues"]
        export = office.get("/v1/reports/work/export", params={**params, "live": "true", "format": "csv"})
        assert export.status_code == 200
        live_csv = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert live_csv[1][3] == str(live["rows"][0]["new_clues"])

    def cli_export(*extra: str) -> list[list[str]]:
        out = tmp_path / f"work{len(extra)}.csv"
        done = subprocess.run(
            [sys.executable, "-m", "cluetrail.cli", "report", "export", "work", "--period", period,
             "--jurisdiction", SHANGJIA, "--format", "csv", "-o", str(out), *extra],
            env={**stack.env, "COLUMNS": "250"}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))

    assert cli_export("--live") == live_csv
    as_sent = cli_export()
    assert as_sent[0] == [c.header for c in WORK_COLUMNS]
    assert as_sent[1][3] == str(frozen["rows"][0]["new_clues"]) != live_csv[1][3]


def test_a_sector_filter_outside_the_taxonomy_is_refused_naming_it(stack: Stack, tmp_path: Path) -> None:
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        for path in ("/v1/cases", "/v1/reports/work", "/v1/reports/ledger/export"):
            refused = auditor.get(path, params={"sector": "tulip_futures"})
            assert refused.status_code == 422, (path, refused.text)
            assert "tulip_futures" in refused.json()["detail"]
        assert auditor.get("/v1/reports/work", params={"sector": "elderly_care"}).status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "report", "export", "work", "--jurisdiction", SHANGJIA,
         "--sector", "tulip_futures", "-o", str(tmp_path / "x.xlsx")],
        env={**stack.env, "COLUMNS": "250"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "tulip_futures" in done.stdout + done.stderr
