"""Regions: which Kafka cluster, with its own services and databases, serves which provinces.

A region's alias names it everywhere: as ``CLUETRAIL_REGION`` of its deployment, as MirrorMaker 2's cluster
alias (its topics reach other regions as ``<alias>.<topic>``) and in the handoff events that cross regions.
The file is data, validated on load against the jurisdiction tree: every province of the tree belongs to
exactly one region, so every place has one region and every case one writer (docs/regions.md).

The bundled ``data/regions.json`` is a single region (``local``) serving the whole tree: a deployment of one
cluster. A multi-region deployment names its own file (``CLUETRAIL_REGIONS_FILE``), e.g.
``deploy/regions/anhui-ningxia.json``.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from contracts.chain import Fault
from contracts.codes import JurisdictionCode
from contracts.jurisdictions import JurisdictionError, JurisdictionRegistry

RegionAlias = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
# Triage's importer of a peer's case events is the consumer ``triage-import-<peer>``: the name its dead
# letters carry, by which notify tells a refused peer event from any other dead letter.
IMPORTER_PREFIX = "triage-import-"


def importer_name(peer: str) -> str:
    """The consumer that imports region ``peer``'s case events into this region's log."""
    return f"{IMPORTER_PREFIX}{peer}"


def importer_peer(consumer: str) -> str | None:
    """The peer region whose events ``consumer`` imports, or None when it is not an importer."""
    peer = consumer.removeprefix(IMPORTER_PREFIX)
    return peer if peer != consumer and peer else None


class ImportFault(StrEnum):
    """Why triage's importer refused a peer region's event: written into its dead letter (``details.fault``)
    beside the reason in words, so notify alerts it without reading the words."""

    SECOND_WRITER = "second-writer"  # the peer does not write this case here
    FORK = "fork"  # another event at a seq this region holds, or one naming another predecessor
    GAP = "gap"  # a seq further ahead than the next
    ALTERED = "altered"  # its content does not match its hash
    REFUSED = "refused"  # anything else that cannot be verified (a handed case without its history)

    @classmethod
    def of(cls, fault: Fault | None) -> ImportFault:
        """The refusal of a link the chain step found at ``fault`` (None, or unreadable: refused)."""
        known = {f.value for f in cls}
        return cls(fault.value) if fault is not None and fault.value in known else cls.REFUSED


class RegionError(ValueError):
    """A regions file that cannot be used, or a region it does not know; the message names the entry."""


class Region(BaseModel):
    """One region: its alias, its name, and the provinces (root nodes of the jurisdiction tree) it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: RegionAlias
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    provinces: list[JurisdictionCode] = Field(min_length=1, max_length=100)


class RegionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str = ""
    regions: list[Region] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _each_alias_and_province_once(self) -> RegionsFile:
        aliases = [r.alias for r in self.regions]
        repeated = sorted({a for a in aliases if aliases.count(a) > 1})
        if repeated:
            raise ValueError(f"region {repeated[0]} is named twice")
        provinces = [p for r in self.regions for p in r.provinces]
        twice = sorted({p for p in provinces if provinces.count(p) > 1})
        if twice:
            raise ValueError(f"province {twice[0]} belongs to two regions")
        return self


class RegionRegistry:
    """The regions of a deployment over its jurisdiction tree: the region of any place."""

    def __init__(self, regions: list[Region], tree: JurisdictionRegistry) -> None:
        self._regions = {r.alias: r for r in regions}
        self._tree = tree
        self._of_province: dict[str, str] = {}
        for region in regions:
            for province in region.provinces:
                if province not in tree or tree.get(province).level != "province":
                    raise RegionError(f"region {region.alias}: {province} is not a province of the tree")
                self._of_province[province] = region.alias
        unserved = [n.code for n in tree.all() if n.level == "province" and n.code not in self._of_province]
        if unserved:
            raise RegionError(f"province {unserved[0]} belongs to no region")

    @classmethod
    def from_json(cls, text: str, tree: JurisdictionRegistry, origin: str = "regions") -> RegionRegistry:
        try:
            parsed = RegionsFile.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise RegionError(f"{origin}: {where}: {reason}" if where else f"{origin}: {reason}") from None
        try:
            return cls(parsed.regions, tree)
        except RegionError as exc:
            raise RegionError(f"{origin}: {exc}") from None

    @classmethod
    def load(cls, path: Path | None, tree: JurisdictionRegistry) -> RegionRegistry:
        """The regions of ``path``, else the bundled single region."""
        if path is None:
            text = resources.files("contracts").joinpath("data/regions.json").read_text(encoding="utf-8")
            return cls.from_json(text, tree, "contracts/data/regions.json")
        return cls.from_json(path.read_text(encoding="utf-8"), tree, str(path))

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self._regions)

    def get(self, alias: str) -> Region:
        try:
            return self._regions[alias]
        except KeyError:
            raise RegionError(f"unknown region {alias} (known: {', '.join(self._regions)})") from None

    def region_of(self, code: str) -> str | None:
        """The alias of the region serving the place ``code``; None for a place outside the tree (another
        province's GB/T 2260 code that no region of this deployment serves)."""
        try:
            node = self._tree.nearest(code, "province")
        except JurisdictionError:
            return None
        return None if node is None else self._of_province.get(node.code)

    def peers_of(self, alias: str) -> tuple[str, ...]:
        """The other regions of the deployment, whose topics reach ``alias`` as ``<peer>.<topic>``."""
        self.get(alias)
        return tuple(a for a in self._regions if a != alias)


@cache
def single_region(tree: JurisdictionRegistry) -> RegionRegistry:
    """The bundled regions: one region serving the whole tree."""
    return RegionRegistry.load(None, tree)
