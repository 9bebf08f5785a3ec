"""Taking in the files of one batch inside the batch's transaction: each one a duplicate, quarantined, or a return.

Every file gets its own savepoint: a database or disk failure while taking one in rolls back only that file's rows
(its outcome is `failed`, its source stays where it was) and the batch carries on. What the batch remembers between
files (the hashes it has taken in, the official figures to date per project, the line and ReceivedFile rows still
to insert) changes only once a file's savepoint is released, so a rolled-back file leaves no trace in it either.
`finish` inserts those rows (one executemany per table) before the batch commits; if that fails, the whole batch
does, and the caller tries its files again one per transaction. Everything read here is read inside the batch's
transaction (on SQLite it holds the write lock from its start), so it sees every committed run and this batch's own
released files; only the register (identities, frames without figures) is kept for the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from grants.kernel import models as m
from grants.kernel.settings import Settings
from grants.returns.archive import discard, final_name, keep
from grants.returns.frame import ReturnFrame, figures_before, register_frame
from grants.returns.identity import Expected, IdentityCache, identify
from grants.returns.official import Figures, official_figures
from grants.returns.problems import Problem, has_errors, problem, problems_to_json
from grants.returns.reader import Examined
from grants.returns.safety import Limits
from grants.returns.source import INBOX, FileSource
from grants.returns.store import PendingRows, store_return
from grants.returns.validation import ReturnContent, check_content, read_content

MB = 1_000_000
_SEEN = (select(col(m.ReceivedFile.sha256))
         .where(col(m.ReceivedFile.sha256).in_(bindparam("hashes", expanding=True)),
                col(m.ReceivedFile.outcome) != "duplicate"))


@dataclass(frozen=True)
class IngestOptions:
    """Where files go, the signing key and the limits. `remove_sources`: take each file out of where it was.
    `batch_files`: files stored per transaction (each in its own savepoint)."""

    archive_dir: Path
    quarantine_dir: Path
    signing_key: bytes
    limits: Limits = field(default_factory=Limits)
    workers: int = 2
    remove_sources: bool = True
    expected: Expected = field(default_factory=Expected)
    batch_files: int = 50

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
                   remove_sources, batch_files=settings.return_ingest_batch_files)


@dataclass(frozen=True)
class IngestResult:
    """What became of one file: outcome accepted / rejected / duplicate / quarantined / failed, and its problems."""

    source: str
    sha256: str
    outcome: str
    problems: tuple[Problem, ...] = ()
    project: str = ""
    period: str = ""
    return_id: int | None = None
    version: int | None = None
    stored_path: str = ""


@dataclass
class RunCache:
    """What one run reads from the register once: identities, frames (without figures to date), folders made."""

    identities: IdentityCache = field(default_factory=dict)
    frames: dict[tuple[int, int], ReturnFrame] = field(default_factory=dict)
    folders: set[Path] = field(default_factory=set)
    sources: dict[Path, FileSource] = field(default_factory=dict)  # files that came by email

    def forget(self) -> None:
        """Drop what was read: after a transaction failed, the rows it loaded are expired and can't be used."""
        self.identities.clear()
        self.frames.clear()


