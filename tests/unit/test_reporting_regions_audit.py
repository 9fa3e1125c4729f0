"""The audit across regions, without a broker: a case of 华都 written first in region ``anhui``, handed to
``ningxia`` at seq k and written on there, copied into each other region's log (with the origin-region
header) and into a third region ``shaanxi`` that only follows; each region's records interleaved any way a
partition may hold them, copies repeated. Agreeing copies are agreement; one altered event is named with the
region that holds it; a missing copy is a gap; an anchor names the region whose copy was rewritten."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.anchors import AnchoredHead, anchor_bytes, seal_anchor
from contracts.chain import START
from contracts.envelope import compute_hash
from contracts.events import event_bytes
from services.reporting.domain.audit import LogEntry
from services.reporting.domain.regions_audit import Problem, RegionsAudit
from tests.unit.case_chains import assessed, chain, closed, determined, escalated

ANHUI, NINGXIA, SHAANXI = "anhui", "ningxia", "shaanxi"
STEPS = [assessed, determined, escalated, closed, determined]

Record = tuple[str, dict[str, Any], str | None]  # case, document, origin region


def case_chain(length: int) -> list[dict[str, Any]]:
    return [json.loads(event_bytes(e)) for e in chain(*(make() for make in STEPS[: length - 1]))]


def record(document: dict[str, Any], holder: str, writer: str) -> Record:
    return str(document["case_id"]), document, None if writer == holder else writer


class Scenario:
    """Cases, who wrote each event, what each region holds, and the anchors each writer published."""

    def __init__(self) -> None:
        self.chains: list[list[dict[str, Any]]] = []
        self.logs: dict[str, list[Record]] = {ANHUI: [], NINGXIA: [], SHAANXI: []}
        self.anchored: dict[str, list[AnchoredHead]] = {ANHUI: [], NINGXIA: []}

    def add_case(self, length: int, handed_at: int, held: dict[str, int]) -> None:
        """Events 1..handed_at written by anhui, the rest by ningxia; each region holding seqs 1..held[r]."""
        documents = case_chain(length)
        writers = [ANHUI if seq <= handed_at else NINGXIA for seq in range(1, length + 1)]
        self.chains.append(documents)
        for region, through in held.items():
            for seq in range(1, through + 1):
                self.logs[region].append(record(documents[seq - 1], region, writers[seq - 1]))
        for writer in (ANHUI, NINGXIA):
            own = [seq for seq, w in enumerate(writers, start=1) if w == writer and seq <= held[writer]]
            if own:
                last = documents[own[-1] - 1]
                self.anchored[writer].append(
                    AnchoredHead(case_id=uuid.UUID(last["case_id"]), seq=last["seq"], hash=last["hash"])
                )

    def anchors(self) -> dict[str, list[bytes]]:
        """Each writer's anchor chain: one anchor naming the heads of its cases."""
        out: dict[str, list[bytes]] = {}
        for region, heads in self.anchored.items():
            if heads:
                out[region] = [
                    anchor_bytes(seal_anchor(region=region, seq=1, prev_hash=START.hash, heads=heads))
                ]
        return out


def audit_of(
    logs: dict[str, list[Record]],
    anchors: dict[str, list[bytes]],
    replicas: dict[str, list[bytes]] | None = None,
) -> list[Problem]:
    audit = RegionsAudit()
    for region, records in logs.items():
        log = audit.log(region)
        for offset, (_, document, origin) in enumerate(records):
            log.feed(LogEntry(0, offset, json.dumps(document, ensure_ascii=False).encode(), origin))
    for region, values in anchors.items():
        for value in values:
            audit.anchors.feed(value, owner=region, cluster=region)
    for region, values in (replicas or {}).items():
        for value in values:
            audit.anchors.feed(value, owner=region, cluster=SHAANXI)
    return audit.problems()


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """1-3 cases, each handed from anhui to ningxia at some seq (or never); anhui holds at least what it
    wrote, ningxia everything when it wrote, shaanxi any prefix; each log interleaved and with repeats."""
    scenario = Scenario()
    for _ in range(draw(st.integers(1, 3))):
        length = draw(st.integers(1, len(STEPS) + 1))
        handed_at = draw(st.integers(1, length))
        anhui = draw(st.integers(handed_at, length))
        ningxia = length if handed_at < length else draw(st.integers(0, length))
        shaanxi = draw(st.integers(0, length))
        scenario.add_case(length, handed_at, {ANHUI: anhui, NINGXIA: ningxia, SHAANXI: shaanxi})
    for region, records in scenario.logs.items():
        scenario.logs[region] = draw(interleaved(records))
    return scenario


