"""Loading grant programmes from config into the database: an idempotent upsert that reports what changed."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from grants.kernel import models as m
from grants.kernel.money import from_pence, to_pence
from grants.programme import config as cfg
from grants.programme.loader import LoadedProgramme
from grants.programme.periods import WorkingCalendar, reporting_periods

T = TypeVar("T", bound=SQLModel)


@dataclass
class Changes:
    """Counts of rows created, updated, unchanged and retired by a load, per table; and, for what an officer would
    name (the grant, its officers, projects, budget lines, targets and profiles), each value before and after."""

    counts: Counter[str] = field(default_factory=Counter)
    grant_id: int | None = None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def changed_field(self, label: str, name: str, old: Any, new: Any) -> None:
        shown = name.removesuffix("_pence").removesuffix("_json")
        self.before[f"{label} {shown}"], self.after[f"{label} {shown}"] = _shown(name, old), _shown(name, new)

    @property
    def new_leads(self) -> list[str]:
        """Codes of the existing projects whose lead's email changed."""
        return sorted(what.split()[1] for what in self.after if what.startswith("project ")
                      and what.endswith(" lead_email") and len(what.split()) == 3)

    def lines(self) -> list[str]:
        """What changed, one line each: 'project evaluation allocation: £25,000.00 -> £15,000.00'."""
        added = sorted(what for what, value in self.after.items() if value == "added")
        return [f"{what}: {'-' if self.before.get(what) is None else self.before[what]} -> {self.after.get(what)}"
                for what in sorted(set(self.before) | set(self.after))
                if not any(what.startswith(f"{parent} ") for parent in added)]  # a new project's lines are new

    def note(self, table: str, change: str) -> None:
        self.counts[f"{table}.{change}"] += 1

    @property
    def changed(self) -> int:
        return sum(n for key, n in self.counts.items() if not key.endswith(".unchanged"))

    @property
    def verdict(self) -> str:
        """'loaded' (all new), 'updated' (some rows changed) or 'no changes'."""
        if not self.changed:
            return "no changes"
        only_created = all(key.endswith((".created", ".unchanged")) for key in self.counts)
        return "loaded" if only_created and not any(k.endswith(".unchanged") for k in self.counts) else "updated"

    def summary(self) -> str:
        totals: Counter[str] = Counter()
        for key, n in self.counts.items():
            totals[key.rsplit(".", 1)[1]] += n
        return ", ".join(f"{totals[k]} {k}" for k in ("created", "updated", "retired", "unchanged") if totals[k])


def _shown(name: str, value: Any) -> Any:
    """A stored value as the grant file has it: pence as pounds, dates as YYYY-MM-DD."""
    if name.endswith("_pence") and isinstance(value, int):
        return f"£{from_pence(value):,.2f}"
    return value.isoformat() if isinstance(value, date) else value


def _upsert(session: Session, model: type[T], key: dict[str, Any], values: dict[str, Any], changes: Changes,
            label: str = "") -> T:
    """Find the row by its natural key; create it, or update only the fields that differ. With a `label` (what an
    officer calls the row), each change is noted with its value before and after."""
    statement = select(model)
    for name, value in key.items():
        statement = statement.where(getattr(model, name) == value)
    row = session.exec(statement).one_or_none()
    table = model.__tablename__
    if row is None:
        row = model(**key, **values)
        session.add(row)
        session.flush()
        changes.note(str(table), "created")
        if label:
            changes.before[label], changes.after[label] = None, "added"
        return row
    differs = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in differs.items():
        if label and name not in ("position", "active"):
            changes.changed_field(label, name, getattr(row, name), value)
        setattr(row, name, value)
    changes.note(str(table), "updated" if differs else "unchanged")
    return row


def _retire(session: Session, rows: list[Any], keep: set[Any], attr: str, changes: Changes, label: str) -> None:
    for row in rows:
        if getattr(row, attr) not in keep and row.active:
            row.active = False
            session.add(row)
            changes.note(row.__tablename__, "retired")
            changes.before[f"{label} {getattr(row, attr)}"] = "in the grant file"
            changes.after[f"{label} {getattr(row, attr)}"] = "retired (removed from the grant file; its records kept)"


RULE_BLOCKS = {"monitoring", "chase"}
"""Per-grant rule blocks of the grant file (RAG thresholds, chase ladder) stored as JSON on the grant row."""


