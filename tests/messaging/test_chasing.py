"""Chasing against a real database: a day-by-day simulated quarter (2024-25 Q3), crashes, reruns and failures."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.messaging.channels import OutboxChannel
from grants.messaging.chase_plan import calendar_of, ladder_of
from grants.messaging.chase_run import run_chase
from grants.messaging.notify import ChannelError, Outgoing, Sender
from grants.monitoring.assessment import run_checks
from grants.programme.loader import load_programmes
from grants.programme.register import initialise
from tests.factories import add_return, load_example
from tests.notify_support import attachment_names, read_eml, xlsx_pack_builder

OFFICER = "community.safety.officer@example.org"
MANAGER = "head.of.community.safety@example.org"
LEADS = {
    "purple-flag": "purple.flag@example.org", "community-coproduction": "community.coproduction@example.org",
    "active-bystander": "active.bystander@example.org", "man-culture": "man.culture@example.org",
    "impact-project": "impact.project@example.org", "speech-language": "speech.language@example.org",
    "csa-prevention": "csa.prevention@example.org", "prevention-feasibility": "prevention.feasibility@example.org",
}
SILENT = ["impact-project", "speech-language", "csa-prevention", "prevention-feasibility"]  # never send a return


class Crash(BaseException):
    """The process dying mid-run (not an ordinary channel failure)."""


class CrashAfter:
    """A channel that delivers `n` messages and then takes the whole run down."""

    description = "crash test channel"

    def __init__(self, n: int) -> None:
        self.left = n

    def accepts(self, message: Outgoing) -> bool:
        return True

    def deliver(self, message: Outgoing) -> None:
        if self.left == 0:
            raise Crash
        self.left -= 1


class AlwaysDown:
    """A channel whose server refuses every message."""

    description = "smtp: mailto://user:****@mail.example.org"

    def __init__(self) -> None:
        self.calls = 0

    def accepts(self, message: Outgoing) -> bool:
        return True

    def deliver(self, message: Outgoing) -> None:
        self.calls += 1
        raise ChannelError("connection refused")


def _chase(engine: Engine, day: date, sender: Sender, packs: Path, hour: int = 9
           ) -> list[tuple[str, str, tuple[str, ...], str]]:
    with Session(engine, expire_on_commit=False) as session:
        outcomes = run_chase(session, day, datetime(day.year, day.month, day.day, hour, tzinfo=UTC), sender,
                             xlsx_pack_builder, packs, return_to="returns@example.org")
    return sorted((o.project_code, o.step, tuple(a.email for a in o.message.to),
                   ",".join(a.email for a in o.message.cc)) for o in outcomes if o.status == "sent")


def _leads(step: str, codes: list[str]) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [(code, step, (LEADS[code],), "") for code in codes]


def _told(step: str, codes: list[str], *people: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """The notices about a step in each person's one message of the run (one row per project and person)."""
    return [(code, step, (person,), "") for code in codes for person in people]


EXPECTED = {
    date(2025, 1, 2): _leads("pack", list(LEADS)),
    date(2025, 1, 8): _leads("reminder", [c for c in LEADS if c != "man-culture"]),
    date(2025, 1, 15): _leads("last-reminder", SILENT),
    date(2025, 1, 20): _leads("overdue-1", SILENT) + _told("overdue-1", SILENT, OFFICER),
    date(2025, 1, 22): _leads("overdue-2", ["active-bystander", *SILENT]) + _told(
        "overdue-2", ["active-bystander", *SILENT], OFFICER),
    date(2025, 1, 29): _told("escalation", ["active-bystander", *SILENT], OFFICER, MANAGER),
}
BUNDLES = 1 + 1 + 2  # the officer's one message on the 20th and the 22nd; the officer's and the manager's on the 29th
ARRIVALS = {  # returns as ingestion records them, on the morning they arrive
    date(2025, 1, 6): [("man-culture", m.ReturnStatus.accepted)],
    date(2025, 1, 10): [("purple-flag", m.ReturnStatus.accepted)],
    date(2025, 1, 14): [("community-coproduction", m.ReturnStatus.rejected),
                        ("active-bystander", m.ReturnStatus.rejected)],
    date(2025, 1, 20): [("community-coproduction", m.ReturnStatus.accepted)],
}
ENGINE_DOWN = {date(2025, 1, 17)}  # the overdue-1 chasers due that Friday go out late on Monday
CRASH_DAY = date(2025, 1, 2)


