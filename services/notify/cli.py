"""``cluetrail notify …``: check a recipients file, read the delivery log, resend a notice."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from contracts.jurisdictions import JurisdictionRegistry
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
    table = Table("id", "name", "jurisdiction", "routes", "webhook")
    for r in book:
        routes = ", ".join(
            route.event + (f"({'/'.join(t.value for t in route.targets)})" if route.targets else "")
            for route in r.routes
        )
        table.add_row(r.id, r.name, r.jurisdiction, routes, str(r.webhook_url))
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


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
