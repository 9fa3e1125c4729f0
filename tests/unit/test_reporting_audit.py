"""Audit of an exported case log, and the names reporting gives its projection schemas."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord

from contracts.envelope import canonical_bytes
from contracts.events import event_bytes
from services.reporting.adapters import SQL
from services.reporting.adapters.log import export_line, file_entries
from services.reporting.adapters.projector import (
    HISTORY_COLUMNS,
    LEDGER_COLUMNS,
    MONTH_COLUMNS,
    inserted_columns,
)
from services.reporting.adapters.versions import asof_schema, quoted
from services.reporting.domain.audit import AuditReport, LogEntry
from services.reporting.domain.timeline import stamped_timeline, timeline_file_bytes
from services.reporting.entrypoints.cli.cases import check_timeline_file
from tests.records import consumer_record
from tests.unit.case_chains import assessed, chain, closed


def record(offset: int, value: bytes, key: bytes | None = b"k") -> ConsumerRecord[bytes, bytes]:
    return consumer_record(
        value,
        topic="t.case-events",
        partition=2,
        offset=offset,
        key=key,
        timestamp=1_700_000_000_000,
        headers=[("event-type", b"clue-reported")],
    )


def exported(tmp_path: Path, values: list[bytes]) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(export_line(record(i, v)) + "\n" for i, v in enumerate(values)), encoding="utf-8")
    return path


def audit(path: Path) -> AuditReport:
    report = AuditReport()
    for entry in file_entries(path):
        report.feed(entry)
    return report


def test_an_export_line_keeps_the_event_as_an_object_and_anything_else_as_text() -> None:
    (event,) = chain()
    line = json.loads(export_line(record(7, event_bytes(event), key=str(event.case_id).encode())))
    assert line["partition"] == 2 and line["offset"] == 7 and line["key"] == str(event.case_id)
    assert line["headers"] == {"event-type": "clue-reported"}
    assert line["value"]["hash"] == event.hash
    assert json.loads(export_line(record(8, b"not json {")))["value"] == "not json {"


def test_an_export_line_stays_one_line_whatever_line_breaks_a_clue_holds() -> None:
    """U+2028, U+2029 and U+0085 are valid unescaped in JSON, but end a line for str.splitlines and many
    JSONL readers; the export escapes them, so every record is one line and reads back the same."""
    value = {"subject": {"name": "华都\u2028康养\u2029中心\x85一店"}, "seq": 1}
    line = export_line(record(9, json.dumps(value, ensure_ascii=False).encode()))
    assert line.splitlines() == [line]
    assert json.loads(line)["value"] == value


def test_an_untouched_export_verifies_and_an_altered_payload_is_named_by_case_and_seq(tmp_path: Path) -> None:
    first = chain(assessed(), closed())
    second = chain(assessed())
    path = exported(tmp_path, [event_bytes(e) for e in [first[0], second[0], first[1], second[1], first[2]]])
    clean = audit(path)
    assert clean.breaks == [] and clean.unreadable == []
    assert (clean.verifier.events_checked, clean.verifier.cases_checked) == (5, 2)

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[2]["value"]["payload"]["score"] += 1
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    (broken,) = audit(path).breaks
    assert (broken.case_id, broken.seq, broken.event_id) == (str(first[0].case_id), 2, str(first[1].event_id))
    assert "altered" in broken.reason


def test_records_that_are_not_events_are_listed_with_their_place(tmp_path: Path) -> None:
    path = exported(tmp_path, [b"\xff\xfe garbage", event_bytes(chain()[0])])
    with path.open("a", encoding="utf-8") as out:
        out.write("this line is no record\n")
    report = audit(path)
    assert report.breaks == []
    assert [(u.partition, u.offset) for u in report.unreadable] == [(2, 0), (-1, 3)]
    report.feed(LogEntry(1, 9, b"[1, 2]"))
    assert report.unreadable[-1].reason == "not a JSON object"


def test_as_of_projections_are_named_by_their_instant_in_utc() -> None:
    instant = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    assert asof_schema(instant) == "ledger_asof_20260301t003000z"
    assert asof_schema(datetime(2026, 3, 1, 0, 30, 0, 5, tzinfo=UTC)) == "ledger_asof_20260301t003000000005z"
    with pytest.raises(ValueError, match="time zone"):
        asof_schema(datetime(2026, 3, 1))


@pytest.mark.parametrize("name", ["public", 'ledger_v1"; DROP TABLE x; --', "ledger_v0", "ledger_asof_"])
def test_only_projection_schema_names_reach_sql(name: str) -> None:
    with pytest.raises(ValueError, match="not a projection schema name"):
        quoted(name)


def test_sql_files_name_every_statement_the_code_uses() -> None:
    assert {"ledger_rows_for_update", "hash_at_seq", "upsert_position"} <= set(SQL.queries("projection"))
    reads = {"count_cases", "page_cases", "one_case", "case_history", "grade_counts", "table_cases"}
    assert reads | {"table_history"} <= set(SQL.queries("reads"))
    assert "CREATE TABLE consumer_positions" in SQL.template("projection")


def test_the_projector_writes_the_columns_in_the_order_it_passes_them() -> None:
    statement = SQL.queries("projection")["write_changes"]
    assert inserted_columns(statement, "ledger") == LEDGER_COLUMNS
    assert inserted_columns(statement, "history") == HISTORY_COLUMNS
    assert inserted_columns(statement, "case_months") == MONTH_COLUMNS


def timeline_file(tmp_path: Path, events: list[dict[str, object]], name: str = "timeline.json") -> Path:
    path = tmp_path / name
    path.write_bytes(timeline_file_bytes(stamped_timeline("case", events, source="test")))
    return path


def test_a_timeline_file_of_whole_envelopes_has_every_hash_recomputed(tmp_path: Path) -> None:
    events = [json.loads(event_bytes(e)) for e in chain(assessed(), closed())]
    assert check_timeline_file(timeline_file(tmp_path, events)) == ([], True)

    # A payload changed and the file stamped again: the stamp holds, the event's own hash does not.
    events[1]["payload"]["score"] += 1
    problems, _ = check_timeline_file(timeline_file(tmp_path, events, "restamped.json"))
    assert problems == [
        f"an event's hash does not hold: seq 2 event {events[1]['event_id']}: "
        "hash does not match the event's content (altered after it was written)"
    ]


def test_a_format_1_timeline_is_checked_for_its_stamp_and_links_only(tmp_path: Path) -> None:
    entries = [
        {k: v for k, v in json.loads(event_bytes(e)).items() if k not in ("case_id", "correlation_id")}
        for e in chain(assessed())
    ]
    document = stamped_timeline("case", entries, source="test")
    document["timeline"]["format"] = "cluetrail-case-timeline/1"
    document["stamp"]["timeline_sha256"] = hashlib.sha256(canonical_bytes(document["timeline"])).hexdigest()
    path = tmp_path / "old.json"
    path.write_bytes(timeline_file_bytes(document))
    assert check_timeline_file(path) == ([], False)
