"""The notice contract: a version-1 notice as notify wrote it still loads and verifies; version 2 carries
the decision (dedupe key) it records and may be a reporter's notice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.envelope import GENESIS_HASH, compute_hash
from contracts.notices import Notice, notice_bytes, seal_notice, verify_notices

# A reminder exactly as version 1 wrote it: no dedupe_key, schema_version 1.
VERSION_ONE: dict[str, object] = {
    "notice_id": "01950000-0000-7000-8000-0000000000a1",
    "kind": "reporting-deadline",
    "schema_version": 1,
    "stream": "reporting-deadline/340102L01003",
    "seq": 1,
    "jurisdiction": "340102L01003",
    "case_id": None,
    "occurred_at": "2026-03-16T01:00:00Z",
    "recorded_at": "2026-03-16T01:00:01Z",
    "causation_id": None,
    "recipients": ["dadian-community-office"],
    "facts": {"period": "2026-03", "due_on": "2026-03-20", "days_left": 4, "level": "community"},
    "prev_hash": GENESIS_HASH,
}
VERSION_ONE["hash"] = compute_hash(VERSION_ONE | {"hash": GENESIS_HASH})


def test_a_version_one_notice_still_loads_and_its_chain_verifies_as_written() -> None:
    notice = Notice.model_validate(VERSION_ONE)
    assert notice.schema_version == 1 and notice.dedupe_key is None
    assert verify_notices([VERSION_ONE]) == {}


def test_a_version_two_reporter_notice_continues_the_chain() -> None:
    case_id = uuid.uuid4()
    first = seal_notice(
        kind="reporter-update",
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        recipients=["anhui-reporters"],
        facts={
            "stage": "transferred",
            "text": "【举报进度】您举报的线索已移送公安机关依法处理（2026-03-02）。",
        },
        case_id=case_id,
        dedupe_key="reporter-update/x",
    )
    assert first.schema_version == 2 and first.dedupe_key == "reporter-update/x"
    assert Notice.model_validate_json(notice_bytes(first)) == first
    assert verify_notices([first.model_dump(mode="json")]) == {}
