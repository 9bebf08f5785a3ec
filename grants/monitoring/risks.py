"""The risk register: findings from the checks become Risk rows that open, update and close themselves.

A risk's `key` (kind, grant, project, detail) identifies it across runs. A run updates score, evidence and last
seen; a risk no longer found closes (one that a wider risk now covers, e.g. a project's late funds by the grant's late
release, closes saying so); a closed risk found again reopens as a new episode (first seen that day).
Owner and mitigation belong to officers and are never touched by a run. A rerun for the same date changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.programme.thresholds import MonitoringRules, risk_rag

KINDS = (
    "late-funds-release",
    "late-return",
    "rejected-return",
    "forecast-underspend",
    "overspend",
    "behind-trajectory",
    "milestone-overdue",
    "no-sustainability-plan",
    "funding-ends-soon",
)
MANUAL = "manual"  # a risk an officer added by hand: never closed or changed by a run


@dataclass(frozen=True)
class Finding:
    """A risk the checks found on a date, scored."""

    key: str
    kind: str
    grant_id: int
    project_id: int | None
    title: str
    likelihood: int
    impact: int
    evidence: str
    covers: tuple[str, ...] = ()
    """Keys of risks this one now stands for (the same cause found at a wider scope): open ones close into it."""

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


def risk_key(kind: str, grant_reference: str, project_code: str | None = None, detail: str | None = None) -> str:
    """e.g. 'behind-trajectory:SVD-2024-25:active-bystander:people_trained'."""
    return ":".join(part for part in (kind, grant_reference, project_code, detail) if part)


@dataclass(frozen=True)
class RiskChange:
    """What a run did to one register row: opened, updated, reopened or closed (unchanged rows are not listed)."""

    risk_id: int
    key: str
    kind: str
    change: str
    old_rag: str | None
    new_rag: str
    old_score: int | None
    new_score: int
    evidence: str

    @property
    def escalated(self) -> bool:
        """Now red and was not, or the score rose by 4 or more: worth an alert to officers."""
        if self.change == "closed":
            return False
        was_red = self.old_rag == m.RAG.red and self.change != "reopened"
        return (self.new_rag == m.RAG.red and not was_red) or (
            self.old_score is not None and self.new_score - self.old_score >= 4
        )


def _values(f: Finding, rules: MonitoringRules) -> dict[str, Any]:
    return {
        "title": f.title,
        "likelihood": f.likelihood,
        "impact": f.impact,
        "score": f.score,
        "rag": str(risk_rag(f.score, rules)),
        "evidence": f.evidence,
        "status": "open",
        "closed_on": None,
    }


COMPARED = ("title", "likelihood", "impact", "score", "rag", "evidence", "status", "closed_on", "last_seen")


def _existing(session: Session, grant_ids: list[int]) -> dict[str, dict[str, Any]]:
    """The register rows of these grants as plain dicts (cheap to load and compare at scale)."""
    columns = [col(getattr(m.Risk, name)) for name in ("id", "key", "grant_id", "kind", *COMPARED)]
    statement = select(*columns).where(col(m.Risk.kind) != MANUAL)  # officers open and close manual risks
    if len(grant_ids) < 500:
        statement = statement.where(col(m.Risk.grant_id).in_(grant_ids))
    wanted = set(grant_ids)
    names = ("id", "key", "grant_id", "kind", *COMPARED)
    return {row[1]: dict(zip(names, row, strict=True)) for row in session.execute(statement) if row[2] in wanted}


def sync_register(
    session: Session, findings: list[Finding], grant_ids: list[int], as_of: date, rules: dict[int, MonitoringRules]
) -> list[RiskChange]:
    """Bring the register for these grants in line with the findings on `as_of`; returns what changed."""
    existing = _existing(session, grant_ids)
    changes: list[RiskChange] = []
    updates: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for f in findings:
        values = _values(f, rules[f.grant_id])
        row = existing.pop(f.key, None)
        if row is None:
            new.append({"key": f.key, "grant_id": f.grant_id, "project_id": f.project_id, "kind": f.kind,
                        "first_seen": as_of, "last_seen": as_of, **values})
            continue
        values["last_seen"] = max(row["last_seen"], as_of)
        if any(row[k] != v for k, v in values.items()):
            change = "reopened" if row["status"] != "open" else "updated"
            reopened = {"first_seen": as_of} if change == "reopened" else {}  # a new episode (alerts key on it)
            updates.append({"id": row["id"], **values, **reopened})
            changes.append(RiskChange(row["id"], f.key, f.kind, change, row["rag"], values["rag"], row["score"],
                                      f.score, f.evidence))
    covered = {key: f for f in findings for key in f.covers}
    for key, row in existing.items():  # open risks no longer found close themselves
        if row["status"] == "open":
            evidence = closed_into(covered[key], row["evidence"]) if key in covered else row["evidence"]
            updates.append({"id": row["id"], "status": "closed", "closed_on": as_of,
                            "last_seen": max(row["last_seen"], as_of), "evidence": evidence})
            changes.append(RiskChange(row["id"], key, row["kind"], "closed", row["rag"], row["rag"], row["score"],
                                      row["score"], evidence))
    if updates:
        session.execute(update(m.Risk), updates)  # bulk update by primary key
    changes += _insert(session, new, as_of)
    _record_history(session, changes, as_of)
    return changes


def closed_into(wider: Finding, evidence: str) -> str:
    """The evidence a risk closes with when a wider risk now stands for it: why, and what it said last."""
    scope = "grant" if wider.project_id is None else "project"
    return (f"Closed: now covered by the {scope} risk \"{wider.title}\", which has the same cause. "
            f"Last evidence: {evidence}")


HISTORY = ("opened", "reopened", "closed")


def _record_history(session: Session, changes: list[RiskChange], as_of: date) -> None:
    """Keep the history a past board pack needs: every opening, reopening and closing, and every change of RAG or
    score (not the daily last-seen updates)."""
    rows = [{"risk_id": c.risk_id, "day": as_of, "change": c.change, "rag": c.new_rag, "score": c.new_score,
             "evidence": c.evidence} for c in changes
            if c.change in HISTORY or c.old_rag != c.new_rag or c.old_score != c.new_score]
    if rows:
        session.connection().execute(insert(m.RiskEvent), rows)


def episode_starts(session: Session, as_of: date, risk_ids: list[int]) -> dict[int, date | None]:
    """{risk id: the day its episode open on `as_of` began, from the history (None: it was closed on `as_of`)}.
    Risks with no history by then are left out."""
    events = session.exec(select(m.RiskEvent).where(col(m.RiskEvent.risk_id).in_(risk_ids), m.RiskEvent.day <= as_of)
                          .order_by(col(m.RiskEvent.day), col(m.RiskEvent.id)))
    out: dict[int, date | None] = {}
    for event in events:
        if event.change == "closed":
            out[event.risk_id] = None
        elif event.change in ("opened", "reopened"):
            out[event.risk_id] = event.day
    return out


def _insert(session: Session, new: list[dict[str, Any]], as_of: date) -> list[RiskChange]:
    """Bulk-insert newly found risks (a first run can open thousands) and report them as opened."""
    if not new:
        return []
    session.connection().execute(insert(m.Risk), new)  # Core: one statement (ORM bulk splits it at every None)
    keys = {row["key"] for row in new}
    ids = {key: risk_id for risk_id, key in session.exec(
        select(m.Risk.id, m.Risk.key).where(m.Risk.first_seen == as_of)) if key in keys}
    return [RiskChange(ids[r["key"]] or 0, r["key"], r["kind"], "opened", None, r["rag"], None, r["score"],
                       r["evidence"]) for r in new]


@dataclass(frozen=True)
class RegisterRow:
    """A register row as officers read it."""

    id: int
    key: str
    grant: str
    project: str | None
    kind: str
    title: str
    likelihood: int
    impact: int
    score: int
    rag: str
    status: str
    owner: str
    mitigation: str
    evidence: str
    first_seen: date
    last_seen: date
    closed_on: date | None

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def risk_register(
    session: Session, grant_reference: str | None = None, *, include_closed: bool = False
) -> list[RegisterRow]:
    """The register, highest score first (open risks only unless `include_closed`)."""
    statement = (
        select(m.Risk, m.Grant.reference, m.Project.code)
        .join(m.Grant, col(m.Risk.grant_id) == col(m.Grant.id))
        .outerjoin(m.Project, col(m.Risk.project_id) == col(m.Project.id))
    )
    if grant_reference is not None:
        statement = statement.where(col(m.Grant.reference) == grant_reference)
    if not include_closed:
        statement = statement.where(col(m.Risk.status) == "open")
    rows = session.exec(statement.order_by(col(m.Risk.score).desc(), col(m.Risk.key))).all()
    return [
        RegisterRow(
            r.id or 0,
            r.key,
            ref,
            code,
            r.kind,
            r.title,
            r.likelihood,
            r.impact,
            r.score,
            r.rag,
            r.status,
            r.owner,
            r.mitigation,
            r.evidence,
            r.first_seen,
            r.last_seen,
            r.closed_on,
        )
        for r, ref, code in rows
    ]


def update_risk(
    session: Session, risk_id: int, *, actor: str, now: datetime, mitigation: str | None = None,
    owner: str | None = None, notes: str | None = None,
) -> m.Risk:
    """Set an officer's owner, mitigation and/or notes on a risk (kept across runs); audited."""
    if mitigation is None and owner is None and notes is None:
        raise GrantsError("nothing to update: give --mitigation, --owner and/or --notes")
    row = session.get(m.Risk, risk_id)
    if row is None:
        raise NotFoundError(f"no risk with id {risk_id} (see `grants risks`)")
    wanted = {"owner": owner, "mitigation": mitigation, "notes": notes}
    changed = {k: v.strip() for k, v in wanted.items() if v is not None and v.strip() != getattr(row, k)}
    if not changed:
        return row
    before = {k: getattr(row, k) for k in changed}
    for name, value in changed.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="risk.update", at=now, subject=f"risk {row.id}: {row.title}",
                 before=before, after=changed, grant_id=row.grant_id, project_id=row.project_id)
    return row
