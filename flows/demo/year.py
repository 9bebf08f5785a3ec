"""`grants demo`: the whole 2024/25 year of the example programme, day by day, in its own folder.

Each simulated day runs what the schedules run (flows/registry.py): the checks at 06:30, the officers' digest on
Mondays at 08:00, chasing at 09:00 on working days, ingest after the leads have dropped their files, and the board
report on the 20th of the month after each quarter. The officers record the funds release and the payments on the
days the script says. The leads (flows/demo_script.py) save the workbook attached to their return pack from the
outbox, type their figures in, and drop it in the inbox, some late, one with mistakes first.

By default the jobs run directly (the functions the Prefect flows wrap, flows/jobs.py), which takes seconds;
`prefect=True` runs every job as a Prefect flow run instead (visible in the UI, a few minutes for the year).
"""

from __future__ import annotations

import email
import os
import shutil
import time as clock
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from flows.database import open_session
from flows.demo.script import GRANT, PAYMENTS_ON, RELEASE, Submission, submissions
from flows.engine import jobs
from grants.kernel import models as m
from grants.kernel.dates import long_date
from grants.kernel.errors import GrantsError
from grants.kernel.money import from_pence
from grants.kernel.settings import DEVELOPMENT_SIGNING_KEY, get_settings
from grants.messaging.digest import digest_due
from grants.monitoring.funds import record_payment, record_release
from grants.programme.loader import load_programmes
from grants.programme.periods import ENGLAND_AND_WALES
from grants.programme.register import initialise
from grants.returns.sandbox import shutdown

START, END = date(2024, 4, 1), date(2025, 4, 30)
MARKER = ".grants-demo"
LONDON = ZoneInfo("Europe/London")
FOLDERS = ("inbox", "archive", "quarantine", "outbox", "reports")

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    """What the simulated year did: its folder, the leads' files, how ingest treated each, and the timeline."""

    folder: Path
    submissions: list[Submission]
    outcomes: list[tuple[Submission, str]] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    messages: int = 0
    seconds: float = 0.0


