"""README.md's Performance table is written from a bench results file: a small run of three figures (a
baseline, a rate measured against it and a peer, a latency with its target missed) renders as rows, and
only the text between the markers changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import readme
from bench.results import latest_full_run, load

RUN = {
    "started_at": "2026-12-05T10:00:00+08:00",
    "machine": {
        "cores": 2,
        "python": "3.11.9",
        "kafka": "3.9.1",
        "postgres": "17.2",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "git_dirty": False,
        "platform": "Linux",
    },
    "settings": {"only": None, "quick": False, "events": 100000},
    "figures": [
        {
            "key": "rebuild.raw_read",
            "name": "raw aiokafka read of the case topic (baseline A)",
            "value": 120000.0,
            "unit": "events/s",
            "part": "rebuild",
            "label": "A",
        },
        {
            "key": "rebuild.rate",
            "name": "`cluetrail rebuild` of the reporting projections",
            "value": 3600.0,
            "unit": "events/s",
            "part": "rebuild",
            "baseline": "raw aiokafka read of the case topic (baseline A)",
            "ratio": 0.03,
            "also": [{"baseline": "eventsourcing | peer", "ratio": 6.0}],
            "target": "≥ 5× P",
            "met": True,
        },
        {
            "key": "projection.peer",
            "name": "eventsourcing | peer",
            "value": 600.0,
            "unit": "events/s",
            "part": "projection",
            "label": "P",
        },
        {
            "key": "latency.ledger",
            "name": "clue 202 → graded row in reporting's ledger",
            "value": 120.5,
            "unit": "ms",
            "part": "latency",
            "p50_ms": 120.5,
            "p99_ms": 640.25,
            "baseline": "raw aiokafka read of the case topic (baseline A)",
            "ratio": 40.2,
            "target": "p50 < 100 ms, p99 < 500 ms",
            "met": False,
        },
    ],
}

README = f"""# cluetrail

## Performance

Before the table.

{readme.BEGIN}
| an old table |
{readme.END}

After the table.
"""


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "2026-12-05.json").write_text(json.dumps(RUN, ensure_ascii=False), encoding="utf-8")
    # Neither a run of one part nor a quick run, nor an older full run, is the latest full run.
    (folder / "2026-12-06-only-intake.json").write_text("{}", encoding="utf-8")
    (folder / "2026-12-06-quick.json").write_text("{}", encoding="utf-8")
    (folder / "2026-11-30.json").write_text("{}", encoding="utf-8")
    return folder


def test_the_latest_full_run_is_the_newest_file_of_a_date_alone(results_dir: Path) -> None:
    assert latest_full_run(results_dir).name == "2026-12-05.json"


def test_each_figure_is_a_row_with_its_ratios_and_target(results_dir: Path) -> None:
    table = readme.render(load(latest_full_run(results_dir)), "bench/results/2026-12-05.json")
    lines = table.splitlines()
    assert lines[0] == (
        "Measured 2026-12-05 by `make bench` (bench/results/2026-12-05.json): 2 cores, Python 3.11.9, "
        "Kafka 3.9.1, PostgreSQL 17.2, commit 0123456789."
    )
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| measure")]
    assert rows == [
        "| raw aiokafka read of the case topic (baseline A) | 120,000 events/s |  |  | 1.00 |  |",
        "| `cluetrail rebuild` of the reporting projections | 3,600 events/s |  |  | 0.03 of A, 6.0× P "
        "| ≥ 5× P (met) |",
        # A pipe in a name is escaped, or it would split the cell.
        "| eventsourcing \\| peer | 600 events/s |  |  | 1.00 |  |",
        "| clue 202 → graded row in reporting's ledger |  | 120.5 ms | 640.2 ms | 40.2× A "
        "| p50 < 100 ms, p99 < 500 ms (missed) |",
    ]


def test_only_the_text_between_the_markers_changes(results_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(README, encoding="utf-8")
    assert readme.main(["--readme", str(path), "--results", str(results_dir / "2026-12-05.json")]) == 0
    written = path.read_text(encoding="utf-8")
    before, table_and_after = written.split(readme.BEGIN + "\n")
    table, after = table_and_after.split("\n" + readme.END)
    assert before == README.split(readme.BEGIN)[0]
    assert after == "\n\nAfter the table.\n"
    assert "an old table" not in table
    assert "| `cluetrail rebuild` of the reporting projections |" in table
    # Written twice from the same results, the README is the same.
    assert readme.main(["--readme", str(path), "--results", str(results_dir / "2026-12-05.json")]) == 0
    assert path.read_text(encoding="utf-8") == written


def test_a_readme_without_its_markers_is_refused_and_left_alone(
    results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "README.md"
    path.write_text("# cluetrail\n\nno markers\n", encoding="utf-8")
    assert readme.main(["--readme", str(path), "--results", str(results_dir / "2026-12-05.json")]) == 1
    assert "bench:table:begin" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "# cluetrail\n\nno markers\n"
