"""Two fetches of the same mailbox at once (the scheduled ingest overlapping a manual `grants ingest`), against a real
Dovecot: every email is ingested, recorded, answered and moved once, and neither run reports an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.mailbox.lease import LEASE, free, take
from tests.mail_support import Account, email
from tests.mailbox.kit import NOW, database, outbox, run, workbook


def test_two_runs_at_once_handle_each_email_once_without_an_error(account: Account, tmp_path: Path) -> None:
    engine = database(tmp_path)
    for people in range(60, 66):
        account.append(email(attachments=[(f"q2-{people}.xlsx", workbook(engine, tmp_path, people=people))]))
    account.append(email(subject="A question"))
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: run(engine, account, tmp_path), range(2)))
    assert [r.error for r in reports] == ["", ""]
    with Session(engine) as session:
        kept = list(session.exec(select(m.ReceivedFile).where(col(m.ReceivedFile.outcome) != "duplicate")))
        mails = list(session.exec(select(m.MailMessage)))
        versions = sorted(session.exec(select(m.Return.version)))
    assert len(kept) == 6 and versions == [1, 2, 3, 4, 5, 6]
    assert len(mails) == 7 and all(row.moved_to in ("Processed", "Set aside") for row in mails)
    assert len(outbox(tmp_path)) == 7  # six receipts and one answer, each sent once
    assert (account.count("INBOX"), account.count("Processed"), account.count("Set aside")) == (0, 6, 1)


def test_a_run_that_finds_the_mailbox_taken_leaves_it_and_a_crashed_runs_lease_runs_out(
        account: Account, tmp_path: Path) -> None:
    engine = database(tmp_path)
    account.append(email(subject="A question"))
    config = account.config()
    held = take(engine, config.account, config.folder, NOW)  # a run that is reading, or that crashed
    report = run(engine, account, tmp_path)
    assert report.busy == (f"another run has been reading {config.description} since 10:00:00 UTC; this run leaves "
                           "the mail to it") and report.rows == []
    assert (report.error, account.count("INBOX"), outbox(tmp_path)) == ("", 1, [])
    free(engine, config.account, config.folder, held)
    assert [r["outcome"] for r in run(engine, account, tmp_path).rows] == ["no-workbook"]
    take(engine, config.account, config.folder, NOW - LEASE - timedelta(minutes=1))  # crashed long ago
    account.append(email(subject="Another question"))
    assert [r["outcome"] for r in run(engine, account, tmp_path).rows] == ["no-workbook"]
