"""Human-readable rendering of domain results (rich tables) for the CLI."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from grants.kernel.dates import long_date, short_date, tight_date
from grants.kernel.money import format_gbp
from grants.monitoring.assessment import CheckRun
from grants.monitoring.risks import RegisterRow
from grants.programme.status import GrantStatus, RagSummary, ReturnState

STATE_STYLE = {
    ReturnState.not_yet_open: "dim",
    ReturnState.not_reported: "dim",
    ReturnState.open: "yellow",
    ReturnState.overdue: "bold red",
    ReturnState.rejected: "red",
    ReturnState.accepted: "green",
    ReturnState.accepted_late: "dark_orange",
}


WIDE = 150
"""Below this many columns `grants status` drops the lead organisation and shortens the quarter headings (Q1, 12 Jul)
so that every column fits and money is never cut."""


def grant_status(console: Console, g: GrantStatus) -> None:
    """A grant header line, then one row per project with each period's return state (fitted to the console)."""
    via = f" via {g.intermediary}" if g.intermediary else ""
    console.print(f"[bold]{g.reference}[/bold] {g.name}: {format_gbp(g.amount)} from {g.funder}{via}")
    console.print(
        f"Allocated {format_gbp(g.allocated)} to {len(g.projects)} projects; spend by {short_date(g.spend_by)}; "
        f"as of {short_date(g.as_of)}"
    )
    wide = console.width >= WIDE
    table = Table(show_lines=False)
    table.add_column("Project", ratio=2, min_width=14)
    if wide:
        table.add_column("Lead organisation", ratio=1)
    money = max([len(format_gbp(p.allocation)) for p in g.projects] + [len(format_gbp(g.allocated))])
    table.add_column("Allocation", justify="right", no_wrap=True, min_width=money)  # money is never cut
    periods = g.projects[0].periods if g.projects else []
    for period in periods:
        heading = (f"{period.label}\ndue {long_date(period.due)}" if wide
                   else f"{period.label[-2:]}\n{tight_date(period.due)}")
        table.add_column(heading, min_width=8)
    rated = any(p.rag for p in g.projects)
    if rated:
        for heading in ("Spend", "Outputs", "Overall") if wide else ("Overall",):
            table.add_column(heading, no_wrap=True)
    for project in g.projects:
        cells = []
        for period in project.periods:
            style = STATE_STYLE[period.state]
            cells.append(f"[{style}]{period.state.value}[/{style}]")
        table.add_row(project.name, *([project.lead_organisation] if wide else []), format_gbp(project.allocation),
                      *cells, *(_rag_cells(project.rag, wide) if rated else []))
    table.add_section()
    table.add_row("Total", *([""] if wide else []), format_gbp(g.allocated), *["" for _ in periods],
                  *(_rag_cells(g.rag, wide) if rated else []))
    console.print(table)
    if rated:
        for name, rag in [(p.name, p.rag) for p in g.projects] + [("Grant", g.rag)]:
            if rag is not None:
                console.print(f"{_rag(rag.overall)} {name}: {rag.reasons.get('overall', '')}", highlight=False)


RAG_STYLE = {"red": "bold red", "amber": "dark_orange", "green": "green", "no data yet": "grey50"}


def _rag(value: str) -> str:
    style = RAG_STYLE.get(value, "")
    return f"[{style}]{value.upper()}[/{style}]" if style else value


def _rag_cells(rag: RagSummary | None, wide: bool = True) -> list[str]:
    """Spend, outputs and overall RAG; only the overall one on a narrow console (the reasons follow the table)."""
    if rag is None:
        return ["", "", ""] if wide else [""]
    return [_rag(rag.spend), _rag(rag.outputs), _rag(rag.overall)] if wide else [_rag(rag.overall)]


def check_run(console: Console, run: CheckRun) -> None:
    """Each rating with its reasons, then what changed in the risk register."""
    console.print(f"Checks as of {short_date(run.as_of)}: {len(run.ratings)} assessments "
                  f"({run.assessments_written} written), {len(run.risk_changes)} risk changes")
    for r in run.ratings:
        label = r.name if r.project_id is not None else f"GRANT {r.name}"
        console.print(f"{_rag(str(r.overall_rag))} {label}", highlight=False)
        for part in ("spend", "outputs", "milestones", "returns", "funds"):
            if part in r.reasons:
                console.print(f"    {part}: {r.reasons[part]}", highlight=False)
    for c in run.risk_changes:
        console.print(f"risk {c.change}: {c.key} -> {_rag(c.new_rag)} ({c.new_score})"
                      + (" [bold]ESCALATED[/bold]" if c.escalated else ""), highlight=False)


def check_json(run: CheckRun) -> dict[str, Any]:
    """The run as plain JSON-ready data."""
    return {
        "as_of": run.as_of.isoformat(), "assessments_written": run.assessments_written,
        "ratings": [{"grant_id": r.grant_id, "project_id": r.project_id, "name": r.name, "spend": str(r.spend_rag),
                     "outputs": str(r.outputs_rag), "overall": str(r.overall_rag), "reasons": r.reasons}
                    for r in run.ratings],
        "risk_changes": [c.__dict__ | {"escalated": c.escalated} for c in run.risk_changes],
    }


def risk_register(console: Console, rows: list[RegisterRow]) -> None:
    """The register as a table, highest score first."""
    if not rows:
        console.print("No risks on the register.")
        return
    table = Table(show_lines=True)
    for heading in ("ID", "Risk", "L x I", "RAG", "Status", "Owner / mitigation", "Evidence", "Seen"):
        table.add_column(heading)
    for r in rows:
        scope = f"{r.grant} {r.project}" if r.project else r.grant
        table.add_row(str(r.id), f"{r.title}\n[dim]{r.kind} · {scope}[/dim]",
                      f"{r.likelihood} x {r.impact} = {r.score}", _rag(r.rag), r.status,
                      f"{r.owner or '-'}\n{r.mitigation or '-'}", r.evidence,
                      f"{short_date(r.first_seen)} to {short_date(r.last_seen)}")
    console.print(table)
