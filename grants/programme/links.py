"""Project leads' personal links to the portal: signed, scoped to one project, expiring, revocable.

A link is `<base>/p/<id>.<mac>`: `id` names a LeadLink row, `mac` is HMAC-SHA256 over the row's id, project and
expiry day under the link key, so an altered id or a forged row can't produce a valid token. The link key is its
own setting, or derived from the workbook signing key for this one purpose (HMAC(key, "lead-link")), so a link's
signature can never be confused with a workbook's. A link expires `margin_days` after the grant's last return is
due; revoking marks the row, and the project's next link is a new row (so the old one stays dead).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.settings import Settings

_PURPOSE = b"lead-link"
_MAC_BYTES = 20


def link_key(signing_key: bytes, own_key: bytes | None = None) -> bytes:
    """The key lead links are signed with: their own, or derived from the signing key for this one purpose."""
    if own_key:
        return own_key
    return hmac.new(signing_key, _PURPOSE, hashlib.sha256).digest()


def configured_link_key(settings: Settings) -> bytes:
    """The link key from the settings (GRANTS_LINK_KEY, else derived from GRANTS_SIGNING_KEY)."""
    own = settings.link_key.get_secret_value().encode() if settings.link_key else None
    return link_key(settings.signing_secret(), own)


def _mac(key: bytes, link_id: int, project_id: int, expires_on: date) -> str:
    message = f"lead-link|{link_id}|{project_id}|{expires_on.isoformat()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_of(key: bytes, link: m.LeadLink | LinkRef) -> str:
    """The token for a link row (the last part of its address)."""
    assert link.id is not None
    return f"{link.id}.{_mac(key, link.id, link.project_id, link.expires_on)}"


def link_expiry(session: Session, project: m.Project, margin_days: int) -> date:
    """The day after which a project's link stops working: its grant's last return due date plus the margin."""
    last_due = session.exec(select(func.max(m.ReportingPeriod.due))
                            .where(m.ReportingPeriod.grant_id == project.grant_id)).one()
    return (last_due or project.delivery_end) + timedelta(days=margin_days)


def current_link(session: Session, project: m.Project, now: datetime, margin_days: int) -> m.LeadLink:
    """The project's live link (not revoked), issued now if it has none; its expiry follows the grant's periods."""
    link = session.exec(
        select(m.LeadLink).where(m.LeadLink.project_id == project.id, col(m.LeadLink.revoked_at).is_(None))
        .order_by(col(m.LeadLink.id).desc())
    ).first()
    if link is None:
        assert project.id is not None
        link = m.LeadLink(project_id=project.id, issued_at=now, expires_on=link_expiry(session, project, margin_days))
        session.add(link)
        session.flush()
    return link


@dataclass(frozen=True)
class LinkRef:
    """What a link's token is made of (a LeadLink row's id, project and expiry), without the ORM object."""

    id: int
    project_id: int
    expires_on: date


def current_links(
    session: Session, projects: Iterable[m.Project], now: datetime, margin_days: int
) -> dict[int, LinkRef]:
    """`current_link` for many projects at once (a chase run's thousands of leads): {project id: its live link},
    read in one query per 5,000 projects, the missing ones issued now in one insert."""
    wanted = {p.id: p for p in projects if p.id is not None}
    live: dict[int, LinkRef] = {}
    ids = sorted(wanted)
    for i in range(0, len(ids), 5_000):
        statement = select(col(m.LeadLink.id), col(m.LeadLink.project_id), col(m.LeadLink.expires_on)).where(
            col(m.LeadLink.project_id).in_(ids[i:i + 5_000]), col(m.LeadLink.revoked_at).is_(None)
        ).order_by(col(m.LeadLink.id))
        for link_id, project_id, expires_on in session.connection().execute(statement):
            live[project_id] = LinkRef(int(link_id or 0), project_id, expires_on)  # the newest live link wins
    missing = [p for pid, p in wanted.items() if pid not in live]
    if missing:
        last_due = {grant_id: due for grant_id, due in session.connection().execute(
            select(col(m.ReportingPeriod.grant_id), func.max(m.ReportingPeriod.due))
            .where(col(m.ReportingPeriod.grant_id).in_({p.grant_id for p in missing}))
            .group_by(col(m.ReportingPeriod.grant_id)))}
        rows = [{"project_id": p.id, "issued_at": now,
                 "expires_on": (last_due.get(p.grant_id) or p.delivery_end) + timedelta(days=margin_days)}
                for p in missing]
        issued = session.connection().execute(insert(m.LeadLink).returning(
            col(m.LeadLink.id), col(m.LeadLink.project_id), col(m.LeadLink.expires_on), sort_by_parameter_order=True),
            rows)  # Core on the session's connection: one statement (or a few) for thousands of rows
        live |= {pid: LinkRef(int(link_id or 0), pid, expires_on) for link_id, pid, expires_on in issued}
    return live


def link_address(base_url: str, key: bytes, link: m.LeadLink | LinkRef) -> str:
    """The full address a lead opens."""
    return f"{base_url.rstrip('/')}/p/{token_of(key, link)}"


@dataclass(frozen=True)
class LeadAccess:
    """A verified link: the project it opens (and the link's row)."""

    link: m.LeadLink
    project: m.Project


def verify(session: Session, key: bytes, token: str, today: date) -> LeadAccess | None:
    """The project a token opens, or None for anything wrong: malformed, altered, unknown, revoked or expired.
    The signature is compared in constant time; every failure looks the same to the caller."""
    ident, dot, mac = token.partition(".")
    if not dot or not (ident.isascii() and ident.isdigit()) or len(ident) > 12 or not mac or len(mac) > 64:
        return None
    link = session.get(m.LeadLink, int(ident))
    expected = _mac(key, link.id or 0, link.project_id, link.expires_on) if link else _mac(key, 0, 0, today)
    if not hmac.compare_digest(expected.encode(), mac.encode()) or link is None:
        return None
    if link.revoked_at is not None or today > link.expires_on:
        return None
    project = session.get(m.Project, link.project_id)
    if project is None or not project.active:
        return None
    return LeadAccess(link, project)


def revoke_links(session: Session, project: m.Project, now: datetime, by: str) -> int:
    """Revoke every live link of a project (how many); the next message or `grants link` issues a new one."""
    links = list(session.exec(select(m.LeadLink).where(m.LeadLink.project_id == project.id,
                                                       col(m.LeadLink.revoked_at).is_(None))))
    for link in links:
        link.revoked_at, link.revoked_by = now, by
        session.add(link)
    session.flush()
    return len(links)
