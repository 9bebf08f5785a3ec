"""Ingest received return files: identify, verify, read, check, store in batches of savepoints, archive, move out.

Each file is hashed, screened and read in a sandboxed worker; then, in this process: a file seen before is a
duplicate; a hostile, unreadable or unidentifiable file is quarantined (a ReceivedFile row only); an identified
return is stored as a Return (accepted, or rejected with its problems and no lines) with its lines, its original
archived under its SHA-256. A new accepted version supersedes the earlier accepted one.

Files are stored `batch_files` at a time in one transaction (one commit, one fsync), each file in its own savepoint
(see grants/return_intake.py): one file failing rolls back only itself, and each file's outcome is its own. Sources
leave the inbox only after their batch has committed, so a crash mid-batch leaves every file of the batch in place
and nothing of it in the database; a crash after the commit but before the sources are removed leaves files whose
SHA-256 is recorded, which the next run takes in as duplicates (and removes). If the batch's transaction itself fails
(its commit, say), its files are tried again one per transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from grants.kernel.db import session_scope
from grants.programme.status import received_on
from grants.returns.archive import staging_folder
from grants.returns.intake import BatchIntake, IngestOptions, IngestResult, RunCache, failed
from grants.returns.reader import Examined
from grants.returns.sandbox import examine_each
from grants.returns.source import FileSource

__all__ = ["IngestOptions", "IngestResult", "inbox_files", "ingest_files"]

Batch = list[tuple[Path, Examined]]


def inbox_files(folder: Path) -> list[Path]:
    """The files waiting in a folder (not hidden, not sub-folders), oldest name first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def ingest_files(engine: Engine, paths: Sequence[Path], received_at: datetime, options: IngestOptions,
                 sources: Mapping[Path, FileSource] | None = None) -> list[IngestResult]:
    """Ingest each file (see the module docstring); one result per path, in order. `sources`: where a file came from
    (an email's sender and Message-ID), recorded with it; a file not in it came from the inbox folder."""
    results: list[IngestResult] = []
    cache = RunCache(sources=dict(sources or {}))
    staging = _staging(options)
    examined = zip(paths, examine_each(list(paths), options.limits, options.workers, staging), strict=True)
    # The workers read ahead while a batch is stored; a batch is gathered before its transaction starts, so the
    # transaction (and SQLite's write lock) is never held while waiting for a worker.
    while batch := list(islice(examined, max(1, options.batch_files))):
        results += _ingest_batch(engine, batch, received_at, options, cache)
    return results


def _ingest_batch(engine: Engine, batch: Batch, received_at: datetime, options: IngestOptions, cache: RunCache
                  ) -> list[IngestResult]:
    try:
        with session_scope(engine) as session:
            intake = BatchIntake(session, received_at, received_on(received_at), options, cache)
            intake.start([found.sha256 for _, found in batch])
            results = [intake.take(path, found) for path, found in batch]
            intake.finish()
    except (SQLAlchemyError, OSError) as exc:  # the batch's transaction failed as a whole: nothing of it was saved
        cache.forget()
        if len(batch) == 1:
            return [failed(batch[0][0], batch[0][1], exc)]
        return [r for one in batch for r in _ingest_batch(engine, [one], received_at, options, cache)]
    if options.remove_sources:
        remove_sources(batch, results)
    return results


def _staging(options: IngestOptions) -> Path | None:
    """The folder workers stage copies in (None if it can't be made: the originals are copied instead)."""
    folder = staging_folder(options.archive_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def remove_sources(batch: Batch, results: Sequence[IngestResult]) -> None:
    """Take the batch's files out of where they were, once the batch has committed (failed files stay)."""
    for (path, _), result in zip(batch, results, strict=True):
        if result.outcome == "failed":
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError:  # left in place: its SHA-256 is recorded, so the next run takes it in as a duplicate
            continue
