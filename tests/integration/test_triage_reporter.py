"""The reporter's identity on the running services: opened only by the district lead office (and the police
once the case is theirs), every reading recorded on the case's chain with who and why, and the name never
in the log."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from tests.cases import YAOHAI, accepted_clue, client, reader, unique_shop, wait_for_case
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration

PURPOSE = {"purpose": "核实举报人身份，准备发放举报奖励。"}


def raw_log(settings: CommonSettings) -> bytes:
    async def read() -> bytes:
        chunks = []
        async for records, _ in read_log(settings):
            chunks += [(r.key or b"") + (r.value or b"") for r in records]
        return b"\n".join(chunks)

    return asyncio.run(read())


def test_only_entitled_roles_see_the_reporter_and_every_reading_is_in_the_history(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    name = f"举报人{uuid.uuid4().hex[:6]}"
    reporter = {"name": name, "phone": "138 0000 0000"}
    case_id = accepted_clue(stack, unique_shop(reporter=reporter))["case_id"]
    anonymous_case = accepted_clue(stack, unique_shop())["case_id"]
    with reader(stack) as read:
        wait_for_case(read, case_id, last_seq=2)
        wait_for_case(read, anonymous_case, last_seq=2)
    path = f"/v1/cases/{case_id}/reporter"

    refusals = set()
    for role, jurisdiction in [
        ("street_officer", "340102L01"),
        ("auditor", "340000"),
        ("grid_worker", "340102L01001"),
        ("sector_department", YAOHAI),
        ("police", YAOHAI),  # not transferred to them yet
    ]:
        with client(stack, role, jurisdiction, f"{role}-07") as other:
            for target in (case_id, anonymous_case, str(uuid.uuid4())):
                refused = other.get(f"/v1/cases/{target}/reporter", params=PURPOSE)
                assert refused.status_code == 403, (role, refused.text)
                refusals.add(refused.text)
    assert len(refusals) == 1  # the same answer whether or not a reporter is named, or the case exists

    with client(stack, "district_lead_officer", "340422", "lead-shouxian-01") as elsewhere:
        assert elsewhere.get(path, params=PURPOSE).status_code == 403
    with client(stack, "district_lead_officer", YAOHAI, "lead-yaohai-09") as lead:
        assert lead.get(path).status_code == 422  # the purpose is required
        assert lead.get(path, params={"purpose": "  "}).status_code == 422
        unknown = lead.get(f"/v1/cases/{uuid.uuid4()}/reporter", params=PURPOSE)
        assert unknown.status_code == 403
        anonymous = lead.get(f"/v1/cases/{anonymous_case}/reporter", params=PURPOSE)
        assert anonymous.status_code == 404 and "anonymously" in anonymous.text
        seen = lead.get(path, params=PURPOSE)
        assert seen.status_code == 200, seen.text
        assert seen.json()["reporter"]["name"] == name
        viewed_id = seen.json()["viewed_event_id"]
        sent = lead.post(
            f"/v1/cases/{case_id}/escalation",
            json={"target": "police", "reason": "涉嫌非法吸收公众存款", "summary": "门店吸收老年人资金。"},
        )
        assert sent.status_code == 202, sent.text
    with client(stack, "police", YAOHAI, "police-yaohai-03") as police:
        by_police = police.get(path, params={"purpose": "立案侦查需询问举报人。"})
        assert by_police.status_code == 200, by_police.text
        assert by_police.json()["reporter"]["name"] == name

    auditor = stack.token("auditor", "340000", subject="auditor-01")
    with stack.client("reporting", token=auditor) as reporting:

        def readings() -> list[dict[str, Any]] | None:
            answer = reporting.get(f"/v1/cases/{case_id}/history")
            if answer.status_code != 200:
                return None
            found = [e for e in answer.json() if e["type"] == "reporter-identity-viewed"]
            return found if len(found) == 2 else None

        viewed = wait_until(readings, timeout=60, what="two identity readings in the case history")
    assert viewed[0]["event_id"] == viewed_id
    assert viewed[0]["actor"] == {"kind": "officer", "id": "lead-yaohai-09", "role": "district_lead_officer"}
    assert viewed[0]["payload"] == {"purpose": PURPOSE["purpose"], "viewer_jurisdiction": YAOHAI}
    assert viewed[1]["actor"]["id"] == "police-yaohai-03"

    # The name is sealed everywhere it is written: the log, and the services' own logs.
    secret = name.encode()
    log = raw_log(stack_settings)
    assert case_id.encode() in log and viewed_id.encode() in log
    assert secret not in log
    for service in ("intake", "triage", "reporting", "notify"):
        assert secret not in stack.log_file(service).read_bytes()
