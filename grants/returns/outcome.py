"""What ingest is given and what it gives back: the options of a run, where each file came from (`Source`), and what
became of it (`IngestResult`), including the outcomes that store nothing (taken, waiting, skipped, failed) and
the causes that stop a whole run (a read-only database, a full disk) as one plain line.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from grants.kernel.errors import GrantsError
from grants.kernel.settings import Settings
from grants.returns.identity import Expected
from grants.returns.inbox import Skipped
from grants.returns.problems import Problem, problem
from grants.returns.safety import Limits

MB = 1_000_000
STORED = frozenset({"accepted", "rejected", "superseded", "duplicate", "quarantined"})  # recorded: may leave


@dataclass(frozen=True)
class Source:
    """Where a file came from: `kind` inbox (the folder), path (named on the command line), email or upload; the
    sender's address when known (a quarantined file is answered there); what the sender should be returning."""

    kind: str = "inbox"
    sender: str = ""
    expected: Expected = field(default_factory=Expected)
    message_id: str = ""  # the email's Message-ID, for a file that came by email (replies thread to it)


@dataclass(frozen=True)
class IngestOptions:
    """Where files go, the signing key and the limits. `remove_sources`: take each file out of where it was, once
    recorded (with `inbox` set, only files directly in that folder: any other file is copied in, never moved).
    `batch_files`: files stored per transaction (each in its own savepoint)."""

    archive_dir: Path
    quarantine_dir: Path
    signing_key: bytes
    limits: Limits = field(default_factory=Limits)
    workers: int = 2
    remove_sources: bool = True
    expected: Expected = field(default_factory=Expected)
    batch_files: int = 50
    inbox: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, remove_sources: bool = True) -> IngestOptions:
        """Options from the configured folders, signing key and limits."""
        limits = Limits(
            max_file_bytes=int(settings.return_max_file_mb * MB),
            max_uncompressed_bytes=int(settings.return_max_uncompressed_mb * MB),
            max_rows=settings.return_max_rows, max_cols=settings.return_max_cols,
            memory_bytes=settings.return_parser_memory_mb * 1024 * 1024,
        )
        return cls(settings.folder("archive"), settings.folder("quarantine"), settings.signing_secret(), limits,
                   settings.return_parser_workers, remove_sources, batch_files=settings.return_ingest_batch_files,
                   inbox=settings.folder("inbox"))

    def removes(self, path: Path) -> bool:
        """Whether `path` leaves where it was once recorded (never a file outside the inbox when one is set)."""
        if not self.remove_sources:
            return False
        return self.inbox is None or path.parent.resolve() == self.inbox.resolve()

    @property
    def retry_dir(self) -> Path:
        """Markers of damaged files seen once (the next run quarantines them)."""
        return self.archive_dir / ".retry"


@dataclass(frozen=True)
class IngestResult:
    """What became of one file: outcome accepted / rejected / duplicate / quarantined (recorded), or taken (another
    run took it in first), waiting (left for the next run), skipped (never opened) or failed (nothing saved); its
    problems; `note` says in words why a file was not recorded."""

    source: str
    sha256: str
    outcome: str
    problems: tuple[Problem, ...] = ()
    project: str = ""
    period: str = ""
    return_id: int | None = None
    version: int | None = None
    stored_path: str = ""
    note: str = ""
    file_id: int | None = None  # the ReceivedFile row of a quarantined file (its reply is keyed on it)


class IngestStopped(GrantsError):
    """The run cannot go on (the database is read-only, the disk is full): nothing of the batch was saved."""


def skipped(entry: Skipped) -> IngestResult:
    """The result row of an inbox entry that was not taken in."""
    return IngestResult(entry.name, "", "waiting" if entry.waiting else "skipped", note=entry.reason)


def taken(path: Path) -> IngestResult:
    """A file gone from the inbox when its turn came: another run took it in."""
    return IngestResult(path.name, "", "taken", note="another ingest run took this file in first")


def failed(path: Path, sha256: str, exc: BaseException) -> IngestResult:
    """The outcome of a file that could not be stored: nothing saved, the file left where it was. A file the schema
    refused because another run stored it (or its project and period's version) at the same moment is `taken`."""
    if unique_violation(exc):
        return IngestResult(path.name, sha256, "taken", note="another ingest run stored this file, or a return for "
                            "the same project and period, at the same moment; it was left to be taken in next run")
    note = problem("ingest-failed", f"Storing the return failed ({failure_cause(exc)}); nothing was saved and the "
                   "file was left where it was to be tried again.")
    return IngestResult(path.name, sha256, "failed", (note,))


def unique_violation(exc: BaseException) -> bool:
    """Whether the schema refused a duplicate (a unique constraint or index), not some other check."""
    if not isinstance(exc, IntegrityError):
        return False
    cause = exc.orig
    return getattr(cause, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(cause)


def failure_cause(exc: BaseException) -> str:
    """The cause of a storage failure in plain words."""
    return _stopping_cause(exc) or f"{type(exc).__name__}: {_first_line(exc)}"


def stop_if_fatal(exc: BaseException, where: str) -> None:
    """Raise IngestStopped when the failure will fail every other file too (read-only database, full disk)."""
    cause = _stopping_cause(exc)
    if cause:
        raise IngestStopped(f"ingest stopped: {cause} ({where}); nothing more was stored and the files not yet "
                            "taken in are still where they were") from exc


def _stopping_cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full{_at(exc)}"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return f"the file system is read-only{_at(exc)}"
    if isinstance(exc, SQLAlchemyError):
        text = _first_line(exc).lower()
        if "readonly database" in text or "read-only" in text:
            return "the database is read-only"
        if "database or disk is full" in text or "no space left" in text or "could not extend file" in text:
            return "the database's disk is full"
    return ""


def _at(exc: OSError) -> str:
    return f" at {exc.filename}" if exc.filename else ""


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
