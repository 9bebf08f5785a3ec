"""The board workbook's native charts: cumulative spend against profile (grey dashed profile, navy actual: no
red unless something is wrong) and outputs as a % of each target, so a target of 2 schools reads as clearly as
one of 500 people. Axes are drawn explicitly (openpyxl hides them by default for some readers)."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.axis import ChartLines
from openpyxl.chart.legend import Legend
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.worksheet.worksheet import Worksheet

NAVY, GREY, LIGHT = "1F4E78", "7F7F7F", "BFBFBF"


def _axes(chart: LineChart | BarChart, number_format: str, title: str) -> None:
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.numFmt = number_format
    chart.y_axis.number_format = number_format
    chart.y_axis.majorGridlines = ChartLines()
    chart.y_axis.title = title
    chart.legend = Legend()
    chart.legend.position = "b"


def spend_chart(ws: Worksheet, header_row: int, last_row: int, anchor: str) -> LineChart:
    """Cumulative profile (column B) and actual (column C) by quarter (column A), £ on the vertical axis."""
    chart = LineChart()
    chart.title = "Spend against profile (cumulative)"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=header_row, max_row=last_row), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row))
    profile, actual = chart.series
    profile.graphicalProperties.line = LineProperties(solidFill=GREY, prstDash="dash", w=22000)
    actual.graphicalProperties.line = LineProperties(solidFill=NAVY, w=28000)
    actual.marker.symbol = "circle"
    actual.marker.graphicalProperties = GraphicalProperties(solidFill=NAVY)
    actual.smooth = profile.smooth = False
    _axes(chart, '"£"#,##0', "£ (cumulative)")
    chart.y_axis.scaling.min = 0
    chart.height, chart.width = 7.5, 16
    ws.add_chart(chart, anchor)
    return chart


def outputs_chart(ws: Worksheet, header_row: int, last_row: int, anchor: str, top: float) -> BarChart:
    """One pair of bars per count target (labels in column A): profiled by now and achieved, each as a share of the
    target (columns C and D), on one 0%-`top` axis where 100% is the target met."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "clustered", 0
    chart.title = "Outputs as % of target (100% = target met)"
    chart.add_data(Reference(ws, min_col=3, max_col=4, min_row=header_row, max_row=last_row), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row))
    profiled, achieved = chart.series
    profiled.graphicalProperties = GraphicalProperties(solidFill=LIGHT)
    achieved.graphicalProperties = GraphicalProperties(solidFill=NAVY)
    _axes(chart, "0%", "% of target")
    chart.y_axis.scaling.min, chart.y_axis.scaling.max, chart.y_axis.majorUnit = 0, top, 0.25
    chart.x_axis.scaling.orientation = "maxMin"  # first target at the top, as in the table
    chart.y_axis.crosses = "max"  # keep the % axis at the bottom once the categories run top-down
    rows = last_row - header_row
    chart.height, chart.width = min(3.5 + rows * 1.0, 17.0), 24
    ws.add_chart(chart, anchor)
    return chart
