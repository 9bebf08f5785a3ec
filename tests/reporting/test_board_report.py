"""The board report renderers: the workbook has the figures, RAG colours, charts, frozen and filtered headers;
the HTML page has the same figures and needs no network."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from grants.reporting.board import (
    BoardData,
    GrantSummary,
    OutputRow,
    ProjectRow,
    QuarterSpend,
    Release,
    ReturnRow,
    RiskRow,
)
from grants.reporting.html import render_board_html, write_board_html
from grants.reporting.xlsx import write_board_workbook


def sample_board() -> BoardData:
    """A Q3 position shaped like the seeds' story: funds released late, one project behind on outputs."""
    grant = GrantSummary(
        reference="SVD-2024-25", name="Serious Violence Duty 2024/25", funder="Home Office",
        intermediary="the Police and Crime Commissioner", awarded=Decimal("125000.00"),
        expected_release=date(2024, 5, 1), releases=[Release(date(2024, 7, 1), Decimal("125000.00"))],
        paid_to_projects=Decimal("90000.00"), spent=Decimal("48250.50"), forecast_outturn=Decimal("110000.00"),
        spend_by=date(2025, 3, 31), rag="amber", reason="Forecast underspend £15,000.00 (12%) with 90 days left",
    )
    projects = [
        ProjectRow("active-bystander", "Active Bystander training", "Commissioned training provider",
                   Decimal("30000.00"), Decimal("12000.00"), Decimal("29000.00"), "green", "Spend within 5% of profile",
                   "red", "People trained 180 of 250 profiled by 31 Dec (72%)", "red", "Outputs behind trajectory"),
        ProjectRow("man-culture", "M.A.N Culture", "M.A.N Culture", Decimal("15000.00"), Decimal("7350.00"),
                   Decimal("15000.00"), "green", "On profile", "green", "7 of 7 workshops profiled", "green",
                   "On track"),
    ]
    outputs = [
        OutputRow("Active Bystander training", "People trained", "people", 500, date(2025, 3, 31), 250, 180, "red",
                  "People trained 180 of 250 profiled by 31 Dec (72%): needs 107/month to reach 500 by 31 Mar"),
        OutputRow("M.A.N Culture", "Workshops delivered", "workshops", 12, date(2025, 3, 31), 7, 7, "green",
                  "7 of 7 profiled"),
    ]
    quarters = [QuarterSpend("2024-25-Q1", Decimal(0), Decimal(0)),
                QuarterSpend("2024-25-Q2", Decimal("31250"), Decimal("20000.25")),
                QuarterSpend("2024-25-Q3", Decimal("75000"), Decimal("48250.50")),
                QuarterSpend("2024-25-Q4", Decimal("125000"), None)]
    risks = [
        RiskRow(2, "Active Bystander training", "behind-trajectory", "People trained behind trajectory", 4, 4, 16,
                "red", "CSTO", "Extra cohorts in Q4", "180 of 250", date(2025, 1, 16), date(2025, 1, 16)),
        RiskRow(1, "Grant", "late-funds-release", "Funds released 61 days late", 3, 3, 9, "amber", "", "",
                "expected 1 May, released 1 Jul", date(2024, 5, 2), date(2024, 7, 1)),
    ]
    returns = [ReturnRow("M.A.N Culture", "2024-25-Q3", date(2025, 1, 15), date(2025, 1, 10), 1, "accepted", 0),
               ReturnRow("Active Bystander training", "2024-25-Q3", date(2025, 1, 15), None, 0, "overdue", 0)]
    return BoardData(date(2025, 1, 16), grant, projects, outputs, quarters, risks, returns)


def test_workbook_summary_has_the_grant_figures(tmp_path: Path) -> None:
    path = write_board_workbook(sample_board(), tmp_path / "board.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Projects", "Outputs", "Outputs chart", "Risks", "Returns"]
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert summary["Awarded"] == 125000
    assert summary["Released by the funder"] == 125000
    assert summary["Spent (reported)"] == 48250.5
    assert summary["Forecast unspent (award less outturn capped at allocations)"] == 15000
    assert summary["Forecast overspend beyond allocations"] == 0
    assert summary["Days to the spend-by date"] == 74
    assert summary["Overall RAG"] == "amber"


