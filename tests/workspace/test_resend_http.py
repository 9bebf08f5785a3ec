"""The project page's "Send again" over HTTP (the real app, a real SQLite file) for a message that is not a chase step:
a receipt goes again as the same copy and is audited; a viewer is refused; a failing channel is shown beside the
button with its cause; a message sent before copies were kept has no button and is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from flows.database import configured_engine
from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.settings import Settings
from grants.messaging.channels import OutboxChannel
from grants.messaging.notify import Sender
from grants.messaging.replies import reply_key, send_ingest_replies
from tests.factories import period, project
from tests.notify_support import free_port, read_eml
from tests.workspace.conftest import ACCOUNTS, csrf_of, sign_in

RECEIVED = datetime(2025, 1, 10, 9, tzinfo=UTC)


def _receipt(programme: Settings) -> tuple[int, m.Notification]:
    """Speech and language's Q2 receipt, sent to the outbox: (project id, its Notification row)."""
    with Session(configured_engine()) as session:
        code = project(session, "speech-language")
        ret = session.exec(select(m.Return).where(
            m.Return.project_id == code.id, m.Return.period_id == period(session, "2024-25-Q2").id,
            m.Return.status == m.ReturnStatus.accepted)).one()
        assert ret.id is not None and code.id is not None
        send_ingest_replies(session, [ret.id], RECEIVED, Sender([OutboxChannel(programme.folder("outbox"))]),
                            return_to="returns@example.org")
        row = session.exec(select(m.Notification).where(m.Notification.idempotency_key == reply_key(ret.id))).one()
        return code.id, row


def _mine() -> list[audit.AuditRow]:
    with Session(configured_engine()) as session:
        return [e for e in audit.entries(session) if e.actor != "test"]


def test_an_officer_sends_a_receipt_again_as_the_same_copy_and_it_is_audited(
        client: TestClient, programme: Settings) -> None:
    project_id, receipt = _receipt(programme)
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    assert f'id="resend-{receipt.id}"' in page.text
    answer = client.post(f"/officer/notifications/{receipt.id}/resend?back=/officer/projects/{project_id}",
                         data={"project_id": project_id, "csrf": csrf_of(page.text)})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/officer/projects/{project_id}?done=resent")
    outbox = programme.folder("outbox")
    first = read_eml(outbox / f"{receipt.idempotency_key.replace(':', '_')}.eml")
    again = read_eml(outbox / f"{receipt.idempotency_key.replace(':', '_')}_resend_1.eml")
    assert again["Subject"] == f"Copy: {first['Subject']}" and again["To"] == first["To"]
    (entry,) = _mine()
    assert (entry.actor, entry.action, entry.project_id) == (ACCOUNTS["officer"], "message.resend", project_id)
    assert entry.before["message"] == receipt.idempotency_key
    assert (entry.after["message"], entry.after["how"], entry.after["status"]) == (
        f"{receipt.idempotency_key}:resend:1", "the same copy", "sent")
    assert "Message sent again" in client.get(answer.headers["location"]).text


def test_a_viewer_cannot_send_a_message_again(client: TestClient, programme: Settings) -> None:
    project_id, receipt = _receipt(programme)
    sign_in(client, "viewer")
    page = client.get(f"/officer/projects/{project_id}")
    assert f'id="resend-{receipt.id}"' not in page.text
    answer = client.post(f"/officer/notifications/{receipt.id}/resend",
                         data={"project_id": project_id, "csrf": csrf_of(page.text)})
    assert answer.status_code == 403 and _mine() == []
    assert len(list(programme.folder("outbox").glob("*.eml"))) == 1


def test_a_failing_channel_is_shown_beside_the_button_with_its_cause(client: TestClient, programme: Settings) -> None:
    project_id, receipt = _receipt(programme)
    programme.notify_config.write_text(yaml.safe_dump({
        "outbox": False, "email": f"mailto://127.0.0.1:{free_port()}?from=grants@example.org", "attempts": 1,
        "retry_delay_seconds": 0}))
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    answer = client.post(f"/officer/notifications/{receipt.id}/resend?back=/officer/projects/{project_id}",
                         data={"project_id": project_id, "csrf": csrf_of(page.text)})
    assert answer.status_code == 422
    assert "The message could not be sent again: E-Mail: mailto://127.0.0.1:" in answer.text
    assert f'href="#resend-{receipt.id}"' in answer.text  # the error summary links to the button's form
    (entry,) = _mine()
    assert entry.after["status"] == "failed"


def test_a_message_sent_before_copies_were_kept_has_no_button_and_is_refused(
        client: TestClient, programme: Settings) -> None:
    project_id, receipt = _receipt(programme)
    with Session(configured_engine()) as session:  # as a council upgraded from before copies were kept has it
        row = session.get(m.Notification, receipt.id)
        assert row is not None
        row.copy_id = None
        session.add(row)
        session.commit()
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    assert f'id="resend-{receipt.id}"' not in page.text and "Sent before copies were kept" in page.text
    answer = client.post(f"/officer/notifications/{receipt.id}/resend?back=/officer/projects/{project_id}",
                         data={"project_id": project_id, "csrf": csrf_of(page.text)})
    assert answer.status_code == 422 and "sent before copies of messages were kept" in answer.text
    assert _mine() == []