@st.composite
def interleaved(draw: st.DrawFn, records: list[Record]) -> list[Record]:
    """The records in any order that keeps each case's own order (one partition per case), with some
    repeated later (a producer's retry, a relay's resend)."""
    by_case: dict[str, list[Record]] = {}
    for r in records:
        by_case.setdefault(r[0], []).append(r)
    order = draw(st.permutations([case for case, rs in by_case.items() for _ in rs]))
    taken = {case: 0 for case in by_case}
    out: list[Record] = []
    for case in order:
        out.append(by_case[case][taken[case]])
        taken[case] += 1
    for _ in range(draw(st.integers(0, 3))):
        if out:
            i = draw(st.integers(0, len(out) - 1))
            out.insert(draw(st.integers(i + 1, len(out))), out[i])
    return out


@settings(max_examples=80, deadline=None)
@given(scenarios())
def test_any_interleaving_of_agreeing_copies_is_agreement(scenario: Scenario) -> None:
    assert audit_of(scenario.logs, scenario.anchors()) == []


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_one_altered_event_is_named_with_the_region_that_holds_it(
    scenario: Scenario, data: st.DataObject
) -> None:
    holders = [region for region, records in scenario.logs.items() if records]
    region = data.draw(st.sampled_from(holders))
    at = data.draw(st.integers(0, len(scenario.logs[region]) - 1))
    case, original, _ = scenario.logs[region][at]
    altered = json.loads(json.dumps(original))
    altered["actor"]["id"] = "forger-01"
    if data.draw(st.booleans()):  # rewritten with a hash of its own, or only its content changed
        altered["hash"] = compute_hash(altered)
    records = list(scenario.logs[region])
    # Every copy of that record in the region's log is the altered one.
    records = [(c, altered if d is original else d, o) for c, d, o in records]
    problems = audit_of({**scenario.logs, region: records}, scenario.anchors())

    # Every event is under an anchor of its writer, so the copy is named altered where it was altered.
    named = (region, case, original["seq"])
    assert any(p.kind == "altered" and (p.region, p.case_id, p.seq) == named for p in problems), problems
    blamed = {p.region for p in problems if p.kind != "fork"}
    assert blamed == {region}, problems
    assert all(p.case_id == case for p in problems), problems


def handed_case(scenario: Scenario) -> tuple[list[dict[str, Any]], str]:
    """A case of 5 events: anhui wrote 1..3 and handed it over, ningxia wrote 4..5; both hold all five,
    shaanxi follows up to seq 2."""
    scenario.add_case(5, 3, {ANHUI: 5, NINGXIA: 5, SHAANXI: 2})
    return scenario.chains[-1], str(scenario.chains[-1][0]["case_id"])


def without(records: list[Record], case: str, seqs: set[int]) -> list[Record]:
    return [r for r in records if not (r[0] == case and r[1]["seq"] in seqs)]


def test_a_region_missing_the_events_it_wrote_has_a_gap_but_one_still_catching_up_has_none() -> None:
    scenario = Scenario()
    documents, case = handed_case(scenario)
    # anhui's log lost its last two events of the case (3, which it wrote, and 4, a copy); ningxia's copy of
    # seq 3 names anhui as its writer. shaanxi's copies ending at seq 2 are replication under way.
    logs = {**scenario.logs, ANHUI: without(scenario.logs[ANHUI], case, {3, 4, 5})}
    problems = audit_of(logs, {})
    assert [(p.kind, p.region, p.case_id, p.seq, p.hash) for p in problems] == [
        ("gap", ANHUI, case, 3, documents[2]["hash"])
    ]
    assert (
        "through seq 3, the last it wrote" in problems[0].reason and "ningxia holds it" in problems[0].reason
    )


def test_a_head_anchored_binds_the_anchoring_region_to_hold_the_case_through_it() -> None:
    scenario = Scenario()
    _, case = handed_case(scenario)
    # ningxia's log lost seq 5 (its last), and no other region's copy of seq 5 says so: its anchor does.
    logs = {**scenario.logs, NINGXIA: without(scenario.logs[NINGXIA], case, {5})}
    logs[ANHUI] = without(logs[ANHUI], case, {5})
    problems = audit_of(logs, scenario.anchors())
    assert [(p.kind, p.region, p.seq) for p in problems] == [("gap", NINGXIA, 5)]
    assert "the last it anchored" in problems[0].reason