def test_simulated_quarter_sends_exactly_the_ladder_day_by_day(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    outbox, packs = tmp_path / "outbox", tmp_path / "packs"
    sender = Sender([OutboxChannel(outbox)], attempts=1)
    day, sent_by_day = date(2024, 12, 20), {}
    while day <= date(2025, 2, 5):  # Christmas, Boxing Day, New Year's Day and weekends included
        with Session(engine) as session:
            for code, status in ARRIVALS.get(day, []):
                add_return(session, code, "2024-25-Q3", received=day, status=status)
            session.commit()
        if day == CRASH_DAY:  # the run dies after the first message, while sending the second: the rerun sends the
            # rest (not the first again); the one in flight stays claimed until its claim lapses, then goes out
            with pytest.raises(Crash):
                _chase(engine, day, Sender([OutboxChannel(outbox), CrashAfter(1)], attempts=1), packs)
            first = _chase(engine, day, sender, packs)
            assert len(first) == 6
            first += _chase(engine, day, sender, packs, hour=10)  # 9:00 + more than CLAIM_LEASE
            assert len(first) == 7
        if day not in ENGINE_DOWN:
            sent = _chase(engine, day, sender, packs) if day != CRASH_DAY else sorted(first)
            if sent:
                sent_by_day[day] = sent
            assert _chase(engine, day, sender, packs) == [], f"rerun on {day} sent again"
        day += timedelta(days=1)
    expected = {day: sorted(rows) for day, rows in EXPECTED.items()}
    # the first project's pack went out in the crashed run (projects are sent in config order)
    expected[CRASH_DAY] = [row for row in expected[CRASH_DAY] if row[0] != "purple-flag"]
    assert sent_by_day == expected
    with Session(engine) as session:
        rows = session.exec(select(m.Notification)).all()
    assert len(rows) == sum(len(v) for v in EXPECTED.values()) and {r.status for r in rows} == {"sent"}
    leads = [r for r in rows if r.idempotency_key.startswith("chase:")]
    assert len(list(outbox.glob("*.eml"))) == len(leads) + BUNDLES


def test_outbox_eml_has_headers_bodies_and_the_prefilled_workbook(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    sent = _chase(engine, date(2025, 1, 2), Sender([OutboxChannel(tmp_path / "outbox")]), tmp_path / "packs")
    assert len(sent) == 8
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    mail = read_eml(next(f for f in files if "chase" in f.name and _to(f) == LEADS["purple-flag"]))
    assert mail["To"] == f"Morgan Hale <{LEADS['purple-flag']}>"
    assert mail["Subject"] == ("Purple Flag night-time economy: quarterly return for 2024-25-Q3, due Wednesday 15 "
                               "January 2025")
    assert mail["Date"] and mail["X-Grants-Key"].startswith("chase:")
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and "Your return is due by Wednesday 15 January 2025" in text.get_content()
    assert html is not None and "<strong>Wednesday 15 January 2025</strong>" in html.get_content()
    assert attachment_names(mail) == ["purple-flag-2024-25-Q3-return.xlsx"]
    payload = next(mail.iter_attachments()).get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.startswith(b"PK")


def _to(path: Path) -> str:
    return str(read_eml(path)["To"]).split("<")[-1].rstrip(">")


def _officer_mail(outbox: Path, person: str = OFFICER) -> str:
    """The plain text of the one message `person` got in a run."""
    mails = [read_eml(f) for f in sorted(outbox.glob("officer-mail_*.eml")) if _to(f) == person]
    assert len(mails) == 1, f"{person} got {len(mails)} messages"
    assert attachment_names(mails[0]) == []  # officers never get the workbook, even when the pack never went out
    body = mails[0].get_body(("plain",))
    assert body is not None
    return str(mails[0]["Subject"]) + "\n" + body.get_content()


def test_escalations_reach_the_officer_and_their_manager_each_in_one_message(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    _chase(engine, date(2025, 1, 29), Sender([OutboxChannel(tmp_path / "outbox")]), tmp_path / "packs")
    officer, manager = _officer_mail(tmp_path / "outbox"), _officer_mail(tmp_path / "outbox", MANAGER)
    assert "Returns escalated to you (8)" in officer and "10 working days overdue" in officer
    assert "Returns escalated to your team (8)" in manager and "you get this as their manager" in manager


def test_failing_channel_is_retried_then_logged_failed_and_the_run_continues(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    down = AlwaysDown()
    sender = Sender([OutboxChannel(tmp_path / "outbox"), down], attempts=3)
    assert _chase(engine, date(2025, 1, 2), sender, tmp_path / "packs") == []
    assert down.calls == 8 * 3
    with Session(engine) as session:
        rows = session.exec(select(m.Notification)).all()
    assert len(rows) == 8 and {r.status for r in rows} == {"failed"}
    assert all(r.attempts == 4 and "connection refused" in r.error and "****" in r.error for r in rows)
    retried = _chase(engine, date(2025, 1, 3), Sender([OutboxChannel(tmp_path / "outbox")]), tmp_path / "packs")
    assert [step for _, step, _, _ in retried] == ["pack"] * 8  # sent late once the channel works again


def test_a_workbook_that_cannot_be_built_fails_that_message_only(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)

    def builder(session: Session, project_id: int, period_id: int, out_dir: Path) -> Path:
        if project_id == 2:
            raise ValueError("budget line missing")
        return xlsx_pack_builder(session, project_id, period_id, out_dir)

    with Session(engine) as session:
        outcomes = run_chase(session, date(2025, 1, 2), datetime(2025, 1, 2, 9, tzinfo=UTC),
                             Sender([OutboxChannel(tmp_path / "outbox")]), builder, tmp_path / "packs",
                             return_to="returns@example.org")
        failed = session.exec(select(m.Notification).where(m.Notification.status == "failed")).one()
    assert [o.status for o in outcomes].count("sent") == 7
    assert failed.project_id == 2 and "ValueError: budget line missing" in failed.error


class SlowCounting:
    """A channel that takes a while per message and counts every delivery (shared by two runs)."""

    description = "slow counting channel"

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.lock = threading.Lock()

    def accepts(self, message: Outgoing) -> bool:
        return True

    def deliver(self, message: Outgoing) -> None:
        time.sleep(0.05)
        with self.lock:
            self.keys.append(message.key)


def test_two_overlapping_runs_send_each_step_once(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    channel = SlowCounting()
    statuses: list[str] = []

    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                outcomes = run_chase(session, date(2025, 1, 2), datetime(2025, 1, 2, 9, tzinfo=UTC),
                                     Sender([channel]), xlsx_pack_builder, tmp_path / f"packs{n}",
                                     return_to="returns@example.org")
            statuses.extend(o.status for o in outcomes)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(channel.keys) == sorted(set(channel.keys)) and len(channel.keys) == 8
    # on PostgreSQL the runs interleave (the loser of each key skips it); SQLite queues whole transactions
    assert statuses.count("sent") == 8 and set(statuses) <= {"sent", "skipped"}


def test_a_catch_up_chaser_goes_without_the_workbook_if_it_cannot_be_built(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)

    def broken(session: Session, project_id: int, period_id: int, out_dir: Path) -> Path:
        raise OSError("disk full")

    with Session(engine) as session:
        outcomes = run_chase(session, date(2025, 1, 9), datetime(2025, 1, 9, 9, tzinfo=UTC),
                             Sender([OutboxChannel(tmp_path / "outbox")]), broken, tmp_path / "packs",
                             return_to="returns@example.org")
    assert [(o.step, o.status) for o in outcomes] == [("reminder", "sent")] * 8
    mail = read_eml(tmp_path / "outbox" / "chase_1_3_reminder.eml")
    body = mail.get_body(("plain",))
    assert attachment_names(mail) == [] and body is not None and "workbook is attached" not in body.get_content()


def test_the_grant_files_chase_block_is_stored_and_drives_the_ladder(engine: Engine, config_dir: Path) -> None:
    grant_file = config_dir / "grants" / "svd-2024-25.yaml"
    text = grant_file.read_text().replace(
        "    due_working_days: 10\n",
        "    due_working_days: 10\n  chase:\n    reminder_working_days_before_due: 3\n"
        "    escalation_working_days_after_due: null\n", 1)
    grant_file.write_text(text)
    with Session(engine) as session:
        initialise(session, load_programmes(config_dir))
        session.commit()
        grant = session.exec(select(m.Grant)).one()
        ladder = ladder_of(grant)
    assert json.loads(grant.rules_json)["chase"]["reminder_working_days_before_due"] == 3
    assert ladder.reminder_working_days_before_due == 3 and ladder.escalation_working_days_after_due is None
    assert [s.name for s in ladder.steps(date(2024, 12, 31), date(2025, 1, 15), calendar_of(grant))] == [
        "pack", "reminder", "last-reminder", "overdue-1", "overdue-2"]


def test_a_last_reminder_sent_late_is_worded_for_the_day_it_is_sent(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    sender = Sender([OutboxChannel(tmp_path / "outbox")])
    _chase(engine, date(2025, 1, 8), sender, tmp_path / "packs")  # the reminders 5 working days before
    sent = _chase(engine, date(2025, 1, 16), sender, tmp_path / "packs")  # the engine was down on the due date
    assert {row[1] for row in sent} == {"last-reminder"}
    mail = read_eml(sorted((tmp_path / "outbox").glob("*last-reminder.eml"))[0])
    assert mail["Subject"].startswith("Overdue: ") and "(was due Wednesday 15 January 2025)" in mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None and "now\n1 working day overdue" in body.get_content()
    assert "due today" not in body.get_content()


def test_escalation_after_an_outage_says_nothing_reached_the_lead_and_what_to_do_next(engine: Engine,
                                                                                      tmp_path: Path) -> None:
    load_example(engine)
    _chase(engine, date(2025, 1, 29), Sender([OutboxChannel(tmp_path / "outbox")]), tmp_path / "packs")
    text = _officer_mail(tmp_path / "outbox")
    assert "The lead has been chased" not in text
    assert "Nothing has reached the lead: check the address" in text
    assert "The return pack with the pre-filled workbook: not sent" in text
    assert "The second overdue chaser: not sent" in text and "overdue-2" not in text
    assert "No late-return risk is open on the register for it yet." in text
    assert "Suggested next step: phone " in text


def _officer_mail_after_checks(engine: Engine, tmp_path: Path, earlier: tuple[date, ...], checked: date,
                               chased: date) -> str:
    """The example programme chased on the `earlier` days, checked on `checked`, then chased on `chased`: the text
    of the officer's message of that last run alone."""
    load_example(engine)
    sender = Sender([OutboxChannel(tmp_path / "outbox")])
    for day in earlier:
        _chase(engine, day, sender, tmp_path / "packs")
    with Session(engine) as session:
        run_checks(session, checked)
        session.commit()
    for old in (tmp_path / "outbox").glob("officer-mail_*.eml"):
        old.unlink()
    _chase(engine, chased, sender, tmp_path / "packs")
    return _officer_mail(tmp_path / "outbox")


def test_escalation_lists_the_steps_sent_and_the_open_late_return_risk(engine: Engine, tmp_path: Path) -> None:
    text = _officer_mail_after_checks(engine, tmp_path, (date(2025, 1, 2), date(2025, 1, 8), date(2025, 1, 15),
                                                         date(2025, 1, 17), date(2025, 1, 22)),
                                      checked=date(2025, 1, 29), chased=date(2025, 1, 29))
    # the escalations and the risks that opened, in one message
    assert "The first overdue chaser: sent Friday 17 January 2025" in text
    assert "The lead has been chased 5 times." in text
    assert "A late-return risk is open on the register (since Wednesday 29 January 2025, RED)." in text
    # the late-return risks opened today are said by their escalations; the earlier quarters' stand on their own
    assert "Returns escalated to you (8)" in text and "Returns overdue (16)" in text
    assert "Q3 return overdue:" not in text


def test_a_late_return_risk_alert_sent_with_that_returns_overdue_chaser_is_said_once_under_the_chaser(
        engine: Engine, tmp_path: Path) -> None:
    # The check run opens the late-return risk on the first working day overdue; the next chase run sends the first
    # overdue chaser. The officer hears of each late return once, under "the lead was chased", with the risk beside
    # it, not again under "Returns overdue".
    text = _officer_mail_after_checks(engine, tmp_path, (date(2025, 1, 2), date(2025, 1, 8), date(2025, 1, 15)),
                                      checked=date(2025, 1, 16), chased=date(2025, 1, 17))
    assert "Returns overdue: the lead was chased (8)" in text
    assert text.count("A late-return risk is open on the register (since Thursday 16 January 2025, AMBER") == 8
    assert "Q3 return overdue:" not in text


def test_an_overdue_chaser_tells_the_lead_when_it_is_escalated_and_not_that_the_register_waits_until_then(
        engine: Engine, tmp_path: Path) -> None:
    # The late-return risk opens on the first working day overdue (the check run), so the lead is told only what the
    # escalation adds: the grant manager hears of it.
    load_example(engine)
    _chase(engine, date(2025, 1, 17), Sender([OutboxChannel(tmp_path / "outbox")]), tmp_path / "packs")
    mail = read_eml(sorted((tmp_path / "outbox").glob("chase_*overdue-1.eml"))[0])
    for part in (mail.get_body(("plain",)), mail.get_body(("html",))):
        assert part is not None
        text = " ".join(part.get_content().split())
        assert "at 10 working days overdue it is escalated to the grant manager." in text
        assert "risk register" not in text
