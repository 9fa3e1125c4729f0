"""Which case events are history to a notify database: folded into its view of the cases, their deliveries
recorded as skipped and sent to nobody (``entrypoints.consumers`` decides the start once per database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DeliveryStart:
    """Case-topic offsets (per partition) below which events are history, and the instant before which
    they are."""

    offsets: dict[int, int] = field(default_factory=dict)
    after: datetime | None = None

    def is_history(self, partition: int, offset: int, recorded_at: datetime) -> bool:
        if offset < self.offsets.get(partition, 0):
            return True
        return self.after is not None and recorded_at < self.after