@dataclass
class BatchIntake:
    """Takes in the files of one batch, one savepoint each, in `session`'s (the batch's) transaction."""

    session: Session
    received_at: datetime
    as_of: date
    options: IngestOptions
    cache: RunCache
    seen: set[str] = field(default_factory=set)
    figures: dict[int, dict[int, Figures]] = field(default_factory=dict)  # project -> period -> official figures
    rows: PendingRows = field(default_factory=PendingRows)  # of the files taken in so far
    _file_rows: PendingRows = field(default_factory=PendingRows)  # of the file being taken in

    def start(self, hashes: Sequence[str]) -> None:
        """Read which of the batch's files were received before (one query for the whole batch)."""
        self.seen = set(self.session.connection().execute(_SEEN, {"hashes": list(set(hashes))}).scalars())

    def take(self, path: Path, found: Examined) -> IngestResult:
        """The file's outcome; `failed` (nothing of it written) if the database or the disk failed."""
        self._file_rows = PendingRows()
        try:
            with self.session.begin_nested():
                result, frame, content = self._take(path, found)
        except (SQLAlchemyError, OSError) as exc:  # rolled back to the savepoint: nothing of this file is written
            discard(found.staged)  # if still staged; the next run stages the file again
            return failed(path, found, exc)
        self.rows.extend(self._file_rows)
        self.seen.add(found.sha256)
        if frame is not None and content is not None:
            self._accepted(frame, content)
        return result

    def _take(self, path: Path, found: Examined) -> tuple[IngestResult, ReturnFrame | None, ReturnContent | None]:
        if found.sha256 in self.seen:
            note = problem("duplicate-file", f"This exact file ({found.sha256[:12]}) was received before; it is "
                           "not counted again.")
            self._record(path, found, "duplicate", [note], "")
            discard(found.staged)
            return IngestResult(path.name, found.sha256, "duplicate", (note,)), None, None
        problems = found.problems or []
        identity = None
        if not problems:
            identity, problems = identify(self.session, found.meta, self.options.signing_key, self.options.expected,
                                          self.cache.identities)
        if identity is None:
            stored = self._keep(path, found, self.options.quarantine_dir, flat=True)
            self._record(path, found, "quarantined", problems, stored)
            return IngestResult(path.name, found.sha256, "quarantined", tuple(problems), stored_path=stored), None, None
        project, period = identity
        frame = self._frame(project.id or 0, period.id or 0)
        content, problems = read_content(frame, found)
        problems += check_content(frame, content, found, self.as_of)
        accepted = not has_errors(problems)
        stored = self._keep(path, found, self.options.archive_dir, flat=False)
        ret = store_return(self.session, frame, content if accepted else None, problems, source_name=path.name,
                           sha256=found.sha256, archive_path=stored, received_at=self.received_at,
                           template_version=found.meta.get("template_version", ""), rows=self._file_rows)
        self._record(path, found, ret.status, problems, stored, ret.id)
        result = IngestResult(path.name, found.sha256, ret.status, tuple(problems), project.code, period.label,
                              ret.id, ret.version, stored)
        return result, frame, content if accepted else None

    def _frame(self, project_id: int, period_id: int) -> ReturnFrame:
        """The frame with figures to date: the register part once a run, the official figures once a batch."""
        key = (project_id, period_id)
        if key not in self.cache.frames:
            self.cache.frames[key] = register_frame(self.session, project_id, period_id)
        if project_id not in self.figures:
            self.figures[project_id] = official_figures(self.session, self.as_of, project_id)
        return figures_before(self.cache.frames[key], self.figures[project_id])

    def _accepted(self, frame: ReturnFrame, content: ReturnContent) -> None:
        """An accepted return is now the official one for its project and period (as of the run's day)."""
        line_ids = {b.key: b.id for b in frame.lines}
        target_ids = {t.key: t.id for t in frame.targets}
        figures = Figures({line_ids[k]: v for k, v in content.spend.items()},
                          {target_ids[k]: v for k, v in content.outputs.items()})
        self.figures.setdefault(frame.project.id or 0, {})[frame.period.id or 0] = figures

    def finish(self) -> None:
        """Insert the rows of every file taken in (call before the batch commits)."""
        self.rows.insert(self.session.connection())

    def _record(self, path: Path, found: Examined, outcome: str, problems: Sequence[Problem], stored: str,
                return_id: int | None = None) -> None:
        source = self.cache.sources.get(path, INBOX)
        self._file_rows.add(m.ReceivedFile, {
            "sha256": found.sha256, "name": path.name, "size": found.size, "received_at": self.received_at,
            "outcome": outcome, "return_id": return_id, "problems_json": problems_to_json(problems),
            "stored_path": stored, "sender": source.sender, "message_id": source.message_id})

    def _keep(self, path: Path, found: Examined, folder: Path, *, flat: bool) -> str:
        """The content-addressed copy in `folder`, made before the commit (see grants/return_archive.py)."""
        target = final_name(folder, found.sha256, path.name, flat=flat)
        if target.parent not in self.cache.folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.cache.folders.add(target.parent)
        keep(target, found.sha256, found.staged, path)
        return str(target)


def failed(path: Path, found: Examined, exc: BaseException) -> IngestResult:
    """The outcome of a file that could not be stored: nothing saved, the file left where it was."""
    note = problem("ingest-failed", f"Storing the return failed ({type(exc).__name__}); nothing was saved and the "
                   "file was left where it was to be tried again.")
    return IngestResult(path.name, found.sha256, "failed", (note,))
