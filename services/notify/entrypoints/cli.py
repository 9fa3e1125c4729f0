"""``cluetrail notify …``: check a recipients file, read the delivery log, resend or acknowledge a notice,
verify the notices topic."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from cluetrail.auth import Principal, Role, issue_token
from cluetrail.kafka import notice_topic, read_log
from contracts.chain import ChainBreak
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import verify_notices
from services.notify.domain.recipients import RecipientBook, RecipientsError
from services.notify.domain.signing import new_secret
from services.notify.settings import NotifySettings

console = Console()
notify_app = typer.Typer(
    help="Deliveries to the lead office, police and other regions.", no_args_is_help=True
)


def _base_url(url: str | None) -> str:
    settings = NotifySettings()
    return url or f"http://{settings.host}:{settings.port}"


def _auditor_token() -> str:
    """An auditor's token for reading the log (this command runs where the signing secret is set)."""
    settings = NotifySettings()
    return issue_token(settings, Principal(subject="cli-operator", role=Role.AUDITOR, jurisdiction="340000"))


def _refused(response: httpx.Response) -> None:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text
    console.print(f"[red]{response.status_code}: {detail}[/red]")
    raise typer.Exit(1)


@notify_app.command("check-recipients")
def check_recipients(
    path: Annotated[Path | None, typer.Argument(help="Recipients file; default: the configured one")] = None,
) -> None:
    """Validate a recipients file as the service would at start-up, and list who receives what."""
    settings = NotifySettings()
    origin = path or settings.recipients_file
    try:
        book = RecipientBook.load(origin, JurisdictionRegistry.load(settings.jurisdictions_file))
        # The rules the service applies at start-up, in this environment.
        book.check_environment(settings.environment, str(origin))
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


@notify_app.command("new-secret")
def new_secret_command() -> None:
    """Print a fresh webhook secret (whsec_ and the base64 of 32 random bytes) for a recipient's
    "secrets"; to rotate, put it first and keep the old one until the receiver has switched."""
    console.print(new_secret(), soft_wrap=True)


@notify_app.command("deliveries")
def deliveries(
    case_id: Annotated[uuid.UUID | None, typer.Option(help="Only this case")] = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered, dead or skipped")] = None,
    recipient: Annotated[str | None, typer.Option(help="Only this recipient id")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="CLUETRAIL_TOKEN", help="Access token (default: an auditor's, issued here)"),
    ] = None,
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """The delivery log: each notice, its recipient, status and attempts."""
    params = {
        k: str(v)
        for k, v in {"case_id": case_id, "status": status, "recipient_id": recipient}.items()
        if v is not None
    }
    response = httpx.get(
        f"{_base_url(url)}/v1/deliveries",
        params=params,
        headers={"Authorization": f"Bearer {token or _auditor_token()}"},
        timeout=30,
    )
    if response.status_code != 200:
        _refused(response)
    table = Table(
        "delivery", "case", "order", "event", "recipient", "channel", "status", "attempts", "last error"
    )
    for d in response.json():
        table.add_row(
            d["delivery_id"],
            d["case_id"],
            f"{d['origin']} {d['seq']}",
            d["event_type"],
            d["recipient_id"],
            d["channel"],
            d["status"] + (f" (waits for {d['waiting_for']})" if d.get("waiting_for") else ""),
            str(d["attempts"]),
            d["last_error"] or "",
        )
    console.print(table)


