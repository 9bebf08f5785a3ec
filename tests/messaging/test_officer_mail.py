"""One cause, one message: each officer gets one email per run with every notice grouped by cause (copies of overdue
chasers, escalations, risk alerts, the funder late), through a real SMTP server on 127.0.0.1; a failed message is
retried on the failing channel only, rebuilt for the day it goes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.messaging.alerts import send_risk_alerts
from grants.messaging.channels import NotifyConfig, OutboxChannel, build_sender
from grants.messaging.chase_run import run_chase
from grants.messaging.digest import digest_context
from grants.messaging.notify import ChannelError, Outgoing, Sender
from grants.messaging.officer_mail import cause_key_of, named_in, notice_key, sent_to
from grants.monitoring.assessment import run_checks
from tests.factories import add_return, load_example
from tests.notify_support import Inbox, read_eml, smtp_server, xlsx_pack_builder

__all__ = ["smtp_server"]
OFFICER = "community.safety.officer@example.org"
MANAGER = "head.of.community.safety@example.org"
OVERDUE_1 = date(2025, 1, 17)  # Q3 was due Wednesday 15 January 2025: the first overdue chasers go on the Friday


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def _chase(engine: Engine, day: date, sender: Sender, packs: Path) -> list[tuple[str, str, str]]:
    with Session(engine, expire_on_commit=False) as session:
        outcomes = run_chase(session, day, _at(day), sender, xlsx_pack_builder, packs, return_to="returns@example.org")
    return [(o.message.kind, o.project_code, o.status) for o in outcomes]


def _per_person(inbox: Inbox) -> Counter[str]:
    return Counter(rcpt for rcpts, _ in inbox.received for rcpt in rcpts)


def test_one_officer_gets_one_email_in_a_run_with_eight_overdue_returns_and_the_funder_late(
        engine: Engine, smtp_server: tuple[int, Inbox], tmp_path: Path) -> None:
    port, inbox = smtp_server
    load_example(engine)
    with Session(engine) as session:  # no funds released all year; no return sent for 2024-25 Q3
        run_checks(session, OVERDUE_1)
        session.commit()
    config = NotifyConfig.model_validate({"email": f"mailto://127.0.0.1:{port}?from=grants@example.org",
                                          "outbox": False, "retry_delay_seconds": 0})
    rows = _chase(engine, OVERDUE_1, build_sender(config, tmp_path / "outbox"), tmp_path / "packs")
    assert {status for _, _, status in rows} == {"sent"}
    received = _per_person(inbox)
    assert received[OFFICER] == 1 and received[MANAGER] == 1  # the red risks reach the manager, once
    assert sum(received.values()) == 8 + 2  # each lead still gets their own chaser
    mail = next(mail for rcpts, mail in inbox.received if rcpts == [OFFICER])
    assert mail["Cc"] is None and "(returns overdue: the lead was chased: 8; funds released late: 1;" in mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Returns overdue: the lead was chased (8)" in text and "Funds released late (1)" in text
    assert "Impact Project (Youth Justice Service), 2024-25-Q3 return: due Wednesday 15 January 2025, 2 working " \
           "days overdue" in text
    assert "The first overdue chaser: sent today" in text
    for rcpts, lead_mail in inbox.received:
        if rcpts not in ([OFFICER], [MANAGER]):
            assert lead_mail["Cc"] is None and "Overdue" in lead_mail["Subject"]  # no copy on the lead's chaser
    with Session(engine) as session:
        notices = session.exec(select(m.Notification).where(m.Notification.kind == "officer-mail")).all()
    mine = [n for n in notices if n.recipients == OFFICER]
    assert len(mine) > 8 + 1 and {n.status for n in mine} == {"sent"}  # each notice logged, all in one email
    again = _chase(engine, OVERDUE_1, build_sender(config, tmp_path / "outbox"), tmp_path / "packs")
    assert again == [] and sum(_per_person(inbox).values()) == 10  # a rerun sends nothing


def test_the_check_run_and_the_chase_run_each_send_an_officer_at_most_one_message(
        engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    outbox = tmp_path / "outbox"
    sender = Sender([OutboxChannel(outbox)])
    with Session(engine) as session:
        run_checks(session, OVERDUE_1)
        session.commit()
        alerts = send_risk_alerts(session, OVERDUE_1, _at(OVERDUE_1), sender)  # the 06:30 check run
    assert len({a.message.key for a, _ in alerts if a.message.to[0].email == OFFICER}) == 1
    _chase(engine, OVERDUE_1, sender, tmp_path / "packs")  # the 09:00 chase run: the copies, no alert again
    to_officer = [p for p in outbox.glob("officer-mail_*.eml") if OFFICER.replace("@", "_") in p.name]
    assert len(to_officer) == 2
    bodies = [read_eml(p).get_body(("plain",)) for p in to_officer]
    text = "\n".join(b.get_content() for b in bodies if b is not None)
    assert text.count("Funds released late (1)") == 1 and text.count("Returns overdue: the lead was chased (8)") == 1


class OfficersWebhook:
    """A Teams-like channel for the officers' messages that can be down; it keeps what it delivered."""

    description = "webhook: json://127.0.0.1/officers"

    def __init__(self) -> None:
        self.down = True
        self.delivered: list[Outgoing] = []

    def accepts(self, message: Outgoing) -> bool:
        return "officers" in message.tags or "managers" in message.tags

    def deliver(self, message: Outgoing) -> None:
        if self.down:
            raise ChannelError("503 service unavailable")
        self.delivered.append(message)


