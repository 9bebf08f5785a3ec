"""Inline SVG charts for the HTML board report (no JavaScript, no network): spend line chart, output bars, each with
a legend; RAG is shown in words and symbols as well as colour."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from html import escape

from grants.reporting.board import OutputRow, QuarterSpend

RAG_COLOUR = {"red": "#c0392b", "amber": "#e6a100", "green": "#2e8b57"}
RAG_SYMBOL = {"red": "✖", "amber": "▲", "green": "✔"}
"""RAG never by colour alone: a symbol and the word go with it (deuteranopia loses red against green)."""
RAG_WORD = {"red": "Red", "amber": "Amber", "green": "Green"}


def spend_chart(quarters: list[QuarterSpend], width: int = 640, height: int = 260) -> str:
    """Cumulative profile (dashed) and actual spend (solid) by quarter, with £ gridlines."""
    if not quarters:
        return ""
    left, right, top, bottom = 70, 50, 32, 40
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
        f'<g font-size="11"><line x1="{width - right - 250}" x2="{width - right - 220}" y1="10" y2="10" stroke="#888" '
        f'stroke-width="2" stroke-dasharray="6 4"/><text x="{width - right - 214}" y="14">profile (cumulative)</text>'
        f'<line x1="{width - right - 100}" x2="{width - right - 70}" y1="10" y2="10" stroke="#1f4e78" '
        f'stroke-width="2.5"/>'
        f'<circle cx="{width - right - 85}" cy="10" r="3.5" fill="#1f4e78"/>'
        f'<text x="{width - right - 64}" y="14">actual</text></g></svg>'
    )


def _label(name: str, x: float, y: float, per_line: int = 36) -> str:
    """A target's name wrapped onto up to two lines (a third is cut with an ellipsis; the full name is the row's
    hover title and is in the table under the chart)."""
    lines = textwrap.wrap(name, per_line) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), per_line, placeholder="…")]
    dy = -6 if len(lines) == 2 else 0
    spans = "".join(f'<tspan x="{x}" dy="{dy if i == 0 else 13}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text x="{x}" y="{y}" text-anchor="end" font-size="11">{spans}</text>'


def _legend(y: int, label_w: int) -> str:
    return (
        f'<g font-size="11"><rect x="{label_w}" y="{y}" width="14" height="10" fill="#1f4e78"/>'
        f'<text x="{label_w + 18}" y="{y + 9}">achieved (bar colour and words: RAG)</text>'
        f'<line x1="{label_w + 250}" x2="{label_w + 250}" y1="{y - 2}" y2="{y + 12}" stroke="#000" stroke-width="2"/>'
        f'<text x="{label_w + 256}" y="{y + 9}">profiled by now</text>'
        f'<text x="{label_w + 360}" y="{y + 9}">full bar = target</text></g>'
    )


def outputs_chart(outputs: list[OutputRow], width: int = 720) -> str:
    """One bar per count target: achieved as a share of target (RAG colour, and the RAG in words beside it) with the
    profile-to-date marked; full labels (wrapped, the whole name on hover) and a legend."""
    rows = [o for o in outputs if o.target > 1]
    if not rows:
        return ""
    label_w, bar_h, gap, right, top0 = 250, 16, 16, 150, 30
    height = top0 + len(rows) * (bar_h + gap) + 6
    span = width - label_w - right
    parts = [_legend(6, label_w)]
    for i, o in enumerate(rows):
        top = top0 + i * (bar_h + gap)
        share = min(float(o.achieved / o.target), 1.0)
        marker = label_w + span * min(o.profile_to_date / o.target, 1.0)
        rag = o.rag if o.rag in RAG_WORD else ""
        parts.append(
            f'<g><title>{escape(o.project)}: {escape(o.name)}: {o.achieved} of {o.target} {escape(o.unit)} '
            f"({escape(RAG_WORD.get(rag, 'not rated'))})</title>{_label(o.name, label_w - 8, top + 12)}"
            f'<rect x="{label_w}" y="{top}" width="{span}" height="{bar_h}" fill="#eee" stroke="#ccc"/>'
            f'<rect x="{label_w}" y="{top}" width="{span * share:.1f}" height="{bar_h}" '
            f'fill="{RAG_COLOUR.get(rag, "#888")}"/>'
            f'<line x1="{marker:.1f}" x2="{marker:.1f}" y1="{top - 3}" y2="{top + bar_h + 3}" stroke="#000" '
            f'stroke-width="2"/><text x="{width - right + 8}" y="{top + 12}" font-size="11">'
            f"{o.achieved}/{o.target} {RAG_SYMBOL.get(rag, '')} {RAG_WORD.get(rag, 'not rated')}</text></g>"
        )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="Outputs against target">{"".join(parts)}</svg>')
