"""The mailbox in the engine's ingest job and the CLI: the whole round trip by email, a mailbox that is down (one
line; the inbox folder still works; the next run catches up), `grants ingest --no-mail`, `grants mailbox check`."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from imap_tools import MailBoxUnencrypted

from flows.cli.app import init
from flows.database import configured_engine
from flows.engine.jobs import chase_job, ingest_job
from grants.kernel.settings import Settings, get_settings
from grants.returns.sandbox import shutdown
from tests.cli_support import grants as cli_grants
from tests.mail_support import PASSWORD, Account, email, running_dovecot
from tests.mailbox.kit import LEAD, workbook
from tests.returns_kit import KEY, fill

NOW = datetime(2024, 10, 3, 10, tzinfo=UTC)
RETURNS = "returns@example.org"


@pytest.fixture
def engine_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The example programme loaded, workbooks signed with the test key."""
    monkeypatch.setenv("GRANTS_SIGNING_KEY", KEY.decode())
    get_settings.cache_clear()
    init()
    return get_settings()


def _use(account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block: str = "") -> None:
    monkeypatch.setenv("GRANTS_MAILBOX_URL", account.url)
    (tmp_path / "notify.yaml").write_text(f"mailbox:\n  address: {RETURNS}\n{block}")
    get_settings.cache_clear()


def _outbox(settings: Settings) -> list[EmailMessage]:
    found = []
    for path in sorted(settings.folder("outbox").glob("*.eml")):
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def _instructions(workbook_file: Path) -> str:
    """The words of a return workbook's Instructions sheet."""
    sheet = openpyxl.load_workbook(workbook_file, read_only=True)["Instructions"]
    return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)


def test_end_to_end_the_pack_goes_out_the_lead_replies_by_email_and_the_receipt_threads_to_the_reply(
        engine_settings: Settings, account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _use(account, monkeypatch, tmp_path)
    chase_job(date(2024, 10, 1), datetime(2024, 10, 1, 9, tzinfo=UTC))
    [pack] = [e for e in _outbox(engine_settings) if e["To"].endswith(f"<{LEAD}>") and "2024-25-Q2" in e["Subject"]]
    assert pack["Reply-To"] == RETURNS and f"email it back to {RETURNS}" in pack.get_body(("plain",)).get_content()
    part = next(p for p in pack.iter_attachments() if (p.get_filename() or "").endswith(".xlsx"))
    blank = tmp_path / str(part.get_filename())
    blank.write_bytes(part.get_content())
    assert f"back as an attachment to {RETURNS} by" in _instructions(blank)  # the mailbox's address, not the sender
    filled = fill(blank, {"output__people_trained": 60}, tmp_path / "filled.xlsx").read_bytes()
    reply = email(subject=f"Re: {pack['Subject']}", attachments=[(str(part.get_filename()), filled)],
                  headers={"In-Reply-To": pack["Message-ID"], "References": pack["Message-ID"]})
    account.append(reply)  # the lead presses Reply and attaches the filled workbook

    rows, accepted = ingest_job(NOW)
    assert accepted == 1 and [(r["source"], r["outcome"], r["reply"]) for r in rows] == [
        ("mailbox", "returns", "sent")]
    [receipt] = [e for e in _outbox(engine_settings) if e["Subject"].startswith("Received:")]
    assert receipt["In-Reply-To"] == reply["Message-ID"]
    assert receipt["References"].split() == [pack["Message-ID"], reply["Message-ID"]]
    assert receipt["Reply-To"] == RETURNS and LEAD in receipt["To"]
    assert account.count("INBOX") == 0


def test_with_no_mailbox_lead_messages_name_no_address_that_cannot_receive_mail(engine_settings: Settings,
                                                                               tmp_path: Path) -> None:
    chase_job(date(2024, 10, 1), datetime(2024, 10, 1, 9, tzinfo=UTC))
    packs = [e for e in _outbox(engine_settings) if "quarterly return" in e["Subject"]]
    assert packs
    for pack in packs:
        text = pack.get_body(("plain",)).get_content()
        assert "grants@localhost" not in text and "your responsible officer" in text and pack["Reply-To"] is None
        part = next(p for p in pack.iter_attachments() if (p.get_filename() or "").endswith(".xlsx"))
        attached = tmp_path / str(part.get_filename())
        attached.write_bytes(part.get_content())
        how = _instructions(attached)  # the workbook says the same as the email: no address that receives nothing
        assert "grants@localhost" not in how and "Reply to the email this file came with" in how


def test_a_mailbox_that_is_down_is_one_line_the_inbox_still_works_and_the_next_run_catches_up(
        engine_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with running_dovecot() as server:
        account = Account(server, "returns")  # the user the server starts with (kept across restarts)
        account.append(email(attachments=[("q2.xlsx", workbook(configured_engine(), tmp_path))]))
        _use(account, monkeypatch, tmp_path)
        server.stop()
        inbox = engine_settings.folder("inbox")
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "purple.xlsx").write_bytes(workbook(configured_engine(), tmp_path, "purple-flag"))
        rows, accepted = ingest_job(NOW)
        errors = [r for r in rows if str(r["outcome"]).startswith("error:")]
        assert len(errors) == 1 and "cannot connect" in errors[0]["outcome"] and PASSWORD not in str(rows)
        assert accepted == 1 and [r["outcome"] for r in rows if r["source"] == "inbox"] == ["accepted"]
        server.start()
        rows, accepted = ingest_job(NOW)
        assert accepted == 1 and [(r["source"], r["outcome"]) for r in rows] == [("mailbox", "returns")]


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ))


def test_mailbox_check_reports_the_folder_and_new_mail_and_touches_nothing(
        engine_settings: Settings, account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _use(account, monkeypatch, tmp_path)
    account.append(email(subject="one"))
    account.append(email(subject="two"))
    done = _grants("mailbox", "check")
    assert done.returncode == 0, done.stderr
    assert "folder INBOX: 2 message(s)" in done.stdout
    assert "the first run starts at the first unread message, 2 message(s)" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    with MailBoxUnencrypted("127.0.0.1", account.server.port).login(account.user, PASSWORD) as box:
        flags = [m.flags for m in box.fetch(mark_seen=False, headers_only=True)]
        assert len(flags) == 2 and not any("\\Seen" in f for f in flags)  # still there, still unread
        assert not box.folder.exists("Processed")


def test_mailbox_check_with_a_wrong_password_is_one_line_and_exit_1(
        engine_settings: Settings, account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _use(account, monkeypatch, tmp_path)
    monkeypatch.setenv("GRANTS_MAILBOX_URL", account.url.replace(f":{PASSWORD}@", ":Wr0ngPass@"))
    done = _grants("mailbox", "check")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "login refused" in done.stderr
    assert "Wr0ngPass" not in done.stderr


def test_grants_ingest_fetches_mail_first_unless_no_mail(
        engine_settings: Settings, account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _use(account, monkeypatch, tmp_path)
    account.append(email(attachments=[("q2.xlsx", workbook(configured_engine(), tmp_path))]))
    skipped = _grants("ingest", "--no-mail")
    assert skipped.returncode == 0 and account.count("INBOX") == 1
    fetched = _grants("ingest")
    assert fetched.returncode == 0, fetched.stderr
    assert "returns" in fetched.stdout and account.count("Processed") == 1
    shutdown()
