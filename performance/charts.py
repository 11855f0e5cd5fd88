"""The performance dashboards' charts, drawn as SVG on the server: no JavaScript
library, the same markup goes into a PDF report. Every chart has ``role="img"``,
a ``<title>``, an ``aria-label`` and a ``<desc>`` that reads its numbers; the
page shows a table with the same numbers beside it.

Charts are 360 units wide and scale to their box, so they stay readable on a
390 px phone: labels sit above the bars, never beside them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import formats, translation
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from performance.kpis import Kpi, Unit
from sales.charts import GRID, MUTED, TEXT, rupiah, rupiah_short

ACHIEVED = "#0b6e4f"  # --brand
TARGET = "#9aa5b1"
LAST_YEAR = "#1d5fa8"
PALETTE = ("#0b6e4f", "#1d5fa8", "#8a4b08", "#6b2d8a", "#b42318", "#3d6b1f")
WIDTH = 360


# --- Numbers as read -----------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _separators(language: str | None) -> tuple[str, str]:
    """(thousands, decimal) separators of the language, looked up once per language."""
    return str(formats.get_format("THOUSAND_SEPARATOR", language)), str(
        formats.get_format("DECIMAL_SEPARATOR", language)
    )


def number(value: Decimal | int | float | None, decimals: int = 0) -> str:
    """``1.234.567`` / ``87,5`` in Indonesian, ``1,234,567`` / ``87.5`` in English (a dashboard
    formats hundreds of figures: the separators are looked up once per language)."""
    if value is None:
        return "—"
    thousands, point = _separators(translation.get_language())
    text = f"{Decimal(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", point).replace("\x00", thousands)


def fmt(kpi: Kpi, value: Decimal | int | None, *, short: bool = True) -> str:
    """A KPI figure as the reader reads it: ``Rp 1,2 M``, ``1.234`` or ``87,5%``."""
    if value is None:
        return "—"
    if kpi.unit == Unit.RUPIAH:
        return rupiah_short(value) if short else rupiah(value)
    if kpi.unit == Unit.PERCENT:
        return f"{number(value, 1)}%"
    return number(value)


def axis(kpi: Kpi, value: Decimal) -> str:
    """An axis tick: short, without the currency (the title names it)."""
    return fmt(kpi, value).removeprefix("Rp ") if value else "0"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{number(value, 1)}%"


def signed(value: Decimal | None, *, points: bool = False) -> str:
    """Growth: ``+12,5%`` (or ``+3,0 poin`` for a ratio KPI)."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    suffix = " " + _("poin") if points else "%"
    return f"{sign}{number(abs(value), 1)}{suffix}"


# --- Shared SVG pieces ---------------------------------------------------------------


def _svg(chart_id: str, title: str, summary: str, height: int, body: list[str]) -> SafeString:
    cid = escape(chart_id)
    svg = (
        f'<svg class="chart" id="{cid}" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}" aria-describedby="{cid}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f'<title>{escape(title)}</title><desc id="{cid}-desc">{escape(summary)}</desc>' + "".join(body) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every text above went through escape/format_html


def _legend(items: Sequence[tuple[str, str, bool]], y: int) -> list[str]:
    """Coloured keys in a row: (label, colour, dashed)."""
    parts: list[str] = []
    x = 0
    for label, colour, dashed in items:
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"{}></line>'
                '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
                x,
                y - 4,
                x + 16,
                y - 4,
                colour,
                mark_safe(dash),  # noqa: S308 - a constant
                x + 20,
                y,
                TEXT,
                label,
            )
        )
        x += 28 + 6 * len(label)
    return parts


def _scale(values: Sequence[Decimal | int | None]) -> Decimal:
    biggest = max((Decimal(v) for v in values if v is not None), default=Decimal(0))
    return biggest if biggest > 0 else Decimal(1)


def _length(value: Decimal | int | None, biggest: Decimal, room: int = WIDTH - 2) -> int:
    if not value or value <= 0:
        return 0
    return max(int(Decimal(value) / biggest * room), 2)


# --- Target vs achievement by child ----------------------------------------------------


@dataclass(frozen=True)
class TargetBar:
    label: str
    value: Decimal | None
    target: Decimal | None
    value_text: str
    target_text: str
    of_target: str = ""


