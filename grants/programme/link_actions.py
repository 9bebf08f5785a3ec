"""An officer revoking or reissuing a project lead's portal link, audited (the links themselves: links.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

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
