"""Small server-side SVG charts: no JavaScript library, readable by a screen
reader (``role="img"``, ``<title>``, ``aria-label``) and always shown beside a
table with the same numbers. The same SVG can go into a PDF report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Colours from sinergi.css (--brand, and a second hue for the other group), with enough contrast on white.
GROUP_COLOURS = ("#0b6e4f", "#1d5fa8", "#8a4b08", "#6b2d8a")
TEXT = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4eaf0"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int
    shown: str  # the value as the reader should read it ("Rp 1.500.000")


@dataclass(frozen=True)
class Group:
    label: str
    bars: Sequence[Bar]


def rupiah(value: Decimal | int | float) -> str:
    """``Rp 1.500.000``: whole rupiah with Indonesian thousands dots."""
    n = int(Decimal(value).to_integral_value())
    return ("-" if n < 0 else "") + "Rp " + f"{abs(n):,}".replace(",", ".")


def rupiah_short(value: Decimal | int | float) -> str:
    """``Rp 8,28 M``: a big amount that fits a phone (rb, jt, M, T as Indonesians abbreviate)."""
    n = Decimal(value)
    for size, suffix in ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "M"), (Decimal(10) ** 6, "jt")):
        if abs(n) >= size:
            digits = 1 if suffix == "jt" else 2
            short = f"{n / size:.{digits}f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"Rp {short} {suffix}"
    return rupiah(n)


def grouped_bar_chart(groups: Sequence[Group], *, title: str, chart_id: str = "chart") -> SafeString:
    """Horizontal bars (they fit a 390 px phone: the label sits above each bar),
    one block per group. Each bar's length is its share of the largest value."""
    width = 360
    label_h, bar_h, gap, group_head = 16, 14, 10, 26
    top = 4
    height = top + sum(group_head + len(g.bars) * (label_h + bar_h + gap) for g in groups) + 4
    biggest = max((Decimal(b.value) for g in groups for b in g.bars), default=Decimal(0))
    parts: list[str] = []
    y = top
    for gi, group in enumerate(groups):
        colour = GROUP_COLOURS[gi % len(GROUP_COLOURS)]
        parts.append(
            format_html(
                '<text x="0" y="{}" font-size="14" font-weight="700" fill="{}">{}</text>', y + 16, TEXT, group.label
            )
        )
        y += group_head
        for bar in group.bars:
            share = (Decimal(bar.value) / biggest) if biggest > 0 else Decimal(0)
            length = int(share * (width - 2)) if share > 0 else 0
            parts.append(
                format_html(
                    '<g class="bar-row" data-label="{}" data-value="{}">'
                    '<text x="0" y="{}" font-size="12" fill="{}">{}</text>'
                    '<text x="{}" y="{}" font-size="12" fill="{}" text-anchor="end">{}</text>'
                    '<rect x="0" y="{}" width="{}" height="{}" rx="3" fill="{}"></rect>'
                    '<rect x="0" y="{}" width="{}" height="{}" rx="3" fill="{}"><title>{}: {}</title></rect>'
                    "</g>",
                    bar.label,
                    bar.value,
                    y + 12,
                    TEXT,
                    bar.label,
                    width,
                    y + 12,
                    MUTED,
                    bar.shown,
                    y + label_h,
                    width,
                    bar_h,
                    GRID,
                    y + label_h,
                    max(length, 2) if bar.value else 0,
                    bar_h,
                    colour,
                    bar.label,
                    bar.shown,
                )
            )
            y += label_h + bar_h + gap
    summary = "; ".join(f"{g.label}: " + ", ".join(f"{b.label} {b.shown}" for b in g.bars) for g in groups)
    svg = (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" style="max-width:30rem;height:auto" '
        f'aria-label="{escape(title)}" aria-describedby="{escape(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title><desc id="{escape(chart_id)}-desc">{escape(summary)}</desc>'
        + "".join(parts)
        + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every text above is escaped by format_html/escape
