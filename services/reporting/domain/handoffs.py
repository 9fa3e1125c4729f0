"""Handoffs (协商办理) as the ledger keeps them, and how a handoff between regions reads in one region.

A handoff names its two ends — jurisdictions, and the regions the writing triage recorded for them
(``from_region``/``to_region``: the region serving each end, by the deployment's regions file,
``contracts.regions``) — and when it happened. The ledger keeps two of them per case: the handoff waiting
for its answer (any handoff), and the last one accepted between two regions. Both are facts of the case's
events, the same in every region that holds its chain; which side of it a region stands on is read against
that region's alias when the row is shown (``Regions``), so the projection itself never depends on where it
runs and every region rebuilds the same rows from the same chain.

A handoff whose event names no regions (written before regions were recorded) is taken as one within a
region: it was written in a deployment of one cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import labels
from contracts.events import HandoffAccepted, HandoffRequested
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionError, RegionRegistry, single_region
from contracts.vocabulary import RegionHandoff


@dataclass(frozen=True)
class Handoff:
    """One handoff of a case: its ends, their regions as the event records them, and when it occurred."""

    from_jurisdiction: str
    to_jurisdiction: str
    from_region: str | None
    to_region: str | None
    at: datetime

    @property
    def across_regions(self) -> bool:
        """Whether it goes from one region to another (each end's region named, and not the same)."""
        return (
            self.from_region is not None and self.to_region is not None and self.from_region != self.to_region
        )

    @classmethod
    def of(cls, event: HandoffRequested | HandoffAccepted) -> Handoff:
        """The handoff an offer or an acceptance names, at the instant the event occurred."""
        ends = event.payload
        return cls(
            ends.from_jurisdiction, ends.to_jurisdiction, ends.from_region, ends.to_region, event.occurred_at
        )

    def as_json(self) -> dict[str, str | None]:
        """The handoff as the ledger column (jsonb) holds it."""
        return {
            "from_jurisdiction": self.from_jurisdiction,
            "to_jurisdiction": self.to_jurisdiction,
            "from_region": self.from_region,
            "to_region": self.to_region,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Handoff | None:
        """A handoff read back from its ledger column (None: the column holds none)."""
        if value is None:
            return None
        return cls(
            str(value["from_jurisdiction"]),
            str(value["to_jurisdiction"]),
            value.get("from_region"),
            value.get("to_region"),
            datetime.fromisoformat(str(value["at"])),
        )


@dataclass(frozen=True)
class RegionHandoffView:
    """A handoff between regions as one of the two regions reads it: which side it stands on, the other
    region, the jurisdiction at the other end, and when."""

    state: RegionHandoff
    peer_region: str
    peer_jurisdiction: str
    at: datetime


def region_handoff(here: str, pending: Handoff | None, moved: Handoff | None) -> RegionHandoffView | None:
    """How region ``here`` reads a case whose handoff waiting for an answer is ``pending`` and whose last
    handoff accepted between regions is ``moved``.

    An offer between regions waiting for its answer comes first: offered out by ``here`` or offered in to
    it. Otherwise the last accepted move: handed out by ``here`` or handed in to it. An offer returned
    (or lapsed with a closing) is no longer pending, so the case reads as it did before the offer; a
    handoff back is the last move, read from its own ends. None: the case never crossed from or to ``here``.
    """
    if pending is not None and pending.across_regions:
        if pending.from_region == here and pending.to_region is not None:
            return RegionHandoffView(
                RegionHandoff.OFFERED_OUT, pending.to_region, pending.to_jurisdiction, pending.at
            )
        if pending.to_region == here and pending.from_region is not None:
            return RegionHandoffView(
                RegionHandoff.OFFERED_IN, pending.from_region, pending.from_jurisdiction, pending.at
            )
    if moved is not None and moved.from_region is not None and moved.to_region is not None:
        if moved.from_region == here:
            return RegionHandoffView(
                RegionHandoff.HANDED_OUT, moved.to_region, moved.to_jurisdiction, moved.at
            )
        if moved.to_region == here:
            return RegionHandoffView(
                RegionHandoff.HANDED_IN, moved.from_region, moved.from_jurisdiction, moved.at
            )
    return None


@dataclass(frozen=True)
class Regions:
    """This deployment's region (``CLUETRAIL_REGION``) among the regions of its regions file: the side of
    a handoff between regions that this region's ledger shows."""

    here: str
    registry: RegionRegistry

    @classmethod
    def load(cls, here: str, registry: RegionRegistry) -> Regions:
        """``here`` checked against the regions file: an alias it does not know stops the caller, named."""
        return cls(registry.get(here).alias, registry)

    @classmethod
    def single(cls, tree: JurisdictionRegistry) -> Regions:
        """The deployment of one region serving the whole tree (the bundled regions file)."""
        registry = single_region(tree)
        return cls(registry.aliases[0], registry)

    def name(self, alias: str) -> str:
        """A region's name from the regions file; the alias itself for a region the file does not name."""
        try:
            return self.registry.get(alias).name
        except RegionError:
            return alias

    def view(self, row: Mapping[str, Any]) -> RegionHandoffView | None:
        """How this region reads the ledger row ``row`` (its handoff columns decoded or not; a row of a
        projection built before they were kept has none)."""
        return region_handoff(
            self.here, _handoff(row.get("handoff_pending")), _handoff(row.get("handoff_across_regions"))
        )

    def columns(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The region handoff columns of the API's ledger row (contracts.api.LedgerRow)."""
        seen = self.view(row)
        if seen is None:
            return dict.fromkeys(REGION_HANDOFF_FIELDS)
        return {
            "region_handoff": seen.state.value,
            "region_handoff_label": labels.label(labels.REGION_HANDOFFS, seen.state),
            "peer_region": seen.peer_region,
            "peer_region_name": self.name(seen.peer_region),
            "peer_jurisdiction": seen.peer_jurisdiction,
            "region_handoff_at": seen.at,
        }


# The API's names for what ``Regions.columns`` gives.
REGION_HANDOFF_FIELDS = (
    "region_handoff",
    "region_handoff_label",
    "peer_region",
    "peer_region_name",
    "peer_jurisdiction",
    "region_handoff_at",
)


def _handoff(value: object) -> Handoff | None:
    if value is None or isinstance(value, Handoff):
        return value
    if isinstance(value, str):  # a jsonb column read without decoding
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise TypeError(f"a handoff column holds {type(value).__name__}, not an object")
    return Handoff.from_json(value)
