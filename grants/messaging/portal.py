"""The lead's personal portal link that every message to a lead carries (chasers, reminders, receipts, rejections):
the project's live link from grants.programme.links, issued on first use, under the configured address and key."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from grants.kernel import models as m
from grants.kernel.errors import GrantsError
from grants.kernel.settings import get_settings
from grants.programme.links import configured_link_key, current_link, link_address


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
