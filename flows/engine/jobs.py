"""The engine's jobs as plain functions (no Prefect): each takes the day (and time) it acts as and returns rows
saying what it did. The Prefect flows in flows/engine.py wrap them; the CLI and simulations can call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from flows.clock import now_utc
from flows.database import configured_engine
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.settings import get_settings
from grants.mailbox.config import MailboxConfig, MailboxError, load_mailbox_config, return_address
from grants.mailbox.fetch import MailReport, MailRun, fetch_mail
from grants.mailbox.imap import connect
from grants.messaging.alerts import send_risk_alerts
from grants.messaging.channels import build_sender, load_notify_config
from grants.messaging.chase_run import run_chase
from grants.messaging.digest import send_digests
from grants.messaging.notify import Sender
from grants.messaging.quarantine_replies import send_quarantine_replies
from grants.messaging.replies import send_ingest_replies
from grants.monitoring.assessment import run_checks
from grants.reporting.board_data import build_board_data
from grants.reporting.report import write_board_reports
from grants.returns.ingest import IngestOptions, IngestResult, Source, ingest_files, scan_inbox
from grants.returns.sandbox import shutdown

Rows = list[dict[str, Any]]


def default_pack_builder(session: Session, project_id: int, period_id: int, out_dir: Path) -> Path:
    """The pre-filled return workbook from the workbook writer , signed with the configured key."""
    from grants.returns.writer import write_return_workbook

    key = get_settings().signing_secret()
    path: Path = write_return_workbook(session, project_id, period_id, out_dir, key, return_to=returns_address())
    return path


def returns_address() -> str:
    """Where leads send returns (the workbook and the messages name it): notify.yaml's `return_to`, else the returns
    mailbox's address, else a configured sender; empty with the embedded default (grants@localhost receives nothing)."""
    return return_address(load_notify_config(get_settings().notify_config), mailbox_config())



def sender_and_return_address() -> tuple[Sender, str]:
    """The sender for the notify config and the returns address (empty: no address that receives mail)."""
    settings = get_settings()
    return_to = returns_address()
    return build_sender(load_notify_config(settings.notify_config), settings.folder("outbox"), return_to), return_to


def ingest_and_reply(files: Sequence[Path], now: datetime, *, sources: Sequence[Source] | None = None,
                     remove_sources: bool = True, keep_workers: bool = False) -> tuple[list[IngestResult], list[str]]:
    """Ingest the files and send each lead (or known sender) the receipt, rejection or quarantine reply: what the
    scheduled job, `grants ingest` and any other entry point share. (the results, the reply status of each)."""
    settings = get_settings()
    options = IngestOptions.from_settings(settings, remove_sources=remove_sources)
    try:
        results = ingest_files(configured_engine(), files, now, options, sources) if files else []
    finally:
        if not keep_workers:
            shutdown()
    ids = [r.return_id for r in results if r.return_id is not None]
    quarantined = [r.file_id for r in results if r.file_id is not None]
    if not ids and not quarantined:
        return results, [""] * len(results)
    sender, return_to = sender_and_return_address()
    with session_scope(configured_engine()) as session:
        replies = send_ingest_replies(session, ids, now, sender, return_to=return_to)
        about_files = send_quarantine_replies(session, quarantined, now, sender, return_to=return_to)
    return results, [replies.get(r.return_id, "") if r.return_id is not None else
                     about_files.get(r.file_id, "") if r.file_id is not None else "" for r in results]


def mailbox_config() -> MailboxConfig | None:
    """The returns mailbox's settings (GRANTS_MAILBOX_URL and notify.yaml's `mailbox:` block), None if not set."""
    settings = get_settings()
    return load_mailbox_config(settings.mailbox_url, settings.notify_config)


def mail_job(now: datetime) -> MailReport | None:
    """Fetch new mail from the returns mailbox and ingest its workbooks (None when no mailbox is configured). A
    mailbox that is down, refuses the login or fails TLS gives a report whose `error` is one clear line."""
    config = mailbox_config()
    if config is None:
        return None
    settings = get_settings()
    engine, options = configured_engine(), IngestOptions.from_settings(settings)
    sender, return_to = sender_and_return_address()

    def ingest(paths: list[Path], sources: list[Source]) -> list[IngestResult]:
        return ingest_files(engine, paths, now, options, sources)

    try:
        box = connect(config)
    except MailboxError as exc:
        return MailReport(config.description, error=str(exc))
    try:
        return fetch_mail(MailRun(engine, box, config, ingest, sender, return_to, now, settings.data_dir / "mail"))
    finally:
        box.close()


