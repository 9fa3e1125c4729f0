"""The ``cluetrail`` command for operators: set up the stack, import clues, rebuild projections, audit.

Service-specific commands are registered by the owning service (``services/<name>/entrypoints/cli.py``),
so each command lives beside the code it drives.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console

from cluetrail.auth import SERVICE_AUDIENCES, Principal, Role, issue_token
from cluetrail.crypto import new_region_key_pair
from cluetrail.db import ensure_database
from cluetrail.kafka import ensure_topics
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import JurisdictionRegistry, default_registry
from contracts.regions import RegionError, RegionRegistry

console = Console()
app = typer.Typer(
    help="cluetrail: risk clues from report to write-off, on an auditable event log.", no_args_is_help=True
)
stack_app = typer.Typer(help="Topics and databases of a deployment.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

SERVICES = ("intake", "triage", "reporting", "notify")


@stack_app.command("init")
def stack_init() -> None:
    """Create the case and dead-letter topics (unlimited retention), the topics MirrorMaker brings from
    the other regions of a multi-region deployment, and each service's database."""
    settings = CommonSettings()
    try:
        tree = JurisdictionRegistry.load(settings.jurisdictions_file)
        peers = RegionRegistry.load(settings.regions_file, tree).peers_of(settings.region)
    except RegionError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc

    async def init() -> None:
        created = await ensure_topics(settings, settings.kafka_replication_factor, peers=peers)
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


region_app = typer.Typer(help="Regions of a multi-region deployment (docs/regions.md).", no_args_is_help=True)
app.add_typer(region_app, name="region")


@region_app.command("keys")
def region_keys(
    aliases: list[str] = typer.Argument(..., help="The regions to make key pairs for, e.g. anhui ningxia"),
    directory: Path = typer.Option(..., "--dir", help="Where to write <alias>.key and public-keys.json"),
) -> None:
    """Make an X25519 key pair per region: ``<alias>.key`` (the region's private key, mode 0600, for its
    CLUETRAIL_REGION_PRIVATE_KEY) and ``public-keys.json`` (every region's public key: the
    CLUETRAIL_REGION_KEYS_FILE of each). Existing keys are kept, so a rerun never changes a region's key."""
    directory.mkdir(parents=True, exist_ok=True)
    public_file = directory / "public-keys.json"
    public: dict[str, str] = json.loads(public_file.read_text()) if public_file.exists() else {}
    for alias in aliases:
        private_file = directory / f"{alias}.key"
        if private_file.exists() and alias in public:
            console.print(f"{alias}: kept the key pair in {private_file}")
            continue
        private, public[alias] = new_region_key_pair()
        private_file.touch(mode=0o600)
        private_file.write_text(private + "\n")
        console.print(f"{alias}: new key pair, private key in {private_file}")
    public_file.write_text(json.dumps(public, indent=2, sort_keys=True) + "\n")
    console.print(f"public keys of {', '.join(sorted(public))} in {public_file}")


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
