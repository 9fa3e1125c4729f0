"""Recipients and their routes: configuration as data, validated at start-up, and the routing rule.

A recipient (the district lead office, the police, a sector department, another region's office, a
street or community office, the lead office's operations desk) receives an event when one of its routes
names the event type (for an escalation, the route lists its target or lists none; a route limited to
departments matches only cases whose responsible department it lists), and the place the event concerns
lies in the recipient's jurisdiction subtree. The place of an escalation or a handoff is the
jurisdiction it goes to (a cross-region notice goes to the office of the region told); the place of any
other event is the case's jurisdiction. Each route names the channels the notice goes out on.

The reporter of a case is a recipient kind too (role ``reporter``, channel ``receipt``): whoever holds
the case's receipt code. Notify never knows who that is; a reporter notice says the stage and the day,
goes on the notices topic, and intake shows it on the receipt. No notice to anyone carries who reported
a clue.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events import CaseEscalated
from contracts.jurisdictions import Jurisdiction, JurisdictionRegistry
from contracts.regions import RegionRegistry
from contracts.vocabulary import EscalationTarget
from services.notify.domain.signing import SecretError, is_demo_secret, secret_key

# Case events (written by triage) and notices (written by notify: reminders and alerts) a route can
# name. Case-event types not listed are history to notify: they reach nobody.
RoutedEvent = Literal[
    "escalated",
    "closed",
    "key-case-flagged",
    "handoff-requested",
    "police-accepted",
    "written-off",
    "reopened",
    "reward-granted",
    "reporting-deadline",
    "key-case-deadline",
    "unacknowledged",
    "delivery-dead",
    "region-chain-refused",
]
ROUTED_EVENTS: frozenset[str] = frozenset(get_args(RoutedEvent))
# Notices notify writes that no route names: a reporter's notice follows from a reporter's route, a
# cross-region notice another region addressed here from the routes of escalations to another region.
NOTICE_KINDS: frozenset[str] = frozenset({"reporter-update", "cross-region-received"})
Channel = Literal["webhook", "email", "sms", "receipt"]
RecipientRole = Literal[
    "lead_office",
    "police",
    "sector_department",
    "street_office",
    "community_office",
    "operations",
    "office",
    "reporter",
]
ADDRESS_FIELD: dict[str, str] = {"webhook": "webhook_url", "email": "email", "sms": "phone"}
# What a reporter may be told of (the stages a receipt shows); an escalation only when it is to the police.
REPORTER_EVENTS: frozenset[str] = frozenset(
    {"escalated", "closed", "written-off", "reward-granted", "reopened"}
)
# A recipient rotating its secret holds the new one and the old one for a while; more is a mistake.
MAX_SECRETS = 3
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
RECIPIENT_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"
Department = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class RecipientsError(ValueError):
    """The recipients configuration breaks a rule; the message names the bad entry."""


def _whsec(secret: str) -> str:
    try:
        secret_key(secret)
    except SecretError as exc:
        raise ValueError(f"{exc} (cluetrail notify new-secret makes one)") from None
    return secret


# A webhook secret as Standard Webhooks has it: whsec_ and the base64 of 24 to 64 random bytes.
WebhookSecret = Annotated[str, AfterValidator(_whsec)]


def plain_http(url: str) -> bool:
    """An ``http://`` URL to anywhere but this machine's loopback (where a notice never crosses a
    network: a TLS relay beside notify, a test receiver)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        return True


