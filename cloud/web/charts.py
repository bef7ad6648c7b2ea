"""Chart geometry for the dashboard, drawn by the templates as inline SVG (no chart library, no script).

Each builder returns plain numbers in the SVG's own coordinate system (its ``viewBox``), so the picture scales
with the page and stays crisp on a phone. Labels are given already formatted by the caller (money in the
page's language).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

PALETTE = ("#ff7a45", "#36cfc9", "#9e7bff", "#ffd04d", "#7ed957", "#4aa8ff")
MUTED = "#6b7785"


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    tip: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Legend:
    fill: str
    label: str


@dataclass
class ColumnChart:
    """Stacked columns over days: one column per day, one segment per store."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    rects: list[Rect] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[Legend] = field(default_factory=list)
    empty: bool = True


@dataclass(frozen=True)
class HBar:
    label: str
    y: float
    bars: list[Rect]
    value_x: float
    value: str


@dataclass
class BarChart:
    """Horizontal bars, one row per item (a store, a product), optionally two bars per row."""

    width: int
    height: int
    label_w: float
    rows: list[HBar] = field(default_factory=list)
    legend: list[Legend] = field(default_factory=list)
    empty: bool = True


def nice_max(value: float, steps: int = 4) -> tuple[float, float]:
    """An axis top at or above ``value`` and its step, both round numbers (1, 2, 2.5 or 5 times 10^k)."""
    if value <= 0:
        return float(steps), 1.0
    raw = value / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step * steps >= value:
            return step * steps, step
    return 10 * magnitude * steps, 10 * magnitude  # pragma: no cover - the loop always returns


def daily_columns(
    days: Sequence[date],
    stores: Sequence[tuple[str, str]],
    revenue: dict[tuple[str, date], int],
    money: Callable[[int], str],
    day_label: Callable[[date], str],
    *,
    exact: Callable[[int], str] | None = None,
    width: int = 960,
    height: int = 300,
) -> ColumnChart:
    """Revenue per day, stacked by store. ``stores`` is ``[(store_id, name)]``; ``revenue`` by (store, day).

    ``money`` labels the axis (compact); ``exact`` the tooltips (defaults to ``money``)."""
    exact = exact or money
    chart = ColumnChart(width, height, left=92, right=width - 8, top=14, bottom=height - 38)
    totals = [sum(revenue.get((sid, d), 0) for sid, _ in stores) for d in days]
    top, step = nice_max(max(totals, default=0))
    chart.empty = not any(totals)
    plot_h = chart.bottom - chart.top
    slot = (chart.right - chart.left) / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    for i in range(round(top / step) + 1):
        value = step * i
        chart.y_ticks.append(Tick(chart.bottom - plot_h * value / top, money(int(value))))
    label_every = max(1, math.ceil(len(days) / 8))
    for i, d in enumerate(days):
        x = chart.left + slot * i + (slot - bar_w) / 2
        if (len(days) - 1 - i) % label_every == 0:  # counted from today, so today always has its label
            last = i == len(days) - 1  # right-aligned, so the edge of the picture does not cut it
            chart.x_ticks.append(
                Tick(x + bar_w if last else x + bar_w / 2, day_label(d), "end" if last else "middle")
            )
        y = chart.bottom
        for si, (sid, name) in enumerate(stores):
            amount = revenue.get((sid, d), 0)
            if amount <= 0:
                continue
            h = plot_h * amount / top
            y -= h
            chart.rects.append(Rect(x, y, bar_w, h, color(si), f"{day_label(d)} {name}: {exact(amount)}"))
    chart.legend = [Legend(color(i), name) for i, (_, name) in enumerate(stores)]
    return chart


def horizontal_bars(
    rows: Sequence[tuple[str, Sequence[int], str]],
    series: Sequence[str],
    value_text: Callable[[int], str],
    *,
    width: int = 480,
    row_h: int = 36,
    label_w: int = 124,
) -> BarChart:
    """``rows`` are ``(label, values, value_label)``; each value is drawn as a bar of its series' colour.

    One series gives one bar per row (revenue per store); two give a pair (visitors and orders)."""
    top = max((v for _, values, _ in rows for v in values), default=0)
    height = max(row_h * len(rows) + 8, row_h)
    chart = BarChart(width, height, label_w)
    chart.empty = top <= 0
    value_w = 92
    span = width - label_w - value_w - 8
    fills = [MUTED, PALETTE[0]] if len(series) > 1 else [PALETTE[0]]
    bar_h = (row_h - 10) / max(len(series), 1)
    for i, (label, values, value_label) in enumerate(rows):
        y = 4 + i * row_h
        bars = []
        for si, v in enumerate(values):
            w = span * v / top if top > 0 else 0
            bars.append(
                Rect(
                    label_w,
                    y + 5 + si * bar_h,
                    max(w, 1.5 if v else 0),
                    bar_h - 2,
                    fills[si % len(fills)],
                    f"{label} {series[si] if si < len(series) else ''}: {value_text(v)}",
                )
            )
        chart.rows.append(HBar(label, y + row_h / 2, bars, label_w + span + 8, value_label))
    chart.legend = [Legend(fills[i % len(fills)], s) for i, s in enumerate(series)] if len(series) > 1 else []
    return chart