def use_folder(folder: Path) -> None:
    """Point every setting at `folder` (a fresh SQLite database, outbox-only notifications) and empty it.

    Refuses a non-empty folder the demo did not create, so it never deletes anyone's data.
    """
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise GrantsError(f"{folder} is not empty and was not made by `grants demo`; choose another --folder")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `grants demo`; deleted and rebuilt by each run\n")
    key = os.open(folder / "signing.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(key, "w") as handle:  # so `GRANTS_DATA_DIR=<folder> grants web` serves the demo afterwards
        handle.write(DEVELOPMENT_SIGNING_KEY + "\n")
    config_dir = get_settings().config_dir.resolve()
    os.environ.update({"GRANTS_DATA_DIR": str(folder), "GRANTS_DATABASE_URL": f"sqlite:///{folder / 'grants.db'}",
                       "GRANTS_NOTIFY_CONFIG": str(folder / "notify.yaml"), "GRANTS_CONFIG_DIR": str(config_dir),
                       # The demo's leads write whole files straight into the inbox, and it signs with the public
                       # development key (a real installation gets its own from `grants init`).
                       "GRANTS_RETURN_INBOX_SETTLE_SECONDS": "0", "GRANTS_SIGNING_KEY": DEVELOPMENT_SIGNING_KEY})
    for name in FOLDERS:
        os.environ[f"GRANTS_{name.upper()}_DIR"] = str(folder / name)
    get_settings.cache_clear()


def _days() -> Iterator[date]:
    day = START
    while day <= END:
        yield day
        day += timedelta(days=1)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


class Leads:
    """The project leads: they save the workbook from their return pack email and drop it, filled in, in the inbox."""

    def __init__(self, outbox: Path, inbox: Path, desk: Path) -> None:
        self.outbox, self.inbox, self.desk = outbox, inbox, desk
        self.seen: set[str] = set()
        self.attachments: dict[str, bytes] = {}

    def _read_outbox(self) -> None:
        for path in sorted(self.outbox.glob("*.eml")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            assert isinstance(message, EmailMessage)
            for part in message.iter_attachments():
                name = part.get_filename() or ""
                if name.startswith("return-") and name.endswith(".xlsx"):
                    self.attachments[name] = part.get_payload(decode=True)  # type: ignore[assignment]

    def send(self, sub: Submission, attempt: int) -> Path:
        """Fill the pack's workbook like the lead would and drop it in the inbox under the lead's own file name."""
        self._read_outbox()
        name = f"return-{sub.code}-{sub.period}.xlsx"
        if name not in self.attachments:
            raise GrantsError(f"demo: {sub.code} never received the return pack for {sub.period}")
        working = self.desk / f"{sub.code} {sub.period} v{attempt}.xlsx"
        working.parent.mkdir(parents=True, exist_ok=True)
        working.write_bytes(self.attachments[name])
        book = load_workbook(working)
        for field_name, value in sub.values.items():
            sheet, ref = next(iter(book.defined_names[field_name].destinations))
            book[sheet][ref.replace("$", "")] = value
        book.save(working)
        self.inbox.mkdir(parents=True, exist_ok=True)
        dropped = self.inbox / f"{sub.period} return - {sub.code}{' (corrected)' if attempt > 1 else ''}.xlsx"
        shutil.move(working, dropped)
        return dropped


class Year:
    """Runs the jobs for each day, either directly or as Prefect flow runs."""

    def __init__(self, prefect: bool, echo: Echo, result: DemoResult) -> None:
        self.prefect, self.echo, self.result = prefect, echo, result

    def say(self, day: date, who: str, what: str) -> None:
        line = f"{long_date(day)}  {who:<8} {what}"
        self.result.timeline.append(line)
        self.echo(line)

    def check(self, day: date, hour: int, minute: int) -> None:
        if self.prefect:
            from flows.engine.flows import check_and_assess

            check_and_assess(as_of=day)
            return
        for row in jobs.check_job(day, _at(day, hour, minute)):
            if row["what"] in ("risk opened", "risk reopened", "risk closed") or (
                    row["what"] == "risk updated" and row["overall"] != row["was"]):
                rag = row["overall"] if row["what"] != "risk updated" else f"{row['was']} -> {row['overall']}"
                self.say(day, "check", f"{row['what']}: {row['subject']} ({rag}) {row['detail']}")
            elif row["what"] == "alert" and row["overall"] == "sent":
                self.result.messages += 1
                self.say(day, "alert", f"{row['subject']} -> {row['detail']}")

    def chase(self, day: date) -> int:
        """Send what the ladder says for the day; returns how many messages went."""
        if self.prefect:
            from flows.engine.flows import chase_returns

            count = chase_returns(as_of=day)
            self.result.messages += count
            return count
        sent = [row for row in jobs.chase_job(day, _at(day, 9)) if row["status"] == "sent"]
        self.result.messages += len(sent)
        kinds: dict[str, list[str]] = {}
        for row in sent:
            kinds.setdefault(f"{row['kind'].removeprefix('chase-')} {row['period']}", []).append(row["project"])
        for kind, projects in kinds.items():
            self.say(day, "chase", f"{kind}: {', '.join(projects)}")
        return len(sent)

    def digest(self, day: date) -> None:
        if self.prefect:
            from flows.engine.flows import officer_digest

            self.result.messages += officer_digest(as_of=day)
            return
        sent = [row for row in jobs.digest_job(day, _at(day, 8)) if row["status"] == "sent"]
        self.result.messages += len(sent)

    def ingest(self, day: date, dropped: list[tuple[Submission, Path]]) -> None:
        if self.prefect:
            from flows.engine.flows import ingest_returns

            ingest_returns(as_of=day)  # checks straight after when something was accepted
            recorded = _recorded_outcomes([path.name for _, path in dropped])
            for sub, path in dropped:
                outcome = recorded.get(path.name, "not ingested")
                self.result.outcomes.append((sub, outcome))
                self.say(day, "ingest", f"{path.name}: {outcome} (details in the ingest-returns run in the Prefect UI)")
            return
        rows, accepted = jobs.ingest_job(_at(day, 10), keep_workers=True)
        by_name = {Path(str(row["file"])).name: row for row in rows}
        for sub, path in dropped:
            row = by_name.get(path.name)
            outcome = str(row["outcome"]) if row else "not ingested"
            self.result.outcomes.append((sub, outcome))
            self.result.messages += 1 if row and row["reply"] == "sent" else 0
            problems = f", {row['problems']} problem(s)" if row and row["problems"] else ""
            reply = {"accepted": "receipt", "rejected": "rejection"}.get(outcome, "reply")
            self.say(day, "ingest", f"{path.name}: {outcome}{problems}; {reply} {row['reply'] if row else 'not sent'}")
        if accepted:
            self.check(day, 10, 5)

    def board_report(self, day: date) -> None:
        if self.prefect:
            from flows.engine.board import board_report

            board_report(as_of=day)
            return
        _, paths = jobs.report_job(day)
        self.result.reports += paths
        self.say(day, "report", ", ".join(p.name for p in paths))


def _recorded_outcomes(names: list[str]) -> dict[str, str]:
    """What ingest recorded for each file name (the latest file of that name)."""
    with open_session() as session:
        rows = session.exec(select(m.ReceivedFile.name, m.ReceivedFile.outcome)
                            .where(col(m.ReceivedFile.name).in_(names)).order_by(col(m.ReceivedFile.id)))
        return dict(rows.all())


def _officer(day: date, year: Year) -> bool:
    """The officers' actions of the day (the funds release, the payments); True if they did anything."""
    if day not in (RELEASE[0], PAYMENTS_ON):
        return False
    with open_session() as session:
        if day == RELEASE[0]:
            record_release(session, GRANT, RELEASE[1], day, _at(day, 11), actor="demo")
            year.say(day, "officer", f"records £{Decimal(RELEASE[1]):,.2f} received from the PCC (expected 01 May)")
        if day == PAYMENTS_ON:
            grant = session.exec(select(m.Grant).where(m.Grant.reference == GRANT)).one()
            projects = session.exec(select(m.Project).where(m.Project.grant_id == grant.id)
                                    .order_by(col(m.Project.id))).all()
            for project in projects:
                record_payment(session, project.code, str(from_pence(project.allocation_pence)), day, _at(day, 11),
                               actor="demo", grant_reference=GRANT, reference=f"PO-{project.code}")
            year.say(day, "officer", f"records payment of every allocation to the {len(projects)} projects")
    return True


def _plan(session: Session) -> list[Submission]:
    grant = session.exec(select(m.Grant).where(m.Grant.reference == GRANT)).one_or_none()
    if grant is None:
        raise GrantsError(f"demo: the example grant {GRANT} is not in {get_settings().grants_config_dir}")
    periods = session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id))
    due = {p.label: p.due for p in periods}
    profiles: dict[str, dict[str, dict[str, Decimal]]] = {}
    rows = session.exec(select(m.Project.code, m.BudgetLine.key, m.BudgetProfile.period_label,
                               m.BudgetProfile.amount_pence).join(m.BudgetLine, col(m.BudgetLine.project_id) ==
                                                                  col(m.Project.id))
                        .join(m.BudgetProfile).where(m.Project.grant_id == grant.id)
                        .order_by(col(m.Project.id), col(m.BudgetLine.position)))
    for code, line, label, pence in rows:
        profiles.setdefault(code, {}).setdefault(line, {})[label] = from_pence(pence)
    return submissions(profiles, due)


