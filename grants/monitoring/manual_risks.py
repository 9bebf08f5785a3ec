"""Risks officers add by hand (kind `manual`): opened with a likelihood and impact, closed with a reason. The
checks never touch them; every change is audited."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlmodel import Session

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.monitoring.risks import MANUAL, risk_key
from grants.programme.thresholds import risk_rag, rules_from_json


def add_manual_risk(
    session: Session, grant_id: int, title: str, likelihood: int, impact: int, *, as_of: date, actor: str,
    now: datetime, project_id: int | None = None, owner: str = "", mitigation: str = "",
) -> m.Risk:
    """Open a risk an officer has seen that the checks cannot (e.g. a lead leaving); audited."""
    grant = session.get(m.Grant, grant_id)
    project = session.get(m.Project, project_id) if project_id is not None else None
    if grant is None or (project_id is not None and (project is None or project.grant_id != grant_id)):
        raise NotFoundError("no such grant or project")
    if not title.strip():
        raise GrantsError("give the risk a title")
    if not (1 <= likelihood <= 5 and 1 <= impact <= 5):
        raise GrantsError("likelihood and impact are each 1 to 5")
    score = likelihood * impact
    row = m.Risk(
        key=risk_key(MANUAL, grant.reference, project.code if project else None, secrets.token_hex(4)),
        grant_id=grant_id, project_id=project_id, kind=MANUAL, title=title.strip(), likelihood=likelihood,
        impact=impact, score=score, rag=str(risk_rag(score, rules_from_json(grant.rules_json))), owner=owner.strip(),
        mitigation=mitigation.strip(), first_seen=as_of, last_seen=as_of,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="risk.add", at=now, subject=f"risk {row.id}: {row.title}",
                 after={"title": row.title, "likelihood": likelihood, "impact": impact, "score": score,
                        "owner": row.owner, "mitigation": row.mitigation},
                 grant_id=grant_id, project_id=project_id)
    return row


def close_risk(session: Session, risk_id: int, reason: str, *, as_of: date, actor: str, now: datetime) -> m.Risk:
    """Close a manual risk with a reason (the checks close their own risks when the evidence goes); audited."""
    row = session.get(m.Risk, risk_id)
    if row is None:
        raise NotFoundError(f"no risk with id {risk_id}")
    if row.kind != MANUAL:
        raise GrantsError("only risks added by hand are closed by hand; the checks close their own")
    if row.status != "open":
        raise GrantsError(f"risk {risk_id} is already closed")
    if not reason.strip():
        raise GrantsError("say why the risk is closed")
    row.status, row.closed_on, row.last_seen = "closed", as_of, max(row.last_seen, as_of)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="risk.close", at=now, subject=f"risk {row.id}: {row.title}",
                 before={"status": "open"}, after={"status": "closed", "closed_on": as_of}, reason=reason,
                 grant_id=row.grant_id, project_id=row.project_id)
    return row
