"""Taking in the files of one batch inside the batch's transaction: each one a duplicate, quarantined, or a return.

Nothing is written while a file is taken in: its Return, lines and ReceivedFile rows are queued (`PendingRows`) and
`finish` inserts the whole batch's rows with one executemany per table (the supersede update first) just before
the batch commits, so a batch costs a handful of statements and no savepoints. A disk failure while taking one file
in (its archive copy) fails only that file (`failed`, its source stays where it was; nothing of it was queued). A
database failure fails the batch's transaction as a whole (a statement error aborts a PostgreSQL transaction): the
caller then takes its files again one per transaction, so every file still gets its own outcome and a bad file
fails alone. What the batch remembers between files (the hashes it has taken in, the official figures to date per
project, the versions counted) changes only once a file was taken in without an error. Everything read here is read
inside the batch's transaction (on SQLite it holds the write lock from its start), so it sees every committed run;
only the register (identities, frames without figures) is kept for the whole run. A file quarantined only for where
it was sent (another project's page: wrong project or period) is no duplicate when it comes again: it is taken in.

The worker that read a file without finding a problem has already written its copy under its final archive name
(grants/returns/archive.py); a file that ends up elsewhere has that copy moved (quarantined) or removed (a duplicate
of a file not archived, a failure), never a copy a recorded return points to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from grants.kernel import models as m
from grants.returns.archive import discard, final_name, keep, step, sync_folders
from grants.returns.frame import ReturnFrame, figures_before, register_frame
from grants.returns.identity import Expected, IdentityCache, identify
from grants.returns.official import Figures, official_figures
from grants.returns.outcome import IngestOptions, IngestResult, Source, failed, stop_if_fatal
from grants.returns.problems import Problem, capped, has_errors, problem, problems_to_json
from grants.returns.reader import Examined
from grants.returns.store import RETURN_INDEX, PendingRows, latest_version, store_return
from grants.returns.validation import ReturnContent, check_content, read_content

_SEEN = (select(col(m.ReceivedFile.sha256), col(m.ReceivedFile.outcome), col(m.ReceivedFile.problems_json))
         .where(col(m.ReceivedFile.sha256).in_(bindparam("hashes", expanding=True)),
                col(m.ReceivedFile.outcome) != "duplicate"))
_PROJECT = (select(col(m.Project.id)).join(m.Grant, col(m.Grant.id) == col(m.Project.grant_id))
            .where(col(m.Grant.reference) == bindparam("grant"), col(m.Project.code) == bindparam("code")))
KNOWN_PROJECT = frozenset({"wrong-project", "wrong-period"})  # signed details valid: the project is known
ARCHIVED = frozenset({str(m.ReturnStatus.accepted), str(m.ReturnStatus.rejected)})  # outcomes with an archive copy


@dataclass
class RunCache:
    """What one run reads from the register once: identities, frames (without figures to date), folders made."""

    identities: IdentityCache = field(default_factory=dict)
    frames: dict[tuple[int, int], ReturnFrame] = field(default_factory=dict)
    folders: set[Path] = field(default_factory=set)

    def forget(self) -> None:
        """Drop what was read: after a transaction failed, the rows it loaded are expired and can't be used."""
        self.identities.clear()
        self.frames.clear()