class Route(BaseModel):
    """One kind of event a recipient wants, on which channels; ``targets`` and ``departments`` narrow it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: RoutedEvent
    targets: list[EscalationTarget] | None = Field(
        default=None, min_length=1, description="Only for escalated; None means every target."
    )
    departments: list[Department] | None = Field(
        default=None, min_length=1, description="Only cases whose responsible department is listed."
    )
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["webhook"]), min_length=1)

    def accepts(self, event: Envelope, department: str | None = None) -> bool:
        target = event.payload.target if isinstance(event, CaseEscalated) else None
        return self.wants(event.type, target, department)

    def wants(self, kind: str, target: EscalationTarget | None = None, department: str | None = None) -> bool:
        """Whether this route takes a notice of ``kind`` (an escalation: to ``target``) of a case whose
        responsible department is ``department``."""
        if kind != self.event:
            return False
        if target is not None and self.targets is not None and target not in self.targets:
            return False
        return self.departments is None or department in self.departments


class Recipient(BaseModel):
    """A system or office that must be told (a lead office, a police bureau, a department, a region)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=RECIPIENT_ID)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: RecipientRole = "office"
    webhook_url: AnyHttpUrl | None = None
    email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9-]{4,19}$")] | None = None
    secrets: list[WebhookSecret] = Field(
        min_length=1,
        max_length=MAX_SECRETS,
        description="Each signs this recipient's webhooks (rotation: the new one first, the old one until "
        "the receiver has switched); the first signs its acknowledgement tokens, any one verifies them. "
        'The file may give one as "secret".',
    )
    jurisdiction: JurisdictionCode
    escalates_to: str | None = Field(
        default=None,
        description="Told when a key-case notice to this recipient stays unacknowledged; default: the "
        "lead office of its own district (for a lead office: of the jurisdiction above)",
    )
    routes: list[Route] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_secret(cls, data: object) -> object:
        """``"secret": "whsec_…"`` is the same as ``"secrets": ["whsec_…"]``."""
        if isinstance(data, dict) and "secret" in data:
            if "secrets" in data:
                raise ValueError('give "secret" or "secrets", not both')
            data = {**data, "secrets": [data["secret"]]}
            del data["secret"]
        return data

    def channels_for(self, kind: str) -> tuple[Channel, ...]:
        """The channels of this recipient's route for ``kind``, else its first address (webhook first):
        how a notice reaches it that it has no route of its own for (a reminder, an alert)."""
        for route in self.routes:
            if route.event == kind:
                return tuple(route.channels)
        for channel in ("webhook", "email", "sms"):
            if self.address(channel):
                return (channel,)
        return ()

    def address(self, channel: str) -> str | None:
        """Where ``channel`` reaches this recipient, or None when it has no such address."""
        if channel == "receipt":
            return "receipt" if self.role == "reporter" else None
        if self.role == "reporter":
            return None  # a reporter is reached through the receipt only
        if channel == "webhook":
            return str(self.webhook_url) if self.webhook_url else None
        return self.email if channel == "email" else self.phone if channel == "sms" else None


@dataclass(frozen=True)
class Routing:
    """One recipient to tell of one event, and the channels to tell it on."""

    recipient: Recipient
    channels: tuple[Channel, ...]


def place_of(event: Envelope) -> str:
    """The jurisdiction an event concerns for routing: where an escalation or a handoff goes, else the
    case's own."""
    if isinstance(event, CaseEscalated):
        return event.payload.target_jurisdiction
    if event.type == "handoff-requested":
        target = getattr(getattr(event, "payload", None), "to_jurisdiction", None)
        if isinstance(target, str):
            return target
    return event.jurisdiction