def target_bars(
    rows: Sequence[TargetBar], *, title: str, chart_id: str, achieved: str, target: str, no_target: str
) -> SafeString:
    """One block per child: its name and figures on a line, the achievement bar,
    and a thin target bar under it on the same scale."""
    label_h, bar_h, target_h, gap = 18, 12, 5, 12
    top = 18
    parts = _legend([(achieved, ACHIEVED, False), (target, TARGET, False)], 11)
    biggest = _scale([r.value for r in rows] + [r.target for r in rows])
    y = top
    for r in rows:
        right = r.value_text + (f" / {r.target_text}" if r.target is not None else f" ({no_target})")
        if r.of_target:
            right += f" · {r.of_target}"
        parts.append(
            format_html(
                '<g class="bar-row" data-label="{}" data-value="{}" data-target="{}">'
                '<text x="0" y="{}" font-size="13" fill="{}">{}</text>'
                '<text x="{}" y="{}" font-size="12" fill="{}" text-anchor="end">{}</text>'
                '<rect x="0" y="{}" width="{}" height="{}" rx="2" fill="{}"></rect>'
                '<rect x="0" y="{}" width="{}" height="{}" rx="2" fill="{}"><title>{}: {}</title></rect>'
                '<rect x="0" y="{}" width="{}" height="{}" rx="2" fill="{}"><title>{}: {}</title></rect>'
                "</g>",
                r.label,
                r.value if r.value is not None else "",
                r.target if r.target is not None else "",
                y + 13,
                TEXT,
                _clip(r.label, 22),
                WIDTH,
                y + 13,
                MUTED,
                right,
                y + label_h,
                WIDTH,
                bar_h,
                GRID,
                y + label_h,
                _length(r.value, biggest),
                bar_h,
                ACHIEVED,
                r.label,
                r.value_text,
                y + label_h + bar_h + 2,
                _length(r.target, biggest),
                target_h,
                TARGET,
                target,
                r.target_text,
            )
        )
        y += label_h + bar_h + 2 + target_h + gap
    summary = "; ".join(
        f"{r.label}: {r.value_text}" + (f" / {r.target_text}" if r.target is not None else "") for r in rows
    )
    return _svg(chart_id, title, summary, y + 2, parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- Plain horizontal bars (funnel, mix, compliance) -----------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int | None
    text: str


@dataclass(frozen=True)
class BarGroup:
    label: str
    bars: Sequence[Bar]


def bars(
    groups: Sequence[BarGroup], *, title: str, chart_id: str, maximum: Decimal | None = None, centred: bool = False
) -> SafeString:
    """Horizontal bars under their labels, grouped under a heading when a group
    has one. ``centred`` draws a funnel (each bar centred on the axis)."""
    label_h, bar_h, gap, head = 17, 13, 9, 22
    biggest = maximum or _scale([b.value for g in groups for b in g.bars])
    parts: list[str] = []
    y = 2
    for gi, group in enumerate(groups):
        colour = PALETTE[gi % len(PALETTE)]
        if group.label:
            parts.append(
                format_html(
                    '<text x="0" y="{}" font-size="13" font-weight="700" fill="{}">{}</text>', y + 14, TEXT, group.label
                )
            )
            y += head
        for b in group.bars:
            length = _length(b.value, biggest)
            x = (WIDTH - length) // 2 if centred else 0
            parts.append(
                format_html(
                    '<g class="bar-row" data-label="{}" data-value="{}">'
                    '<text x="0" y="{}" font-size="13" fill="{}">{}</text>'
                    '<text x="{}" y="{}" font-size="13" fill="{}" text-anchor="end">{}</text>'
                    '<rect x="0" y="{}" width="{}" height="{}" rx="2" fill="{}"></rect>'
                    '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}"><title>{}: {}</title></rect></g>',
                    b.label,
                    b.value if b.value is not None else "",
                    y + 13,
                    TEXT,
                    _clip(b.label, 30),
                    WIDTH,
                    y + 13,
                    MUTED,
                    b.text,
                    y + label_h,
                    WIDTH,
                    bar_h,
                    GRID,
                    x,
                    y + label_h,
                    length,
                    bar_h,
                    colour,
                    b.label,
                    b.text,
                )
            )
            y += label_h + bar_h + gap
    summary = "; ".join(
        (f"{g.label}: " if g.label else "") + ", ".join(f"{b.label} {b.text}" for b in g.bars) for g in groups
    )
    return _svg(chart_id, title, summary, y + 2, parts)


# --- Trend: a line per year ------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | None]
    colour: str
    dashed: bool = False


def line_chart(
    months: Sequence[Any], series: Sequence[Series], *, title: str, chart_id: str, kpi: Kpi, month_format: str = "M"
) -> SafeString:
    """Monthly lines on one scale (this year solid, last year dashed), four grid
    lines with short values on the left, every other month named under the axis."""
    left, right, top, bottom = 52, 14, 24, 22
    height = 190
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    biggest = _scale([v for s in series for v in s.values])
    n = max(len(months), 1)
    step = plot_w / max(n - 1, 1)
    parts = _legend([(s.label, s.colour, s.dashed) for s in series], 11)
    for i in range(5):
        gy = top + plot_h - plot_h * i / 4
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"></line>'
                '<text x="{}" y="{}" font-size="10" fill="{}" text-anchor="end">{}</text>',
                left,
                f"{gy:.1f}",
                WIDTH - right,
                f"{gy:.1f}",
                GRID,
                left - 4,
                f"{gy + 3:.1f}",
                MUTED,
                axis(kpi, biggest * i / 4 if i else Decimal(0)),
            )
        )
    for i, m in enumerate(months):
        if (n - 1 - i) % 2 == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" fill="{}" text-anchor="middle">{}</text>',
                    f"{left + i * step:.1f}",
                    height - 6,
                    MUTED,
                    formats.date_format(m, month_format),
                )
            )
    for s in series:
        points = []
        for i, v in enumerate(s.values):
            if v is None:
                continue
            x = left + i * step
            y = top + plot_h - float(Decimal(v) / biggest) * plot_h
            points.append(f"{x:.1f},{y:.1f}")
        if not points:
            continue
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        parts.append(
            format_html(
                '<polyline class="series" data-label="{}" points="{}" fill="none" stroke="{}" stroke-width="2.5"'
                ' stroke-linejoin="round"{}></polyline>',
                s.label,
                " ".join(points),
                s.colour,
                mark_safe(dash),  # noqa: S308 - a constant
            )
        )
        if not s.dashed:
            for p in points:
                cx, cy = p.split(",")
                parts.append(format_html('<circle cx="{}" cy="{}" r="2.5" fill="{}"></circle>', cx, cy, s.colour))
    summary = "; ".join(
        f"{s.label}: "
        + ", ".join(f"{formats.date_format(m, 'M Y')} {fmt(kpi, v)}" for m, v in zip(months, s.values, strict=False))
        for s in series
    )
    return _svg(chart_id, title, summary, height, parts)
