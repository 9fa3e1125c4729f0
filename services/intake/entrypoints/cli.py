"""``cluetrail import FILE``: bulk import of clues (JSONL or CSV) through intake, safe to re-run."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from contracts.api import ClueSubmission
from services.intake.domain.import_rows import (
    ImportRow,
    UnreadableFile,
    file_format,
    idempotency_key,
    parse_import,
)

console = Console()
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class LineResult:
    """What became of one line: accepted with its case and receipt, or refused with the reason."""

    line: int
    accepted: bool
    reason: str = ""
    case_id: str | None = None
    receipt_code: str | None = None


def read_rows(path: Path) -> list[ImportRow]:
    """Every row of the file; raises ``UnreadableFile`` when the file as a whole cannot be read."""
    fmt = file_format(path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"{path}: {exc}") from exc
    return parse_import(content, fmt)


def _refusal(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail or body}"


async def post_row(
    client: httpx.AsyncClient,
    row: ImportRow,
    submission: ClueSubmission,
    attempts: int,
    backoff: float,
) -> LineResult:
    """Send one valid row; retry what may succeed later (the Idempotency-Key, the clue's content, makes
    retries and re-imports safe)."""
    headers = {"Idempotency-Key": idempotency_key(submission)}
    body = submission.model_dump(mode="json", exclude_none=True)
    reason = ""
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = await client.post("/v1/clues", json=body, headers=headers)
        except httpx.HTTPError as exc:
            reason = f"intake unreachable: {type(exc).__name__}: {exc}"
            continue
        if response.status_code == 202:
            accepted = response.json()
            return LineResult(
                row.line, True, case_id=accepted["case_id"], receipt_code=accepted["receipt_code"]
            )
        reason = _refusal(response)
        if response.status_code not in RETRY_STATUSES:
            break
    return LineResult(row.line, False, reason)


async def import_rows(
    path: Path, rows: list[ImportRow], url: str, concurrency: int, attempts: int = 4, backoff: float = 0.5
) -> list[LineResult]:
    """Post the valid rows with at most ``concurrency`` in flight; invalid rows fail without a request, and
    a row repeating an earlier row's clue is that clue (one case), posted once."""
    results = [LineResult(r.line, False, r.reason) for r in rows if r.submission is None]
    valid: list[tuple[ImportRow, ClueSubmission]] = []
    first_of: dict[str, int] = {}
    repeats: dict[int, int] = {}  # line -> the line whose clue it repeats
    for row in rows:
        if row.submission is None:
            continue
        first = first_of.setdefault(idempotency_key(row.submission), row.line)
        if first == row.line:
            valid.append((row, row.submission))
        else:
            repeats[row.line] = first
    limit = asyncio.Semaphore(concurrency)
    progress = Progress(
        TextColumn("[bold]import[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        with progress:
            task = progress.add_task(path.name, total=len(rows))
            progress.advance(task, len(results) + len(repeats))

            async def one(row: ImportRow, submission: ClueSubmission) -> LineResult:
                async with limit:
                    result = await post_row(client, row, submission, attempts, backoff)
                progress.advance(task)
                return result

            results.extend(await asyncio.gather(*(one(r, s) for r, s in valid)))
    by_line = {r.line: r for r in results}
    for line, first in repeats.items():
        earlier = by_line[first]
        reason = f"the same clue as line {first}" + ("" if earlier.accepted else f": {earlier.reason}")
        results.append(replace(earlier, line=line, reason=reason))
    return sorted(results, key=lambda r: r.line)


def report(results: list[LineResult], errors_file: Path | None) -> None:
    """The per-line error table, the errors file (JSONL) if asked for, and the summary."""
    failed = [r for r in results if not r.accepted]
    if failed:
        table = Table(title="lines not imported")
        table.add_column("line", justify="right")
        table.add_column("reason", overflow="fold")
        for result in failed:
            table.add_row(str(result.line), result.reason)
        console.print(table)
    if errors_file is not None:
        errors_file.parent.mkdir(parents=True, exist_ok=True)
        lines = (json.dumps({"line": r.line, "reason": r.reason}, ensure_ascii=False) + "\n" for r in failed)
        errors_file.write_text("".join(lines), encoding="utf-8")
    console.print(f"accepted: {len(results) - len(failed)}, rejected: {len(failed)}")


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_file(
        file: Path = typer.Argument(..., help="Clues as JSONL (.jsonl, .ndjson) or flat CSV (.csv)"),
        url: str = typer.Option("http://127.0.0.1:8001", envvar="CLUETRAIL_INTAKE_URL", help="Intake's URL"),
        concurrency: int = typer.Option(8, min=1, max=256, help="Requests in flight at once"),
        errors: Path | None = typer.Option(None, "--errors", help="Write refused lines here (JSONL)"),
    ) -> None:
        """Import clues through intake. Re-running the same file creates no duplicates; exit code 1 when
        any line was refused, 2 when the file cannot be read."""
        try:
            rows = read_rows(file)
        except UnreadableFile as exc:
            console.print(f"[red]cannot read {file}:[/red] {exc}")
            raise typer.Exit(2) from exc
        results = asyncio.run(import_rows(file, rows, url.rstrip("/"), concurrency))
        report(results, errors)
        if any(not r.accepted for r in results):
            raise typer.Exit(1)
