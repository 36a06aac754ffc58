"""Charts drawn by the server as inline SVG (no script, no library): every text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2f6fb0", "#e08a1e", "#3a9a5b", "#8a5cc2", "#c0392b", "#7f8c8d")
GRADE_COLOURS = {"优": "#2e8b57", "良": "#2f6fb0", "中": "#e0a21e", "差": "#c0392b"}


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float | None]], maximum: float, *, title: str) -> str:
    """Horizontal stacked bars, one per label (e.g. a project's points by level-1), with a legend."""
    row, left, width = 28, 230, 460
    height = 40 + row * len(labels) + 30
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {left + width + 60} {height}" '
              f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>')]
    for i, label in enumerate(labels):
        y = 30 + i * row
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13"><title>{escape(label)}</title>{escape(short)}</text>')
        x = float(left)
        total = 0.0
        for j, (name, values) in enumerate(series.items()):
            value = values[i] or 0.0
            total += value
            w = width * value / maximum if maximum else 0
            parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[j % len(PALETTE)]}">'
                         f'<title>{escape(label)} {escape(name)}：{value:.2f}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 17}" font-size="12">{total:.2f}</text>')
    y = 30 + row * len(labels) + 12
    x = left
    for j, name in enumerate(series):
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(name)}</text>')
        x += 30 + 14 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def grade_bars(counts: dict[str, int], *, title: str) -> str:
    """Vertical bars of a grade distribution (count above each bar)."""
    grades = list(counts)
    top = max([*counts.values(), 1])
    bar, gap, height, top_pad = 60, 30, 180, 20
    width = len(grades) * (bar + gap) + gap
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {width} {height + 50 + top_pad}" '
              f'width="{width}" aria-label="{escape(title)}"><title>{escape(title)}</title>')]
    for i, grade in enumerate(grades):
        n = counts[grade]
        h = height * n / top
        x = gap + i * (bar + gap)
        colour = GRADE_COLOURS.get(grade, PALETTE[-1])
        parts.append(f'<rect x="{x}" y="{top_pad + 10 + height - h:.1f}" width="{bar}" height="{h:.1f}" fill="{colour}"><title>{escape(grade)}：{n}</title></rect>'
                     f'<text x="{x + bar / 2}" y="{top_pad + 5 + height - h:.1f}" text-anchor="middle" font-size="13">{n}</text>'
                     f'<text x="{x + bar / 2}" y="{top_pad + height + 32}" text-anchor="middle" font-size="15">{escape(grade)}</text>')
    parts.append("</svg>")
    return "".join(parts)
