"""Inline SVG charts for the HTML board report (no JavaScript, no network): spend line chart, output bars."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from grants.reporting.board import OutputRow, QuarterSpend

RAG_COLOUR = {"red": "#c0392b", "amber": "#e6a100", "green": "#2e8b57"}


def spend_chart(quarters: list[QuarterSpend], width: int = 640, height: int = 260) -> str:
    """Cumulative profile (dashed) and actual spend (solid) by quarter, with £ gridlines."""
    if not quarters:
        return ""
    left, right, top, bottom = 70, 50, 20, 40
    top_value = max([q.profile for q in quarters] + [q.actual or Decimal(0) for q in quarters] + [Decimal(1)])
    step = (width - left - right) / max(len(quarters) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: Decimal) -> float:
        return top + (height - top - bottom) * (1 - float(v / top_value))

    grid = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(top_value * k / 4):.1f}" y2="{y(top_value * k / 4):.1f}" '
        f'stroke="#ddd"/><text x="{left - 6}" y="{y(top_value * k / 4) + 4:.1f}" text-anchor="end" font-size="11">'
        f"£{top_value * k / 4:,.0f}</text>"
        for k in range(5)
    )
    labels = "".join(f'<text x="{x(i):.1f}" y="{height - 15}" text-anchor="middle" font-size="11">{escape(q.label)}'
                     f"</text>" for i, q in enumerate(quarters))
    profile = " ".join(f"{x(i):.1f},{y(q.profile):.1f}" for i, q in enumerate(quarters))
    actual_points = [(i, q.actual) for i, q in enumerate(quarters) if q.actual is not None]
    actual = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in actual_points)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#1f4e78"/>' for i, v in actual_points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Spend against profile">{grid}{labels}'
        f'<polyline points="{profile}" fill="none" stroke="#888" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<polyline points="{actual}" fill="none" stroke="#1f4e78" stroke-width="2.5"/>{dots}'
        f'<text x="{width - right}" y="14" text-anchor="end" font-size="11">- - profile   — actual</text></svg>'
    )


def outputs_chart(outputs: list[OutputRow], width: int = 640) -> str:
    """One bar per count target: achieved as a share of target (RAG colour) with the profile-to-date marked."""
    rows = [o for o in outputs if o.target > 1]
    if not rows:
        return ""
    label_w, bar_h, gap, right = 230, 16, 10, 60
    height = len(rows) * (bar_h + gap) + 20
    span = width - label_w - right
    parts = []
    for i, o in enumerate(rows):
        top = 10 + i * (bar_h + gap)
        share = min(float(o.achieved / o.target), 1.0)
        marker = label_w + span * min(o.profile_to_date / o.target, 1.0)
        parts.append(
            f'<text x="{label_w - 8}" y="{top + 12}" text-anchor="end" font-size="11">{escape(o.name[:38])}</text>'
            f'<rect x="{label_w}" y="{top}" width="{span}" height="{bar_h}" fill="#eee"/>'
            f'<rect x="{label_w}" y="{top}" width="{span * share:.1f}" height="{bar_h}" '
            f'fill="{RAG_COLOUR.get(o.rag, "#888")}"/>'
            f'<line x1="{marker:.1f}" x2="{marker:.1f}" y1="{top - 2}" y2="{top + bar_h + 2}" stroke="#000" '
            f'stroke-width="2"/><text x="{width - right + 6}" y="{top + 12}" font-size="11">'
            f"{o.achieved}/{o.target}</text>"
        )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="Outputs against target">{"".join(parts)}</svg>')
