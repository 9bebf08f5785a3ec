"""The content of a return read from its named cells, and the checks against the project's budget and targets.

`read_content` turns the examined cells into figures (problems for anything unreadable), with the tables' checks of
grants/returns/tables.py (rows added, worked-out cells, totals); `check_content` compares
them with the frame: the period being one the project reports for, spend against each budget line and the
allocation (using the official earlier returns), and milestones marked delivered having a date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from grants.kernel.dates import short_date
from grants.kernel.money import format_gbp, from_pence, to_pence
from grants.returns.frame import ReturnFrame
from grants.returns.layout import SPEND, SignoffNames, milestone_names, output_name, spend_name
from grants.returns.problems import Problem, problem
from grants.returns.reader import Examined
from grants.returns.tables import check_tables
from grants.returns.values import read_field


@dataclass(frozen=True)
class MilestoneAnswer:
    """A milestone as the lead reported it."""

    delivered: bool
    on: date | None
    evidence: str


@dataclass
class ReturnContent:
    """What the lead entered: money in pence, counts, milestones, narrative and sign-off."""

    spend: dict[str, int] = field(default_factory=dict)
    forecast: dict[tuple[str, str], int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    milestones: dict[str, MilestoneAnswer] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    signed_on: date | None = None


def read_content(frame: ReturnFrame, found: Examined) -> tuple[ReturnContent, list[Problem]]:
    """Read every input field of the frame's layout from the examined workbook."""
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for f in frame.fields():
        cell = found.cells.get(f.name)
        if cell is None:
            ref = found.broken_names.get(f.name)
            detail = f" (it now points to {ref})" if ref else ""
            problems.append(problem("missing-defined-name", f"The input cell for {f.label} can no longer be found"
                                    f"{detail}; cells were probably pasted over or deleted. Please copy your "
                                    "answers into a fresh copy of the return we sent.", sheet=f.sheet, field=f.name))
            continue
        if span := found.merged.get(f.name):
            problems.append(problem("merged-cell", f"{f.label} (sheet '{cell.sheet}', cell {cell.cell}) was merged "
                                    f"into cells {span}, so its own figure is lost: select {span}, unmerge it (Home "
                                    "> Merge & Centre) and type each figure in its own cell.", sheet=cell.sheet,
                                    cell=cell.cell, field=f.name))
            continue
        reading = read_field(f, cell)
        if reading.problem is not None:
            problems.append(reading.problem)
        else:
            values[f.name] = reading.value
    content = _assemble(frame, values)
    return content, problems + check_tables(frame, found, content)


def _assemble(frame: ReturnFrame, values: dict[str, object]) -> ReturnContent:
    content = ReturnContent()
    for line in frame.lines:
        if isinstance(amount := values.get(spend_name(line.key)), Decimal):
            content.spend[line.key] = to_pence(amount)
    for f in frame.fields():
        if f.period_label and isinstance(amount := values.get(f.name), Decimal):
            content.forecast[(f.subject, f.period_label)] = to_pence(amount)
    for t in frame.counts:
        if isinstance(count := values.get(output_name(t.key)), int):
            content.outputs[t.key] = count
    for t in frame.milestones:
        delivered, on, evidence = (values.get(n) for n in milestone_names(t.key))
        content.milestones[t.key] = MilestoneAnswer(delivered is True, on if isinstance(on, date) else None,
                                                    evidence if isinstance(evidence, str) else "")
    content.text = {n: v for n in SignoffNames.TEXT if isinstance(v := values.get(n), str)}
    if isinstance(day := values.get(SignoffNames.DATE), date):
        content.signed_on = day
    return content


def check_content(frame: ReturnFrame, content: ReturnContent, found: Examined, received_on: date = date.max
                  ) -> list[Problem]:
    """Problems with the figures against the period (ended by `received_on`, the day the return came in), the
    budget lines, the allocation, the milestones and the dates given."""
    problems = _dates(frame, content, found, received_on)
    if not frame.reports_for_period:
        problems.append(problem("period-not-reported", f"{frame.project.name} does not report for "
                                f"{frame.period.label} (delivery {frame.project.delivery_start:%d/%m/%Y} to "
                                f"{frame.project.delivery_end:%d/%m/%Y}); no return is due for it."))
    total = 0
    for line in frame.lines:
        spent = content.spend.get(line.key, 0)
        to_date = line.spent_before_pence + spent
        total += to_date
        cell = found.cells.get(spend_name(line.key))
        where = {"sheet": SPEND, "cell": cell.cell if cell else "", "field": spend_name(line.key)}
        if spent > line.budget_pence:
            problems.append(problem("spend-over-budget-line", f"Spend this quarter on '{line.name}' in cell "
                                    f"{where['cell']} is {format_gbp(from_pence(spent))}, more than the whole "
                                    f"budget line ({format_gbp(from_pence(line.budget_pence))}); check the figure "
                                    "(pounds, not pence?).", **where))
        elif to_date > line.budget_pence:
            problems.append(problem("cumulative-over-budget-line", f"Spend to date on '{line.name}' is "
                                    f"{format_gbp(from_pence(to_date))}, over its budget of "
                                    f"{format_gbp(from_pence(line.budget_pence))}; your officer will be in touch "
                                    "about a virement.", **where))
    if total > frame.project.allocation_pence:
        problems.append(problem("cumulative-over-allocation", f"Spend to date across all lines is "
                                f"{format_gbp(from_pence(total))}, more than the allocation of "
                                f"{format_gbp(from_pence(frame.project.allocation_pence))}.", sheet=SPEND))
    problems += _milestones(frame, content, found)
    return problems


def _milestones(frame: ReturnFrame, content: ReturnContent, found: Examined) -> list[Problem]:
    problems = []
    for t in frame.milestones:
        answer = content.milestones.get(t.key)
        delivered_name, date_name, _ = milestone_names(t.key)
        cell = found.cells.get(date_name)
        if answer is not None and answer.delivered and answer.on is None and delivered_name in found.cells:
            problems.append(problem("milestone-date-missing", f"'{t.name}' is marked delivered but has no date in "
                                    f"cell {cell.cell if cell else ''}; enter the date it was delivered.",
                                    sheet=cell.sheet if cell else "", cell=cell.cell if cell else "",
                                    field=date_name))
    return problems


def _dates(frame: ReturnFrame, content: ReturnContent, found: Examined, received_on: date) -> list[Problem]:
    """The quarter must have ended by the day the return came in; no date given may be later than that day."""
    problems = []
    if received_on != date.max and received_on <= frame.period.end:
        problems.append(problem("quarter-not-ended", f"This return is for {frame.period.label}: this quarter ends on "
                                f"{short_date(frame.period.end)}: send the return after that."))
    dated = [(SignoffNames.DATE, "The sign-off date", content.signed_on)]
    dated += [(milestone_names(t.key)[1], f"The date '{t.name}' was delivered", a.on)
              for t in frame.milestones if (a := content.milestones.get(t.key)) is not None and a.delivered]
    for name, label, day in dated:
        if day is not None and received_on != date.max and day > received_on:
            cell = found.cells.get(name)
            problems.append(problem("date-in-future", f"{label} (sheet '{cell.sheet if cell else ''}', cell "
                                    f"{cell.cell if cell else ''}) is {day:%d/%m/%Y}, after the day this return was "
                                    f"received ({received_on:%d/%m/%Y}): enter the date it really happened.",
                                    sheet=cell.sheet if cell else "", cell=cell.cell if cell else "", field=name))
    return problems
