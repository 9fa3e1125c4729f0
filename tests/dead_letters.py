"""Dead letters as the services write them, for tests to compare with what a service set aside."""

from __future__ import annotations

from typing import Any

from cluetrail.deadletter import dead_letter_document
from contracts.regions import importer_name
from tests.records import consumer_record


def importer_dead_letter(
    value: bytes,
    reason: str,
    peer: str = "anhui",
    key: bytes | None = None,
    prefix: str = "cluetrail",
    details: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The dead letter triage's importer of ``peer``'s events writes for a refused record ``value``
    (``details`` as it gives them; none in a dead letter written before it did)."""
    record = consumer_record(value, topic=f"{peer}.{prefix}.case-events", offset=41, key=key)
    return dead_letter_document(record, importer_name(peer), reason, details)
