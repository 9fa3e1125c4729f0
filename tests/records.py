"""Kafka records as aiokafka hands them to a consumer, built by hand for tests that feed a service's
consumer code (or its dead letters, or its log export) without reading them from a broker."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord

from contracts.envelope import Envelope
from contracts.events import event_bytes


def consumer_record(
    value: bytes,
    *,
    topic: str = "case-events",
    partition: int = 0,
    offset: int = 0,
    key: bytes | None = None,
    timestamp: int = 0,
    headers: Sequence[tuple[str, bytes]] = (),
) -> ConsumerRecord[bytes, bytes]:
    """The record holding ``value`` at ``offset`` of ``topic``'s ``partition``, with the sizes aiokafka
    reports for what it read (-1 for no key) and a create-time timestamp."""
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key) if key is not None else -1,
        serialized_value_size=len(value),
        headers=list(headers),
    )


def event_record(
    event: Envelope, *, topic: str = "case-events", offset: int = 0
) -> ConsumerRecord[bytes, bytes]:
    """``event`` as a service writes it to a case log: its bytes keyed by its case (per-case order)."""
    return consumer_record(event_bytes(event), topic=topic, offset=offset, key=str(event.case_id).encode())