def load_programme(session: Session, loaded: LoadedProgramme) -> Changes:
    """Upsert one grant programme (grant, officers, periods, projects, lines, profiles, targets)."""
    changes = Changes()
    g = loaded.programme.grant
    grant = _upsert(session, m.Grant, {"reference": g.reference}, {
        "name": g.name, "programme": g.programme, "funder": g.funder, "intermediary": g.intermediary,
        "recipient": g.recipient, "amount_pence": to_pence(g.amount), "currency": g.currency,
        "start": g.start, "end": g.end, "spend_by": g.spend_by, "recurring": g.recurring,
        "expected_funds_release": g.expected_funds_release, "conditions_confirmed": g.conditions_confirmed,
        "quarter_basis": g.reporting.quarter_basis, "due_working_days": g.reporting.due_working_days,
        "closure_days": ",".join(d.isoformat() for d in g.reporting.closure_days),
        "rules_json": json.dumps(g.model_dump(mode="json", include=RULE_BLOCKS), sort_keys=True),
        "config_file": str(loaded.file),
        "open_data_json": g.open_data.model_dump_json() if g.open_data else "{}",
    }, changes, "grant")
    assert grant.id is not None
    changes.grant_id = grant.id
    for key, officer in loaded.programme.officers.items():
        _upsert(session, m.Officer, {"grant_id": grant.id, "key": key}, {
            "name": officer.name, "email": str(officer.email), "role": officer.role, "manager_key": officer.manager,
        }, changes, f"officer {key}")
    periods = reporting_periods(
        g.start, g.end, due_working_days=g.reporting.due_working_days, basis=g.reporting.quarter_basis,
        calendar=WorkingCalendar(g.reporting.closure_days),
    )
    for period in periods:
        _upsert(session, m.ReportingPeriod, {"grant_id": grant.id, "label": period.label}, {
            "quarter": period.quarter, "start": period.start, "end": period.end, "due": period.due,
        }, changes)
    existing = list(session.exec(select(m.Project).where(m.Project.grant_id == grant.id)))
    for project in loaded.programme.projects:
        _load_project(session, grant, project, changes)
    _retire(session, existing, {p.code for p in loaded.programme.projects}, "code", changes, "project")
    session.flush()
    return changes


def _load_project(session: Session, grant: m.Grant, p: cfg.Project, changes: Changes) -> None:
    assert grant.id is not None
    row = _upsert(session, m.Project, {"grant_id": grant.id, "code": p.code}, {
        "name": p.name, "description": p.description, "illustrative": p.illustrative,
        "lead_organisation": p.lead.organisation, "lead_name": p.lead.name, "lead_email": str(p.lead.email),
        "officer_key": p.officer, "allocation_pence": to_pence(p.allocation),
        "delivery_start": p.delivery_start or grant.start, "delivery_end": p.delivery_end or grant.end,
        "award_date": p.award_date, "recipient_org_id": p.lead.org_id,
        "active": True,
    }, changes, f"project {p.code}")
    assert row.id is not None
    lines = list(session.exec(select(m.BudgetLine).where(m.BudgetLine.project_id == row.id)))
    for position, line in enumerate(p.budget_lines):
        line_row = _upsert(session, m.BudgetLine, {"project_id": row.id, "key": line.key}, {
            "name": line.name, "cost_type": line.cost_type, "amount_pence": to_pence(line.amount),
            "position": position, "active": True,
        }, changes, f"project {p.code} line {line.key}")
        _load_profile(session, m.BudgetProfile, "budget_line_id", line_row.id, "amount_pence",
                      {label: to_pence(amount) for label, amount in line.profile.items()}, changes,
                      f"project {p.code} line {line.key} profile")
    _retire(session, lines, {line.key for line in p.budget_lines}, "key", changes, f"project {p.code} line")
    targets = list(session.exec(select(m.Target).where(m.Target.project_id == row.id)))
    for position, target in enumerate(p.targets):
        target_row = _upsert(session, m.Target, {"project_id": row.id, "key": target.key}, {
            "kind": target.kind, "name": target.name, "due": target.due, "is_condition": target.condition,
            "unit": target.unit if isinstance(target, cfg.CountTarget) else "",
            "target_value": target.target if isinstance(target, cfg.CountTarget) else 1,
            "is_sustainability": isinstance(target, cfg.MilestoneTarget) and target.sustainability,
            "position": position, "active": True,
        }, changes, f"project {p.code} target {target.key}")
        profile = dict(target.profile) if isinstance(target, cfg.CountTarget) else {}
        _load_profile(session, m.TargetProfile, "target_id", target_row.id, "cumulative_value", profile, changes,
                      f"project {p.code} target {target.key} profile")
    _retire(session, targets, {t.key for t in p.targets}, "key", changes, f"project {p.code} target")


def _load_profile(
    session: Session, model: type[Any], owner: str, owner_id: int | None, value_field: str,
    values: dict[str, int], changes: Changes, label: str,
) -> None:
    """Upsert per-period values; delete periods no longer in config (profiles are plans, not history)."""
    for period, value in values.items():
        _upsert(session, model, {owner: owner_id, "period_label": period}, {value_field: value}, changes,
                f"{label} {period}")
    stale = session.exec(
        select(model).where(getattr(model, owner) == owner_id, col(model.period_label).not_in(list(values)))
    )
    for row in stale:
        session.delete(row)
        changes.note(model.__tablename__, "retired")
        changes.before[f"{label} {row.period_label}"] = _shown(value_field, getattr(row, value_field))
        changes.after[f"{label} {row.period_label}"] = None


def initialise(session: Session, programmes: list[LoadedProgramme]) -> list[tuple[str, Changes]]:
    """Load every programme in one transaction; returns (grant reference, changes) per programme."""
    return [(loaded.programme.grant.reference, load_programme(session, loaded)) for loaded in programmes]
