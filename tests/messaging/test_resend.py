"""Sending a message again: every kind but a chase step goes as the copy kept of it (same people, same attachments,
marked as a copy) through a real SMTP server on 127.0.0.1; a chase step is re-rendered for today with a fresh
workbook; each resend has its own key, Notification row and audit entry; a message with no copy is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.db import get_engine
from grants.kernel.errors import GrantsError
from grants.kernel.settings import Settings
from grants.messaging.channels import NotifyConfig, OutboxChannel, build_sender
from grants.messaging.chase_run import run_chase
from grants.messaging.digest import send_digests
from grants.messaging.notify import Sender
from grants.messaging.replies import send_ingest_replies
from grants.messaging.resend import Resent, resend
from grants.programme.overrides import extend_due
from grants.returns.layout import META, signature_valid
from tests import db_templates
from tests.factories import add_return, load_example, period, project
from tests.notify_support import Inbox, free_port, read_eml, smtp_server, xlsx_pack_builder

__all__ = ["smtp_server"]
RETURNS = "returns@example.org"
OFFICER = "community.safety.officer@example.org"
SENT = datetime(2025, 1, 14, 11, tzinfo=UTC)
AGAIN = datetime(2025, 2, 3, 10, tzinfo=UTC)
PROBLEMS = [{"code": "missing-sign-off", "severity": "error", "sheet": "Sign-off", "cell": "B4",
             "field": "signed_name", "message": "the return is not signed: type your name in B4"}]


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    """A real SQLite file at head (the tests that need no second database)."""
    path = tmp_path / "grants.db"
    db_templates.sqlite_with_schema(path)
    engine = get_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
    get_engine.cache_clear()


def _smtp(port: int, outbox: Path) -> Sender:
    config = NotifyConfig.model_validate({"email": f"mailto://127.0.0.1:{port}?from=grants@example.org",
                                          "outbox": False, "attempts": 1, "retry_delay_seconds": 0})
    return build_sender(config, outbox, RETURNS)


def _again(engine: Engine, notification_id: int, sender: Sender, packs_dir: Path | None = None) -> Resent:
    with Session(engine) as session:
        return resend(session, notification_id, sender, as_of=AGAIN.date(), now=AGAIN, actor=OFFICER,
                      return_to=RETURNS, packs_dir=packs_dir)


def _rejected(engine: Engine, settings: Settings) -> int:
    """A rejected return whose original file is in the archive (inside the data folder)."""
    original = settings.folder("archive") / "3f" / "3f9a0c.xlsx"
    original.parent.mkdir(parents=True)
    original.write_bytes(b"PK\x03\x04 the lead's own file")
    with Session(engine) as session:
        ret = add_return(session, "active-bystander", "2024-25-Q3", received=SENT.date(),
                         status=m.ReturnStatus.rejected, problems_json=json.dumps(PROBLEMS))
        ret.archive_path, ret.source_name = str(original), "Q3 return FINAL.xlsx"
        session.add(ret)
        session.commit()
        assert ret.id is not None
        return ret.id


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _html(mail: EmailMessage) -> str:
    body = mail.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _files(mail: EmailMessage) -> list[tuple[str, bytes]]:
    return [(part.get_filename() or "", bytes(part.get_content())) for part in mail.iter_attachments()]


def _row(engine: Engine, key: str) -> m.Notification:
    with Session(engine) as session:
        return session.exec(select(m.Notification).where(m.Notification.idempotency_key == key)).one()


def test_a_rejection_goes_again_as_the_same_copy_to_the_same_people_with_its_file_marked_as_a_copy(
        engine: Engine, settings: Settings, smtp_server: tuple[int, Inbox], tmp_path: Path) -> None:
    port, inbox = smtp_server
    load_example(engine)
    return_id = _rejected(engine, settings)
    sender = _smtp(port, tmp_path / "outbox")
    with Session(engine) as session:
        assert send_ingest_replies(session, [return_id], SENT, sender, return_to=RETURNS) == {return_id: "sent"}
    first = _row(engine, f"reply:{return_id}")
    assert first.copy_id is not None and first.id is not None
    done = _again(engine, first.id, sender)
    assert (done.status, done.key, done.how) == ("sent", f"reply:{return_id}:resend:1", "the same copy")
    (to_before, before), (to_after, after) = inbox.received
    assert sorted(to_after) == sorted(to_before) and OFFICER in to_after  # the lead, and the officer copied
    assert (after["To"], after["Cc"], after["Reply-To"]) == (before["To"], before["Cc"], before["Reply-To"])
    assert after["Subject"] == f"Copy: {before['Subject']}"
    note = ("This is a copy of a message first sent on 14 January 2025, 11am, sent again on 3 February 2025 at the "
            "request of the grants team.")
    assert _html(after).replace(f'<p class="copy-note"><strong>{note}</strong></p>', "") == _html(before)
    assert _plain(after).startswith(note)  # the plain text Apprise makes of the HTML starts with it too
    assert _files(after) == _files(before) == [("Q3 return FINAL.xlsx", b"PK\x03\x04 the lead's own file")]
    again = _row(engine, done.key)
    assert (again.kind, again.status, again.project_id) == ("rejection", "sent", first.project_id)
    assert again.copy_id not in (None, first.copy_id)
    with Session(engine) as session:
        (entry,) = audit.entries(session)
    assert (entry.actor, entry.action, entry.project_id) == (OFFICER, "message.resend", first.project_id)
    assert entry.before["message"] == f"reply:{return_id}" and entry.before["kind"] == "rejection"
    assert entry.after["status"] == "sent" and entry.after["how"] == "the same copy" and OFFICER in entry.after["to"]


def test_sending_again_a_copy_that_was_itself_sent_again_sends_the_original_under_the_next_number(
        lite: Engine, settings: Settings, tmp_path: Path) -> None:
    load_example(lite)
    return_id = _rejected(lite, settings)
    outbox = tmp_path / "outbox"
    sender = Sender([OutboxChannel(outbox)])
    with Session(lite) as session:
        send_ingest_replies(session, [return_id], SENT, sender, return_to=RETURNS)
    first = _row(lite, f"reply:{return_id}")
    assert first.id is not None
    once = _row(lite, _again(lite, first.id, sender).key)
    assert once.id is not None
    twice = _again(lite, once.id, sender)
    assert twice.key == f"reply:{return_id}:resend:2"
    mail = read_eml(outbox / f"reply_{return_id}_resend_2.eml")
    assert mail["Subject"].startswith("Copy: ") and not mail["Subject"].startswith("Copy: Copy:")


def test_an_attachment_changed_since_it_was_sent_is_refused_and_nothing_is_sent(
        lite: Engine, settings: Settings, tmp_path: Path) -> None:
    load_example(lite)
    return_id = _rejected(lite, settings)
    sender = Sender([OutboxChannel(tmp_path / "outbox")])
    with Session(lite) as session:
        send_ingest_replies(session, [return_id], SENT, sender, return_to=RETURNS)
    kept = settings.folder("archive") / "3f" / "as-sent" / str(return_id) / "Q3 return FINAL.xlsx"
    kept.write_bytes(b"something else")
    first = _row(lite, f"reply:{return_id}")
    assert first.id is not None
    with pytest.raises(GrantsError, match="has changed since it was sent"):
        _again(lite, first.id, sender)
    with Session(lite) as session:
        assert len(session.exec(select(m.Notification)).all()) == 1 and audit.entries(session) == []


def test_a_channel_that_fails_is_logged_audited_and_returned_with_its_cause(
        lite: Engine, settings: Settings, tmp_path: Path) -> None:
    load_example(lite)
    return_id = _rejected(lite, settings)
    with Session(lite) as session:
        send_ingest_replies(session, [return_id], SENT, Sender([OutboxChannel(tmp_path / "outbox")]),
                            return_to=RETURNS)
    first = _row(lite, f"reply:{return_id}")
    assert first.id is not None
    done = _again(lite, first.id, _smtp(free_port(), tmp_path / "outbox"))  # nothing listens on the port
    assert done.status == "failed" and "E-Mail: mailto://127.0.0.1:" in done.error
    assert _row(lite, f"reply:{return_id}:resend:1").status == "failed"
    with Session(lite) as session:
        (entry,) = audit.entries(session)
    assert entry.after["status"] == "failed" and "delivery refused or failed" in entry.after["error"]


def test_an_officers_notice_sends_again_the_one_message_it_went_in(lite: Engine, tmp_path: Path) -> None:
    load_example(lite)
    outbox = tmp_path / "outbox"
    day = date(2025, 1, 17)  # the first overdue chasers: the officer gets one message with eight notices
    with Session(lite, expire_on_commit=False) as session:
        run_chase(session, day, datetime(2025, 1, 17, 9, tzinfo=UTC), Sender([OutboxChannel(outbox)]),
                  xlsx_pack_builder, tmp_path / "packs", return_to=RETURNS)
    with Session(lite) as session:
        notices = session.exec(select(m.Notification).where(
            col(m.Notification.idempotency_key).startswith(f"to:{OFFICER}:"))).all()
    assert len(notices) == 8 and len({n.copy_id for n in notices}) == 1  # one copy for the one message
    bundle = next(read_eml(p) for p in outbox.glob("officer-mail_*.eml") if OFFICER in read_eml(p)["To"])
    assert notices[0].id is not None
    done = _again(lite, notices[0].id, Sender([OutboxChannel(outbox)]))
    mail = next(read_eml(p) for p in outbox.glob("*resend_1.eml"))
    assert str(mail["X-Grants-Key"]).strip() == done.key == f"{notices[0].idempotency_key}:resend:1"
    assert mail["To"] == bundle["To"] and mail["Subject"] == f"Copy: {bundle['Subject']}"
    assert _plain(mail).endswith(_plain(bundle)) and _plain(bundle).count("working days overdue") == 8


def test_a_return_pack_goes_again_re_rendered_for_the_extended_due_date_with_a_freshly_signed_workbook(
        lite: Engine, settings: Settings, tmp_path: Path) -> None:
    load_example(lite)
    outbox = tmp_path / "outbox"
    with Session(lite, expire_on_commit=False) as session:
        run_chase(session, date(2025, 1, 2), datetime(2025, 1, 2, 9, tzinfo=UTC), Sender([OutboxChannel(outbox)]),
                  xlsx_pack_builder, tmp_path / "packs", return_to=RETURNS)
        bystander, q3 = project(session, "active-bystander"), period(session, "2024-25-Q3")
        assert bystander.id is not None and q3.id is not None
        extend_due(session, bystander.id, q3.id, date(2025, 2, 14), "lead on leave", actor=OFFICER, now=AGAIN)
        session.commit()
        pack = session.exec(select(m.Notification).where(
            m.Notification.idempotency_key == f"chase:{bystander.id}:{q3.id}:pack")).one()
    assert pack.id is not None
    done = _again(lite, pack.id, Sender([OutboxChannel(outbox)]), packs_dir=tmp_path / "again")
    assert done.how == "re-rendered for today"
    mail = read_eml(outbox / f"chase_{bystander.id}_{q3.id}_pack_resend_1.eml")
    assert "14 February 2025" in _plain(mail) and mail["To"] == "Jordan Ellis <active.bystander@example.org>"
    ((name, content),) = _files(mail)
    assert name.endswith(".xlsx") and (tmp_path / "again" / name).read_bytes() == content
    sheet = load_workbook(BytesIO(content))[META]  # the real writer's workbook, signed with the installation's key
    meta = {str(row[0]): str(row[1]) for row in sheet.iter_rows(values_only=True)}
    assert meta["project"] == "active-bystander" and signature_valid(settings.signing_secret(), meta)


def test_a_message_sent_before_copies_were_kept_is_refused_and_a_chase_step_is_re_rendered(
        lite: Engine, tmp_path: Path) -> None:
    load_example(lite)
    with Session(lite) as session:
        bystander, q3 = project(session, "active-bystander"), period(session, "2024-25-Q3")
        old = [m.Notification(idempotency_key=key, kind=kind, project_id=bystander.id, period_id=q3.id, step=step,
                              recipients="active.bystander@example.org", subject="s", sent_at=SENT)
               for key, kind, step in (("reply:99", "receipt", "v1"),
                                       (f"chase:{bystander.id}:{q3.id}:overdue-1", "chase-overdue", "overdue-1"))]
        session.add_all(old)
        session.commit()
        receipt, chaser = (row.id for row in old)
    sender = Sender([OutboxChannel(tmp_path / "outbox")])
    with pytest.raises(GrantsError, match="sent before copies of messages were kept"):
        _again(lite, receipt or 0, sender)
    assert _again(lite, chaser or 0, sender).status == "sent"


def test_a_digest_goes_again_as_the_same_copy_to_every_officer_it_went_to(lite: Engine, tmp_path: Path) -> None:
    load_example(lite)
    outbox = tmp_path / "outbox"
    monday = date(2025, 1, 20)
    with Session(lite, expire_on_commit=False) as session:
        ((digest, status),) = send_digests(session, monday, datetime(2025, 1, 20, 8, tzinfo=UTC),
                                           Sender([OutboxChannel(outbox)]))
    assert status == "sent"
    row = _row(lite, digest.key)
    assert row.id is not None
    done = _again(lite, row.id, Sender([OutboxChannel(outbox)]))
    name = digest.key.replace(":", "_")
    first, again = read_eml(outbox / f"{name}.eml"), read_eml(outbox / f"{name}_resend_1.eml")
    assert (done.status, again["To"], again["Subject"]) == ("sent", first["To"], f"Copy: {first['Subject']}")
    assert _plain(again).endswith(_plain(first)) and _plain(again).startswith("This is a copy of a message first sent")