def test_workbook_project_rows_carry_ratings_with_reasons_and_rag_colours(tmp_path: Path) -> None:
    wb = load_workbook(write_board_workbook(sample_board(), tmp_path / "board.xlsx"))
    ws = wb["Projects"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert row["Allocation"] == 30000 and row["Spent"] == 12000 and row["% of allocation"] == 0.4
    assert row["Outputs RAG"] == "red" and row["Outputs: why"].startswith("People trained 180 of 250")
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M3"
    ranges = {str(cf.sqref) for cf in ws.conditional_formatting}
    assert {"H2:H3", "J2:J3", "L2:L3"} <= ranges
    assert ws["D2"].number_format == '"£"#,##0.00'


def test_workbook_has_native_charts_and_a_score_sorted_risk_register(tmp_path: Path) -> None:
    wb = load_workbook(write_board_workbook(sample_board(), tmp_path / "board.xlsx"))
    # openpyxl keeps charts it reads back only through the drawing parts; count them in the file itself
    import zipfile
    with zipfile.ZipFile(tmp_path / "board.xlsx") as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 2
    scores = [r[6] for r in wb["Risks"].iter_rows(min_row=2, values_only=True)]
    assert scores == [16, 9]
    outputs = [r[:9] for r in wb["Outputs"].iter_rows(min_row=2, values_only=True)]
    assert outputs[0][1:9] == ("People trained", "people", 500, outputs[0][4], 250, 180, 0.72, 0.36)


def test_html_report_has_the_same_figures_and_needs_no_network(tmp_path: Path) -> None:
    html = write_board_html(sample_board(), tmp_path / "board.html").read_text()
    for text in ["£125,000.00", "£48,250.50", "£15,000.00", "74", "People trained 180 of 250 profiled",
                 "Funds released 61 days late", "Active Bystander training", "2024-25-Q3", "<svg"]:
        assert text in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", html)
    assert "@page { size: A4" in html


def test_html_escapes_text_from_leads(tmp_path: Path) -> None:
    data = sample_board()
    hostile = ProjectRow("x", "<script>alert(1)</script>", "Org", Decimal(1), Decimal(0), Decimal(0), "green", "",
                         "green", "", "green", "")
    html = render_board_html(BoardData(data.as_of, data.grant, [hostile], [], data.quarters))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_outputs_show_the_share_of_profile_the_rag_rates_beside_the_share_of_target(tmp_path: Path) -> None:
    row = OutputRow("Purple Flag", "Staff trained", "people", 450, date(2025, 3, 31), 141, 60, "red", "")
    assert (round(row.share_of_profile or 0, 3), round(row.share_of_target, 3)) == (Decimal("0.426"),
                                                                                    Decimal("0.133"))
    wb = load_workbook(write_board_workbook(sample_board(), tmp_path / "board.xlsx"))
    headers = [c.value for c in wb["Outputs"][1]]
    assert headers[6:10] == ["Achieved", "% of profile (rated)", "% of target", "RAG"]


def _no_return_yet() -> BoardData:
    """The sample with a third project that has sent no return: no spend, no forecast, unrated."""
    data = sample_board()
    silent = ProjectRow("impact-project", "Impact Project", "Youth Justice Service", Decimal("20000.00"), None, None,
                        "no data yet", "No data yet: no return due yet", "no data yet",
                        "No data yet: no outputs reported", "no data yet", "No data yet: no return due yet")
    grant = replace(data.grant, projects=3, not_reported=("Impact Project",))
    return replace(data, grant=grant, projects=[replace(p, reported_to="2024-25-Q3") for p in data.projects]
                   + [silent])


def test_workbook_leaves_a_project_with_no_return_blank_with_a_status_and_says_what_totals_cover(
        tmp_path: Path) -> None:
    wb = load_workbook(write_board_workbook(_no_return_yet(), tmp_path / "board.xlsx"))
    ws = wb["Projects"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in row], strict=True)) for row in ws.iter_rows(min_row=2)]
    silent = rows[2]
    assert (silent["Return"], silent["Spent"], silent["% of allocation"], silent["Forecast outturn"]) == (
        "no return yet", None, None, None)  # empty cells, never £0.00 or a text "–" in a money column
    assert (rows[0]["Return"], rows[0]["Spent"]) == ("reported to 2024-25-Q3", 12000)
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert summary["Figures cover"] == ("2 of 3 projects have reported; no return yet from Impact Project: not in the "
                                        "spent total, forecast at their allocation")


def test_html_shows_no_return_yet_rather_than_nothing_spent_with_a_footnote_on_the_totals(tmp_path: Path) -> None:
    html = render_board_html(_no_return_yet())
    row = html[html.index("<b>Impact Project</b>"):]
    row = row[:row.index("</tr>")]
    assert "no return yet" in row and "£0.00" not in row and "£20,000.00" in row  # the allocation only
    assert "spent (reported by 2 of 3 projects*)" in html
    assert "* No return yet: nothing has been reported, so the spend is not known (it is not £0.00)." in html
    every = render_board_html(sample_board())  # every project reported: no footnote
    assert "No return yet" not in every and "*" not in every.split("<h2>Projects")[0].split("</style>")[1]
