"""The figures of one bench run, as printed and as kept in ``bench/results/<YYYY-MM-DD>.json``.

Every figure is compared with a baseline measured in the same run (the machine's load moves between runs,
the ratios much less): ``ratio`` is the figure's value divided by its baseline's value, where a latency's
value is its p50. A figure may name further baselines in ``also`` (the rebuild against the raw read, the
raw COPY and the eventsourcing peer). ``target`` says what the figure should reach and ``met`` whether it
did, judged by the bench itself.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# A full run's file; runs of one part or --quick runs add a suffix, so they never replace it.
FULL_RUN = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (inclusive method) of ``samples``."""
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


@dataclass(frozen=True)
class Comparison:
    """A further baseline of a figure: its name and the figure's value divided by its value."""

    baseline: str
    ratio: float


@dataclass
class Figure:
    """One measured figure. ``key`` is stable across runs (``rebuild.rate``); ``name`` is what the table
    shows. Latencies carry ``p50_ms`` and ``p99_ms`` and their value is the p50."""

    key: str
    name: str
    value: float
    unit: str
    part: str
    # How other figures name it when measured against it ("A"), for a baseline.
    label: str | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    baseline: str | None = None
    ratio: float | None = None
    also: list[Comparison] = field(default_factory=list)
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        values = dict(data)
        values["also"] = [Comparison(**c) for c in values.get("also", [])]
        return cls(**values)


def latency(key: str, name: str, samples: list[float], part: str, **more: Any) -> Figure:
    """A latency figure from samples in seconds: value and p50 in milliseconds, and p99."""
    p50, p99 = percentile(samples, 50) * 1000, percentile(samples, 99) * 1000
    return Figure(key, name, p50, "ms", part, p50_ms=p50, p99_ms=p99, **more)


def against(figure: Figure, baseline: Figure, *others: Figure) -> Figure:
    """``figure`` measured against ``baseline`` (and ``others``): its ratios filled in."""
    figure.baseline, figure.ratio = baseline.name, figure.value / baseline.value
    figure.also = [Comparison(other.name, figure.value / other.value) for other in others]
    return figure


@dataclass(frozen=True)
class Machine:
    """Where the figures were measured."""

    cores: int
    python: str
    kafka: str
    postgres: str
    git_commit: str
    # Whether the work tree had changes not in that commit when the run began.
    git_dirty: bool
    platform: str

    @classmethod
    def here(cls, postgres: str) -> Machine:
        return cls(
            cores=os.cpu_count() or 0,
            python=platform.python_version(),
            kafka=kafka_version(),
            postgres=postgres,
            git_commit=_git("rev-parse", "HEAD"),
            git_dirty=bool(_git("status", "--porcelain", "--untracked-files=no")),
            platform=platform.platform(),
        )


def kafka_version() -> str:
    """The broker's version, from the jar ``make stack-up`` fetched (``var/kafka/libs``)."""
    for jar in sorted((ROOT / "var" / "kafka" / "libs").glob("kafka_*.jar")):
        found = re.fullmatch(r"kafka_[\d.]+-([\d.]+)\.jar", jar.name)
        if found:
            return found.group(1)
    return "unknown"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


@dataclass
class Results:
    """A run: when, on what, with which settings, and its figures in the order printed."""

    started_at: str
    machine: Machine
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        return cls(
            started_at=data["started_at"],
            machine=Machine(**data["machine"]),
            settings=data["settings"],
            figures=[Figure.from_json(f) for f in data["figures"]],
        )

    def labels(self) -> dict[str, str]:
        """Each baseline's short name (its label, else its name), by name."""
        return {f.name: f.label or f.name for f in self.figures}

    def path(self, folder: Path = RESULTS) -> Path:
        """``<date>.json`` for a full run; ``<date>-only-<part>`` and ``-quick`` otherwise."""
        stem = datetime.fromisoformat(self.started_at).date().isoformat()
        if self.settings.get("only"):
            stem += f"-only-{self.settings['only']}"
        if self.settings.get("quick"):
            stem += "-quick"
        return folder / f"{stem}.json"

    def write(self, folder: Path = RESULTS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = self.path(folder)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


def latest_full_run(folder: Path = RESULTS) -> Path:
    """The newest full run's file in ``folder``."""
    runs = sorted(p for p in folder.glob("*.json") if FULL_RUN.match(p.name))
    if not runs:
        raise FileNotFoundError(f"no full run's results (YYYY-MM-DD.json) in {folder}; run make bench")
    return runs[-1]


def load(path: Path) -> Results:
    return Results.from_json(json.loads(path.read_text(encoding="utf-8")))


def ratio_text(ratio: float, baseline: str) -> str:
    """``0.03 of A`` below the baseline, ``4.2× A`` above it."""
    if ratio < 1:
        # Two significant digits below a tenth: 0.0038 of A, not 0.00.
        return f"{ratio:.2f} of {baseline}" if ratio >= 0.1 else f"{ratio:.2g} of {baseline}"
    return f"{ratio:,.0f}× {baseline}" if ratio >= 100 else f"{ratio:.1f}× {baseline}"


def comparisons_text(figure: Figure, labels: dict[str, str]) -> str:
    """Every ratio of ``figure`` to its baselines, the first one first ("1.00" for a baseline itself)."""
    if figure.baseline is None or figure.ratio is None:
        return "1.00" if figure.label else ""
    pairs = [(figure.baseline, figure.ratio), *((c.baseline, c.ratio) for c in figure.also)]
    return ", ".join(ratio_text(ratio, labels.get(name, name)) for name, ratio in pairs)


def value_text(figure: Figure) -> str:
    """The value with its unit, to a sensible precision."""
    if figure.p50_ms is not None:
        return ""
    value = figure.value
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {figure.unit}"


def target_text(figure: Figure) -> str:
    if figure.target is None:
        return ""
    return (
        f"{figure.target} ({'met' if figure.met else 'missed'})" if figure.met is not None else figure.target
    )