def test_a_copy_rewritten_with_a_valid_chain_of_its_own_is_named_by_the_writers_anchor() -> None:
    """A forger in shaanxi rewrites seq 2 and re-chains the rest: shaanxi's log verifies on its own, but the
    merge sees a fork at seq 2 and anhui's anchor names shaanxi's copy as the altered one."""
    scenario = Scenario()
    scenario.add_case(4, 4, {ANHUI: 4, NINGXIA: 0, SHAANXI: 4})
    documents = scenario.chains[-1]
    case = str(documents[0]["case_id"])
    forged: list[dict[str, Any]] = [documents[0]]
    for original in documents[1:]:
        document = json.loads(json.dumps(original))
        document["prev_hash"] = forged[-1]["hash"]
        if document["seq"] == 2:
            document["actor"]["id"] = "forger-01"
        document["hash"] = compute_hash(document)
        forged.append(document)
    logs = {**scenario.logs, SHAANXI: [record(d, SHAANXI, ANHUI) for d in forged]}

    problems = audit_of(logs, scenario.anchors())
    assert [(p.kind, p.region, p.seq) for p in problems] == [
        ("fork", ANHUI, 2),
        ("fork", SHAANXI, 2),
        ("altered", SHAANXI, 2),
    ]
    fork, altered = problems[1], problems[2]
    assert (fork.case_id, fork.hash) == (case, forged[1]["hash"]) and documents[1]["hash"] in fork.reason
    assert altered.hash == forged[1]["hash"]
    assert f"the chain region anhui anchored at seq 4 ({documents[3]['hash']})" in altered.reason
    # Without anchors the fork is still found, but nothing says which copy was altered.
    assert [p.kind for p in audit_of(logs, {})] == ["fork", "fork"]


def test_a_region_whose_own_log_was_rewritten_after_anchoring_is_named_by_its_own_anchor() -> None:
    scenario = Scenario()
    scenario.add_case(3, 3, {ANHUI: 3, NINGXIA: 0, SHAANXI: 0})
    documents = scenario.chains[-1]
    rewritten = json.loads(json.dumps(documents[2]))
    rewritten["actor"]["id"] = "forger-01"
    rewritten["hash"] = compute_hash(rewritten)
    logs = {**scenario.logs, ANHUI: [record(d, ANHUI, ANHUI) for d in [*documents[:2], rewritten]]}
    problems = audit_of(logs, scenario.anchors())
    assert [(p.kind, p.region, p.seq, p.hash) for p in problems] == [("altered", ANHUI, 3, rewritten["hash"])]
    assert f"region anhui anchored {documents[2]['hash']} at this seq" in problems[0].reason


def test_an_anchor_chain_is_verified_and_a_replica_that_differs_is_named() -> None:
    scenario = Scenario()
    documents, case = handed_case(scenario)
    anchors = scenario.anchors()
    second = seal_anchor(
        region=ANHUI,
        seq=2,
        prev_hash=json.loads(anchors[ANHUI][0])["hash"],
        heads=[AnchoredHead(case_id=uuid.UUID(case), seq=2, hash=documents[1]["hash"])],
    )
    # The replica of anhui's anchors in shaanxi's cluster: the first as published, the second forged.
    forged = json.loads(anchor_bytes(second))
    forged["heads"][0]["hash"] = "c" * 64
    forged["hash"] = compute_hash(forged)
    replica = [anchors[ANHUI][0], json.dumps(forged).encode()]
    problems = audit_of(
        scenario.logs, {**anchors, ANHUI: [*anchors[ANHUI], anchor_bytes(second)]}, {ANHUI: replica}
    )
    assert [(p.kind, p.region, p.case_id, p.seq, p.hash) for p in problems] == [
        ("anchors", ANHUI, None, 2, forged["hash"])
    ]
    assert "already recorded with a different hash" in problems[0].reason
    assert "read in region shaanxi's cluster" in problems[0].reason


def test_an_anchors_topic_holding_another_regions_anchor_is_named() -> None:
    scenario = Scenario()
    handed_case(scenario)
    anchors = scenario.anchors()
    problems = audit_of(scenario.logs, {ANHUI: anchors[ANHUI], NINGXIA: anchors[ANHUI]})
    assert [(p.kind, p.region, p.seq) for p in problems] == [("anchors", NINGXIA, 1)]
    assert "an anchor of region anhui in the anchors of region ningxia" in problems[0].reason


def test_a_copy_read_after_its_writers_log_obliges_the_writer_only_once_the_writer_is_read_again() -> None:
    """Live regions are read one after another: ningxia's copy of seq 4 may be newer than anhui's log as
    first read. The second reading of anhui's log holds it; a copy that only the second reading of ningxia
    shows (seq 5) obliges anhui to nothing yet."""
    scenario = Scenario()
    documents, case = handed_case(scenario)
    copies = [record(d, NINGXIA, ANHUI) for d in documents]  # here anhui wrote all five
    audit = RegionsAudit()
    anhui, ningxia = audit.log(ANHUI), audit.log(NINGXIA)
    for offset, document in enumerate(documents[:3]):
        anhui.feed(LogEntry(0, offset, json.dumps(document).encode()))
    for offset, (_, document, origin) in enumerate(copies[:4]):
        ningxia.feed(LogEntry(0, offset, json.dumps(document).encode(), origin))
    assert [(p.kind, p.region, p.case_id, p.seq) for p in audit.problems()] == [("gap", ANHUI, case, 4)]

    anhui.feed(LogEntry(0, 3, json.dumps(documents[3]).encode()), evidence=False)
    _, document, origin = copies[4]
    ningxia.feed(LogEntry(0, 4, json.dumps(document).encode(), origin), evidence=False)
    assert audit.problems() == []
