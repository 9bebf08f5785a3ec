"""Test data builders: the example programme in a database, and returns inserted as ingestion would store them."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from grants.kernel import models as m
from grants.kernel.db import create_schema, session_scope
from grants.programme.loader import load_programmes
from grants.programme.register import initialise
from tests import db_templates
from tests.conftest import EXAMPLE_CONFIG


def load_example(engine: Engine) -> None:
    """Load the shipped example programme (SVD-2024-25, eight projects). Into an empty database at head (SQLite, or
    a PostgreSQL test database) this copies the database the loader built once in this process
    (tests/db_templates.py)."""
    if engine.dialect.name == "sqlite" and db_templates.fresh_at_head(engine):
        db_templates.restore_into(engine, "example", _build_example)
        return
    if engine.dialect.name == "postgresql" and db_templates.fresh_at_head(engine) and \
            db_templates.restore_postgres(engine, "example", _build_example):
        return
    with session_scope(engine) as session:
        initialise(session, load_programmes(EXAMPLE_CONFIG))


def _build_example(engine: Engine) -> None:
    create_schema(engine)
    with session_scope(engine) as session:
        initialise(session, load_programmes(EXAMPLE_CONFIG))


def project(session: Session, code: str) -> m.Project:
    return session.exec(select(m.Project).where(m.Project.code == code)).one()


def period(session: Session, label: str) -> m.ReportingPeriod:
    return session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.label == label)).one()


def add_return(
    session: Session,
    project_code: str,
    period_label: str,
    *,
    received: date,
    status: m.ReturnStatus = m.ReturnStatus.accepted,
    spend: dict[str, int] | None = None,
    forecast: dict[tuple[str, str], int] | None = None,
    outputs: dict[str, int] | None = None,
    milestones: dict[str, date | None] | None = None,
    problems_json: str = "[]",
) -> m.Return:
    """Insert a return as ingestion stores it. Money in pence; `milestones` maps key -> delivered date (or None).

    An accepted return supersedes the project's earlier accepted return for the same period.
    """
    proj, per = project(session, project_code), period(session, period_label)
    assert proj.id is not None and per.id is not None
    version = 1 + session.exec(
        select(func.count()).select_from(m.Return).where(m.Return.project_id == proj.id, m.Return.period_id == per.id)
    ).one()
    if status == m.ReturnStatus.accepted:
        for earlier in session.exec(select(m.Return).where(
            m.Return.project_id == proj.id, m.Return.period_id == per.id, m.Return.status == m.ReturnStatus.accepted
        )):
            earlier.status = m.ReturnStatus.superseded
            session.add(earlier)
    ret = m.Return(
        project_id=proj.id, period_id=per.id, version=version, status=status,
        received_at=datetime.combine(received, time(10, 0), tzinfo=UTC),
        source_name=f"{project_code}-{period_label}-v{version}.xlsx",
        sha256=hashlib.sha256(f"{project_code}{period_label}{version}".encode()).hexdigest(),
        problems_json=problems_json, signed_name="Test Lead", signed_role="Project lead", signed_on=received,
    )
    session.add(ret)
    session.flush()
    assert ret.id is not None
    lines = {b.key: b for b in session.exec(select(m.BudgetLine).where(m.BudgetLine.project_id == proj.id))}
    targets = {t.key: t for t in session.exec(select(m.Target).where(m.Target.project_id == proj.id))}
    for key, pence in (spend or {}).items():
        session.add(m.ReturnSpend(return_id=ret.id, budget_line_id=lines[key].id, actual_pence=pence))
    for (key, label), pence in (forecast or {}).items():
        session.add(m.ReturnForecast(return_id=ret.id, budget_line_id=lines[key].id, period_label=label,
                                     amount_pence=pence))
    for key, count in (outputs or {}).items():
        session.add(m.ReturnOutput(return_id=ret.id, target_id=targets[key].id, achieved=count))
    for key, delivered_on in (milestones or {}).items():
        session.add(m.ReturnMilestone(return_id=ret.id, target_id=targets[key].id,
                                      delivered=delivered_on is not None, delivered_on=delivered_on))
    session.flush()
    return ret
