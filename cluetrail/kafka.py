"""Kafka set-up written once: topics with explicit settings, the broker, publishing, reading the log."""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Container, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from cluetrail.settings import CommonSettings
from contracts.envelope import Envelope

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

# The case log is the audit record: it is never deleted by time or size. min.insync.replicas is the
# brokers' own (1 on one node, 2 on a cluster of three): a topic setting would override a cluster's.
CASE_TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "max.message.bytes": "1048576",
}
DEAD_LETTER_TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def kafka_connection(settings: CommonSettings, bootstrap: str | None = None) -> dict[str, Any]:
    """How every Kafka client of this process connects (``bootstrap`` another cluster of the same trust, as
    the audit across regions reads): the bootstrap servers and, when configured, TLS with the service's
    client certificate, by which the brokers know it and hold it to its ACLs."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap or settings.kafka_bootstrap}
    context = kafka_tls(settings)
    if context is not None:
        options |= {"security_protocol": "SSL", "ssl_context": context}
    return options


def kafka_tls(settings: CommonSettings) -> ssl.SSLContext | None:
    """The TLS context of this process's Kafka clients; None for plain Kafka."""
    if settings.kafka_ssl_cafile is None:
        return None
    return _tls_context(settings.kafka_ssl_cafile, settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)


@cache
def _tls_context(cafile: Path, certfile: Path | None, keyfile: Path | None) -> ssl.SSLContext:
    # Made once per process: the files are read at the first connection, so a missing one stops start-up.
    return create_ssl_context(
        cafile=str(cafile),
        certfile=None if certfile is None else str(certfile),
        keyfile=None if keyfile is None else str(keyfile),
    )


# The region a copied case event was written in (docs/regions.md); absent on a region's own events.
ORIGIN_REGION_HEADER = "origin-region"


def record_header(
    headers: Sequence[tuple[str, bytes]] | None, name: str, errors: str = "replace"
) -> str | None:
    """The value of a record's header ``name`` as text (bytes that are not UTF-8 decoded with ``errors``),
    None when the record has none."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors=errors)
    return None


def notice_topic(settings: CommonSettings) -> str:
    """Notify's own notices (reminders, alerts): part of the audit record like the case log."""
    return f"{settings.topic_prefix}.notices"


def anchor_topic(settings: CommonSettings) -> str:
    """Triage's chain-head anchors of the cases its region wrote (contracts.anchors): part of the audit
    record, replicated to every other region."""
    return f"{settings.topic_prefix}.anchors"


def report_submission_topic(settings: CommonSettings) -> str:
    """Monthly tables offices submitted (reporting), frozen with their figures: part of the audit record."""
    return f"{settings.topic_prefix}.report-submissions"


async def ensure_topics(
    settings: CommonSettings, replication_factor: int = 1, peers: Sequence[str] = ()
) -> list[str]:
    """Create the case, dead-letter, notice, anchor and report-submission topics if missing; return those
    created.

    ``peers`` are the deployment's other regions: the topics MirrorMaker 2 brings from each
    (``<peer>.<topic>``) are created too, with the same partitions and retention as here, so this region's
    services can subscribe before the first record of a peer has been copied."""
    admin = AIOKafkaAdminClient(**kafka_connection(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                settings.case_topic,
                settings.case_partitions,
                replication_factor,
                topic_configs=CASE_TOPIC_CONFIG,
            ),
            NewTopic(
                settings.dead_letter_topic, 1, replication_factor, topic_configs=DEAD_LETTER_TOPIC_CONFIG
            ),
            NewTopic(
                notice_topic(settings),
                settings.case_partitions,
                replication_factor,
                topic_configs=CASE_TOPIC_CONFIG,
            ),
            # One partition: each region writes only its own anchors, keyed by its alias, in chain order.
            NewTopic(anchor_topic(settings), 1, replication_factor, topic_configs=CASE_TOPIC_CONFIG),
            NewTopic(
                report_submission_topic(settings), 1, replication_factor, topic_configs=CASE_TOPIC_CONFIG
            ),
        ]
        replicated = [
            t
            for t in wanted
            if t.name in (settings.case_topic, notice_topic(settings), anchor_topic(settings))
        ]
        wanted += [
            NewTopic(
                settings.peer_topic(peer, t.name),
                t.num_partitions,
                replication_factor,
                topic_configs=t.topic_configs,
            )
            for peer in peers
            for t in replicated
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created by a concurrent init
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def make_broker(settings: CommonSettings, service_name: str, tracer_provider: TracerProvider) -> KafkaBroker:
    """The service's broker: idempotent producer with acks=all, telemetry across the bus."""
    # FastStream is imported here, not with this module: the commands and processes that only read the log
    # (audit, rebuild shares, exports) need aiokafka alone, and importing FastStream costs them half a second.
    from faststream.kafka import KafkaBroker
    from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
    from faststream.kafka.prometheus import KafkaPrometheusMiddleware
    from faststream.security import BaseSecurity

    from cluetrail.metrics import REGISTRY

    tls = kafka_tls(settings)
    return KafkaBroker(
        # FastStream takes "a:1,b:2" for one host; a cluster's brokers are a list.
        [server.strip() for server in settings.kafka_bootstrap.split(",") if server.strip()],
        security=None if tls is None else BaseSecurity(ssl_context=tls),
        client_id=f"cluetrail-{service_name}",
        acks="all",
        enable_idempotence=True,
        # Topics come from `cluetrail stack init` with unlimited retention and the configured partitions;
        # FastStream would otherwise create a missing subscribed topic with broker defaults (1 partition,
        # 7-day retention), silently breaking the audit log.
        allow_auto_create_topics=False,
        middlewares=(
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=f"cluetrail-{service_name}"),
        ),
        logger=logging.getLogger(f"cluetrail.{service_name}.kafka"),
        # Every subscriber takes the message itself (``service.the_message``) and reads its raw records:
        # nothing to inject or validate, and FastDepends fetched the message from FastStream's context in a
        # worker thread for every batch.
        apply_types=False,
    )


