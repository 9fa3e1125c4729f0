"""The notice contract: a version-1 notice as notify wrote it still loads and verifies; version 2 carries
the decision (dedupe key) it records and may be a reporter's notice."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.envelope import GENESIS_HASH, compute_hash
from contracts.notices import (
    Notice,
    NoticeChainBroken,
    notice_bytes,
    notice_link,
    seal_notice,
    verify_notices,
)

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


# A reporter's notice exactly as version 2 wrote it: with its dedupe_key, schema_version 2.
VERSION_TWO: dict[str, object] = {
    "notice_id": "01950000-0000-7000-8000-0000000000b2",
    "kind": "reporter-update",
    "schema_version": 2,
    "stream": "01950000-0000-7000-8000-00000000c0de",
    "seq": 1,
    "jurisdiction": "340102L01003",
    "case_id": "01950000-0000-7000-8000-00000000c0de",
    "occurred_at": "2026-03-02T01:00:00Z",
    "recorded_at": "2026-03-02T01:00:01Z",
    "causation_id": None,
    "recipients": ["anhui-reporters"],
    "facts": {
        "stage": "transferred",
        "text": "【举报进度】您举报的线索已移送公安机关依法处理（2026-03-02）。",
    },
    "dedupe_key": "reporter-update/01950000-0000-7000-8000-0000000000e1",
    "prev_hash": GENESIS_HASH,
}
VERSION_TWO["hash"] = compute_hash(VERSION_TWO | {"hash": GENESIS_HASH})


def test_a_version_two_notice_still_loads_as_written_and_version_three_continues_its_chain() -> None:
    two = Notice.model_validate(VERSION_TWO)
    assert two.schema_version == 2 and two.dedupe_key == VERSION_TWO["dedupe_key"]
    assert two.model_dump(mode="json") == VERSION_TWO  # loaded and written again: the same bytes, hash
    three = seal_notice(
        kind="cross-region",
        stream=two.stream,
        seq=2,
        prev_hash=two.hash,
        jurisdiction="340102L01003",
        occurred_at=datetime(2026, 3, 3, tzinfo=UTC),
        recipients=[],
        facts={"from_region": "anhui", "to_region": "ningxia", "target_jurisdiction": "640302"},
        case_id=two.case_id,
        dedupe_key="cross-region/01950000-0000-7000-8000-0000000000e2",
    )
    assert three.schema_version == 3
    assert verify_notices([VERSION_TWO, three.model_dump(mode="json")]) == {}


@pytest.mark.parametrize(
    ("kind", "facts"),
    [
        ("cross-region", {"from_region": "anhui", "to_region": "ningxia", "target_jurisdiction": "640302"}),
        (
            "cross-region-received",
            {"from_region": "anhui", "to_region": "ningxia", "original_notice_id": str(uuid.uuid4())},
        ),
        (
            "cross-region-ack",
            {"from_region": "ningxia", "to_region": "anhui", "acknowledged_by": "litong-lead-office"},
        ),
        ("region-chain-refused", {"detected_in": "ningxia", "from_region": "anhui", "fault": "fork"}),
    ],
)
def test_each_kind_that_crosses_regions_round_trips_through_its_wire_form(
    kind: str, facts: dict[str, object]
) -> None:
    case_id = uuid.uuid4()
    notice = seal_notice(
        kind=kind,
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="640302",
        occurred_at=datetime(2026, 3, 3, tzinfo=UTC),
        recipients=["litong-lead-office"],
        facts=facts,
        case_id=case_id,
        dedupe_key=f"{kind}/{case_id}",
    )
    wire = notice_bytes(notice)
    assert Notice.model_validate_json(wire) == notice
    assert compute_hash(json.loads(wire)) == notice.hash
    assert verify_notices([json.loads(wire)]) == {}


def test_a_notice_published_twice_is_a_repeat_and_anything_else_off_the_chain_names_its_rule() -> None:
    """The step every reader of the notices topic takes (verify-notices, reporting's projection): a
    publisher may write a notice twice, even after later ones; it is recognised by its recorded hash."""
    case_id = uuid.uuid4()
    first = seal_notice(
        kind="reporter-update",
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        recipients=["anhui-reporters"],
        facts={"stage": "transferred", "text": "【举报进度】您举报的线索已移送公安机关。"},
        case_id=case_id,
    )
    second = seal_notice(
        kind="reporter-update",
        stream=str(case_id),
        seq=2,
        prev_hash=first.hash,
        jurisdiction="340102L01003",
        occurred_at=datetime(2026, 3, 9, tzinfo=UTC),
        recipients=["anhui-reporters"],
        facts={"stage": "closed", "text": "【举报进度】您举报的线索已办结。"},
        case_id=case_id,
    )
    one, two = first.model_dump(mode="json"), second.model_dump(mode="json")
    assert notice_link(one, 0, GENESIS_HASH) is True
    assert notice_link(two, 1, first.hash) is True
    assert notice_link(two, 2, second.hash) is False  # the last one again
    assert notice_link(one, 2, second.hash, recorded_hash=first.hash) is False  # an earlier one again
    other = seal_notice(**{**first.model_dump(exclude={"notice_id", "recorded_at", "hash", "schema_version"}),
                           "facts": {"stage": "closed"}})  # fmt: skip
    with pytest.raises(NoticeChainBroken, match="seq 1 was already recorded with a different hash"):
        notice_link(other.model_dump(mode="json"), 2, second.hash, recorded_hash=first.hash)
    with pytest.raises(NoticeChainBroken, match="altered"):  # a copy claiming the hash it was written with
        notice_link({**one, "facts": {}}, 2, second.hash, recorded_hash=first.hash)
    with pytest.raises(NoticeChainBroken, match="seq 2 follows seq 0"):
        notice_link(two, 0, GENESIS_HASH)
    with pytest.raises(NoticeChainBroken, match="prev_hash does not match the hash of seq 1"):
        notice_link(two, 1, "0" * 64)
    with pytest.raises(NoticeChainBroken, match="altered"):
        notice_link({**two, "recipients": ["someone"]}, 1, first.hash)
    with pytest.raises(NoticeChainBroken, match="no integer seq"):
        notice_link({**two, "seq": "2"}, 1, first.hash)
