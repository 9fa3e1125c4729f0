"""The jurisdictions a table reports on: the reporting nodes of a subtree down to communities, whether a
place lies in the subtree, a place's name, and a place's lineage for roll-ups."""

from __future__ import annotations

from contracts.jurisdictions import JurisdictionRegistry

REPORTING_LEVELS = ("province", "city", "district", "street", "community")


def _reporting_nodes(registry: JurisdictionRegistry, root: str) -> list[tuple[str, str, str]]:
    """(code, name, level) of ``root`` and its descendants down to communities, depth first."""
    out: list[tuple[str, str, str]] = []

    def visit(code: str) -> None:
        node = registry.get(code)
        if node.level not in REPORTING_LEVELS:
            return
        out.append((node.code, node.name, node.level))
        for child in sorted(registry.children(code), key=lambda n: n.code):
            visit(child.code)

    visit(root)
    return out


def _within(registry: JurisdictionRegistry, code: str, ancestor: str) -> bool:
    return code in registry and registry.is_within(code, ancestor)


def _name(registry: JurisdictionRegistry, code: str) -> str:
    return registry.get(code).name if code in registry else code


class _Lineage:
    """A jurisdiction and its ancestors' codes, looked up once per code (unknown codes: none)."""

    def __init__(self, registry: JurisdictionRegistry) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[str, ...]] = {}

    def of(self, code: str) -> tuple[str, ...]:
        found = self._cache.get(code)
        if found is None:
            if code in self._registry:
                found = (code, *(a.code for a in self._registry.ancestors(code)))
            else:
                found = ()
            self._cache[code] = found
        return found
