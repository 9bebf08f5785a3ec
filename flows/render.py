"""Human-readable rendering of domain results (rich tables) for the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from grants.money import format_gbp
from grants.status import GrantStatus, ReturnState

STATE_STYLE = {
    ReturnState.not_yet_open: "dim",
    ReturnState.open: "yellow",
    ReturnState.overdue: "bold red",
    ReturnState.rejected: "red",
    ReturnState.accepted: "green",
    ReturnState.accepted_late: "dark_orange",
}


def grant_status(console: Console, g: GrantStatus) -> None:
    """A grant header line, then one row per project with each period's return state."""
    via = f" via {g.intermediary}" if g.intermediary else ""
    console.print(f"[bold]{g.reference}[/bold] {g.name}: {format_gbp(g.amount)} from {g.funder}{via}")
    console.print(
        f"Allocated {format_gbp(g.allocated)} to {len(g.projects)} projects; spend by {g.spend_by:%d %b %Y}; "
        f"as of {g.as_of:%d %b %Y}"
    )
    table = Table(show_lines=False)
    table.add_column("Project")
    table.add_column("Lead organisation")
    table.add_column("Allocation", justify="right")
    periods = g.projects[0].periods if g.projects else []
    for period in periods:
        table.add_column(f"{period.label}\ndue {period.due:%a %d %b %Y}")
    for project in g.projects:
        cells = []
        for period in project.periods:
            style = STATE_STYLE[period.state]
            cells.append(f"[{style}]{period.state.value}[/{style}]")
        table.add_row(project.name, project.lead_organisation, format_gbp(project.allocation), *cells)
    table.add_section()
    table.add_row("Total", "", format_gbp(g.allocated), *["" for _ in periods])
    console.print(table)
