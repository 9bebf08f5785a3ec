"""The board report as one self-contained HTML page: inline CSS, inline SVG charts with legends, RAG in words and
symbols as well as colour, table headings repeated on every printed A4 page."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from grants.messaging.templating import environment
from grants.reporting.board import BoardData, overall_note
from grants.reporting.svg_charts import RAG_SYMBOL, RAG_WORD, outputs_chart, spend_chart


def render_board_html(data: BoardData) -> str:
    """The report page as a string (no external resources: it opens offline)."""
    template = environment().get_template("report.html.j2")
    return template.render(
        data=data, g=data.grant,
        risks=sorted(data.risks, key=lambda r: -r.score),  # stable: ties keep the register's order
        spend_svg=Markup(spend_chart(data.quarters)),  # built from escaped values
        outputs_svg=Markup(outputs_chart(data.outputs)),
        symbols=RAG_SYMBOL, words=RAG_WORD, overall_note=overall_note,
    )


def write_board_html(data: BoardData, path: Path) -> Path:
    """Write the report page to `path` (its folder is created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_board_html(data), encoding="utf-8")
    return path
