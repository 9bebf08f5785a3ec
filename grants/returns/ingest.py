"""Ingest received return files: the one entry point for every way a return arrives (the inbox folder, a path on the
command line, an email attachment, an upload): `ingest_files` takes the files and where each came from (`Source`).

A run holds the installation's ingest lock (grants/returns/runlock.py): overlapping runs queue, and a file another
run took in while this one waited is reported `taken`, never `failed`. Under the lock the run first removes what a
killed run left half-written (staged copies, `.part` files). Each file is hashed, screened and read in a sandboxed
worker; then, in this process: a file seen before is a duplicate; a hostile, unreadable or unidentifiable file is
quarantined (a ReceivedFile row only); an identified return is stored as a Return (accepted, or rejected with its
problems and no lines) with its lines, its original archived under its SHA-256. A new accepted version supersedes
the earlier accepted one.

Files are stored `batch_files` at a time (fewer once their replies from the workers reach `BATCH_BYTES`, so memory
stays bounded whatever the files hold) in one transaction, their rows inserted together at its end (see
grants/returns/intake.py). Before a batch commits, every copy it made is fsynced (by the worker that wrote it) and
so are the folders they went into (grants/returns/archive.py); sources leave the inbox only after the commit. A
crash mid-batch leaves every file of the batch in place and nothing of it in the database; a crash after the commit
but before the sources are removed leaves files whose SHA-256 is recorded, which the next run takes in as duplicates
(and removes). If the batch's transaction fails (a statement, its commit), its files are tried again one per
transaction, so a bad file fails alone; a failure that would fail every file (a read-only database, a full disk)
stops the run with one line naming the cause (IngestStopped).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from grants.kernel.db import session_scope
from grants.programme.status import received_on
from grants.returns.archive import clean_leftovers, discard, in_staging, staging_folder, step
from grants.returns.inbox import InboxScan, scan_inbox
from grants.returns.intake import BatchIntake, RunCache
from grants.returns.outcome import (
    STORED,
    IngestOptions,
    IngestResult,
    IngestStopped,
    Source,
    failed,
    skipped,
    stop_if_fatal,
    taken,
)
from grants.returns.reader import Examined
from grants.returns.runlock import ingest_lock
from grants.returns.sandbox import examine_each

__all__ = [
    "InboxScan",
    "IngestOptions",
    "IngestResult",
    "IngestStopped",
    "Source",
    "inbox_files",
    "ingest_files",
    "scan_inbox",
    "skipped",
]

Batch = list[tuple[Path, Examined, Source]]
BATCH_BYTES = 4 * 1024 * 1024  # of workers' replies held for one batch (an honest return's is 2-4 KB)


def inbox_files(folder: Path) -> list[Path]:
    """The regular files waiting directly in a folder, oldest name first, however recently written (see
    `scan_inbox` for what a scheduled run takes and why it leaves the rest)."""
    return scan_inbox(folder, now=float("inf"), settle_seconds=0).files


def ingest_files(engine: Engine, paths: Sequence[Path], received_at: datetime, options: IngestOptions,
                 sources: Sequence[Source] | None = None) -> list[IngestResult]:
    """Ingest each file (see the module docstring); one result per path, in order. `sources`: where each came from
    (default: the inbox)."""
    given = list(sources) if sources is not None else [Source()] * len(paths)
    with ingest_lock(engine, options.archive_dir):
        clean_leftovers(options.archive_dir, options.quarantine_dir)
        present = [i for i, path in enumerate(paths) if _still_there(path)]
        results = {i: taken(paths[i]) for i in set(range(len(paths))) - set(present)}
        cache = RunCache()
        staging = _staging(options)
        found = examine_each([paths[i] for i in present], options.limits, options.workers, staging)
        examined = zip(present, found, strict=True)
        # The workers read ahead while a batch is stored; a batch is gathered before its transaction starts, so the
        # transaction (and SQLite's write lock) is never held while waiting for a worker.
        for chunk in _batches(examined, max(1, options.batch_files)):
            batch = [(paths[i], one, given[i]) for i, one in chunk]
            results |= dict(zip((i for i, _ in chunk), _ingest_batch(engine, batch, received_at, options, cache),
                                strict=True))
    return [results[i] for i in range(len(paths))]


def _batches(examined: Iterator[tuple[int, Examined]], files: int) -> Iterator[list[tuple[int, Examined]]]:
    """Consecutive batches of at most `files` files whose replies add up to at most `BATCH_BYTES` (beyond one)."""
    batch: list[tuple[int, Examined]] = []
    size = 0
    for one in examined:
        batch.append(one)
        size += one[1].reply_bytes
        if len(batch) >= files or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _still_there(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def _ingest_batch(engine: Engine, batch: Batch, received_at: datetime, options: IngestOptions, cache: RunCache
                  ) -> list[IngestResult]:
    try:
        with session_scope(engine) as session:  # SQLite: synchronous=FULL (grants/kernel/db.py)
            intake = BatchIntake(session, received_at, received_on(received_at), options, cache)
            intake.start([found.sha256 for _, found, _ in batch])
            for path, found, source in batch:
                intake.take(path, found, source)
            results = intake.finish()
    except IngestStopped:
        raise
    except (SQLAlchemyError, OSError) as exc:  # the batch's transaction failed as a whole: nothing of it was saved
        cache.forget()
        stop_if_fatal(exc, str(engine.url.render_as_string(hide_password=True)))
        if len(batch) == 1:
            results = [failed(batch[0][0], batch[0][1].sha256, exc)]
        else:
            return [r for one in batch for r in _ingest_batch(engine, [one], received_at, options, cache)]
    _settle(batch, results, options)
    return results


def _settle(batch: Batch, results: Sequence[IngestResult], options: IngestOptions) -> None:
    """After the batch's transaction: remove the staged copies of failed files (a copy a worker already wrote under
    its final archive name stays: the source stays too, and the next run records it) and take the recorded files
    out of the inbox."""
    for (_, found, _), result in zip(batch, results, strict=True):
        if result.outcome == "failed" and in_staging(found.staged):
            discard(found.staged)
    remove_sources(batch, results, options)


def _staging(options: IngestOptions) -> Path | None:
    """The folder workers stage copies in (None if it can't be made: the originals are copied instead)."""
    folder = staging_folder(options.archive_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def remove_sources(batch: Batch, results: Sequence[IngestResult], options: IngestOptions) -> None:
    """Take the batch's recorded files out of the inbox, once the batch has committed (failed, taken and waiting
    files stay; a file from outside the inbox is never removed: it was copied in)."""
    for (path, _, _), result in zip(batch, results, strict=True):
        if result.outcome not in STORED or not options.removes(path):
            continue
        try:
            step("remove", path)
            path.unlink(missing_ok=True)
        except OSError:  # left in place: its SHA-256 is recorded, so the next run takes it in as a duplicate
            continue
