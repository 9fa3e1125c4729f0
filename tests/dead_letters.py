"""Dead letters as the services write them, for tests to compare with what a service set aside."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord

from cluetrail.deadletter import dead_letter_document
from contracts.regions import importer_name


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
    record = ConsumerRecord(
        topic=f"{peer}.{prefix}.case-events",
        partition=0,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=[],
    )
    return dead_letter_document(record, importer_name(peer), reason, details)
