"""A return uploaded on a lead's page goes through exactly the inbox's ingest (hash, sandboxed reading, signature,
every check, archive or quarantine, one ReceivedFile row), with the lead's project as the expected one, and the
same reply by email (once, keyed by the return). The answer comes back as an `UploadAnswer` for the page."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from flows.web.context import WebContext
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.mailbox.config import load_mailbox_config, return_address
from grants.messaging.channels import build_sender, load_notify_config
from grants.messaging.lead_page import ProblemView, problem_views
from grants.messaging.replies import problems_of, recorded, send_ingest_replies
from grants.programme.status import received_on
from grants.returns.identity import Expected
from grants.returns.ingest import IngestOptions, IngestResult, ingest_files

CHUNK = 64 * 1024


@dataclass(frozen=True)
class UploadAnswer:
    """What the page says after an upload: the outcome, the period, what was recorded or what to fix."""

    outcome: str  # accepted | rejected | duplicate | wrong-project | quarantined | failed
    file_name: str
    period: str = ""
    version: int | None = None
    recorded: dict[str, Any] | None = None
    warnings: list[ProblemView] = field(default_factory=list)
    problems: list[ProblemView] = field(default_factory=list)
    emailed_to: str = ""
    reply: str = ""
    sent_before: date | None = None  # a duplicate: the day the same file first came in (its answer is repeated)


def safe_name(name: str | None) -> str:
    """The lead's file name without folders or odd characters (it is kept as the return's source name)."""
    base = Path((name or "").replace("\\", "/")).name
    cleaned = re.sub(r"[^\w .()&'+,-]+", "_", base).strip(" .")[:120]
    return cleaned or "return.xlsx"


async def save_upload(upload: UploadFile, folder: Path) -> Path:
    """Copy the uploaded file into a fresh folder of its own under `folder` (the body limit was enforced while it
    arrived: see flows.web.security)."""
    target = folder / secrets.token_hex(8) / safe_name(upload.filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            out.write(chunk)
    return target


def ingest_upload(web: WebContext, project: m.Project, path: Path, now: datetime) -> UploadAnswer:
    """Ingest one uploaded file as the inbox would (expecting the lead's project) and email the reply once."""
    settings = web.settings
    options = replace(IngestOptions.from_settings(settings), workers=1, expected=Expected(project=project.code))
    try:
        [result] = ingest_files(web.engine, [path], now, options)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    answer = _answer(web, project, result)
    if result.return_id is not None and result.outcome in ("accepted", "rejected"):
        config = load_notify_config(settings.notify_config)
        return_to = return_address(config, load_mailbox_config(settings.mailbox_url, settings.notify_config))
        sender = build_sender(config, settings.folder("outbox"), return_to)
        with session_scope(web.engine) as session:
            status = send_ingest_replies(session, [result.return_id], now, sender, return_to=return_to)
        answer = replace(answer, emailed_to=project.lead_email, reply=status.get(result.return_id, ""))
    return answer


def _answer(web: WebContext, project: m.Project, result: IngestResult) -> UploadAnswer:
    codes = {p.code for p in result.problems}
    if result.outcome == "quarantined":
        outcome = "wrong-project" if "wrong-project" in codes else "quarantined"
        return UploadAnswer(outcome, result.source, problems=_plain(result))
    if result.outcome == "duplicate":
        return _duplicate(web, project, result)
    if result.outcome == "failed":
        return UploadAnswer(result.outcome, result.source)
    with session_scope(web.engine) as session:
        ret = session.get(m.Return, result.return_id)
        assert ret is not None and project.id is not None
        views = problem_views(session, project.id, ret.period_id, result.problems)
        data = recorded(session, ret) if result.outcome == "accepted" else None
    return UploadAnswer(result.outcome, result.source, result.period, result.version, data,
                        warnings=[v for v in views if v.warning], problems=[v for v in views if not v.warning])


def _duplicate(web: WebContext, project: m.Project, result: IngestResult) -> UploadAnswer:
    """The same file came in before: say again what became of it (what was wrong with it, if anything), so a lead who
    sends a rejected file again learns why rather than only that it was already sent."""
    with session_scope(web.engine) as session:
        first = session.exec(select(m.ReceivedFile).where(
            m.ReceivedFile.sha256 == result.sha256, m.ReceivedFile.outcome != "duplicate")).first()
        ret = session.get(m.Return, first.return_id) if first is not None and first.return_id is not None else None
        if first is None:
            return UploadAnswer("duplicate", result.source)
        day = received_on(first.received_at)
        owner = ret.project_id if ret is not None else first.project_id
        if owner is not None and owner != project.id:
            return UploadAnswer("wrong-project", result.source, sent_before=day)
        if ret is None:
            return UploadAnswer("quarantined", result.source, problems=_plain_rows(first.problems_json),
                                sent_before=day)
        period = session.get(m.ReportingPeriod, ret.period_id)
        label = period.label if period is not None else ""
        if ret.status != "rejected":
            return UploadAnswer("duplicate", result.source, label, ret.version, sent_before=day)
        views = problem_views(session, ret.project_id, ret.period_id, problems_of(ret))
        return UploadAnswer("rejected", result.source, label, problems=[v for v in views if not v.warning],
                            warnings=[v for v in views if v.warning], sent_before=day)


def _plain_rows(problems_json: str) -> list[ProblemView]:
    raw: list[dict[str, Any]] = json.loads(problems_json or "[]")
    return [ProblemView(str(p.get("sheet") or ""), str(p.get("cell") or ""), "", str(p.get("message") or ""),
                        p.get("severity") != "error", str(p.get("code") or "")) for p in raw]


def _plain(result: IngestResult) -> list[ProblemView]:
    return [ProblemView(p.sheet, p.cell, "", p.message, p.severity != "error", p.code) for p in result.problems]


async def take_upload(web: WebContext, project: m.Project, upload: UploadFile, now: datetime) -> UploadAnswer:
    """Save the upload and ingest it off the event loop."""
    path = await save_upload(upload, web.settings.data_dir / "uploads")
    return await run_in_threadpool(ingest_upload, web, project, path, now)
