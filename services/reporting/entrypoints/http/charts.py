"""Charts for the dashboard as inline SVG, drawn on the server (no script, no network).

Each function takes plain figures and returns SVG markup with every label escaped; each segment carries
its figure in ``data-category``, ``data-series`` and ``data-value``.

Pure, but not a reporting rule: how the dashboard draws its figures, kept beside the dashboard that shapes
them (``dashboard.dashboard_charts``). No routes of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

# Colour-blind-safe palette (Okabe–Ito), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999", "#555555")
GRADE_COLOURS = {"major": "#D55E00", "serious": "#E69F00", "general": "#0072B2", "low": "#009E73",
                 "ungraded": "#999999"}  # fmt: skip
FONT = "font-family='Noto Sans CJK SC, Noto Sans SC, sans-serif'"


def _text(x: float, y: float, text: str, size: int = 12, anchor: str = "start", fill: str = "#222") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' fill='{fill}' {FONT}>"
        f"{escape(text)}</text>"
    )


def stacked_columns(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    width: int = 560,
) -> str:
    """Vertical stacked columns: one column per category, one coloured segment per series (label, values,
    colour), with a legend. Used for clues by month and sector."""
    height, top, left, bottom = 300, 40, 40, 60
    plot_h = height - top - bottom
    totals = [sum(s[1][i] for s in series) for i in range(len(categories))]
    peak = max(totals, default=0) or 1
    step = (width - left - 20) / max(len(categories), 1)
    bar = step * 0.6
    parts = [
        _open(title, width, height + 20 * ((len(series) + 3) // 4)),
        _text(width / 2, 20, title, 14, "middle"),
    ]
    parts.append(
        f"<line x1='{left}' y1='{top + plot_h}' x2='{width - 10}' y2='{top + plot_h}' stroke='#888'/>"
    )
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar) / 2
        y = float(top + plot_h)
        for label, values, colour in series:
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar:.1f}' height='{h:.1f}' fill='{colour}'"
                f"{_data(category, label, value)}>{_title(category, label, value)}</rect>"
            )
        parts.append(_text(x + bar / 2, top + plot_h + 16, category, 11, "middle"))
        parts.append(_text(x + bar / 2, y - 4, str(totals[i]), 11, "middle", "#444"))
    parts.extend(_legend([(label, colour) for label, _, colour in series], top + plot_h + 34, width))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    width: int = 560,
) -> str:
    """Horizontal stacked bars: one bar per category (e.g. a jurisdiction), segments per series (grades)."""
    row, top, left = 26, 40, 120
    height = top + row * max(len(categories), 1) + 20 + 20 * ((len(series) + 3) // 4) + 10
    totals = [sum(s[1][i] for s in series) for i in range(len(categories))]
    peak = max(totals, default=0) or 1
    plot_w = width - left - 50
    parts = [_open(title, width, height), _text(width / 2, 20, title, 14, "middle")]
    for i, category in enumerate(categories):
        y = top + i * row
        x = float(left)
        parts.append(_text(left - 6, y + 15, category, 11, "end"))
        for label, values, colour in series:
            value = values[i]
            if value <= 0:
                continue
            w = plot_w * value / peak
            parts.append(
                f"<rect x='{x:.1f}' y='{y + 3}' width='{w:.1f}' height='{row - 8}' fill='{colour}'"
                f"{_data(category, label, value)}>{_title(category, label, value)}</rect>"
            )
            x += w
        parts.append(_text(x + 4, y + 15, str(totals[i]), 11, "start", "#444"))
    if not categories:
        parts.append(_text(width / 2, top + 14, "暂无数据", 12, "middle", "#888"))
    legend_y = top + row * max(len(categories), 1) + 16
    parts.extend(_legend([(label, colour) for label, _, colour in series], legend_y, width))
    parts.append("</svg>")
    return "".join(parts)


def _title(category: str, series: str, value: int) -> str:
    return f"<title>{escape(f'{category} {series}: {value}')}</title>"


def _data(category: str, series: str, value: int) -> str:
    """The figure a segment shows, as attributes a page script or a test can read."""
    return f" data-category='{escape(category)}' data-series='{escape(series)}' data-value='{value}'"


def _open(title: str, width: int, height: int) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{escape(title)}' "
        f"width='{width}' height='{height}' viewBox='0 0 {width} {height}' class='chart'>"
    )


def _legend(items: Sequence[tuple[str, str]], y: float, width: int) -> list[str]:
    parts = []
    per_row = 4
    cell = (width - 40) / per_row
    for index, (label, colour) in enumerate(items):
        x = 20 + (index % per_row) * cell
        yy = y + (index // per_row) * 20
        parts.append(f"<rect x='{x:.1f}' y='{yy - 10:.1f}' width='12' height='12' fill='{colour}'/>")
        parts.append(_text(x + 16, yy, label[:14], 11))
    return parts
