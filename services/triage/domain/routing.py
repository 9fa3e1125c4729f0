"""Routing (责任归属): the responsible department of a case, escalation level by level, regions to notify.

Pure functions over the jurisdiction registry and a district's sector→department table (data, per
district; seed 001's table is the default). Escalation goes up the ladder community → street → district
lead office (逐级上报), one level at a time: an office reports a case to the level above its own. A
cross-region notice (跨区域通报) goes to every region involved that lies outside the case's own district —
a street of the same district is not another region, nor is the district itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.jurisdictions import Jurisdiction, JurisdictionRegistry

# The levels a case climbs when it is disputed or complex; the district's lead office is the top.
ESCALATION_LEVELS = ("community", "street", "district")


def department_for(
    sector: str | None, table: dict[str, str], fallback: str | None = None
) -> tuple[str | None, bool]:
    """The department the table gives the sector, else ``fallback``; and whether either applied."""
    if sector is not None and sector in table:
        return table[sector], True
    return fallback, fallback is not None


def next_level_up(code: str, registry: JurisdictionRegistry) -> Jurisdiction | None:
    """The next level a case at ``code`` escalates to, or None at (or above) the district lead office."""
    node = registry.get(code)
    if node.level in ("province", "city", "district"):
        return None
    return next((a for a in registry.ancestors(code) if a.level in ESCALATION_LEVELS), None)


def one_level_up(office: str, case_jurisdiction: str, registry: JurisdictionRegistry) -> Jurisdiction | None:
    """Where an office at ``office`` reports a case of ``case_jurisdiction`` up to (逐级上报): the next level
    above it (a community's street, a street's district), or — for an office at district level that is not
    the lead office, a sector department — the district lead office itself. None when the case's district
    is not in the tree."""
    district = registry.nearest(case_jurisdiction, "district") if case_jurisdiction in registry else None
    if office in registry and registry.get(office).level not in ("province", "city", "district"):
        up = next_level_up(office, registry)
        if up is not None and (district is None or registry.is_within(up.code, district.code)):
            return up
    return district


def escalation_path(code: str, registry: JurisdictionRegistry) -> list[Jurisdiction]:
    """Every level a case at ``code`` climbs, nearest first, ending at its district (lead office)."""
    path = []
    current = next_level_up(code, registry)
    while current is not None:
        path.append(current)
        current = next_level_up(current.code, registry)
    return path


def district_code(code: str, registry: JurisdictionRegistry) -> str | None:
    """The district (区/县 or zone) a known node lies in; None above district level or when unknown."""
    if code not in registry:
        return None
    node = registry.nearest(code, "district")
    return node.code if node is not None else None


def regions_to_notify(
    case_jurisdiction: str, regions: Iterable[str], registry: JurisdictionRegistry
) -> list[str]:
    """The regions involved, in order and once each, that lie outside the case's own district.

    A region inside the case's district (the district itself, a street or community of it) is the same
    region; a code the registry does not know is another region (it cannot be shown to be the same); a
    region that contains the case's district (its city or province) is another region too — the notice
    goes to the wider authority that was named.
    """
    own = district_code(case_jurisdiction, registry)
    found = []
    for region in dict.fromkeys(regions):
        if own is not None and region in registry and registry.is_within(region, own):
            continue
        found.append(region)
    return found
