"""The jurisdiction tree: province → city → district/zone → street/town → community/village → grid.

Loaded from ``data/jurisdictions.json`` (or a file named by the deployment) and validated on load, so a
bad entry stops a service at start-up with a message naming it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.codes import JurisdictionCode

Level = Literal["province", "city", "district", "street", "community", "grid"]
LEVEL_ORDER: tuple[Level, ...] = ("province", "city", "district", "street", "community", "grid")


class Jurisdiction(BaseModel):
    """One node of the tree (辖区). ``official`` is false for local codes of zones without one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: JurisdictionCode
    name: str = Field(min_length=1, max_length=100)
    level: Level
    parent: JurisdictionCode | None = None
    official: bool = True


class JurisdictionError(ValueError):
    """The jurisdiction data breaks a rule of the tree; the message names the bad entry."""


class JurisdictionRegistry:
    """Look-ups on a validated jurisdiction tree."""

    def __init__(self, nodes: list[Jurisdiction]) -> None:
        self._nodes: dict[str, Jurisdiction] = {}
        for node in nodes:
            if node.code in self._nodes:
                raise JurisdictionError(f"jurisdiction {node.code} ({node.name}) appears twice")
            self._nodes[node.code] = node
        for node in nodes:
            self._check(node)

    def _check(self, node: Jurisdiction) -> None:
        if node.parent is None:
            if node.level != "province":
                raise JurisdictionError(f"jurisdiction {node.code} ({node.name}) has no parent")
            return
        parent = self._nodes.get(node.parent)
        if parent is None:
            raise JurisdictionError(f"jurisdiction {node.code} ({node.name}): parent {node.parent} unknown")
        if LEVEL_ORDER.index(node.level) <= LEVEL_ORDER.index(parent.level):
            raise JurisdictionError(
                f"jurisdiction {node.code} ({node.name}) is a {node.level} under {parent.level} {parent.code}"
            )

    @classmethod
    def from_json(cls, text: str, origin: str = "jurisdictions") -> JurisdictionRegistry:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JurisdictionError(f"{origin}: not JSON ({exc})") from exc
        nodes = []
        for index, entry in enumerate(raw.get("jurisdictions", [])):
            try:
                nodes.append(Jurisdiction.model_validate(entry))
            except ValidationError as exc:
                raise JurisdictionError(f"{origin}: entry {index} ({entry.get('code')}): {exc}") from exc
        return cls(nodes)

    @classmethod
    def load(cls, path: Path | None = None) -> JurisdictionRegistry:
        if path is not None:
            return cls.from_json(path.read_text(encoding="utf-8"), str(path))
        return default_registry()

    def __contains__(self, code: object) -> bool:
        return code in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, code: str) -> Jurisdiction:
        try:
            return self._nodes[code]
        except KeyError:
            raise JurisdictionError(f"unknown jurisdiction code {code}") from None

    def all(self) -> list[Jurisdiction]:
        return list(self._nodes.values())

    def ancestors(self, code: str) -> list[Jurisdiction]:
        """The node's ancestors, nearest first."""
        chain = []
        node = self.get(code)
        while node.parent is not None:
            node = self._nodes[node.parent]
            chain.append(node)
        return chain

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies in its subtree."""
        return code == ancestor or any(a.code == ancestor for a in self.ancestors(code))

    def nearest(self, code: str, level: Level) -> Jurisdiction | None:
        """The node itself or its nearest ancestor at ``level`` (e.g. the district of a community)."""
        node = self.get(code)
        if node.level == level:
            return node
        return next((a for a in self.ancestors(code) if a.level == level), None)

    def children(self, code: str) -> list[Jurisdiction]:
        return [n for n in self._nodes.values() if n.parent == code]


@cache
def default_registry() -> JurisdictionRegistry:
    text = resources.files("contracts").joinpath("data/jurisdictions.json").read_text(encoding="utf-8")
    return JurisdictionRegistry.from_json(text, "contracts/data/jurisdictions.json")
