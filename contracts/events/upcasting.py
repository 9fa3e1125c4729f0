"""Old versions brought forward: ``UPCASTERS`` maps (type, from_version) to one step up, and ``upcast``
applies them until an event document is at its type's current version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.events.grading import graded_figures
from contracts.events.registry import CURRENT_VERSIONS

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]


def _assessed_v1_to_v2(document: Document) -> Document:
    """A v1 grade knew no classification, district rules or routing table: those are absent, not guessed."""
    payload = dict(document["payload"])
    sector_fields = ("sector", "sector_source", "classification_rules", "district", "district_rules")
    payload.update({name: None for name in (*sector_fields, "routing_table")})
    payload.update(suggestions=[], overrides=[])
    return {**document, "payload": payload}


def _assessed_v2_to_v3(document: Document) -> Document:
    """A v2 grade recorded the case's figures as its factors; v3 names them (``graded_figures``)."""
    participants, amount = graded_figures(document["payload"])
    payload = {**document["payload"], "participants": participants, "estimated_amount_yuan": amount}
    return {**document, "payload": payload}


def _absent(**fields: object) -> Upcaster:
    """An upcaster adding fields the older version did not record, with the value meaning "not recorded"."""

    def step(document: Document) -> Document:
        added = {name: list(value) if isinstance(value, list) else value for name, value in fields.items()}
        return {**document, "payload": {**document["payload"], **added}}

    return step


# (type, from_version) -> function returning the document at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("assessed", 1): _assessed_v1_to_v2,
    ("assessed", 2): _assessed_v2_to_v3,
    # A v1 escalation names no level: it went to the district lead office (or the police, another region).
    ("escalated", 1): _absent(level=None, from_jurisdiction=None),
    ("written-off", 1): _absent(relied_on=None),
    ("clue-linked", 1): _absent(evidence=[]),
    ("referral-packaged", 1): _absent(facts=None),
    # A v1 offer never crossed regions with a reporter sealed for the other one.
    ("handoff-requested", 1): _absent(reporter=None),
}


class UnreadableEvent(ValueError):
    """Bytes on a case topic that are not a case event this code can read."""


def upcast(document: Document, upcasters: dict[tuple[str, int], Upcaster] | None = None) -> Document:
    """Bring an event document to the current schema version of its type, one version at a time."""
    table = UPCASTERS if upcasters is None else upcasters
    event_type = document.get("type")
    if event_type not in CURRENT_VERSIONS:
        raise UnreadableEvent(f"unknown event type {event_type!r}")
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise UnreadableEvent("schema_version is missing or not an integer")
    target = CURRENT_VERSIONS[event_type]
    while version < target:
        step = table.get((event_type, version))
        if step is None:
            raise UnreadableEvent(f"no upcaster for {event_type} v{version}")
        document = step(document)
        version += 1
        document["schema_version"] = version
    if version > target:
        raise UnreadableEvent(f"{event_type} v{version} is newer than this code knows (v{target})")
    return document
