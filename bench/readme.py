"""``python -m bench.readme``: write README.md's Performance table from the latest full bench run.

The table sits between two marker comments in README.md; everything outside them is left as it is. The
results come from the newest ``bench/results/<YYYY-MM-DD>.json`` (``--results`` names another file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.results import ROOT, Results, comparisons_text, latest_full_run, load, target_text, value_text

BEGIN = "<!-- bench:table:begin (python -m bench.readme writes this part) -->"
END = "<!-- bench:table:end -->"


class MarkersMissing(Exception):
    """The README has not the two marker comments, once each and in order."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(results: Results, source: str) -> str:
    """The Markdown between the markers: where and when it was measured, then one row per figure."""
    machine = results.machine
    commit = machine.git_commit[:10] + (" with local changes" if machine.git_dirty else "")
    lines = [
        f"Measured {results.started_at[:10]} by `make bench` ({source}): {machine.cores} cores, "
        f"Python {machine.python}, Kafka {machine.kafka}, PostgreSQL {machine.postgres}, commit {commit}.",
        "",
        "| measure | value | p50 | p99 | against its baseline (same run) | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    labels = results.labels()
    for figure in results.figures:
        p50 = f"{figure.p50_ms:,.1f} ms" if figure.p50_ms is not None else ""
        p99 = f"{figure.p99_ms:,.1f} ms" if figure.p99_ms is not None else ""
        cells = [figure.name, value_text(figure), p50, p99, comparisons_text(figure, labels)]
        lines.append("| " + " | ".join(_cell(c) for c in [*cells, target_text(figure)]) + " |")
    notes = [f"- {figure.name}: {figure.note}." for figure in results.figures if figure.note]
    return "\n".join([*lines, *([""] if notes else []), *notes])


def replace_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise MarkersMissing(f"README.md needs the lines {BEGIN!r} and {END!r}, once each, in that order")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, help="a results file (default: the latest full run)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    arguments = parser.parse_args(argv)
    try:
        path = arguments.results or latest_full_run()
        readme = arguments.readme.read_text(encoding="utf-8")
        source = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        updated = replace_table(readme, render(load(path), str(source)))
    except (FileNotFoundError, MarkersMissing) as exc:
        print(f"bench.readme: {exc}", file=sys.stderr)
        return 1
    arguments.readme.write_text(updated, encoding="utf-8")
    print(f"{arguments.readme.name}: Performance table written from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
