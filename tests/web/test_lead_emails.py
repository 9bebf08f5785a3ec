"""Every chaser to a lead carries that lead's own link, and the link opens their project's page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from flows.database import open_session
from flows.engine.jobs import chase_job
from grants.kernel.settings import Settings, get_settings
from grants.programme.links import configured_link_key, verify
from tests.notify_support import Inbox, smtp_server

__all__ = ["smtp_server"]


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


def test_the_pack_as_received_by_smtp_carries_the_link_in_its_plain_text_as_a_paragraph_of_its_own(
    loaded: Settings, smtp_server: tuple[int, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lead whose mail program shows plain text gets the text template as written (not a conversion of the HTML):
    # the link, then a blank line before what follows; no line starts with a stray space.
    port, inbox = smtp_server
    notify = loaded.data_dir / "notify.yaml"
    notify.write_text(f'email: "mailto://127.0.0.1:{port}?from=grants@example.org"\nreturn_to: returns@example.org\n',
                      encoding="utf-8")
    monkeypatch.setenv("GRANTS_NOTIFY_CONFIG", str(notify))
    get_settings.cache_clear()
    chase_job(date(2024, 7, 1), datetime(2024, 7, 1, 8, 0, tzinfo=UTC))
    assert len(inbox.received) == 8
    for _, mail in inbox.received:
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert re.search(re.escape(loaded.web_base_url) + r"/p/[\w.-]+", text), text
        text = text.replace("\r\n", "\n")
        assert "please do not forward it.\n\n" in text and "\n\n\n" not in text, text
        assert not any(line.startswith(" ") for line in text.splitlines()), text
