"""Bar charts as inline SVG, drawn on the server: no JavaScript library, nothing fetched from elsewhere.

Every text that reaches the SVG (titles, labels, series names, values) is escaped here; tenant names are
hostile input like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 180
LEFT, BOTTOM, TOP = 56, 28, 12  # room for the axis labels


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str  # a class of static/css/app.css: the bar's colour


def bar_chart(*, title: str, labels: Sequence[str], series: Sequence[Series],
              fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> SafeString:
    """Grouped bars, one group per label (oldest left), a y axis from 0 to the largest value, and a
    tooltip (<title>) on every bar. An empty chart says so instead of drawing axes."""
    top = max((v for s in series for v in s.values if v is not None), default=0)
    if not labels or top <= 0:
        return mark_safe(f'<p class="muted chart-empty">{escape(title)}: nothing to show yet.</p>')  # noqa: S308 - escaped
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    group = plot_w / len(labels)
    bar = max(1.0, group * 0.8 / len(series))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             _axis(plot_w, plot_h, fmt(top))]
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            h = plot_h * value / top
            parts.append(f'<rect class="{escape(s.css)}" x="{x0 + j * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{bar * 0.95:.1f}" height="{h:.1f}"><title>{escape(label)} · {escape(s.name)}: '
                         f'{escape(fmt(value))}</title></rect>')
        if _labelled(i, len(labels)):
            parts.append(f'<text class="chart-label" x="{x0 + group * 0.4:.1f}" y="{HEIGHT - 10}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<li><span class="swatch {escape(s.css)}"></span>{escape(s.name)}</li>' for s in series)
    # Safe: every text above went through escape(); the rest is numbers and our own markup.
    return mark_safe(f'<figure class="chart-figure">{"".join(parts)}'  # noqa: S308
                     f'<figcaption>{escape(title)}<ul class="legend">{legend}</ul></figcaption></figure>')


def _axis(plot_w: float, plot_h: float, top_label: str) -> str:
    return (f'<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>'
            f'<line class="chart-axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>'
            f'<text class="chart-label" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(top_label)}</text>'
            f'<text class="chart-label" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>')


def _labelled(i: int, n: int) -> bool:
    """About five labels along the x axis, the newest always."""
    step = max(1, n // 5)
    return i == n - 1 or (i % step == 0 and n - 1 - i >= step // 2)
