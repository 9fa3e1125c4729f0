"""Which region writes a case (docs/regions.md): exactly one at a time, computed from the case's state and
the deployment's regions, so every region that holds the case's chain reaches the same answer.

The writer is the region serving the case's jurisdiction — or, while a handoff to a district of another
region waits for its answer, that region: the offering region stops writing the moment it offers, and the
receiving region answers (accepts, at the next seq, or returns the case, which gives the writing back).
"""

from __future__ import annotations

from contracts.regions import RegionRegistry
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState


def writer_region(state: CaseState, regions: RegionRegistry) -> str | None:
    """The alias of the region that writes the case's next events; None for a place no region serves."""
    place = state.handoff.to_jurisdiction if state.handoff is not None else state.jurisdiction
    return regions.region_of(place)


def require_writer(state: CaseState, region: str, regions: RegionRegistry) -> None:
    """Refuse to decide anything about a case another region writes (409 ``case-held-by-region``)."""
    writer = writer_region(state, regions)
    if writer != region:
        held = f"region {writer}" if writer is not None else "no region of this deployment"
        raise TransitionRefused(
            f"case {state.case_id} is written by {held}, not by this region ({region}): its officers act "
            "on it there; this region keeps its trail (case-held-by-region)",
            rule="case-held-by-region",
        )