@notify_app.command("resend")
def resend(
    delivery_id: Annotated[
        uuid.UUID | None, typer.Argument(help="One delivery; omit to resend in bulk")
    ] = None,
    recipient: Annotated[str | None, typer.Option(help="Bulk: every delivery to this recipient")] = None,
    case_id: Annotated[uuid.UUID | None, typer.Option(help="Bulk: every delivery of this case")] = None,
    status: Annotated[
        str,
        typer.Option(
            help="Bulk: deliveries in this state (dead or skipped; a delivered one is resent by id)"
        ),
    ] = "dead",
    token: Annotated[
        str, typer.Option(envvar="CLUETRAIL_TOKEN", help="A district lead officer's access token")
    ] = "",
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """Send notices again (same delivery ids, so receivers drop repeats): one delivery, or in bulk every
    one of a recipient and/or a case in a state; a case's later notices wait for its earlier ones."""
    if not token:
        console.print("[red]a district lead officer's --token (or CLUETRAIL_TOKEN) is needed[/red]")
        raise typer.Exit(2)
    headers = {"Authorization": f"Bearer {token}"}
    if delivery_id is not None:
        response = httpx.post(
            f"{_base_url(url)}/v1/deliveries/{delivery_id}/resend", headers=headers, timeout=30
        )
        if response.status_code != 202:
            _refused(response)
        answer = response.json()
        again = ", written again" if answer["rendered_again"] else ""
        console.print(f"delivery {delivery_id} queued again (was {answer['previous_status']}{again})")
        return
    if recipient is None and case_id is None:
        console.print("[red]name a delivery, or --recipient and/or --case-id for a bulk resend[/red]")
        raise typer.Exit(2)
    body = {"recipient_id": recipient, "case_id": str(case_id) if case_id else None, "status": status}
    response = httpx.post(f"{_base_url(url)}/v1/deliveries/resend", json=body, headers=headers, timeout=60)
    if response.status_code != 202:
        _refused(response)
    answer = response.json()
    console.print(f"{len(answer['resent'])} deliveries queued again")
    for refusal in answer["refused"]:
        console.print(f"[yellow]{refusal['delivery_id']}: {refusal['reason']}[/yellow]")


@notify_app.command("ack")
def ack(
    delivery_id: uuid.UUID,
    token: Annotated[str, typer.Option(help="The token of the notice's acknowledge_url")],
    url: Annotated[str | None, typer.Option(help="notify's base URL; default from settings")] = None,
) -> None:
    """Acknowledge a delivered notice as its recipient (with the token of its acknowledge_url)."""
    response = httpx.post(
        f"{_base_url(url)}/v1/deliveries/{delivery_id}/ack", json={"token": token}, timeout=30
    )
    if response.status_code != 200:
        _refused(response)
    console.print(f"delivery {delivery_id} acknowledged at {response.json()['acknowledged_at']}")


@notify_app.command("verify-notices")
def verify_notices_command(
    case_id: Annotated[uuid.UUID | None, typer.Option(help="Also list this case's notices")] = None,
) -> None:
    """Replay the notices topic (reminders, unacknowledged escalations, alerts, reporter notices) and
    check every stream's hash chain, naming the first broken notice."""
    settings = NotifySettings()

    async def read() -> list[dict[str, Any]]:
        documents: list[dict[str, Any]] = []
        async for records, _ in read_log(settings, notice_topic(settings)):
            documents.extend(json.loads(r.value or b"{}") for r in records)
        return documents

    try:
        documents = asyncio.run(read())
    except LookupError as exc:
        console.print(f"[red]{exc} (run 'cluetrail stack init')[/red]")
        raise typer.Exit(1) from exc
    breaks: dict[str, ChainBreak] = verify_notices(documents)
    if case_id is not None:
        table = Table("seq", "kind", "occurred at", "recipients", "hash")
        for d in documents:
            if d.get("case_id") == str(case_id):
                table.add_row(
                    str(d["seq"]), d["kind"], d["occurred_at"], ", ".join(d["recipients"]), d["hash"]
                )
        console.print(table)
    for stream, found in breaks.items():
        console.print(f"[red]{stream}: notice {found.event_id} (seq {found.seq}): {found.reason}[/red]")
    if breaks:
        raise typer.Exit(1)
    kinds = Counter(str(d.get("kind")) for d in documents)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    console.print(f"{len(documents)} notices verified ({summary or 'none'}), every stream's chain intact")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
