"""Recipients and their routes: configuration as data, validated at start-up, and the routing rule.

A recipient (the district lead office, the police, another region's office) receives an event when a
route names the event type (and, for an escalation, the route lists its target or lists none), and the
place the event concerns lies in the recipient's jurisdiction subtree. The place of an escalation is
its ``target_jurisdiction`` (a cross-region notice goes to the office of the region told); the place of
any other event is the case's jurisdiction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events import CaseEscalated
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import EscalationTarget

RoutedEvent = Literal["escalated", "closed"]
ROUTED_EVENTS: frozenset[str] = frozenset({"escalated", "closed"})
# Demo secrets are recognisable, so a production deployment that forgot to replace them refuses to start.
DEMO_SECRET_PREFIX = "demo-only-"


class RecipientsError(ValueError):
    """The recipients configuration breaks a rule; the message names the bad entry."""


class Route(BaseModel):
    """One kind of event a recipient wants; ``targets`` narrows escalations to the named targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: RoutedEvent
    targets: list[EscalationTarget] | None = Field(
        default=None, min_length=1, description="Only for escalated; None means every target."
    )

    def accepts(self, event: Envelope) -> bool:
        if event.type != self.event:
            return False
        if isinstance(event, CaseEscalated) and self.targets is not None:
            return event.payload.target in self.targets
        return True


class Recipient(BaseModel):
    """A system that must be told of case events (a lead office, a police bureau, another region)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    webhook_url: AnyHttpUrl
    secret: Annotated[str, StringConstraints(min_length=16, max_length=256)]
    jurisdiction: JurisdictionCode
    routes: list[Route] = Field(min_length=1)


def place_of(event: Envelope) -> str:
    """The jurisdiction an event concerns for routing: an escalation's target, else the case's own."""
    if isinstance(event, CaseEscalated):
        return event.payload.target_jurisdiction
    return event.jurisdiction


class RecipientBook:
    """The validated recipients of one deployment, and who receives a given event."""

    def __init__(self, recipients: Sequence[Recipient], registry: JurisdictionRegistry) -> None:
        self._registry = registry
        self._by_id: dict[str, Recipient] = {}
        for recipient in recipients:
            label = f"recipient {recipient.id} ({recipient.name})"
            if recipient.id in self._by_id:
                raise RecipientsError(f"{label} appears twice")
            if recipient.jurisdiction not in registry:
                raise RecipientsError(f"{label}: jurisdiction {recipient.jurisdiction} is not in the tree")
            for route in recipient.routes:
                if route.targets is not None and route.event != "escalated":
                    raise RecipientsError(f"{label}: targets are only meaningful on the escalated route")
            self._by_id[recipient.id] = recipient

    @classmethod
    def from_json(
        cls, text: str, registry: JurisdictionRegistry, origin: str = "recipients"
    ) -> RecipientBook:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecipientsError(f"{origin}: not JSON ({exc})") from exc
        entries = raw.get("recipients") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise RecipientsError(f'{origin}: expected an object with a "recipients" list')
        recipients = []
        for index, entry in enumerate(entries):
            try:
                recipients.append(Recipient.model_validate(entry))
            except ValidationError as exc:
                name = entry.get("id") if isinstance(entry, dict) else None
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
                )
                raise RecipientsError(f"{origin}: entry {index} ({name}): {problems}") from exc
        try:
            return cls(recipients, registry)
        except RecipientsError as exc:
            raise RecipientsError(f"{origin}: {exc}") from exc

    @classmethod
    def load(cls, path: Path, registry: JurisdictionRegistry) -> RecipientBook:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RecipientsError(f"recipients file {path}: {exc.strerror}") from exc
        return cls.from_json(text, registry, str(path))

    def __iter__(self) -> Iterator[Recipient]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, recipient_id: str) -> Recipient | None:
        return self._by_id.get(recipient_id)

    def with_demo_secrets(self) -> list[str]:
        """Ids of recipients still holding a demo secret (refused in production)."""
        return [r.id for r in self._by_id.values() if r.secret.startswith(DEMO_SECRET_PREFIX)]

    def recipients_for(self, event: Envelope) -> list[Recipient]:
        """Every recipient that must receive ``event``, in configuration order.

        Raises ``contracts.jurisdictions.JurisdictionError`` when the event names a jurisdiction the
        tree does not know: such an event cannot be routed and must not be silently dropped.
        """
        if event.type not in ROUTED_EVENTS:
            return []
        place = place_of(event)
        self._registry.get(place)
        return [
            r
            for r in self._by_id.values()
            if any(route.accepts(event) for route in r.routes)
            and self._registry.is_within(place, r.jurisdiction)
        ]