def run_demo(folder: Path, *, prefect: bool = False, every_day: bool = False, echo: Echo = print) -> DemoResult:
    """Simulate 1 Apr 2024 to 30 Apr 2025 in `folder` (emptied first) and return what happened.

    The schedules run the checks every morning; a check on a day when nothing happened only moves counters such as
    "N days overdue", so the demo runs the morning check on Mondays and on days something happens (money recorded, a
    chase step sent; every ingest that accepts a return checks straight after). `every_day` runs it every morning.
    """
    if prefect and not os.environ.get("PREFECT_API_URL"):
        raise GrantsError("demo --prefect records its flow runs on a Prefect server: start `grants serve` in another "
                          "terminal and set PREFECT_API_URL=http://127.0.0.1:4200/api")
    started = clock.perf_counter()
    use_folder(folder)
    settings = get_settings()
    with open_session() as session:
        initialise(session, load_programmes(settings.config_dir))
        plan = _plan(session)
    result = DemoResult(folder.resolve(), plan)
    year = Year(prefect, echo, result)
    leads = Leads(settings.folder("outbox"), settings.folder("inbox"), folder.resolve() / "leads")
    attempts: dict[tuple[str, str], int] = {}
    quick = ExitStack()
    if prefect:  # in-process flow runs: no heartbeat second per run, one API client (flows.engine.common)
        from flows.engine.common import in_process_runs

        quick.enter_context(in_process_runs())
    try:
        for day in _days():
            acted = _officer(day, year)
            if digest_due(day, ENGLAND_AND_WALES):  # Mondays, or Tuesday after a bank-holiday Monday
                year.digest(day)
            chased = year.chase(day) if ENGLAND_AND_WALES.is_working_day(day) else 0
            if every_day or acted or chased or day.weekday() == 0 or day in (START, END):
                year.check(day, 9, 30)
            dropped: list[tuple[Submission, Path]] = []
            for sub in (s for s in plan if s.day == day):
                attempt = attempts[(sub.code, sub.period)] = attempts.get((sub.code, sub.period), 0) + 1
                dropped.append((sub, leads.send(sub, attempt)))
                year.say(day, "lead", f"{sub.code} sends {sub.period} ({sub.note})")
            if dropped:
                year.ingest(day, dropped)
            if (day.day == 20 and day.month in (1, 4, 7, 10)) or day == END:  # and a year-end report
                year.board_report(day)
    finally:
        quick.close()
        shutdown()
    result.seconds = clock.perf_counter() - started
    return result


def summary(result: DemoResult) -> dict[str, Any]:
    """What the leads sent, per project: files, accepted files and the spend they reported (for the last table)."""
    out: dict[str, Any] = {}
    for sub, outcome in result.outcomes:
        row = out.setdefault(sub.code, {"files": 0, "accepted": 0, "spent": Decimal(0)})
        row["files"] += 1
        if outcome == "accepted":
            row["accepted"] += 1
            row["spent"] += sub.spend_pounds
    return out


def spent_by_project(session: Session) -> dict[str, Decimal]:
    """Spend in the official (latest accepted) returns, per project: what the engine recorded."""
    rows = session.exec(select(m.Project.code, m.ReturnSpend.actual_pence)
                        .join(m.Return, col(m.Return.project_id) == col(m.Project.id))
                        .join(m.ReturnSpend, col(m.ReturnSpend.return_id) == col(m.Return.id))
                        .where(m.Return.status == m.ReturnStatus.accepted))
    totals: dict[str, Decimal] = {}
    for code, pence in rows:
        totals[code] = totals.get(code, Decimal(0)) + from_pence(pence)
    return totals
