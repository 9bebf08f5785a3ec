"""What the grant and project pages derive from a grant's whole ledger (its status, outputs against trajectory, spend
per quarter), and a small cache of it keyed on a cheap change stamp, so a page view does not reload the ledger when
nothing it depends on has changed.

The stamp is one query: the highest id of every table whose rows the derived figures follow (returns, payments,
funds releases, assessments, risk events, messages and the audit log, which every officer action writes, including
extensions and chase holds), plus a fingerprint of the grant's configuration rows (a reloaded grant file updates
them in place) and the day. Any change anywhere makes a new stamp; an unchanged stamp gives the same figures.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from grants.kernel import models as m
from grants.monitoring.checks import Checks
from grants.monitoring.ledger import Ledger, load_ledger
from grants.monitoring.outputs import output_checks
from grants.programme.status import GrantStatus, grant_status
from grants.programme.thresholds import rules_from_json
from grants.reporting.board import OutputRow, QuarterSpend
from grants.reporting.board_rows import output_rows, quarter_series

_FOLLOWED = (m.Return, m.Payment, m.FundsRelease, m.Assessment, m.RiskEvent, m.Notification, m.AuditEntry,
             m.DueDateOverride, m.ChaseHold)


@dataclass(frozen=True)
class GrantFacts:
    """A grant's status (projects and quarters), outputs against trajectory and cumulative spend per quarter."""

    status: GrantStatus
    outputs: list[OutputRow]
    quarters: list[QuarterSpend]


def output_checks_only(ledger: Ledger) -> Checks:
    """The checks the pages draw (outputs and milestones) without the spend and funds checks they do not show:
    the page reads the stored assessment for those, and stays fast."""
    rules = {g.id: rules_from_json(g.rules_json) for g in ledger.grants if g.id is not None}
    outputs = output_checks(ledger, rules)
    by_grant: dict[int, list[m.Project]] = {}
    for project in ledger.projects:
        by_grant.setdefault(project.grant_id, []).append(project)
    return Checks(ledger=ledger, rules=rules, spend={}, targets={pid: c for pid, (c, _) in outputs.items()},
                  milestones={pid: ms for pid, (_, ms) in outputs.items()}, returns={}, grant_funds={},
                  project_funds={}, by_grant=by_grant)


def grant_facts(session: Session, grant: m.Grant, as_of: date) -> GrantFacts:
    """Work the facts out from the grant's ledger (the slow part of the pages: tens of milliseconds)."""
    [status] = grant_status(session, as_of, grant.reference)
    checks = output_checks_only(load_ledger(session, as_of, grant.id))
    return GrantFacts(status, output_rows(checks, grant), quarter_series(checks.ledger, grant.id or 0))


FactsOf = Callable[[Session, m.Grant, date], GrantFacts]


def change_stamp(session: Session, grant: m.Grant, as_of: date) -> tuple[Any, ...]:
    """A value that changes whenever anything the grant's facts follow may have changed."""
    highest = session.execute(select(*[select(func.max(t.id)).scalar_subquery() for t in _FOLLOWED])).one()
    return (as_of, tuple(highest), _config_fingerprint(session, grant))


def _config_fingerprint(session: Session, grant: m.Grant) -> str:
    digest = hashlib.sha256(repr(sorted(grant.model_dump().items())).encode())
    projects = select(col(m.Project.id)).where(col(m.Project.grant_id) == grant.id).scalar_subquery()
    lines = select(col(m.BudgetLine.id)).where(col(m.BudgetLine.project_id).in_(projects)).scalar_subquery()
    targets = select(col(m.Target.id)).where(col(m.Target.project_id).in_(projects)).scalar_subquery()
    scoped: list[tuple[Any, Any]] = [
        (m.Project, col(m.Project.grant_id) == grant.id),
        (m.ReportingPeriod, col(m.ReportingPeriod.grant_id) == grant.id),
        (m.BudgetLine, col(m.BudgetLine.project_id).in_(projects)),
        (m.BudgetProfile, col(m.BudgetProfile.budget_line_id).in_(lines)),
        (m.Target, col(m.Target.project_id).in_(projects)),
        (m.TargetProfile, col(m.TargetProfile.target_id).in_(targets)),
    ]
    for model, where in scoped:
        table = model.__table__
        rows = session.execute(select(table).where(where)).all()
        digest.update(repr(sorted(tuple(row) for row in rows)).encode())
    return digest.hexdigest()


class FactsCache:
    """The facts of the most recently viewed grants (at most `size`), each kept with the stamp it was worked out
    under; thread-safe. A stale entry is simply worked out again."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[tuple[Any, ...], GrantFacts]] = OrderedDict()
        self._lock = threading.Lock()

    def facts(self, session: Session, grant: m.Grant, as_of: date,
              work_out: FactsOf = grant_facts) -> GrantFacts:
        """The grant's facts: the cached ones when the stamp is unchanged, else worked out afresh (and kept)."""
        stamp, key = change_stamp(session, grant, as_of), grant.id or 0
        with self._lock:
            kept = self._items.get(key)
            if kept is not None and kept[0] == stamp:
                self._items.move_to_end(key)
                return kept[1]
        fresh = work_out(session, grant, as_of)
        with self._lock:
            self._items[key] = (stamp, fresh)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return fresh
