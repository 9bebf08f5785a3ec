"""When things go wrong: a crash between committing and moving neither duplicates nor loses; a wrong password or a
TLS failure is one clear line without the secret."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from grants.kernel import models as m
from grants.mailbox.config import MailboxConfig, MailboxError
from grants.mailbox.fetch import MailRun, fetch_mail
from grants.mailbox.imap import Fetched, ImapToolsMailbox, connect
from grants.messaging.channels import OutboxChannel
from grants.messaging.notify import Sender
from grants.returns.ingest import IngestResult, Source, ingest_files
from tests.mail_support import Account, email
from tests.mailbox.kit import NOW, RETURNS, database, outbox, run, workbook
from tests.returns_kit import options


class DropsBeforeDownload(ImapToolsMailbox):
    """The real connection, which the network drops just as the emails are being downloaded."""

    def messages(self, uids: Sequence[int]) -> Iterator[Fetched]:
        self.box.client.sock.shutdown(socket.SHUT_RDWR)
        return super().messages(uids)


class Crash(Exception):
    """The process dying at this point."""


class CrashOnMove(ImapToolsMailbox):
    """The real connection, whose process dies just before moving anything."""

    def move(self, uids: Sequence[int], folder: str) -> list[int]:
        raise Crash


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return database(tmp_path)


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_a_crash_after_the_commit_before_the_move_neither_duplicates_nor_loses(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    with pytest.raises(Crash):
        run(engine, account, tmp_path, box=CrashOnMove(account.config()))
    assert (_count(engine, m.Return), account.count("INBOX")) == (1, 1)  # committed, not yet moved
    report = run(engine, account, tmp_path)
    assert report.downloaded == 0  # finished from the record, not downloaded again
    assert "recorded by an earlier run" in report.rows[0]["detail"]
    assert (_count(engine, m.Return), _count(engine, m.MailMessage), len(outbox(tmp_path))) == (1, 1, 1)
    assert (account.count("INBOX"), account.count("Processed")) == (0, 1)


def test_a_crash_after_the_files_commit_before_the_email_is_recorded_neither_duplicates_nor_loses(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    config = account.config()

    def ingest_then_die(paths: list[Path], sources: list[Source]) -> list[IngestResult]:
        ingest_files(engine, paths, NOW, options(tmp_path), sources)
        raise Crash

    box = connect(config)
    sender = Sender([OutboxChannel(tmp_path / "outbox", "grants@example.org", RETURNS)])
    with pytest.raises(Crash):
        fetch_mail(MailRun(engine, box, config, ingest_then_die, sender, RETURNS, NOW, tmp_path / "staging"))
    box.close()
    assert (_count(engine, m.Return), _count(engine, m.MailMessage), outbox(tmp_path)) == (1, 0, [])
    report = run(engine, account, tmp_path)
    assert report.downloaded == 1 and report.accepted == 0  # fetched again; its file is a duplicate
    [receipt] = outbox(tmp_path)  # the receipt of the return stored by the crashed run
    assert receipt["Subject"].startswith("Received:")
    assert (_count(engine, m.Return), account.count("Processed")) == (1, 1)


def test_a_wrong_password_is_one_line_without_the_password(account: Account) -> None:
    config = account.config(password="not-the-Password-123")
    with pytest.raises(MailboxError) as caught:
        connect(config)
    assert "login refused for" in str(caught.value) and "not-the-Password-123" not in str(caught.value)


def test_a_tls_failure_is_one_line(account: Account) -> None:
    with pytest.raises(MailboxError, match="TLS failed"):
        connect(account.config(tls="implicit"))  # the test server speaks plain IMAP on this port


def test_starttls_required_but_not_offered_is_refused_before_logging_in(account: Account) -> None:
    with pytest.raises(MailboxError, match="does not offer STARTTLS"):
        connect(account.config(tls="starttls"))


def test_a_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    from tests.notify_support import free_port

    config = MailboxConfig(host="127.0.0.1", port=free_port(), tls="auto", username="u", password="pw")
    with pytest.raises(MailboxError, match=r"cannot connect \(Connection refused\)"):
        connect(config)


def test_a_host_name_that_does_not_resolve_is_one_line_naming_the_host() -> None:
    config = MailboxConfig(host="imap.does-not-exist.invalid", tls="auto", username="u", password="pw")
    with pytest.raises(MailboxError, match=r"the host name 'imap.does-not-exist.invalid' is not found \(DNS\)"):
        connect(config)


def test_tls_to_a_plain_port_says_to_check_the_port(account: Account) -> None:
    with pytest.raises(MailboxError, match=rf"is {account.server.port} its TLS port \(993 for imaps://"):
        connect(account.config(tls="implicit"))


def test_a_folder_that_does_not_exist_is_one_line_naming_the_folders_there(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    report = run(engine, account, tmp_path, account.config(folder="Returns 2024"))
    assert report.error.endswith("no folder 'Returns 2024' (the folders are 'INBOX'); check the folder setting")


def test_a_connection_lost_mid_fetch_is_one_line_marks_nothing_and_the_next_run_takes_the_mail(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    report = run(engine, account, tmp_path, box=DropsBeforeDownload(account.config()))
    assert "the connection was lost while fetching; nothing was marked read or moved" in report.error
    assert (_count(engine, m.MailMessage), _count(engine, m.ReceivedFile), outbox(tmp_path)) == (0, 0, [])
    assert account.count("INBOX") == 1
    again = run(engine, account, tmp_path)
    assert (again.error, again.accepted, account.count("Processed")) == ("", 1, 1)


def test_an_email_a_person_moved_away_before_the_engine_moved_it_does_not_stop_the_mailbox(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    with pytest.raises(Crash):
        run(engine, account, tmp_path, box=CrashOnMove(account.config()))
    account.move_all("INBOX", "Lead emails")  # someone tidies the mailbox before the next run
    account.append(email(subject="new question"))
    report = run(engine, account, tmp_path)
    assert report.error == "" and [r["outcome"] for r in report.rows] == ["returns", "no-workbook"]
    with Session(engine) as session:
        assert sorted(session.exec(select(m.MailMessage.moved_to))) == ["Set aside", "gone"]
    assert (account.count("Lead emails"), account.count("Set aside"), len(outbox(tmp_path))) == (1, 1, 2)


def test_a_folder_name_the_server_refuses_is_one_line_with_its_reason_and_once_corrected_the_mail_moves(
        engine: Engine, account: Account, tmp_path: Path) -> None:
    account.append(email(subject="A question"))
    report = run(engine, account, tmp_path, account.config(set_aside_folder="Set aside/2024"))
    assert report.error.startswith(f"mailbox 127.0.0.1:{account.server.port}: the server refused moving mail to "
                                   "'Set aside/2024' (it said: ")
    assert account.count("INBOX") == 1 and len(outbox(tmp_path)) == 1  # answered once, waiting to be moved
    again = run(engine, account, tmp_path, account.config(set_aside_folder="Set aside 2024"))
    assert again.error == "" and (account.count("INBOX"), account.count("Set aside 2024")) == (0, 1)
    assert len(outbox(tmp_path)) == 1


def test_folders_with_spaces_and_accents_are_read_and_created(engine: Engine, account: Account, tmp_path: Path
                                                                ) -> None:
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]), folder="Retours reçus")
    account.append(email(subject="A question"), folder="Retours reçus")
    report = run(engine, account, tmp_path, account.config(
        folder="Retours reçus", processed_folder="Traité 2024-25", set_aside_folder="Mis de côté"))
    assert report.error == "" and report.accepted == 1
    assert (account.count("Retours reçus"), account.count("Traité 2024-25"), account.count("Mis de côté")) == (0, 1, 1)
