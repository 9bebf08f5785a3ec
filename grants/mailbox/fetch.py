"""Reading new mail into ingest: list the UIDs above the highest handled (on the first run, from the first unread),
read their headers, download only what may hold a return, ingest each workbook attachment as one file (with the
sender and Message-ID), record every email, answer it, and only then move it to the processed or set-aside folder.

Order and what a crash leaves: (1) the files are committed by ingest; (2) the emails and the folder's highest UID are
recorded in one transaction; (3) answers go out (once each, by key); (4) the emails are moved and marked moved. A
crash before (2) refetches the emails next run, and their files come back as duplicates (by SHA-256) while the
answers are found by Message-ID; a crash after (2) leaves recorded, unmoved emails, which the next run answers
(idempotently) and moves without downloading them again. Nothing is lost and nothing is counted twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.mailbox.answers import SYNTHETIC, answer
from grants.mailbox.config import MailboxConfig, MailboxError
from grants.mailbox.imap import Fetched, FolderState, MailboxConnection
from grants.mailbox.inbound import (
    ARCHIVE_SUFFIXES,
    WORKBOOK_SUFFIXES,
    Attachment,
    Heading,
    attachments,
    read_heading,
    shared_link,
    undelivered_to,
)
from grants.mailbox.lease import free, take
from grants.mailbox.record import (
    FolderKey,
    Handled,
    known_message_ids,
    last_uid,
    mark_moved,
    pending,
    record,
    recorded_uids,
    remembered,
)
from grants.messaging.notify import Sender
from grants.returns.ingest import IngestResult
from grants.returns.outcome import Source

Ingest = Callable[[list[Path], list[Source]], list[IngestResult]]  # the files and where each came from
BOUNCE_BYTES = 1_000_000  # a delivery report larger than this is not downloaded to name the failed address
CHUNK = 50  # emails handled per round: one ingest call, one recording transaction, one MOVE per folder


@dataclass
class MailReport:
    """What one fetch did: a row per email handled, how many were downloaded, and the one-line error if any."""

    mailbox: str
    rows: list[dict[str, str]] = field(default_factory=list)
    downloaded: int = 0
    accepted: int = 0
    error: str = ""
    busy: str = ""  # another run is reading the folder: this one did nothing (not an error)


@dataclass
class MailRun:
    """One fetch's collaborators: the database, the open connection, settings, ingest, who answers, and when."""

    engine: Engine
    box: MailboxConnection
    config: MailboxConfig
    ingest: Ingest
    sender: Sender
    return_to: str
    now: datetime
    staging: Path


def fetch_mail(run: MailRun) -> MailReport:
    """Fetch, ingest, record, answer and move every new email of the configured folder (see the module docstring),
    unless another run is reading it now (one run at a time: grants.mailbox.lease)."""
    report = MailReport(run.config.description)
    lease = take(run.engine, run.config.account, run.config.folder, run.now)
    if not lease.token:
        taken = lease.taken_since
        since = f" since {(taken.astimezone(UTC) if taken.tzinfo else taken):%H:%M:%S} UTC" if taken else ""
        report.busy = f"another run has been reading {run.config.description}{since}; this run leaves the mail to it"
        return report
    try:
        _fetch(run, report)
    finally:
        free(run.engine, run.config.account, run.config.folder, lease)
    return report


def _fetch(run: MailRun, report: MailReport) -> None:
    try:
        state = run.box.open(run.config.folder)
        key = FolderKey(run.config.account, run.config.folder, state.uidvalidity)
        _finish_pending(run, key, report)
        last = last_uid(run.engine, key) if remembered(run.engine, key.account, key.folder) else _start(run, key, state)
        uids = run.box.uids_after(last)
        for start in range(0, len(uids), CHUNK):
            if not _round(run, key, uids[start:start + CHUNK], report):
                break
    except MailboxError as exc:
        report.error = str(exc)


def _start(run: MailRun, key: FolderKey, state: FolderState) -> int:
    """The first run on a folder starts at its first unread message: mail already read there (the mailbox's history
    before the engine) is left alone, neither answered nor moved. Recorded, so later runs go by UID alone."""
    first = run.box.first_unread()
    start = first - 1 if first is not None else max(state.uidnext - 1, 0)
    record(run.engine, key, [], start, run.now)
    return start


