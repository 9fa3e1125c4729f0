"""Prometheus metrics every service exposes at ``GET /metrics``: throughput and consumer lag.

FastStream's middleware counts and times every message received and published per topic and subscriber,
but for the outbox relays, which publish with aiokafka and count what they publish themselves. On top, the
exactly-once consumers count what they apply and dead-letter, and the service shell measures the lag of
each consumer as the broker's end offsets minus the positions the consumer stored with its effects — the
lag that matters, since a record counts only once its effect is committed.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)
EVENTS_APPLIED = Counter(
    "cluetrail_events_applied_total",
    "Case events applied exactly once",
    ["consumer", "type"],
    registry=REGISTRY,
)
OUTBOX_PUBLISHED = Counter(
    "cluetrail_outbox_published_total",
    "Outbox rows the relay published to Kafka (it publishes with aiokafka, outside FastStream's counters)",
    ["table"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "cluetrail_dead_lettered_total", "Records sent to the dead-letter topic", ["consumer"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "cluetrail_consumer_lag_records",
    "Records on the topic whose effects this consumer has not yet committed",
    ["consumer", "topic", "partition"],
    registry=REGISTRY,
)
