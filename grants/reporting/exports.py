"""Officer exports as CSV and .xlsx: status, risks, the returns log, payments (and releases) and the audit log.

Text typed by officers or leads is data, never a formula: a CSV cell starting with = + - @ tab or CR gets a leading
apostrophe, and in a workbook such a cell is written as a text cell (shown exactly as typed, never evaluated).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError
from grants.kernel.money import from_pence
from grants.monitoring.risks import risk_register
from grants.programme.status import grant_status, received_on
from grants.reporting.money_log import recorders

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """One export: a name, its column headers and rows of plain values (str, int, Decimal, date, None)."""

    name: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def neutralise(value: Any) -> Any:
    """A text value that a spreadsheet would read as a formula, made plain text for CSV (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    """The table as CSV text (UTF-8, header row first), every text cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):  # the form Excel reads as a date and time (not ISO's "T", not microseconds)
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else neutralise(value)


def to_xlsx(table: Table) -> bytes:
    """The table as a one-sheet workbook; text cells are always text, money and dates typed."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.name[:31]
    sheet.append(list(table.headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value.replace(tzinfo=None) if isinstance(value, datetime) else value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, Decimal):
                cell.number_format = '"£"#,##0.00'
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def status_table(session: Session, as_of: date) -> Table:
    """Every project's quarters: due date (with extensions), the return's state, when received, and its RAG."""
    rows = [(g.reference, p.code, p.name, p.lead_organisation, q.label, q.due, q.state.value, q.received_on,
             q.versions, p.rag.overall if p.rag else "")
            for g in grant_status(session, as_of) for p in g.projects for q in p.periods]
    return Table("status", ("grant", "project", "name", "lead organisation", "quarter", "due", "state",
                            "received on", "versions", "overall RAG"), rows)


def risks_table(session: Session, as_of: date) -> Table:
    """The risk register, open and closed, highest score first."""
    del as_of
    notes = dict(session.exec(select(m.Risk.id, m.Risk.notes)).all())
    rows = [(r.id, r.grant, r.project or "", r.kind, r.title, r.likelihood, r.impact, r.score, r.rag, r.status,
             r.owner, r.mitigation, notes.get(r.id, ""), r.first_seen, r.last_seen, r.closed_on)
            for r in risk_register(session, include_closed=True)]
    return Table("risks", ("id", "grant", "project", "kind", "title", "likelihood", "impact", "score", "RAG",
                           "status", "owner", "mitigation", "notes", "first seen", "last seen", "closed on"), rows)


def returns_table(session: Session, as_of: date) -> Table:
    """Every return file received by `as_of`: project, quarter, version, status, when, file name, problems."""
    statement = (select(m.Return, m.Project.code, m.ReportingPeriod.label, m.Grant.reference)
                 .join(m.Project, col(m.Project.id) == col(m.Return.project_id))
                 .join(m.ReportingPeriod, col(m.ReportingPeriod.id) == col(m.Return.period_id))
                 .join(m.Grant, col(m.Grant.id) == col(m.Project.grant_id))
                 .order_by(col(m.Return.received_at), col(m.Return.id)))
    rows = [(ref, code, label, r.version, r.status, received_on(r.received_at), r.source_name, r.sha256,
             len(json.loads(r.problems_json or "[]")))
            for r, code, label, ref in session.exec(statement) if received_on(r.received_at) <= as_of]
    return Table("returns", ("grant", "project", "quarter", "version", "status", "received on", "file", "sha256",
                             "problems"), rows)


def payments_table(session: Session, as_of: date) -> Table:
    """Funds received for each grant and payments made to each project, by date, with who recorded each and when."""
    releases = session.exec(select(m.FundsRelease, m.Grant.reference).join(
        m.Grant, col(m.Grant.id) == col(m.FundsRelease.grant_id)))
    payments = session.exec(select(m.Payment, m.Project.code, m.Grant.reference)
                            .join(m.Project, col(m.Project.id) == col(m.Payment.project_id))
                            .join(m.Grant, col(m.Grant.id) == col(m.Project.grant_id)))
    who = recorders(session)

    def by(kind: str, owner: int, pence: int, day: date, ref: str) -> str:
        return who.get((kind, owner, f"{from_pence(pence):.2f}", day.isoformat(), ref), "")
    rows = [("funds received", ref, "", from_pence(r.amount_pence), r.received_on, r.note, r.recorded_at,
             by("release", r.grant_id, r.amount_pence, r.received_on, r.note))
            for r, ref in releases if r.received_on <= as_of]
    rows += [("payment to project", ref, code, from_pence(p.amount_pence), p.paid_on, p.reference, p.recorded_at,
              by("payment", p.project_id, p.amount_pence, p.paid_on, p.reference))
             for p, code, ref in payments if p.paid_on <= as_of]
    rows.sort(key=lambda row: (row[4], row[0], row[2]))
    return Table("payments", ("kind", "grant", "project", "amount", "date", "reference or note", "recorded at",
                              "recorded by"), rows)


def audit_table(session: Session, as_of: date) -> Table:
    """The audit log, oldest first."""
    del as_of
    def plain(values: dict[str, object]) -> str:  # as typed: Zoë, not Zo\u00eb
        return json.dumps(values, sort_keys=True, ensure_ascii=False)

    rows = [(e.id, e.at, e.actor, e.action, e.subject, plain(e.before), plain(e.after), e.reason)
            for e in reversed(audit.entries(session))]
    return Table("audit", ("id", "at", "actor", "action", "subject", "before", "after", "reason"), rows)


TABLES: dict[str, Callable[[Session, date], Table]] = {
    "status": status_table, "risks": risks_table, "returns": returns_table, "payments": payments_table,
    "audit": audit_table,
}


def export_table(session: Session, name: str, as_of: date) -> Table:
    """The named export, or GrantsError listing the names."""
    if name not in TABLES:
        raise GrantsError(f"no export '{name}' (choose from {', '.join(TABLES)})")
    return TABLES[name](session, as_of)


def render_table(table: Table, fmt: str) -> tuple[bytes, str]:
    """(file bytes, media type) for 'csv' or 'xlsx'."""
    if fmt == "csv":
        return to_csv(table).encode("utf-8"), "text/csv; charset=utf-8"
    if fmt == "xlsx":
        return to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raise GrantsError(f"format must be csv or xlsx (got '{fmt}')")