def make_producer(settings: CommonSettings, name: str) -> AIOKafkaProducer:
    """A plain aiokafka producer of this service, as the broker's: idempotent, acks=all, the same connection
    (TLS, client certificate). For publishing where FastStream adds nothing but cost (the outbox relay)."""
    return AIOKafkaProducer(
        **kafka_connection(settings), client_id=f"cluetrail-{name}", acks="all", enable_idempotence=True
    )


def event_headers(event: Envelope, origin_region: str | None = None) -> dict[str, str]:
    """The headers of a case event's record; a copy of another region's event names that region."""
    return _case_event_headers(
        event.type,
        event.schema_version,
        event.event_id,
        event.correlation_id,
        event.causation_id,
        origin_region,
    )


def record_headers(document: Mapping[str, Any], origin_region: str | None = None) -> dict[str, str]:
    """``event_headers`` of an event's JSON document as written (the outbox relay reads its rows so)."""
    return _case_event_headers(
        document["type"],
        document["schema_version"],
        document["event_id"],
        document["correlation_id"],
        document.get("causation_id"),
        origin_region,
    )


def _case_event_headers(
    event_type: str,
    schema_version: object,
    event_id: object,
    correlation_id: object,
    causation_id: object | None,
    origin_region: str | None,
) -> dict[str, str]:
    headers = {
        "event-type": event_type,
        "schema-version": str(schema_version),
        "event-id": str(event_id),
        "correlation-id": str(correlation_id),
    }
    if causation_id is not None:
        headers["causation-id"] = str(causation_id)
    if origin_region is not None:
        headers[ORIGIN_REGION_HEADER] = origin_region
    return headers


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic``; raises ``LookupError`` when the topic does not exist."""
    # consumer.topics() fetches metadata but does not keep it, so partitions_for_topic would answer None.
    cluster = await consumer._client.fetch_all_metadata()
    partitions = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
    if not partitions:
        raise LookupError(f"topic {topic} does not exist")
    return partitions


@dataclass(frozen=True)
class LogEnd:
    """The end offsets of a topic at one instant: replay reads up to here and stops."""

    offsets: dict[TopicPartition, int]

    @property
    def total(self) -> int:
        return sum(self.offsets.values())


def _log_reader(settings: CommonSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **kafka_connection(settings),
        enable_auto_commit=False,
        # Records of a transaction aborted by their writer (MirrorMaker, into a peer topic) are no part of it.
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )


async def log_end(settings: CommonSettings, topic: str | None = None) -> LogEnd:
    """The end offsets of every partition of a topic (the case topic by default) now."""
    consumer = _log_reader(settings)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic or settings.case_topic)
        return LogEnd(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def read_log(
    settings: CommonSettings,
    topic: str | None = None,
    *,
    batch: int = 5000,
    start: Mapping[int, int] | None = None,
    partitions: Container[int] | None = None,
) -> AsyncIterator[tuple[list[ConsumerRecord[bytes, bytes]], LogEnd]]:
    """Read a topic from offset zero up to its end at the moment of the call, in batches.

    ``start`` maps a partition number to the offset to begin at instead of zero (catching up after an
    earlier read); ``partitions`` names the only partitions to read (the end then covers those). Used by
    rebuild, audit and benchmarks; it joins no consumer group and commits nothing.
    """
    name = topic or settings.case_topic
    consumer = _log_reader(settings)
    await consumer.start()
    try:
        partitions_read = [
            tp
            for tp in await topic_partitions(consumer, name)
            if partitions is None or tp.partition in partitions
        ]
        consumer.assign(partitions_read)
        end = LogEnd(await consumer.end_offsets(partitions_read))
        begin = {tp: (start or {}).get(tp.partition, 0) for tp in partitions_read}
        await consumer.seek_to_beginning(*partitions_read)
        for tp, offset in begin.items():
            if offset > 0:
                consumer.seek(tp, offset)
        remaining = {tp for tp, offset in end.offsets.items() if offset > begin[tp]}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch)
            records: list[ConsumerRecord[bytes, bytes]] = []
            for tp, tp_records in fetched.items():
                stop = end.offsets[tp]
                records.extend(r for r in tp_records if r.offset < stop)
                if await consumer.position(tp) >= stop:
                    remaining.discard(tp)
            if records:
                yield records, end
    finally:
        await consumer.stop()