def _round(run: MailRun, key: FolderKey, uids: Sequence[int], report: MailReport) -> bool:
    """Handle one chunk of new UIDs; False when a file failed to store (the rest waits for the next run)."""
    done = recorded_uids(run.engine, key, uids)
    heads = [(f, read_heading(f.raw)) for f in run.box.headers([u for u in uids if u not in done])]
    known = known_message_ids(run.engine, key.account, [h.message_id for _, h in heads])
    handled: list[Handled] = []
    wanted: dict[int, Heading] = {}
    for fetched, head in heads:
        head = _with_id(head, key, fetched.uid)
        verdict = _by_headers(run.config, fetched, head, known)
        known.add(head.message_id)
        if verdict is None:
            wanted[fetched.uid] = head
        else:
            handled.append(verdict)
    bounces = [f.uid for f, h in heads if h.bounce and f.size <= BOUNCE_BYTES and f.uid not in wanted]
    handled = _naming_undelivered(run, handled, bounces, report)
    downloaded, failed_uid = _download_and_ingest(run, key, wanted, report)
    handled += downloaded
    up_to = (failed_uid - 1) if failed_uid is not None else max(uids)
    handled = [h for h in handled if h.uid <= up_to]
    record(run.engine, key, handled, up_to, run.now)
    _finish_pending(run, key, report, fresh=True)
    return failed_uid is None


def _naming_undelivered(run: MailRun, handled: list[Handled], bounces: list[int], report: MailReport
                        ) -> list[Handled]:
    """A bounce's detail names the addresses that could not be reached (bounces are small, so downloaded for it):
    officers see on the intake page which lead's address to correct. It is still set aside, never answered."""
    failed = {}
    for fetched in run.box.messages(sorted(bounces)) if bounces else ():
        report.downloaded += 1
        failed[fetched.uid] = undelivered_to(fetched.raw)
    return [replace(h, detail=f"{h.detail}: could not deliver to {', '.join(failed[h.uid])}")
            if failed.get(h.uid) and h.outcome == "automatic" else h for h in handled]


def _with_id(head: Heading, key: FolderKey, uid: int) -> Heading:
    """An email without a Message-ID gets a stable made-up one (never used to thread an answer)."""
    if head.message_id:
        return head
    account = hashlib.sha256(key.account.encode()).hexdigest()[:12]
    made = f"<{key.uidvalidity}.{uid}.{account}{SYNTHETIC}"
    return replace(head, message_id=made)


def _handled(fetched: Fetched, head: Heading, outcome: str, destination: str, files: int = 0, detail: str = ""
             ) -> Handled:
    return Handled(fetched.uid, head.message_id, head.references, head.sender, head.subject, outcome, destination,
                   files, detail)


def _by_headers(config: MailboxConfig, fetched: Fetched, head: Heading, known: set[str]) -> Handled | None:
    """What the headers alone decide: a duplicate, automatic mail, an email too large; None: download it."""
    if head.message_id in known:
        return _handled(fetched, head, "duplicate", config.processed_folder, detail="Message-ID handled before")
    if head.automatic:
        return _handled(fetched, head, "automatic", config.set_aside_folder, detail=head.automatic)
    if fetched.size > config.max_message_mb * 1_000_000:
        return _handled(fetched, head, "too-large", config.set_aside_folder, detail=f"{fetched.size} bytes")
    return None


def _download_and_ingest(run: MailRun, key: FolderKey, wanted: dict[int, Heading], report: MailReport
                         ) -> tuple[list[Handled], int | None]:
    """Download the wanted emails, stage their workbooks and ingest them all in one call; the emails handled and
    the first UID whose file could not be stored (None if all were)."""
    handled: list[Handled] = []
    files: dict[Path, tuple[int, Source]] = {}
    for fetched in run.box.messages(sorted(wanted)):
        report.downloaded += 1
        verdict, staged = _sort(run, key, fetched, wanted[fetched.uid])
        handled.append(verdict)
        files |= {path: (fetched.uid, Source("email", verdict.sender, message_id=verdict.message_id))
                  for path in staged}
    paths = list(files)
    results = run.ingest(paths, [files[p][1] for p in paths]) if paths else []
    failed = [files[path][0] for path, r in zip(paths, results, strict=True) if r.outcome == "failed"]
    report.accepted += sum(1 for r in results if r.outcome == "accepted")
    for folder in {p.parent for p in paths}:
        shutil.rmtree(folder, ignore_errors=True)
    return handled, (min(failed) if failed else None)


