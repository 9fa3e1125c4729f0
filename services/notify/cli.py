"""``cluetrail notify …``: check a recipients file, read the delivery log, resend or acknowledge a notice,
verify the notices topic."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from cluetrail.kafka import notice_topic, read_log
from contracts.envelope import ChainBreak
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import verify_notices
from services.notify.domain.recipients import RecipientBook, RecipientsError
from services.notify.settings import NotifySettings

console = Console()
notify_app = typer.Typer(
    help="Deliveries to the lead office, police and other regions.", no_args_is_help=True
)


def _base_url(url: str | None) -> str:
    settings = NotifySettings()
    return url or f"http://{settings.host}:{settings.port}"


@notify_app.command("check-recipients")
def check_recipients(
    path: Annotated[Path | None, typer.Argument(help="Recipients file; default: the configured one")] = None,
) -> None:
    """Validate a recipients file as the service would at start-up, and list who receives what."""
    settings = NotifySettings()
    try:
        book = RecipientBook.load(
            path or settings.recipients_file, JurisdictionRegistry.load(settings.jurisdictions_file)
        )
    except RecipientsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table("id", "name", "role", "jurisdiction", "routes (channels)", "addresses")
    for r in book:
        routes = ", ".join(
            route.event
            + (f"({'/'.join(t.value for t in route.targets)})" if route.targets else "")
            + f"[{'/'.join(route.channels)}]"
            for route in r.routes
        )
        addresses = " ".join(a for a in (r.address(c) for c in ("webhook", "email", "sms")) if a)
        table.add_row(r.id, r.name, r.role, r.jurisdiction, routes, addresses)
    console.print(table)


@notify_app.command("deliveries")
def deliveries(
    case_id: Annotated[uuid.UUID | None, typer.Option(help="Only this case")] = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """The delivery log: each notice, its recipient, status and attempts."""
    params = {k: str(v) for k, v in {"case_id": case_id, "status": status}.items() if v is not None}
    response = httpx.get(f"{_base_url(url)}/v1/deliveries", params=params, timeout=30)
    if response.status_code != 200:
        console.print(f"[red]{response.status_code}: {response.json().get('detail')}[/red]")
        raise typer.Exit(1)
    table = Table("delivery", "case", "seq", "event", "recipient", "status", "attempts", "last error")
    for d in response.json():
        table.add_row(
            d["delivery_id"],
            d["case_id"],
            str(d["seq"]),
            d["event_type"],
            d["recipient_id"],
            d["status"],
            str(d["attempts"]),
            d["last_error"] or "",
        )
    console.print(table)


@notify_app.command("resend")
def resend(
    delivery_id: uuid.UUID,
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """Send a delivered or dead notice again (same delivery id, so the receiver can drop a repeat)."""
    response = httpx.post(f"{_base_url(url)}/v1/deliveries/{delivery_id}/resend", timeout=30)
    if response.status_code != 202:
        console.print(f"[red]{response.status_code}: {response.json().get('detail')}[/red]")
        raise typer.Exit(1)
    console.print(f"delivery {delivery_id} queued again (was {response.json()['previous_status']})")


@notify_app.command("ack")
def ack(
    delivery_id: uuid.UUID,
    token: Annotated[str, typer.Option(help="The token of the notice's acknowledge_url")],
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """Acknowledge a key-case notice on behalf of its recipient (with the token it came with)."""
    response = httpx.post(
        f"{_base_url(url)}/v1/deliveries/{delivery_id}/ack", json={"token": token}, timeout=30
    )
    if response.status_code != 200:
        console.print(f"[red]{response.status_code}: {response.json().get('detail')}[/red]")
        raise typer.Exit(1)
    console.print(f"delivery {delivery_id} acknowledged at {response.json()['acknowledged_at']}")


@notify_app.command("verify-notices")
def verify_notices_command() -> None:
    """Replay the notices topic and check every stream's hash chain, naming the first broken notice."""
    settings = NotifySettings()

    async def read() -> tuple[int, dict[str, ChainBreak]]:
        documents: list[dict[str, Any]] = []
        async for records, _ in read_log(settings, notice_topic(settings)):
            documents.extend(json.loads(r.value or b"{}") for r in records)
        return len(documents), verify_notices(documents)

    try:
        count, breaks = asyncio.run(read())
    except LookupError as exc:
        console.print(f"[red]{exc} (run 'cluetrail stack init')[/red]")
        raise typer.Exit(1) from exc
    for stream, found in breaks.items():
        console.print(f"[red]{stream}: notice {found.event_id} (seq {found.seq}): {found.reason}[/red]")
    if breaks:
        raise typer.Exit(1)
    console.print(f"{count} notices verified, every stream's chain intact")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
