"""The jurisdiction tree: province → city → district/zone → street/town → community/village → grid.

Loaded from ``data/jurisdictions.json`` (or a file named by the deployment) and validated on load, so a
bad entry stops a service at start-up with a message naming it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.codes import JurisdictionCode

Level = Literal["province", "city", "district", "street", "community", "grid"]
LEVEL_ORDER: tuple[Level, ...] = ("province", "city", "district", "street", "community", "grid")
# What a node is called within its level: a district-level node may be a 区, a 县 or a zone (高新区, 度假区)
# without an official code; a street-level node a 街道, 镇 or 乡; a community-level one a 社区 or 村.
Kind = Literal[
    "province",
    "autonomous_region",
    "city",
    "district",
    "county",
    "zone",
    "street",
    "town",
    "township",
    "community",
    "village",
    "grid",
]
KINDS_OF_LEVEL: dict[Level, tuple[Kind, ...]] = {
    "province": ("province", "autonomous_region"),
    "city": ("city",),
    "district": ("district", "county", "zone"),
    "street": ("street", "town", "township"),
    "community": ("community", "village"),
    "grid": ("grid",),
}
# Suffixes people drop when they name a place (龙岗 for 龙岗街道); longest first so 街道 wins over 道.
NAME_SUFFIXES = ("回族自治区", "自治区", "街道", "社区", "网格", "省", "市", "区", "县", "镇", "乡", "村")
_OFFICIAL_CODE = re.compile(r"^[0-9]{6}$")


class Jurisdiction(BaseModel):
    """One node of the tree (辖区). ``official`` is false for local codes of zones without one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: JurisdictionCode
    name: str = Field(min_length=1, max_length=100)
    level: Level
    parent: JurisdictionCode | None = None
    official: bool = True
    kind: Kind | None = None
    aliases: list[str] = Field(default_factory=list, max_length=10)


class JurisdictionError(ValueError):
    """The jurisdiction data breaks a rule of the tree; the message names the bad entry."""


def normalise_code(text: str) -> str:
    """A jurisdiction code as people type it (spaces, dashes, full-width or lower-case) in canonical form."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\-_.]", "", folded).upper()


def normalise_name(text: str) -> str:
    """A place name without spaces and full-width forms, for comparing names people type."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def short_name(name: str) -> str:
    """The name without its administrative suffix (龙岗街道 → 龙岗); unchanged if nothing would remain."""
    for suffix in NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def code_stem(code: str) -> str:
    """The part of a code its children extend: a GB/T 2260 code without trailing ``00`` pairs.

    340000 → 34, 340100 → 3401, 340102 → 340102; local codes are their own stem.
    """
    if _OFFICIAL_CODE.match(code):
        stem = code
        while len(stem) > 2 and stem.endswith("00"):
            stem = stem[:-2]
        return stem
    return code


_OFFICIAL_LEVELS: tuple[Level, ...] = ("province", "city", "district")


class JurisdictionRegistry:
    """Look-ups on a validated jurisdiction tree."""

    def __init__(self, nodes: list[Jurisdiction]) -> None:
        self._nodes: dict[str, Jurisdiction] = {}
        self._subtrees: dict[str, tuple[Jurisdiction, ...]] = {}
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
            self._check_official_shape(node)
            return
        parent = self._nodes.get(node.parent)
        if parent is None:
            raise JurisdictionError(f"jurisdiction {node.code} ({node.name}): parent {node.parent} unknown")
        if LEVEL_ORDER.index(node.level) <= LEVEL_ORDER.index(parent.level):
            raise JurisdictionError(
                f"jurisdiction {node.code} ({node.name}) is a {node.level} under {parent.level} {parent.code}"
            )
        self._check_code(node, parent)

    def _check_code(self, node: Jurisdiction, parent: Jurisdiction) -> None:
        """Codes nest (a child's code extends its parent's) and only official codes look like GB/T 2260."""
        label = f"jurisdiction {node.code} ({node.name})"
        stem = code_stem(parent.code)
        if not node.code.startswith(stem) or node.code == parent.code:
            raise JurisdictionError(f"{label}: code must extend its parent's code {parent.code} ({stem}…)")
        if node.kind is not None and node.kind not in KINDS_OF_LEVEL[node.level]:
            raise JurisdictionError(f"{label}: kind {node.kind} is not a kind of {node.level}")
        siblings = [n for n in self._nodes.values() if n.parent == node.parent and n.code != node.code]
        if any(normalise_name(n.name) == normalise_name(node.name) for n in siblings):
            raise JurisdictionError(f"{label}: another child of {parent.code} has the same name")
        if node.official and not (_OFFICIAL_CODE.match(node.code) and node.level in _OFFICIAL_LEVELS):
            raise JurisdictionError(
                f"{label}: only provinces, cities and districts have official six-digit GB/T 2260 codes; "
                "mark it official=false"
            )
        if not node.official and _OFFICIAL_CODE.match(node.code):
            raise JurisdictionError(f"{label}: a local code must not look like a GB/T 2260 code")
        self._check_official_shape(node)

    @staticmethod
    def _check_official_shape(node: Jurisdiction) -> None:
        """GB/T 2260: a province's code ends in 0000, a city's in 00, a district's does not."""
        if not node.official:
            return
        code = node.code
        shape_ok = {
            "province": code.endswith("0000"),
            "city": code.endswith("00") and not code.endswith("0000"),
            "district": not code.endswith("00"),
        }.get(node.level, False)
        if not shape_ok:
            raise JurisdictionError(
                f"jurisdiction {code} ({node.name}): not a GB/T 2260 code of a {node.level}"
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

    def subtree(self, root: str) -> tuple[Jurisdiction, ...]:
        """``root`` and every node under it, in the tree file's order (kept: the tree never changes)."""
        if root not in self._subtrees:
            self._subtrees[root] = tuple(n for n in self._nodes.values() if self.is_within(n.code, root))
        return self._subtrees[root]

    def nearest(self, code: str, level: Level) -> Jurisdiction | None:
        """The node itself or its nearest ancestor at ``level`` (e.g. the district of a community)."""
        node = self.get(code)
        if node.level == level:
            return node
        return next((a for a in self.ancestors(code) if a.level == level), None)

    def children(self, code: str) -> list[Jurisdiction]:
        return [n for n in self._nodes.values() if n.parent == code]

    def path_name(self, code: str) -> str:
        """The full name from the province down, e.g. 安徽省合肥市瑶海区龙岗街道."""
        return "".join(n.name for n in reversed([self.get(code), *self.ancestors(code)]))

    def resolve(self, text: str) -> Jurisdiction | None:
        """The node a person means by ``text``: a code in any spelling, a name, an alias, a name without
        its suffix (龙岗), or a path of names (合肥市瑶海区龙岗街道). None when no node or several match."""
        code = normalise_code(text)
        if code in self._nodes:
            return self._nodes[code]
        wanted = normalise_name(text)
        if not wanted:
            return None
        for matches in (
            [n for n in self._nodes.values() if wanted in (n.name, *n.aliases)],
            [n for n in self._nodes.values() if wanted == self.path_name(n.code)],
            [n for n in self._nodes.values() if wanted == short_name(n.name)],
            [n for n in self._nodes.values() if self.path_name(n.code).endswith(wanted)],
        ):
            if len(matches) == 1:
                return matches[0]
            if matches:
                return None
        return None


@cache
def default_registry() -> JurisdictionRegistry:
    text = resources.files("contracts").joinpath("data/jurisdictions.json").read_text(encoding="utf-8")
    return JurisdictionRegistry.from_json(text, "contracts/data/jurisdictions.json")
