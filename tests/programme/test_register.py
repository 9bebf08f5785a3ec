"""Loading the programme into the database: idempotent, updates what changed, exact money; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.programme.loader import load_programmes
from grants.programme.register import initialise


def _load(engine: Engine, config_dir: Path) -> int:
    with session_scope(engine) as session:
        [(reference, changes)] = initialise(session, load_programmes(config_dir))
    assert reference == "SVD-2024-25"
    return changes.changed


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with session_scope(engine) as session:
        tables = [m.Grant, m.Officer, m.ReportingPeriod, m.Project, m.BudgetLine, m.BudgetProfile, m.Target,
                  m.TargetProfile]
        return {
            t.__tablename__: sorted(  # type: ignore[attr-defined]
                tuple(getattr(row, c.name) for c in t.__table__.columns)  # type: ignore[attr-defined]
                for row in session.exec(select(t))
            )
            for t in tables
        }


def test_init_twice_changes_nothing(engine: Engine, config_dir: Path) -> None:
    assert _load(engine, config_dir) > 0
    before = _snapshot(engine)
    assert _load(engine, config_dir) == 0
    assert _snapshot(engine) == before


def test_allocations_are_stored_in_exact_pence_and_sum_to_the_grant(engine: Engine, config_dir: Path) -> None:
    _load(engine, config_dir)
    with session_scope(engine) as session:
        grant = session.exec(select(m.Grant)).one()
        total = session.exec(select(func.sum(m.Project.allocation_pence))).one()
        lines = session.exec(select(func.sum(m.BudgetLine.amount_pence))).one()
        assert grant.amount_pence == total == lines == 12_500_000
        assert session.exec(select(func.count()).select_from(m.Project)).one() == 8
        assert [p.due.isoformat() for p in session.exec(select(m.ReportingPeriod).order_by(m.ReportingPeriod.start))] \
            == ["2024-07-12", "2024-10-14", "2025-01-15", "2025-04-14"]


def test_changing_an_allocation_in_config_and_rerunning_updates_it(engine: Engine, config_dir: Path) -> None:
    _load(engine, config_dir)
    path = config_dir / "grants" / "svd-2024-25.yaml"
    data = yaml.safe_load(path.read_text())
    project = data["projects"][7]
    project["allocation"] = "9999.99"
    project["budget_lines"][0]["amount"] = "9999.99"
    project["budget_lines"][0]["profile"]["2024-25-Q4"] = "3999.99"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert _load(engine, config_dir) == 3  # project, budget line, one profile cell
    with session_scope(engine) as session:
        row = session.exec(select(m.Project).where(m.Project.code == "prevention-feasibility")).one()
        assert row.allocation_pence == 999_999


def test_project_removed_from_config_is_retired_not_deleted(engine: Engine, config_dir: Path) -> None:
    _load(engine, config_dir)
    path = config_dir / "grants" / "svd-2024-25.yaml"
    data = yaml.safe_load(path.read_text())
    data["projects"].pop()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _load(engine, config_dir)
    with session_scope(engine) as session:
        row = session.exec(select(m.Project).where(m.Project.code == "prevention-feasibility")).one()
        assert row.active is False
        assert session.exec(select(func.count()).select_from(m.Project).where(m.Project.active)).one() == 7


def test_changes_summary_reads_like_a_sentence(engine: Engine, config_dir: Path) -> None:
    with session_scope(engine) as session:
        [(_, changes)] = initialise(session, load_programmes(config_dir))
    # 1 grant, 2 officers, 4 periods, 8 projects, 19 budget lines with 76 profile cells, 21 targets, 12 profiles
    assert changes.summary() == "143 created"