@dataclass
class BatchIntake:
    """Takes in the files of one batch in `session`'s (the batch's) transaction: `take` each, then `finish`."""

    session: Session
    received_at: datetime
    as_of: date
    options: IngestOptions
    cache: RunCache
    seen: dict[str, str] = field(default_factory=dict)  # sha256 -> outcome of the file recorded with it
    misdirected: set[str] = field(default_factory=set)  # sha256 of files quarantined only for where they were sent
    figures: dict[int, dict[int, Figures]] = field(default_factory=dict)  # project -> period -> official figures
    versions: dict[tuple[int, int], int] = field(default_factory=dict)  # (project, period) -> latest version
    rows: PendingRows = field(default_factory=PendingRows)  # of the files taken in so far
    folders: set[Path] = field(default_factory=set)  # renamed into: fsynced before the commit
    taken: list[tuple[IngestResult, int | None]] = field(default_factory=list)  # results, index of their return
    _file_rows: PendingRows = field(default_factory=PendingRows)  # of the file being taken in

    def start(self, hashes: Sequence[str]) -> None:
        """Read which of the batch's files were received before (one query for the whole batch)."""
        found = list(self.session.connection().execute(_SEEN, {"hashes": list(set(hashes))}))
        self.seen = {sha256: outcome for sha256, outcome, _ in found}
        self.misdirected = {sha256 for sha256, outcome, problems in found
                            if outcome == "quarantined" and _first_code(problems) in KNOWN_PROJECT}

    def take(self, path: Path, found: Examined, source: Source) -> None:
        """Take one file in: its outcome, or `failed` (nothing of it queued) if the disk failed. A database error is
        raised: the batch's transaction fails as a whole (see the module docstring). A failure that would fail every
        file (a full disk) stops the run (IngestStopped)."""
        self._file_rows = PendingRows()
        try:
            result, frame, content = self._take(path, found, source)
        except SQLAlchemyError:
            raise
        except OSError as exc:  # nothing of this file was queued; its copy is removed once the batch is settled
            stop_if_fatal(exc, path.name)
            self.taken.append((failed(path, found.sha256, exc), None))
            return
        offset = len(self.rows.returns)
        self.rows.extend(self._file_rows)
        self.taken.append((result, offset if self._file_rows.returns else None))
        if result.outcome != "waiting":
            self.seen.setdefault(found.sha256, result.outcome)
        if result.version is not None and frame is not None:
            self.versions[(frame.project.id or 0, frame.period.id or 0)] = result.version
        if frame is not None and content is not None:
            self._accepted(frame, content)

    def _take(self, path: Path, found: Examined, source: Source
              ) -> tuple[IngestResult, ReturnFrame | None, ReturnContent | None]:
        if found.sha256 in self.misdirected:  # sent to the wrong project's page before: taken in afresh now
            self._redirected(found.sha256)
        if found.sha256 in self.seen:
            note = problem("duplicate-file", f"This exact file ({found.sha256[:12]}) was received before; it is "
                           "not counted again.")
            self._record(path, found, source, "duplicate", [note], "")
            self.drop_copy(found)
            return IngestResult(path.name, found.sha256, "duplicate", (note,)), None, None
        problems = found.problems or []
        if self._retry_later(found, source):
            self.drop_copy(found)
            return IngestResult(path.name, found.sha256, "waiting", tuple(problems), note="damaged or incomplete "
                                "(perhaps still being copied): tried again next run before it is quarantined"
                                ), None, None
        identity = None
        if not problems:
            expected = source.expected if source.expected != Expected() else self.options.expected
            identity, problems = identify(self.session, found.meta, self.options.signing_key, expected,
                                          self.cache.identities)
        if identity is None:
            return self._quarantine(path, found, source, problems), None, None
        project, period = identity
        frame = self._frame(project.id or 0, period.id or 0)
        content, problems = read_content(frame, found)
        problems = capped(problems + check_content(frame, content, found, self.as_of))
        accepted = not has_errors(problems)
        stored = self._keep(path, found, self.options.archive_dir, flat=False)
        ret = store_return(frame, content if accepted else None, problems, source_name=path.name,
                           sha256=found.sha256, archive_path=stored, received_at=self.received_at,
                           template_version=found.meta.get("template_version", ""), rows=self._file_rows,
                           version=self._version(frame) + 1)
        self._record(path, found, source, ret.status, problems, stored, ret.index, project.id)
        result = IngestResult(path.name, found.sha256, ret.status, tuple(problems), project.code, period.label,
                              None, ret.version, stored)
        return result, frame, content if accepted else None

    def _quarantine(self, path: Path, found: Examined, source: Source, problems: list[Problem]) -> IngestResult:
        stored = self._keep(path, found, self.options.quarantine_dir, flat=True)
        project_id = self._known_project(found, problems)
        (self.options.retry_dir / found.sha256).unlink(missing_ok=True)
        file_id = self._record(path, found, source, "quarantined", problems, stored, project_id=project_id,
                               now=True)  # the file's only write, and its last step
        return IngestResult(path.name, found.sha256, "quarantined", tuple(problems), stored_path=stored,
                            project=found.meta.get("project", "") if project_id else "", file_id=file_id)

    def _redirected(self, sha256: str) -> None:
        """A file first quarantined only because it was sent for another project or period (on another project's
        page) is not a duplicate when it comes again: it is taken in as new, and its first record becomes the
        duplicate (its problems kept), so the file is recorded once and the right lead's return is not refused."""
        self.session.connection().execute(
            update(m.ReceivedFile).where(col(m.ReceivedFile.sha256) == sha256,
                                         col(m.ReceivedFile.outcome) == "quarantined").values(outcome="duplicate"))
        self.misdirected.discard(sha256)
        del self.seen[sha256]

    def _retry_later(self, found: Examined, source: Source) -> bool:
        """A damaged zip from the inbox seen for the first time is left there for the next run (it may have been
        read while still being copied); the second time it is quarantined."""
        if source.kind != "inbox" or [p.code for p in found.problems] != ["damaged-zip"]:
            return False
        marker = self.options.retry_dir / found.sha256
        if marker.exists():
            return False
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return True

    def _known_project(self, found: Examined, problems: Sequence[Problem]) -> int | None:
        """The project of a quarantined file whose signed details were valid (sent for the wrong project or
        period), so its lead can be told."""
        if not problems or problems[0].code not in KNOWN_PROJECT:
            return None
        params = {"grant": found.meta.get("grant", ""), "code": found.meta.get("project", "")}
        return self.session.connection().execute(_PROJECT, params).scalar_one_or_none()

    def _version(self, frame: ReturnFrame) -> int:
        """The latest version stored for the frame's project and period: read once a batch, then counted here."""
        key = (frame.project.id or 0, frame.period.id or 0)
        if key not in self.versions:
            self.versions[key] = latest_version(self.session.connection(), *key)
        return self.versions[key]

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

    def finish(self) -> list[IngestResult]:
        """Insert the rows of every file taken in and make the copies' names durable (call just before the batch
        commits: after it, the originals may leave); the results in order, with their returns' ids."""
        ids = self.rows.insert(self.session.connection())
        sync_folders(self.folders)
        step("commit", "")
        return [result if index is None else replace(result, return_id=ids[index]) for result, index in self.taken]

    def drop_copy(self, found: Examined) -> None:
        """Remove the copy a worker made of a file that is not archived by this run (a duplicate, left waiting,
        failed), unless a return recorded earlier with the same SHA-256 points to it."""
        if found.staged and self.seen.get(found.sha256) not in ARCHIVED:
            discard(found.staged)

    def _record(self, path: Path, found: Examined, source: Source, outcome: str, problems: Sequence[Problem],
                stored: str, return_index: int | None = None, project_id: int | None = None, *, now: bool = False
                ) -> int | None:
        """The ReceivedFile row: inserted with the batch's rows (pointing at the file's queued return, if any), or
        `now` when its id is needed (a quarantined file's reply is keyed on it)."""
        row: dict[str, Any] = {
            "sha256": found.sha256, "name": path.name, "size": found.size, "received_at": self.received_at,
            "outcome": outcome, "return_id": None, "problems_json": problems_to_json(problems),
            "stored_path": stored, "source": source.kind, "sender": source.sender, "project_id": project_id,
            "message_id": source.message_id}
        if return_index is not None:
            row[RETURN_INDEX] = return_index
        if not now:
            self._file_rows.add(m.ReceivedFile, row)
            return None
        key = self.session.connection().execute(insert(m.ReceivedFile), row).inserted_primary_key
        return int(key[0]) if key else None

    def _keep(self, path: Path, found: Examined, folder: Path, *, flat: bool) -> str:
        """The content-addressed copy in `folder`, made before the commit (see grants/returns/archive.py)."""
        target = final_name(folder, found.sha256, path.name, flat=flat)
        if target.parent not in self.cache.folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.cache.folders.add(target.parent)
        keep(target, found.sha256, found.staged, path)
        self.folders.add(target.parent)
        return str(target)


def _first_code(problems_json: str) -> str:
    """The code of a stored file's first problem ('' if none)."""
    try:
        stored = json.loads(problems_json or "[]")
    except ValueError:
        return ""
    return str(stored[0].get("code", "")) if stored and isinstance(stored[0], dict) else ""