def _sort(run: MailRun, key: FolderKey, fetched: Fetched, head: Heading) -> tuple[Handled, list[Path]]:
    """Which of the email's attachments are workbooks (staged to ingest), or why it holds none."""
    found = attachments(fetched.raw)
    workbooks = [a for a in found if a.suffix in WORKBOOK_SUFFIXES]
    if not workbooks:
        return _without_workbook(run, fetched, head, found), []
    staged = []
    for i, item in enumerate(workbooks, start=1):  # one folder per attachment: each keeps the name the lead gave it
        folder = run.staging / f"{key.uidvalidity}-{fetched.uid}-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / item.filename
        path.write_bytes(item.content)
        staged.append(path)
    return _handled(fetched, head, "returns", run.config.processed_folder, len(workbooks),
                    json.dumps([w.filename for w in workbooks])), staged


def _without_workbook(run: MailRun, fetched: Fetched, head: Heading, found: list[Attachment]) -> Handled:
    """Why an email holds no workbook, for its answer: a zip, Outlook's winmail.dat, a link to a shared file, or
    nothing at all (the detail lists the files, or the link's host)."""
    archives = [a.filename for a in found if a.suffix in ARCHIVE_SUFFIXES]
    wrapped = [a.filename for a in found if a.is_tnef]
    link = "" if archives or wrapped else shared_link(fetched.raw)
    outcome = "zip" if archives else "tnef" if wrapped else "link" if link else "no-workbook"
    names = archives or wrapped or ([link] if link else [a.filename for a in found])
    return _handled(fetched, head, outcome, run.config.set_aside_folder, detail=json.dumps(names))


def _finish_pending(run: MailRun, key: FolderKey, report: MailReport, *, fresh: bool = False) -> None:
    """Answer and move every recorded email still in the folder; an email whose answer failed stays for next run."""
    rows = pending(run.engine, key)
    moves: dict[str, list[tuple[int, int]]] = {}
    gone: list[int] = []
    for row in rows:
        with session_scope(run.engine) as session:
            statuses = answer(session, row, run.now, run.sender, run.return_to, run.config.max_message_mb)
            files = list(session.exec(select(m.ReceivedFile.name, m.ReceivedFile.outcome).where(
                m.ReceivedFile.message_id == row.message_id, m.ReceivedFile.sender == row.sender)))
        report.rows.append(_row(row, statuses, [f"{name}: {outcome}" for name, outcome in files], earlier=not fresh))
        if "failed" in statuses:
            continue
        if row.uidvalidity != key.uidvalidity:  # the folder was recreated: those UIDs name nothing now
            gone.append(row.id or 0)
        else:
            moves.setdefault(_folder_for(run.config, row), []).append((row.uid, row.id or 0))
    mark_moved(run.engine, gone, "gone")
    for folder, items in moves.items():
        missing = set(run.box.move([uid for uid, _ in items], folder))
        mark_moved(run.engine, [row_id for uid, row_id in items if uid in missing], "gone")
        mark_moved(run.engine, [row_id for uid, row_id in items if uid not in missing], folder)


def _folder_for(config: MailboxConfig, row: m.MailMessage) -> str:
    """Where a recorded email goes, by today's settings: a folder name the server refused, once corrected, is used
    for the emails recorded while it was wrong (they would otherwise be stuck in the folder)."""
    return config.processed_folder if row.outcome in ("returns", "duplicate") else config.set_aside_folder


def _row(row: m.MailMessage, statuses: list[str], files: list[str], *, earlier: bool) -> dict[str, str]:
    """The report's row for an email; for one with returns, each file with what became of it (accepted, ...)."""
    detail = ", ".join(files) if row.outcome == "returns" and files else \
        ", ".join(json.loads(row.detail)) if row.detail.startswith("[") else row.detail
    return {"email": f"uid {row.uid}", "from": row.sender, "outcome": row.outcome, "files": str(row.files),
            "detail": detail + (" (recorded by an earlier run)" if earlier else ""),
            "answer": ", ".join(statuses) or "none"}