def waits_on_office(event: Envelope) -> bool:
    """An escalation up one level (逐级上报, v2 with its level) is for the office it now waits on, at its
    target jurisdiction: the offices above hear of it when it reaches them, not before."""
    if not isinstance(event, CaseEscalated) or event.payload.target != EscalationTarget.LEAD_OFFICE:
        return False
    return getattr(event.payload, "level", None) is not None


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
                if recipient.role == "reporter":
                    if route.event not in REPORTER_EVENTS:
                        raise RecipientsError(
                            f"{label}: a reporter is told only of {', '.join(sorted(REPORTER_EVENTS))}, "
                            f"not {route.event}"
                        )
                    if route.event == "escalated" and route.targets != [EscalationTarget.POLICE]:
                        raise RecipientsError(
                            f"{label}: a reporter is told of an escalation only when it is to the police "
                            '(targets: ["police"])'
                        )
                    if route.channels != ["receipt"]:
                        raise RecipientsError(f"{label}: a reporter is reached on the receipt channel only")
                    if route.departments is not None:
                        raise RecipientsError(f"{label}: departments are not meaningful for a reporter")
                for channel in route.channels:
                    if channel == "receipt" and recipient.role != "reporter":
                        raise RecipientsError(
                            f"{label}: route {route.event} sends by receipt, which reaches a reporter only"
                        )
                    if recipient.address(channel) is None:
                        raise RecipientsError(
                            f"{label}: route {route.event} sends by {channel} but the recipient has no "
                            f"{ADDRESS_FIELD[channel]}"
                        )
            self._by_id[recipient.id] = recipient
        for recipient in self._by_id.values():
            label = f"recipient {recipient.id} ({recipient.name})"
            if recipient.escalates_to is None:
                continue
            if recipient.escalates_to not in self._by_id:
                raise RecipientsError(f"{label}: escalates_to {recipient.escalates_to} is not a recipient")
            if recipient.escalates_to == recipient.id:
                raise RecipientsError(f"{label} escalates to itself")

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

    def of_region(self, regions: RegionRegistry, region: str) -> RecipientBook:
        """The recipients region ``region``'s notify tells: those at places it serves. An office of another
        region hears from its own region's notify; what this region has for it crosses as a cross-region
        notice (docs/regions.md). A deployment of one region keeps every recipient."""
        kept = [r for r in self._by_id.values() if regions.region_of(r.jurisdiction) == region]
        ids = {r.id for r in kept}
        for recipient in kept:
            if recipient.escalates_to is not None and recipient.escalates_to not in ids:
                raise RecipientsError(
                    f"recipient {recipient.id} ({recipient.name}) escalates_to {recipient.escalates_to}, "
                    f"an office of a place region {region} does not serve"
                )
        return RecipientBook(kept, self._registry)

    def __iter__(self) -> Iterator[Recipient]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, recipient_id: str) -> Recipient | None:
        return self._by_id.get(recipient_id)

    def with_demo_secrets(self) -> list[str]:
        """Ids of recipients still holding a demo secret (refused in production)."""
        return [r.id for r in self._by_id.values() if any(is_demo_secret(s) for s in r.secrets)]

    def with_plain_http(self) -> list[Recipient]:
        """Recipients whose webhook is plain ``http://`` off this machine (refused outside ``local``)."""
        return [r for r in self._by_id.values() if r.webhook_url and plain_http(str(r.webhook_url))]

    def check_environment(self, environment: str, origin: str = "recipients") -> None:
        """Refuse what the environment does not allow, naming the recipients: demo secrets in production,
        and outside ``local`` a plain ``http://`` webhook (a notice carries a case's facts and an
        acknowledgement link: it never travels a network in plain text)."""
        demo = self.with_demo_secrets()
        if environment == "production" and demo:
            raise RecipientsError(f"{origin}: recipients {', '.join(demo)} still hold demo secrets")
        plain = self.with_plain_http()
        if environment != "local" and plain:
            named = ", ".join(f"{r.id} ({r.webhook_url})" for r in plain)
            raise RecipientsError(
                f"{origin}: recipients {named} have a plain http:// webhook_url; in the {environment} "
                "environment a webhook must be https:// (http:// only to this machine's loopback)"
            )

    def recipients_for(self, event: Envelope, department: str | None = None) -> list[Recipient]:
        """Every recipient that must receive ``event``, in configuration order.

        Raises ``contracts.jurisdictions.JurisdictionError`` when the event names a jurisdiction the
        tree does not know: such an event cannot be routed and must not be silently dropped.
        """
        return [r.recipient for r in self.routings_for(event, department)]

    def routings_for(self, event: Envelope, department: str | None = None) -> list[Routing]:
        """Every recipient that must receive case event ``event``, with the channels its routes name."""
        if event.type not in ROUTED_EVENTS:
            return []
        place = place_of(event)
        self._registry.get(place)
        # A reporter is told about the case wherever it goes: matched on the case's own place.
        return self._matching(
            place,
            lambda route: route.accepts(event, department),
            reporter_place=event.jurisdiction,
            exact=waits_on_office(event),
        )

    def routings_of_notice(self, kind: str, place: str) -> list[Routing]:
        """Recipients of a notice of ``kind`` (a reminder, an alert) about jurisdiction ``place``."""
        self._registry.get(place)
        return self._matching(place, lambda route: route.event == kind)

    def _matching(
        self,
        place: str,
        wanted: Callable[[Route], bool],
        reporter_place: str | None = None,
        exact: bool = False,
    ) -> list[Routing]:
        found: list[Routing] = []
        for recipient in self._by_id.values():
            reporter = recipient.role == "reporter"
            here = reporter_place if reporter and reporter_place else place
            if here not in self._registry or not self._registry.is_within(here, recipient.jurisdiction):
                continue
            if exact and not reporter and recipient.jurisdiction != here:
                continue
            channels: list[Channel] = []
            for route in recipient.routes:
                if wanted(route):
                    channels.extend(c for c in route.channels if c not in channels)
            if channels:
                found.append(Routing(recipient, tuple(channels)))
        return found

    def routings_of_cross_region(self, place: str, department: str | None = None) -> list[Routing]:
        """The offices told of a cross-region notice (跨区域通报) another region addressed to ``place``:
        those whose routes take escalations to another region for that place, as when one is raised in
        this region. A reporter is never told of one."""
        self._registry.get(place)
        wanted = EscalationTarget.OTHER_REGION
        found = self._matching(place, lambda route: route.wants("escalated", wanted, department))
        return [r for r in found if r.recipient.role != "reporter"]

    def routings_of_alert(self, kind: str, place: str) -> list[Routing]:
        """Whom an alert of ``kind`` about ``place`` goes to: the lead office of the place (at it, or the
        nearest above it), and whoever routes ``kind`` for the place."""
        found = self.routings_of_notice(kind, place)
        lead = self.lead_office_of(place)
        if lead is not None and all(r.recipient.id != lead.id for r in found):
            channels = lead.channels_for(kind)
            if channels:
                found.insert(0, Routing(lead, channels))
        return found

    def lead_office_of(self, place: str) -> Recipient | None:
        """The lead office (处非办) of ``place``: at the place itself, else at the nearest one above."""
        return self._nearest_lead_office([self._registry.get(place), *self._registry.ancestors(place)])

    def _nearest_lead_office(self, places: Sequence[Jurisdiction]) -> Recipient | None:
        for node in places:
            for candidate in self._by_id.values():
                if candidate.role == "lead_office" and candidate.jurisdiction == node.code:
                    return candidate
        return None

    def with_route(self, kind: str) -> list[Recipient]:
        """Recipients that have a route for ``kind`` (e.g. whom the monthly reminders go to)."""
        return [r for r in self._by_id.values() if any(route.event == kind for route in r.routes)]

    def next_level(self, recipient: Recipient) -> Recipient | None:
        """Who is told when a key-case notice to ``recipient`` stays unacknowledged: its configured
        ``escalates_to``, else the lead office of its own district (a police unit, a department, a street
        office answer to it), and for a lead office the lead office of the nearest jurisdiction above."""
        if recipient.escalates_to is not None:
            return self._by_id[recipient.escalates_to]
        own = [] if recipient.role == "lead_office" else [self._registry.get(recipient.jurisdiction)]
        return self._nearest_lead_office([*own, *self._registry.ancestors(recipient.jurisdiction)])
