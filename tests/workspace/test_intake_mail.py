"""The intake page shows officers what the returns mailbox set aside, against a real Dovecot: emails with no return
in them (no workbook, a link, a zip), bounces of the engine's own mail, and who emailed each file not accepted."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from flows.database import configured_engine
from tests.mail_support import Account, account, dovecot, email  # noqa: F401
from tests.mailbox.kit import run
from tests.workspace.conftest import sign_in


def test_the_intake_page_lists_emails_with_no_return_and_who_emailed_each_file_not_accepted(
        client: TestClient, account: Account, tmp_path: Path) -> None:  # noqa: F811
    account.append(email(subject="When is Q4 due? <script>alert(1)</script>", body="A question"))
    account.append(email(subject="Shared with you", body="https://x-my.sharepoint.com/:x:/g/personal/j/Eab?e=1"))
    account.append(email(sender="MAILER-DAEMON@mx.example.org", subject="Undelivered Mail Returned to Sender"))
    account.append(email(subject="Our return", attachments=[("q2.xlsx", b"PK\x03\x04 cut short")]))
    report = run(configured_engine(), account, tmp_path)
    assert report.error == "" and len(report.rows) == 4
    sign_in(client, "viewer")
    page = client.get("/officer/intake").text
    emails = page.split('id="emails"')[1]
    assert "When is Q4 due?" in emails and "no workbook attached" in emails
    assert "a link to a shared file instead of the file" in emails and "x-my.sharepoint.com" in emails
    assert "mailer-daemon@mx.example.org" in emails and "automatic mail, not answered" in emails
    assert "Set aside" in emails
    files = page.split('id="emails"')[0]
    assert "q2.xlsx" in files and "emailed by active.bystander@example.org" in files
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in emails
