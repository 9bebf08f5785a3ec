"""An officer revoking or reissuing a project lead's portal link, and a new lead in the grant file ending the old
lead's link; audited (the links themselves: links.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.programme.links import current_link, revoke_links


def revoke_lead_link(session: Session, project: m.Project, *, actor: str, now: datetime) -> int:
    """Revoke the project's live links at once; how many were live. Audited when there was one to revoke (nothing
    changes, and nothing is written, when the project had none)."""
    count = revoke_links(session, project, now, by=actor)
    if count == 0:
        return 0
    audit.record(session, actor=actor, action="link.revoke", at=now, subject=project.code,
                 before={"live_links": count}, after={"live_links": 0}, grant_id=project.grant_id,
                 project_id=project.id)
    return count


def reissue_lead_link(session: Session, project: m.Project, *, actor: str, now: datetime,
                      margin_days: int) -> m.LeadLink:
    """Revoke the project's links and issue a new one (for the officer to send the lead). Audited."""
    count = revoke_links(session, project, now, by=actor)
    link = current_link(session, project, now, margin_days)
    audit.record(session, actor=actor, action="link.reissue", at=now, subject=project.code,
                 before={"live_links": count}, after={"live_links": 1, "link_id": link.id,
                                                      "expires_on": link.expires_on},
                 grant_id=project.grant_id, project_id=project.id)
    return link


def revoke_for_new_leads(session: Session, grant_id: int | None, codes: list[str], *, actor: str,
                         now: datetime) -> list[str]:
    """The projects (of `codes`, whose lead's email the grant file changed) whose live link was revoked: the person
    who left must not keep the project's page; the new lead gets a new link with the next email. Audited."""
    revoked = []
    for code in codes:
        project = session.exec(select(m.Project).where(m.Project.grant_id == grant_id, m.Project.code == code)).first()
        if project is not None and revoke_lead_link(session, project, actor=actor, now=now):
            revoked.append(code)
    return revoked
