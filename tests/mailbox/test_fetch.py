"""Returns by email, against a real Dovecot: a lead's workbook is ingested and answered in its thread; every email is
downloaded once; duplicates, automatic mail and mail without a workbook are handled without a return or a loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from grants.kernel import models as m
from tests.mail_support import Account, email
from tests.mailbox.kit import LEAD, RETURNS, database, outbox, run, workbook
from tests.returns_kit import fill, issue


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return database(tmp_path)


def _returns(engine) -> list[m.Return]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(m.Return).order_by(col(m.Return.id))))


def test_a_leads_reply_with_the_filled_workbook_is_accepted_and_the_receipt_threads_to_it(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mail = email(attachments=[("Active Bystander Q2.xlsx", workbook(engine, tmp_path))],
                 headers={"In-Reply-To": "<pack-1@grants.local>", "References": "<pack-1@grants.local>"})
    account.append(mail)
    report = run(engine, account, tmp_path)
    assert report.error == "" and report.downloaded == 1 and report.accepted == 1
    assert report.rows[0]["detail"] == "Active Bystander Q2.xlsx: accepted"  # what the admin's table shows
    [ret] = _returns(engine)
    assert ret.status == "accepted"
    with Session(engine) as session:
        received = session.exec(select(m.ReceivedFile)).one()
    assert (received.sender, received.message_id) == (LEAD, mail["Message-ID"])
    [receipt] = outbox(tmp_path)
    assert receipt["Subject"].startswith("Received:")
    assert receipt["In-Reply-To"] == mail["Message-ID"]
    assert receipt["References"].split() == ["<pack-1@grants.local>", mail["Message-ID"]]
    assert receipt["Reply-To"] == RETURNS and LEAD in receipt["To"]
    assert (account.count("INBOX"), account.count("Processed")) == (0, 1)


def test_a_second_run_downloads_nothing(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    assert run(engine, account, tmp_path).downloaded == 1
    again = run(engine, account, tmp_path)
    assert (again.downloaded, again.rows, len(_returns(engine))) == (0, [], 1)


def test_the_first_run_starts_at_the_first_unread_message_and_leaves_mail_read_before_alone(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):  # the mailbox's history: read before the engine was pointed at it
        account.append(email(subject=f"old {n}", attachments=[("old.xlsx", b"PK old")]), seen=True)
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    account.append(email(subject="read by a person already"), seen=True)
    report = run(engine, account, tmp_path)
    assert report.downloaded == 2 and [r["outcome"] for r in report.rows] == ["returns", "no-workbook"]
    assert (account.count("INBOX"), len(outbox(tmp_path))) == (3, 2)  # the old ones stay, unanswered
    account.append(email(subject="new"), seen=True)  # later runs go by UID: read or not, new mail is handled
    assert [r["outcome"] for r in run(engine, account, tmp_path).rows] == ["no-workbook"]
    assert account.count("INBOX") == 3


def test_a_first_run_on_a_folder_with_nothing_unread_starts_with_the_next_message(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(subject="old"), seen=True)
    assert run(engine, account, tmp_path).rows == []
    account.append(email(subject="new"))
    assert [r["outcome"] for r in run(engine, account, tmp_path).rows] == ["no-workbook"]
    assert account.count("INBOX") == 1


def test_the_same_mail_delivered_twice_is_recognised_by_message_id_without_downloading_it(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mail = email(attachments=[("q2.xlsx", workbook(engine, tmp_path))])
    account.append(mail)
    run(engine, account, tmp_path)
    account.append(mail)  # redelivered: a new UID, the same Message-ID
    report = run(engine, account, tmp_path)
    assert report.downloaded == 0 and [r["outcome"] for r in report.rows] == ["duplicate"]
    assert len(_returns(engine)) == 1 and len(outbox(tmp_path)) == 1
    assert account.count("Processed") == 2


def test_a_forwarded_copy_of_the_same_workbook_is_a_duplicate_file_by_sha256(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    content = workbook(engine, tmp_path)
    account.append(email(attachments=[("q2.xlsx", content)]))
    account.append(email(sender="colleague@example.org", subject="Fwd: return", attachments=[("q2.xlsx", content)]))
    run(engine, account, tmp_path)
    with Session(engine) as session:
        outcomes = list(session.exec(select(m.ReceivedFile.outcome).order_by(col(m.ReceivedFile.id))))
    assert outcomes == ["accepted", "duplicate"] and len(_returns(engine)) == 1


def test_a_mailbox_recreated_with_a_new_uidvalidity_is_read_again_without_duplicating(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = account.config(folder="Returns")
    first = email(attachments=[("q2.xlsx", workbook(engine, tmp_path))])
    account.append(first, "Returns")
    run(engine, account, tmp_path, config)
    account.recreate("Returns")  # a new UIDVALIDITY: the UIDs start again at 1
    account.append(first, "Returns")
    account.append(email(attachments=[("q2-v2.xlsx", workbook(engine, tmp_path, people=61))]), "Returns")
    report = run(engine, account, tmp_path, config)
    assert [r["outcome"] for r in report.rows] == ["duplicate", "returns"]
    assert [r.version for r in _returns(engine)] == [1, 2]
    with Session(engine) as session:
        states = list(session.exec(select(m.MailboxState)))
        assert len(states) == 1 and states[0].last_uid == 2


def test_two_workbooks_in_one_mail_are_two_files(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("bystander.xlsx", workbook(engine, tmp_path)),
                                      ("purple.xlsx", workbook(engine, tmp_path, "purple-flag"))]))
    report = run(engine, account, tmp_path)
    assert report.rows[0]["files"] == "2" and report.accepted == 2
    with Session(engine) as session:
        senders = list(session.exec(select(m.ReceivedFile.sender)))
    assert senders == [LEAD, LEAD]
    assert sorted(r.project_id for r in _returns(engine)) == sorted({r.project_id for r in _returns(engine)})
    assert len(outbox(tmp_path)) == 2


def test_a_mail_without_a_workbook_gets_one_polite_reply_and_is_set_aside(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mail = email(subject="Question about Q2", attachments=[("photo.jpg", b"\xff\xd8\xff")])
    account.append(mail)
    run(engine, account, tmp_path)
    run(engine, account, tmp_path)
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "No return workbook found in your email"
    assert reply["In-Reply-To"] == mail["Message-ID"] and reply["To"] == LEAD and reply["Reply-To"] == RETURNS
    assert (account.count("INBOX"), account.count("Set aside")) == (0, 1) and _returns(engine) == []


def test_a_zip_attachment_gets_send_the_workbook_itself(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("return.zip", b"PK\x03\x04 not opened")]))
    report = run(engine, account, tmp_path)
    assert report.rows[0]["outcome"] == "zip"
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "Please send the workbook itself, not a zip file"
    assert "return.zip" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"X-Autoreply": "yes"},
    {"Return-Path": "<>"},
    {"Subject": "Out of Office: back on Monday"},
    {"Subject": "Automatic reply: Active Bystander return"},
    {"List-Id": "<returns.lists.example.org>"},
], ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
def test_automatic_mail_is_set_aside_unanswered_and_not_downloaded(
        engine, account: Account, tmp_path: Path, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    subject = headers.pop("Subject", "Re: return")
    account.append(email(subject=subject, headers=headers, attachments=[("photo.jpg", b"x")]))
    report = run(engine, account, tmp_path)
    bounce = headers.get("Return-Path") == "<>"  # downloaded only to name the address that failed
    assert report.downloaded == bounce and [r["outcome"] for r in report.rows] == ["automatic"]
    assert outbox(tmp_path) == [] and account.count("Set aside") == 1


def test_mail_from_mailer_daemon_is_never_answered(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(sender="MAILER-DAEMON@example.org", subject="Undelivered Mail Returned to Sender"))
    run(engine, account, tmp_path)
    assert outbox(tmp_path) == []


def test_a_hostile_attachment_is_quarantined_and_the_sender_told_why(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("return.xlsx", b"MZ\x90\x00 an executable renamed .xlsx")]))
    report = run(engine, account, tmp_path)
    assert report.rows[0]["outcome"] == "returns" and _returns(engine) == []
    with Session(engine) as session:
        assert session.exec(select(m.ReceivedFile.outcome)).one() == "quarantined"
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "We could not read the file you sent" and reply["To"] == LEAD
    assert list((tmp_path / "quarantine").iterdir())


def test_a_signed_workbook_from_a_sender_not_on_record_is_accepted_and_the_officer_told(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(sender="finance@bystander-charity.org", attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    run(engine, account, tmp_path)
    assert [r.status for r in _returns(engine)] == ["accepted"]
    [receipt] = outbox(tmp_path)
    assert "finance@bystander-charity.org" in receipt["To"] and LEAD in receipt["To"]
    assert receipt["Cc"]  # the responsible officer
    assert "finance@bystander-charity.org, who is not the lead on record" in " ".join(
        receipt.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]


def test_every_email_is_recorded_with_its_outcome(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    account.append(email(subject="hello"))
    account.append(email(headers={"Auto-Submitted": "auto-generated"}))
    run(engine, account, tmp_path)
    with Session(engine) as session:
        rows = list(session.exec(select(m.MailMessage.outcome, m.MailMessage.moved_to).order_by(
            col(m.MailMessage.uid))))
        assert session.exec(select(func.count()).select_from(m.MailMessage)).one() == 3
    assert rows == [("returns", "Processed"), ("no-workbook", "Set aside"), ("automatic", "Set aside")]


def test_an_email_too_large_is_set_aside_unopened_with_a_reply(engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("q2.xlsx", workbook(engine, tmp_path))]))
    report = run(engine, account, tmp_path, account.config(max_message_mb=0.001))
    assert report.downloaded == 0 and report.rows[0]["outcome"] == "too-large"
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "Your email was too large to read" and account.count("Set aside") == 1


def test_a_rejected_workbook_emailed_again_is_answered_with_what_is_still_wrong_with_it(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blank = issue(engine, tmp_path / "issued")
    rejected = fill(blank, {"spend__delivery": "1.2k"}, tmp_path / "q2-bad.xlsx").read_bytes()
    account.append(email(attachments=[("q2.xlsx", rejected)]))
    run(engine, account, tmp_path)
    account.append(email(subject="Re: Please correct and resend", attachments=[("q2.xlsx", rejected)]))
    run(engine, account, tmp_path)
    answers = outbox(tmp_path)
    assert len(answers) == 2 and any(a["Subject"].startswith("Please correct and resend") for a in answers)
    [answer] = [a for a in answers if a["Subject"] == "You have sent this file before"]
    text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert answer["Subject"] == "You have sent this file before" and LEAD in answer["To"]
    assert "q2.xlsx is the very same file you sent on Thursday 3 October 2024" in text
    assert "the same things are still wrong with it" in text and "'1.2k'" in text
    assert len(_returns(engine)) == 1


def test_an_old_version_emailed_after_a_new_one_is_not_counted_and_the_lead_is_told_so(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old, new = workbook(engine, tmp_path, people=60), workbook(engine, tmp_path, people=61)
    for content in (old, new, old):
        account.append(email(attachments=[("q2.xlsx", content)]))
    run(engine, account, tmp_path)
    assert [(r.version, r.status) for r in _returns(engine)] == [(1, "superseded"), (2, "accepted")]
    [answer] = [a for a in outbox(tmp_path) if a["Subject"] == "You have sent this file before"]
    text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "It was recorded then as version 1 of the 2024-25-Q2 return, and a later version has replaced it" in text


def test_an_answer_of_ours_that_lands_in_the_returns_mailbox_is_never_answered_so_no_mail_loop(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Say the engine's From is the returns address itself: its "no workbook" answer to itself must not start a loop.
    account.append(email(subject="A question"))
    run(engine, account, tmp_path)
    [ours] = outbox(tmp_path)
    assert ours["Auto-Submitted"] == "auto-replied"
    account.append(ours)
    report = run(engine, account, tmp_path)
    assert [r["outcome"] for r in report.rows] == ["automatic"] and len(outbox(tmp_path)) == 1


@pytest.mark.parametrize("attachment", [("invoice.exe", b"MZ\x90\x00"), ("documents.zip", b"PK\x03\x04 not opened"),
                                        ("remittance.xlsm", b"PK\x03\x04 not a workbook"), ("photo.jpg", b"\xff\xd8")])
def test_spam_from_a_sender_not_on_record_is_set_aside_unanswered(
        engine, account: Account, tmp_path: Path, attachment: tuple[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    account.append(email(sender="billing@spam.example", subject="Invoice overdue", attachments=[attachment]))
    report = run(engine, account, tmp_path)
    assert [r["answer"] for r in report.rows] == ["not answered: the sender is not on record"]
    assert outbox(tmp_path) == [] and account.count("INBOX") == 0


def test_a_lead_writing_from_an_address_not_on_record_in_reply_to_our_email_is_answered(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chaser = "<179.1.2@grants.local>"  # the Message-ID of a chaser the engine sent
    account.append(email(sender="jordan.ellis.1987@gmail.example", subject="Re: your return is overdue",
                         headers={"In-Reply-To": chaser, "References": chaser}, body="I sent it in July."))
    run(engine, account, tmp_path)
    [reply] = outbox(tmp_path)
    assert reply["To"] == "jordan.ellis.1987@gmail.example" and reply["In-Reply-To"] != chaser


def test_a_workbook_shared_as_a_onedrive_link_gets_attach_the_file_itself(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(subject='Jordan Ellis shared "Q2 return.xlsx" with you', body=(
        "Jordan Ellis shared a file with you\n"
        "https://trainingprovider-my.sharepoint.com/:x:/g/personal/jordan_ellis/EabcDEF?e=xyz\nOpen")))
    report = run(engine, account, tmp_path)
    assert [(r["outcome"], r["detail"]) for r in report.rows] == [("link", "trainingprovider-my.sharepoint.com")]
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "Please attach the workbook itself, not a link to it"
    text = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "link to a shared file (trainingprovider-my.sharepoint.com)" in text and "Attach as copy" in text
    assert account.count("Set aside") == 1


def test_outlooks_winmail_dat_gets_send_it_again_in_html_or_plain_text(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account.append(email(attachments=[("winmail.dat", b"\x78\x9f\x3e\x22\x00\x00 wrapped workbook")]))
    report = run(engine, account, tmp_path)
    assert [r["outcome"] for r in report.rows] == ["tnef"]
    [reply] = outbox(tmp_path)
    assert reply["Subject"] == "We could not open the attachment of your email (winmail.dat)"
    assert "HTML or plain-text format" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_an_auto_responder_without_auto_headers_gets_one_answer_a_day_so_no_mail_loop(
        engine, account: Account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):  # it answers our answer, which it was sent, on every run
        account.append(email(subject="Re: No return workbook found in your email", body="Thanks, I will reply soon."))
        report = run(engine, account, tmp_path)
    assert len(outbox(tmp_path)) == 1
    assert report.rows[0]["answer"].startswith("not answered: the sender had the same answer in the last day")
    account.append(email(attachments=[("return.zip", b"PK\x03\x04")]))  # a different matter is still answered
    run(engine, account, tmp_path)
    assert len(outbox(tmp_path)) == 2


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.org",
                                    "Microsoft Outlook <MicrosoftExchange329e71ec@council.gov.uk>"])
def test_a_bounce_of_our_chaser_is_never_answered_and_names_the_address_that_failed(
        engine, account: Account, tmp_path: Path, sender: str) -> None:  # type: ignore[no-untyped-def]
    bounce = (f"From: {sender}\r\nTo: returns@example.org\r\nSubject: Undeliverable: Reminder: your return\r\n"
              "Message-ID: <b1@mx.example.org>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
              'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
              "--B\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients.\r\n"
              "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
              "Final-Recipient: rfc822; Old.Lead@Example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              "--B\r\nContent-Type: message/rfc822\r\n\r\n"
              "From: grants@example.org\r\nAuto-Submitted: auto-generated\r\n"
              "Subject: Reminder: your return\r\n\r\nPlease send your return.\r\n--B--\r\n")
    account.append(bounce.encode())
    report = run(engine, account, tmp_path)
    [row] = report.rows
    assert row["outcome"] == "automatic" and row["detail"].endswith(": could not deliver to old.lead@example.org")
    assert outbox(tmp_path) == [] and account.count("Set aside") == 1
