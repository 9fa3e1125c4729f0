"""Who reads what of the delivery log and the notices, by the jurisdiction rule (``cluetrail.auth``).

Auditors read everything; police read the deliveries addressed to police units in their area; every other
officer reads the deliveries and notices of cases in their subtree and those routed to the offices of their
subtree, wherever the case stands (a district offered a handoff reads the offer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cluetrail.auth import AccessPolicy, Principal, Role
from contracts.jurisdictions import JurisdictionRegistry
from services.notify.domain.recipients import RecipientBook


@dataclass(frozen=True)
class Visible:
    """What a reader may see of the delivery log: everything (both None), else the deliveries of cases in
    ``jurisdictions`` and the deliveries routed to ``recipients``. An office reads what was sent to it
    wherever the case stands (a handoff offered to another district is that district's to read)."""

    jurisdictions: list[str] | None = None
    recipients: list[str] | None = None

    @property
    def everything(self) -> bool:
        return self.jurisdictions is None and self.recipients is None

    def covers(self, jurisdiction: str, recipient_id: str) -> bool:
        """Whether a delivery of a case in ``jurisdiction`` to ``recipient_id`` is visible."""
        return (
            self.everything
            or jurisdiction in (self.jurisdictions or ())
            or recipient_id in (self.recipients or ())
        )


EVERYTHING = Visible()


class Readers:
    """The jurisdiction rule applied to the delivery log."""

    def __init__(self, registry: JurisdictionRegistry, book: RecipientBook) -> None:
        self.policy = AccessPolicy(registry)
        self._registry = registry
        self._book = book

    def visible(self, principal: Principal) -> Visible:
        if principal.role is Role.AUDITOR:
            return EVERYTHING
        if principal.role is Role.POLICE:
            police = [
                r.id
                for r in self._book
                if r.role == "police" and self.policy.covers(principal, r.jurisdiction)
            ]
            return Visible(recipients=police)
        subtree = [n.code for n in self._registry.subtree(principal.jurisdiction)]
        # The offices of the subtree read what was routed to them too, wherever the case is: a district
        # offered a handoff sees the offer although the case is still the other district's.
        places = set(subtree)
        routed = [r.id for r in self._book if r.jurisdiction in places]
        return Visible(jurisdictions=subtree, recipients=routed)

    def may_read(self, principal: Principal, delivery: Mapping[str, Any]) -> bool:
        """Whether ``principal`` reads ``delivery`` (a row of the delivery log)."""
        return self.visible(principal).covers(delivery["jurisdiction"], delivery["recipient_id"])
