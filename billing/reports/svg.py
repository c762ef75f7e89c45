"""Inline SVG charts (no scripts, no fonts, no network): bars, and stacked bars with a legend.

Every label passes through ``html.escape``; amounts are cents and axes are drawn in dollars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
TICKS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    name: str
    css: str  # class of its bars: colours live in the page's stylesheet
    values: Sequence[int]  # cents, one per label


def nice_ceiling(cents: int) -> int:
    """The top of the axis: ``TICKS`` steps of 1, 2, 2.5 or 5 x 10^k dollars covering ``cents``."""
    need = max(cents, 400) / TICKS
    magnitude: int = 10 ** math.floor(math.log10(need))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= need)
    return int(step * TICKS)


def dollars_short(cents: int) -> str:
    dollars = cents / 100
    if dollars >= 1000:
        return f"${dollars / 1000:,.1f}k".replace(".0k", "k")
    return f"${dollars:,.0f}"


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _axes(top_cents: int) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for i in range(TICKS + 1):
        y = TOP + plot_h - plot_h * i / TICKS
        value = top_cents * i // TICKS
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')  # fmt: skip
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(dollars_short(value))}</text>")  # fmt: skip
    base = TOP + plot_h
    out.append(f'<path class="axis" d="M{LEFT},{TOP} V{base} H{WIDTH - RIGHT}"/>')
    return out


def stacked_bars(labels: Sequence[str], series: Sequence[Series], *, title: str) -> str:
    """One column per label; each series stacked bottom-up in the given order."""
    top = nice_ceiling(max([sum(col) for col in zip(*(s.values for s in series), strict=True)]
                           + [0]))  # fmt: skip
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * (0.62 if len(series) == 1 else 0.7)
    parts = _axes(top)
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base: float = TOP + plot_h
        for s in series:
            height = plot_h * s.values[i] / top
            if s.values[i] > 0:
                tip = f"{label}: {s.name} {_money(s.values[i])}"
                parts.append(
                    f'<rect class="bar {escape(s.css)}" x="{x:.1f}" y="{base - height:.1f}" '
                    f'width="{bar_w:.1f}" height="{height:.1f}"><title>{escape(tip)}</title></rect>'
                )
            base -= height
        parts.append(f'<text class="label" x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                     f'text-anchor="middle">{escape(label)}</text>')  # fmt: skip
    return _svg(title, parts)


def bars(labels: Sequence[str], values: Sequence[int], *, title: str, css: str) -> str:
    return stacked_bars(labels, [Series(name=title, css=css, values=values)], title=title)


def _svg(title: str, parts: list[str]) -> str:
    body = "\n  ".join(parts)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">\n'
        f"  <title>{escape(title)}</title>\n  {body}\n</svg>"
    )


def legend(series: Sequence[Series]) -> str:
    items = "".join(
        f'<span class="key"><i class="swatch {escape(s.css)}"></i>{escape(s.name)}</span>'
        for s in series
    )
    return f'<div class="legend">{items}</div>'
