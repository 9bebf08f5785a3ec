"""Quarantined files are answered whenever the sender or the project is known, in plain words saying what to do, once
each; the officers' weekly digest lists every quarantined file and any archived copy missing or damaged."""

from __future__ import annotations

import zipfile
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from grants.messaging.channels import OutboxChannel
from grants.messaging.digest import send_digests
from grants.messaging.notify import Sender
from grants.messaging.quarantine_replies import send_quarantine_replies
from grants.returns.identity import Expected
from grants.returns.ingest import Source
from grants.returns.safety import OLE_MAGIC
from tests.factories import load_example
from tests.notify_support import read_eml
from tests.returns_kit import RECEIVED, _stop_parser_pool, fill, ingest, issue  # noqa: F401


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load_example(engine)
    return engine


def _reply(engine: Engine, outbox: Path, ids: list[int]) -> dict[int, str]:
    with Session(engine) as session:
        return send_quarantine_replies(session, ids, RECEIVED, Sender([OutboxChannel(outbox)]),
                                       return_to="returns@example.org")


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _ods(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    return path


def test_a_quarantined_file_from_a_known_sender_gets_plain_words_on_what_to_do_once(
    loaded: Engine, tmp_path: Path
) -> None:
    encrypted = tmp_path / "locked.xlsx"
    encrypted.write_bytes(OLE_MAGIC + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 1024)
    results = ingest(loaded, tmp_path, _ods(tmp_path / "return.ods"), encrypted,
                     source=Source("email", "lead@example.org"))
    ids = [r.file_id for r in results]
    assert all(isinstance(i, int) for i in ids)
    outbox = tmp_path / "outbox"
    assert _reply(loaded, outbox, ids) == {i: "sent" for i in ids}  # type: ignore[misc]
    assert _reply(loaded, outbox, ids) == {i: "skipped" for i in ids}  # type: ignore[misc]
    mails = [read_eml(p) for p in outbox.glob("*.eml")]
    assert len(mails) == 2 and all(mail["To"] == "lead@example.org" for mail in mails)
    joined = " ".join(" ".join(_plain(mail).split()) for mail in mails)
    assert "use File > Save As > Excel Workbook (.xlsx)" in joined
    assert "Remove the password (File > Info > Protect Workbook) and send it again" in joined


def test_a_return_for_the_wrong_period_is_answered_to_its_project_lead(loaded: Engine, tmp_path: Path) -> None:
    path = fill(issue(loaded, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "q2.xlsx")
    [result] = ingest(loaded, tmp_path, path, source=Source("upload", expected=Expected(period="2024-25-Q3")))
    assert (result.outcome, result.project) == ("quarantined", "active-bystander")
    assert result.file_id is not None
    outbox = tmp_path / "outbox"
    assert _reply(loaded, outbox, [result.file_id]) == {result.file_id: "sent"}
    [path] = outbox.glob("*.eml")
    mail = read_eml(path)
    assert "active.bystander@example.org" in mail["To"] and "2024-25-Q3" in _plain(mail)


def test_a_quarantined_file_nobody_can_be_told_about_gets_no_reply_but_is_in_the_digest(
    loaded: Engine, tmp_path: Path
) -> None:
    [result] = ingest(loaded, tmp_path, _ods(tmp_path / "mystery.ods"))  # from the inbox: sender unknown
    assert result.file_id is not None
    assert _reply(loaded, tmp_path / "outbox", [result.file_id]) == {result.file_id: "no reply"}
    kept = fill(issue(loaded, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "good.xlsx")
    [stored] = ingest(loaded, tmp_path, kept)
    Path(stored.stored_path).write_bytes(b"bit rot")
    with Session(loaded) as session:  # Monday: the digest goes on the week's first working day
        [(digest, status)] = send_digests(session, date(2024, 10, 7), RECEIVED, Sender([OutboxChannel(tmp_path)]))
    assert status == "sent"
    quarantined = digest.text.split("Files quarantined this week (1)")[1]
    assert "mystery.ods (inbox), received Thursday 3 October 2024: opendocument" in quarantined
    assert "Archived files missing or damaged (1)" in digest.text
    assert "damaged: return active-bystander 2024-25-Q2 v1" in digest.text