def test_a_failed_officer_message_is_retried_only_where_it_failed_worded_for_the_day_it_goes(
        engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    outbox, webhook = tmp_path / "outbox", OfficersWebhook()
    sender = Sender([OutboxChannel(outbox), webhook], attempts=1)
    _chase(engine, OVERDUE_1, sender, tmp_path / "packs")  # the webhook is down: the officer's message fails there
    with Session(engine) as session:
        rows = session.exec(select(m.Notification).where(m.Notification.kind == "officer-mail")).all()
        assert {r.status for r in rows} == {"failed"} and all("503" in r.error for r in rows), [
            (r.idempotency_key, r.error) for r in rows]
        assert {r.delivered_json for r in rows} == {json.dumps([OutboxChannel(outbox).description])}
        add_return(session, "impact-project", "2024-25-Q3", received=date(2025, 1, 20))  # arrives on Monday
        session.commit()
    webhook.down = False
    monday = date(2025, 1, 20)
    rows_monday = _chase(engine, monday, sender, tmp_path / "packs")
    assert [row for row in rows_monday if row[0] != "officer-mail"] == []  # the leads were chased on Friday
    assert len(list(outbox.glob("officer-mail_*.eml"))) == 1  # Friday's message, not again where it went
    [message] = [d for d in webhook.delivered if d.to[0].email == OFFICER]
    assert "Returns overdue: the lead was chased (7)" in message.text  # Impact Project's return came: not in it
    assert "Impact Project" not in message.text
    assert "3 working days overdue" in message.text and "sent Friday 17 January 2025" in message.text
    with Session(engine) as session:
        officer_rows = session.exec(select(m.Notification).where(m.Notification.kind == "officer-mail",
                                                                 m.Notification.recipients == OFFICER)).all()
    sent = [r for r in officer_rows if r.status == "sent"]
    assert len(sent) == 7 and all(len(json.loads(r.delivered_json)) == 2 for r in sent)
    assert _chase(engine, monday, sender, tmp_path / "packs") == [] and len(webhook.delivered) == 1
    with Session(engine) as session:  # Impact Project's failed notice is moot once its return came: not in the digest
        assert digest_context(session, session.exec(select(m.Grant)).one(), monday)["failed"] == []


def test_notice_keys_and_who_a_sent_row_counts_for() -> None:
    key = notice_key("Kit@Example.org", "chase:1:3:overdue-1")
    assert key == "to:kit@example.org:chase:1:3:overdue-1" and cause_key_of(key) == "chase:1:3:overdue-1"
    assert named_in("lead@x.org, two@x.org; cc officer@x.org") == {"lead@x.org", "two@x.org", "officer@x.org"}
    # a chaser sent before bundling (to the lead, copying the officer) counts for the officer: never said twice
    assert sent_to([("chase:1:3:overdue-1", "lead@x.org; cc officer@x.org")])["officer@x.org"] == {
        "chase:1:3:overdue-1"}
