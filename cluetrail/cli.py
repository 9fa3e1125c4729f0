"""The ``cluetrail`` command for operators: set up the stack, import clues, rebuild projections, audit.

Service-specific commands are registered by the owning service (``services/<name>/entrypoints/cli.py``),
so each command lives beside the code it drives.
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import timedelta

import typer
from rich.console import Console

from cluetrail.auth import SERVICE_AUDIENCES, Principal, Role, issue_token
from cluetrail.db import ensure_database
from cluetrail.kafka import ensure_topics
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import default_registry

console = Console()
app = typer.Typer(
    help="cluetrail: risk clues from report to write-off, on an auditable event log.", no_args_is_help=True
)
stack_app = typer.Typer(help="Topics and databases of a deployment.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

SERVICES = ("intake", "triage", "reporting", "notify")


@stack_app.command("init")
def stack_init() -> None:
    """Create the case and dead-letter topics (unlimited retention) and each service's database."""
    settings = CommonSettings()

    async def init() -> None:
        created = await ensure_topics(settings)
        for service in SERVICES:
            await ensure_database(settings.database_for(service))
        console.print(f"topics created: {', '.join(created) or 'none (all present)'}")
        console.print(
            f"databases ready: {', '.join(settings.database_for(s).rpartition('/')[2] for s in SERVICES)}"
        )

    asyncio.run(init())


token_app = typer.Typer(help="Access tokens for officers (demo and operations).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("issue")
def token_issue(
    role: Role = typer.Option(..., help="grid_worker, street_officer, district_lead_officer, …"),
    jurisdiction: str = typer.Option(..., help="The user's node, e.g. 340102 (瑶海区)"),
    subject: str = typer.Option(..., help="The user's id, recorded as the actor of what they do"),
    department: str | None = typer.Option(None, help="The department, for sector departments"),
    hours: float | None = typer.Option(
        None, help="How long the token is valid; default and most: CLUETRAIL_AUTH_TOKEN_MAX_HOURS (12)"
    ),
    audience: list[str] = typer.Option(
        list(SERVICE_AUDIENCES),
        "--audience",
        help="A service the token is for (repeat for several); default: all four, as an officer uses them",
    ),
) -> None:
    """Print a signed access token (use it as ``Authorization: Bearer <token>``)."""
    settings = CommonSettings()
    if jurisdiction not in default_registry() and settings.jurisdictions_file is None:
        console.print(f"[red]unknown jurisdiction {jurisdiction}[/red]")
        raise typer.Exit(2)
    principal = Principal(subject=subject, role=role, jurisdiction=jurisdiction, department=department)
    try:
        token = issue_token(
            settings, principal, None if hours is None else timedelta(hours=hours), audience=audience
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    print(token)


def _register_service_commands() -> None:
    """Each service registers its own commands (``services/<name>/entrypoints/cli.py``)."""
    for module_name in ("cluetrail.demo", *(f"services.{s}.entrypoints.cli" for s in SERVICES)):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(app)


_register_service_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
