"""Every chaser to a lead carries that lead's own link, and the link opens their project's page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from flows.database import open_session
from flows.engine.jobs import chase_job
from grants.kernel.settings import Settings
from grants.programme.links import configured_link_key, verify


def test_every_return_pack_carries_the_leads_own_link(loaded: Settings) -> None:
    rows = chase_job(date(2024, 7, 1), datetime(2024, 7, 1, 8, 0, tzinfo=UTC))
    packs = [r for r in rows if r["kind"] == "chase-return_pack" and r["status"] == "sent"]
    assert len(packs) == 8
    emails = sorted(loaded.folder("outbox").glob("chase_*.eml"))
    assert len(emails) == 8
    with open_session() as session:
        for path in emails:
            email = message_from_bytes(path.read_bytes(), policy=default)
            assert isinstance(email, EmailMessage)
            text = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
            [token] = re.findall(re.escape(loaded.web_base_url) + r"/p/([\w.-]+)", text)
            assert f'href="{loaded.web_base_url}/p/{token}"' in html
            access = verify(session, configured_link_key(loaded), token, date(2024, 7, 1))
            assert access is not None and access.project.lead_email in str(email["to"])
