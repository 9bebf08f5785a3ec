"""Ingest received return files: identify, verify, read, check, store in one transaction, archive, move out.

Each file is hashed, screened and read in a sandboxed worker; then, in this process: a file seen before is a
duplicate; a hostile, unreadable or unidentifiable file is quarantined (a ReceivedFile row only); an identified
return is stored as a Return (accepted, or rejected with its problems and no lines) with its lines, its original
archived under its SHA-256. A new accepted version supersedes the earlier accepted one. One bad file never stops
the others; a failure mid-file rolls its transaction back and leaves the file where it was.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from grants import models as m
from grants.db import session_scope
from grants.return_checks import check_content, read_content
from grants.return_frame import ReturnFrame, register_frame, with_figures_to_date
from grants.return_identity import Expected, IdentityCache, identify
from grants.return_problems import Problem, has_errors, problem, problems_to_json
from grants.return_store import store_return
from grants.settings import Settings
from grants.status import received_on
from grants.workbook_reader import Examined
from grants.workbook_safety import Limits
from grants.workbook_sandbox import examine_each

MB = 1_000_000


@dataclass(frozen=True)
class IngestOptions:
    """Where files go, the signing key and the limits. `remove_sources`: take each file out of where it was."""

    archive_dir: Path
    quarantine_dir: Path
    signing_key: bytes
    limits: Limits = field(default_factory=Limits)
    workers: int = 2
    remove_sources: bool = True
    expected: Expected = field(default_factory=Expected)

    @classmethod
    def from_settings(cls, settings: Settings, *, remove_sources: bool = True) -> IngestOptions:
        """Options from the configured folders, signing key and limits."""
        limits = Limits(
            max_file_bytes=int(settings.return_max_file_mb * MB),
            max_uncompressed_bytes=int(settings.return_max_uncompressed_mb * MB),
            max_rows=settings.return_max_rows, max_cols=settings.return_max_cols,
            memory_bytes=settings.return_parser_memory_mb * 1024 * 1024,
        )
        return cls(settings.folder("archive"), settings.folder("quarantine"),
                   settings.signing_key.get_secret_value().encode(), limits, settings.return_parser_workers,
                   remove_sources)


@dataclass
class RunCache:
    """What one run reads from the register once: identities and frames (without figures to date)."""

    identities: IdentityCache = field(default_factory=dict)
    frames: dict[tuple[int, int], ReturnFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    """What became of one file: outcome accepted / rejected / duplicate / quarantined, and its problems."""

    source: str
    sha256: str
    outcome: str
    problems: tuple[Problem, ...] = ()
    project: str = ""
    period: str = ""
    return_id: int | None = None
    version: int | None = None
    stored_path: str = ""


def inbox_files(folder: Path) -> list[Path]:
    """The files waiting in a folder (not hidden, not sub-folders), oldest name first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def ingest_files(engine: Engine, paths: Sequence[Path], received_at: datetime, options: IngestOptions
                 ) -> list[IngestResult]:
    """Ingest each file (see the module docstring); one result per path, in order."""
    results = []
    cache = RunCache()
    for path, found in zip(paths, examine_each(list(paths), options.limits, options.workers), strict=True):
        try:
            result = _ingest_one(engine, path, found, received_at, options, cache)
        except (SQLAlchemyError, OSError) as exc:  # rolled back: nothing half-written; the file stays for a retry
            note = problem("ingest-failed", f"Storing the return failed ({type(exc).__name__}); nothing was "
                           "saved and the file was left where it was to be tried again.")
            results.append(IngestResult(path.name, found.sha256, "failed", (note,)))
            continue
        if options.remove_sources and path.exists():
            path.unlink()
        results.append(result)
    return results


def _ingest_one(engine: Engine, path: Path, found: Examined, received_at: datetime, options: IngestOptions,
                cache: RunCache) -> IngestResult:
    with session_scope(engine) as session:
        if _seen_before(session, found.sha256):
            note = problem("duplicate-file", f"This exact file ({found.sha256[:12]}) was received before; it is "
                           "not counted again.")
            _record(session, path, found, received_at, "duplicate", [note], "")
            return IngestResult(path.name, found.sha256, "duplicate", (note,))
        problems = found.problems or []
        identity = None
        if not problems:
            identity, problems = identify(session, found.meta, options.signing_key, options.expected,
                                          cache.identities)
        if identity is None:
            stored = _keep(path, found.sha256, options.quarantine_dir, flat=True)
            _record(session, path, found, received_at, "quarantined", problems, stored)
            return IngestResult(path.name, found.sha256, "quarantined", tuple(problems), stored_path=stored)
        project, period = identity
        assert project.id is not None and period.id is not None
        key = (project.id, period.id)
        if key not in cache.frames:
            cache.frames[key] = register_frame(session, project.id, period.id)
        frame = with_figures_to_date(session, cache.frames[key], received_on(received_at))
        content, problems = read_content(frame, found)
        problems += check_content(frame, content, found)
        accepted = not has_errors(problems)
        stored = _keep(path, found.sha256, options.archive_dir, flat=False)
        ret = store_return(session, frame, content if accepted else None, problems,
                           source_name=path.name, sha256=found.sha256, archive_path=stored,
                           received_at=received_at, template_version=found.meta.get("template_version", ""))
        _record(session, path, found, received_at, ret.status, problems, stored, ret.id)
        return IngestResult(path.name, found.sha256, ret.status, tuple(problems), project.code, period.label,
                            ret.id, ret.version, stored)


def _seen_before(session: Session, sha256: str) -> bool:
    statement = select(m.ReceivedFile.id).where(m.ReceivedFile.sha256 == sha256,
                                                col(m.ReceivedFile.outcome) != "duplicate")
    return session.exec(statement.limit(1)).first() is not None


def _record(session: Session, path: Path, found: Examined, received_at: datetime, outcome: str,
            problems: Sequence[Problem], stored: str, return_id: int | None = None) -> None:
    session.add(m.ReceivedFile(sha256=found.sha256, name=path.name, size=found.size, received_at=received_at,
                               outcome=outcome, return_id=return_id, problems_json=problems_to_json(problems),
                               stored_path=stored))


def _keep(path: Path, sha256: str, folder: Path, *, flat: bool) -> str:
    """Copy the original to a content-addressed name in `folder` (atomic, idempotent); returns where it is."""
    suffix = "".join(c for c in path.suffix.lower() if c.isalnum() or c == ".")[:8] or ".bin"
    target = folder / (f"{sha256}{suffix}" if flat else f"{sha256[:2]}/{sha256}{suffix}")
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        shutil.copyfile(path, partial)
        partial.replace(target)
    return str(target)