def ingest_job(now: datetime, *, keep_workers: bool = False, mail: bool = True) -> tuple[Rows, int]:
    """Fetch new mail (unless `mail` is False), then ingest every file in the inbox, reply to each lead (receipt or
    rejection); (rows, returns accepted). A mailbox failure is one row; the inbox is ingested all the same.

    The sandboxed parser processes stop at the end unless `keep_workers` (a caller running many ingests in one
    process, such as the demo, stops them itself with grants.returns.sandbox.shutdown)."""
    settings = get_settings()
    report = mail_job(now) if mail else None
    rows, accepted = mail_rows(report), report.accepted if report else 0
    # Files settle by the wall clock, whatever day the job acts as (a backfill, the demo's simulated year).
    scan = scan_inbox(settings.folder("inbox"), now_utc().timestamp(), settings.return_inbox_settle_seconds)
    results, replies = ingest_and_reply(scan.files, now, keep_workers=keep_workers)
    rows += [{"source": "inbox", "file": r.source, "outcome": r.outcome, "project": r.project, "period": r.period,
              "problems": len(r.problems), "reply": reply, "note": r.note}
             for r, reply in zip(results, replies, strict=True)]
    rows += [{"source": "inbox", "file": s.name, "outcome": "waiting" if s.waiting else "skipped", "project": "",
              "period": "", "problems": 0, "reply": "", "note": s.reason} for s in scan.skipped]
    return rows, accepted + sum(1 for r in results if r.outcome == "accepted")


def mail_rows(report: MailReport | None) -> Rows:
    """The artifact rows of a mailbox fetch: one per email, or the one line saying why the mailbox failed."""
    if report is None:
        return []
    rows: Rows = [{"source": "mailbox", "file": f"{row['email']} from {row['from']}: {row['detail']}",
                   "outcome": row["outcome"], "project": "", "period": "", "problems": "", "reply": row["answer"],
                   "note": ""} for row in report.rows]
    if report.busy:
        rows.append({"source": "mailbox", "file": report.mailbox, "outcome": "left to the other run",
                     "project": "", "period": "", "problems": "", "reply": "", "note": report.busy})
    if report.error:
        rows.append({"source": "mailbox", "file": report.mailbox, "outcome": f"error: {report.error}",
                     "project": "", "period": "", "problems": "", "reply": "the next run catches up", "note": ""})
    return rows


def chase_job(as_of: date, now: datetime) -> Rows:
    """Send the return packs, reminders, chasers and escalations due on `as_of` (each step once)."""
    sender, return_to = sender_and_return_address()
    with session_scope(configured_engine()) as session:
        outcomes = run_chase(session, as_of, now, sender, default_pack_builder, get_settings().data_dir / "packs",
                             return_to=return_to)
    return [{"kind": o.message.kind, "project": o.project_code, "period": o.period_label,
             "step": o.step, "status": o.status} for o in outcomes]


def check_job(as_of: date, now: datetime) -> Rows:
    """Run every check, store assessments, update the risk register, alert officers to risks that opened or went red.

    One row per rating (what: rating), per risk the run opened, reopened, updated or closed (what: risk <change>,
    with the risk's title and score), and per alert (what: alert).
    """
    with session_scope(configured_engine()) as session:
        run = run_checks(session, as_of)
        rows: Rows = [{"what": "rating", "subject": r.name, "spend": r.spend_rag, "outputs": r.outputs_rag,
                       "overall": r.overall_rag, "was": "", "detail": r.reasons.get("overall", "")}
                      for r in run.ratings]
        titles = {r.id: r.title for r in session.exec(select(m.Risk))}
        rows += [{"what": f"risk {c.change}", "subject": c.key, "spend": "", "outputs": "", "overall": c.new_rag,
                  "was": c.old_rag or "", "detail": f"score {c.new_score}: {c.evidence}",
                  "title": titles.get(c.risk_id, c.key), "score": c.new_score} for c in run.risk_changes]
    sender, _ = sender_and_return_address()
    with session_scope(configured_engine()) as session:
        alerts = send_risk_alerts(session, as_of, now, sender)
    rows += [{"what": "alert", "subject": alert.message.subject, "spend": "", "outputs": "", "overall": status,
              "was": "", "detail": alert.message.recipients} for alert, status in alerts]
    return rows


def digest_job(as_of: date, now: datetime) -> Rows:
    """Send this week's officer digest for every grant (once per ISO week)."""
    sender, _ = sender_and_return_address()
    with session_scope(configured_engine()) as session:
        sent = send_digests(session, as_of, now, sender)
    return [{"kind": message.kind, "subject": message.subject, "status": status} for message, status in sent]



def report_job(as_of: date) -> tuple[Rows, list[Path]]:
    """Run the checks and write every grant's board report (Excel and HTML) into the reports folder;
    (one row per project with its RAG and reason, the files written)."""
    with session_scope(configured_engine()) as session:
        boards = build_board_data(session, as_of)
        paths = write_board_reports(boards, get_settings().folder("reports"))
    rows: Rows = [{"grant": b.grant.reference, "project": p.name, "spend": p.spend_rag, "outputs": p.outputs_rag,
                   "overall": p.overall_rag, "reason": p.overall_reason} for b in boards for p in b.projects]
    return rows, paths
