"""Dead letters: a record that can never be processed goes here with its reason, and the stream moves on."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiokafka import ConsumerRecord

from cluetrail.settings import CommonSettings

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)


def dead_letter_document(
    record: ConsumerRecord[bytes, bytes],
    consumer: str,
    reason: str,
    details: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Everything needed to find, understand and replay the original record; ``details`` are codes a reader
    acts on (an importer's fault and the case's place), beside the reason in words."""
    value = record.value or b""
    try:
        text: str | None = value.decode()
    except UnicodeDecodeError:
        text = None
    return {
        "reason": reason,
        "consumer": consumer,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(errors="replace") if record.key else None,
        "timestamp_ms": record.timestamp,
        "headers": {k: v.decode(errors="replace") for k, v in record.headers or ()},
        "value_text": text,
        "value_base64": None if text is not None else base64.b64encode(value).decode(),
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        **({"details": dict(details)} if details else {}),
    }


class DeadLetters:
    """Publishes dead-letter records (acks=all) before the consumer moves past the original."""

    def __init__(self, broker: KafkaBroker, settings: CommonSettings, consumer: str) -> None:
        self._broker = broker
        self._topic = settings.dead_letter_topic
        self._consumer = consumer

    async def send(
        self, record: ConsumerRecord[bytes, bytes], reason: str, details: Mapping[str, str] | None = None
    ) -> None:
        log.warning(
            "dead-lettering %s[%s]@%s for %s: %s",
            record.topic,
            record.partition,
            record.offset,
            self._consumer,
            reason,
        )
        document = dead_letter_document(record, self._consumer, reason, details)
        await self._broker.publish(
            json.dumps(document, ensure_ascii=False).encode(),
            topic=self._topic,
            key=record.key,
            headers={"dead-letter-reason": reason[:200], "consumer": self._consumer},
        )
