"""The HTML board report reads without colour and prints well: full output labels (wrapped, the whole name on
hover and in the table), a legend for each chart, RAG in words and symbols beside every colour, table headings
repeated on every printed page, the risk owner and mitigation shown, and no reason printed twice in a row."""

from __future__ import annotations

import dataclasses
import re
from html import unescape

from grants.reporting.board import OutputRow
from grants.reporting.html import render_board_html
from grants.reporting.svg_charts import outputs_chart, spend_chart
from tests.reporting.test_board_report import sample_board

LONG_NAME = "Night-time economy staff trained in violence prevention and safeguarding"


def _long_output() -> OutputRow:
    return OutputRow("Purple Flag", LONG_NAME, "people", 150, sample_board().as_of, 99, 120, "amber", "120 of 150")


def _tspans(svg: str) -> list[str]:
    return [unescape(t) for t in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)]


def test_output_labels_wrap_whole_words_and_keep_the_full_name_on_hover() -> None:
    svg = outputs_chart([_long_output()])
    lines = _tspans(svg)
    assert len(lines) == 2 and " ".join(lines) == LONG_NAME  # wrapped, not cut mid-word
    assert f"<title>Purple Flag: {LONG_NAME}: 120 of 150 people (Amber)</title>" in svg


def test_every_chart_has_a_legend() -> None:
    data = sample_board()
    outputs = outputs_chart(data.outputs)
    assert "achieved" in outputs and "profiled by now" in outputs and "full bar = target" in outputs
    spend = spend_chart(data.quarters)
    assert "profile (cumulative)" in spend and ">actual<" in spend


def test_rag_is_in_words_and_symbols_wherever_it_is_coloured() -> None:
    data = sample_board()
    html = render_board_html(data)
    badges = re.findall(r'<span class="rag (red|amber|green)">([^<]*)</span>', html)
    assert badges, "no RAG badges"
    words = {"red": "✖", "amber": "▲", "green": "✔"}
    for colour, text in badges:
        assert text.startswith(words[colour]), (colour, text)
        assert colour.capitalize() in text, (colour, text)  # risk badges: "✖ 16 Red"
    assert "✖ 16 Red" in html
    svg = outputs_chart(data.outputs)
    assert "180/500 ✖ Red" in svg and "7/12 ✔ Green" in svg  # the bars' colours in words too


def test_every_table_repeats_its_headings_on_printed_pages() -> None:
    html = render_board_html(sample_board())
    tables = re.findall(r"<table>(.*?)</table>", html, flags=re.S)
    assert len(tables) == 4
    assert all(t.lstrip().startswith("<thead>") for t in tables)
    assert "thead { display: table-header-group; }" in html


def test_risk_owner_and_mitigation_are_shown_or_said_to_be_missing() -> None:
    html = render_board_html(sample_board())
    assert "<td>CSTO</td>" in html and "<td>Extra cohorts in Q4</td>" in html
    assert "Not assigned yet" in html and "None recorded yet" in html


def test_overall_reason_is_not_a_word_for_word_repeat_of_another_column() -> None:
    data = sample_board()
    same = dataclasses.replace(data.projects[0], overall_reason=data.projects[0].outputs_reason)
    html = render_board_html(dataclasses.replace(data, projects=[same]))
    assert html.count(f'<div class="why">{data.projects[0].outputs_reason}</div>') == 1
    assert "As outputs (see outputs)" in html
