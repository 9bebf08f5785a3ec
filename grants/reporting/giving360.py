"""Open data: the grants made to projects, in the 360Giving Data Standard (JSON package and CSV flat form).

Amounts awarded are the project allocations; amounts disbursed are the payments recorded up to `as_of`. Every grant
record is checked for the standard's required fields before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.kernel.money import from_pence
from grants.kernel.text import cell_text

REQUIRED = ("id", "title", "description", "currency", "amountAwarded", "awardDate", "recipientOrganization",
            "fundingOrganization")
CSV_COLUMNS = {
    "Identifier": ("id",), "Title": ("title",), "Description": ("description",), "Currency": ("currency",),
    "Amount Awarded": ("amountAwarded",), "Amount Disbursed": ("amountDisbursed",), "Award Date": ("awardDate",),
    "Planned Dates:Start Date": ("plannedDates", "startDate"), "Planned Dates:End Date": ("plannedDates", "endDate"),
    "Recipient Org:Identifier": ("recipientOrganization", "id"),
    "Recipient Org:Name": ("recipientOrganization", "name"),
    "Funding Org:Identifier": ("fundingOrganization", "id"), "Funding Org:Name": ("fundingOrganization", "name"),
    "Grant Programme:Code": ("grantProgramme", "code"), "Grant Programme:Title": ("grantProgramme", "title"),
    "Last modified": ("dateModified",),
}


@dataclass(frozen=True)
class GivingProblem:
    """A grant record that can't be published: which project, which field, and what to do."""

    project: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"project '{self.project}': {self.field}: {self.message}"



def organisation_slug(name: str) -> str:
    """An organisation's name as an identifier part ('Zoë's Café & Co.' -> 'zoe-s-cafe-co'): one organisation leading
    two projects is one recipient in the open data, not two."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "unnamed"

def _number(amount: Decimal) -> int | float:
    """JSON number for pounds: whole pounds as an int, otherwise exact to the penny."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _record(grant: m.Grant, project: m.Project, payments: list[m.Payment], opts: dict[str, Any],
            modified: str) -> dict[str, Any]:
    prefix = opts["prefix"]
    award = project.award_date or (date.fromisoformat(opts["award_date"]) if opts.get("award_date") else None)
    record: dict[str, Any] = {
        "id": f"{prefix}-{grant.reference}-{project.code}",
        "title": project.name,
        "description": project.description,
        "currency": grant.currency,
        "amountAwarded": _number(from_pence(project.allocation_pence)),
        "amountDisbursed": _number(from_pence(sum(p.amount_pence for p in payments))),
        "awardDate": award.isoformat() if award else "",
        "plannedDates": [
            {"startDate": project.delivery_start.isoformat(), "endDate": project.delivery_end.isoformat()}
        ],
        "recipientOrganization": [{
            "id": project.recipient_org_id or f"{prefix}-ORG-{organisation_slug(project.lead_organisation)}",
            "name": project.lead_organisation,
        }],
        "fundingOrganization": [{"id": opts["funder_org_id"], "name": grant.recipient}],
        "grantProgramme": [{"code": grant.reference, "title": grant.name}],
        "disbursementTransaction": [
            {"id": f"{prefix}-{grant.reference}-{project.code}-payment-{p.id}",
             "transactionDate": p.paid_on.isoformat(), "currency": grant.currency,
             "value": _number(from_pence(p.amount_pence))}
            for p in payments
        ],
        "dateModified": modified,
    }
    return record


def missing_fields(record: dict[str, Any]) -> list[str]:
    """The standard's required fields that are absent or empty (organisations need both id and name)."""
    missing = [f for f in REQUIRED if record.get(f) in (None, "", [])]
    for org in ("recipientOrganization", "fundingOrganization"):
        for entry in record.get(org) or []:
            missing += [f"{org}.{k}" for k in ("id", "name") if not entry.get(k)]
    return missing


def build_package(session: Session, reference: str, as_of: date, modified: datetime) -> dict[str, Any]:
    """The 360Giving JSON package for one grant's projects; raises GrantsError listing every unpublishable field."""
    grant = session.exec(select(m.Grant).where(m.Grant.reference == reference)).one_or_none()
    if grant is None:
        raise NotFoundError(f"no grant with reference '{reference}'; run `grants init` or check --grant")
    opts = json.loads(grant.open_data_json or "{}")
    if not opts.get("prefix") or not opts.get("funder_org_id"):
        raise GrantsError(f"grant '{reference}' has no open_data block (prefix, funder_org_id) in its config file")
    projects = session.exec(select(m.Project).where(m.Project.grant_id == grant.id, col(m.Project.active).is_(True))
                            .order_by(col(m.Project.id)))
    stamp = modified.isoformat(timespec="seconds")
    records, problems = [], []
    for project in projects:
        payments = list(session.exec(
            select(m.Payment).where(m.Payment.project_id == project.id, m.Payment.paid_on <= as_of)
            .order_by(col(m.Payment.paid_on))
        ))
        record = _record(grant, project, payments, opts, stamp)
        problems += [GivingProblem(project.code, f, "required by the 360Giving standard but empty")
                     for f in missing_fields(record)]
        records.append(record)
    if problems:
        raise GrantsError(f"cannot publish {len(problems)} field(s): " + "; ".join(map(str, problems)))
    return {"grants": records, "version": "1.3", "title": f"{grant.name}: grants to projects",
            "issued": as_of.isoformat(), "modified": stamp, "publisher": {"name": grant.recipient,
                                                                           "identifier": opts["funder_org_id"]}}


def to_csv(package: dict[str, Any]) -> str:
    """The flat (one row per grant) CSV form, with the standard's column titles; text never starts a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in package["grants"]:
        row = []
        for path in CSV_COLUMNS.values():
            value: Any = record.get(path[0], "")
            if len(path) == 2:
                value = (value[0] if value else {}).get(path[1], "")
            row.append(cell_text(value))
        writer.writerow(row)
    return buffer.getvalue()
