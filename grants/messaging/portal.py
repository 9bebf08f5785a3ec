"""The lead's personal portal link that every message to a lead carries (chasers, reminders, receipts, rejections):
the project's live link from grants.programme.links, issued on first use, under the configured address and key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from grants.kernel import models as m
from grants.kernel.errors import GrantsError
from grants.kernel.settings import get_settings
from grants.programme.links import configured_link_key, current_link, current_links, link_address


def portal_link(session: Session, project: m.Project, now: datetime) -> str:
    """The address of the project lead's page (GRANTS_WEB_BASE_URL/p/<token>); empty while the installation has
    no key to sign it with (before `grants init`), and then messages carry no link rather than a forgeable one."""
    settings = get_settings()
    try:
        key = configured_link_key(settings)
    except GrantsError:
        return ""
    link = current_link(session, project, now, settings.lead_link_margin_days)
    return link_address(settings.web_base_url, key, link)


def portal_links(session: Session, projects: Iterable[m.Project], now: datetime) -> dict[int, str]:
    """`portal_link` for many projects at once (one query, one insert for the links not yet issued): {project id:
    address}; empty while the installation has no key."""
    settings = get_settings()
    try:
        key = configured_link_key(settings)
    except GrantsError:
        return {}
    links = current_links(session, projects, now, settings.lead_link_margin_days)
    return {project_id: link_address(settings.web_base_url, key, link) for project_id, link in links.items()}
