"""Content-addressed, durable copies of received files, made from the very bytes that were hashed and read.

The worker that examines a file also writes its bytes: written under a temporary name, fsynced, then renamed, so a
copy is always whole and on disk. A file read without a problem (almost every return) is written straight under its
final name, archive/<sha[:2]>/<sha><ext> (`place`); any other is staged as `<staging>/<sha256>` and the main process
gives it its final name, quarantine/<sha><ext> (or the archive's, if it turns out to be a return after all), with one
rename (`keep`). Before the batch commits the main process fsyncs every folder a copy of the batch went into
(`sync_folders`). Only after that commit does an original leave the inbox, so no crash or power cut can leave the
database recording a copy that is not on disk while the original is gone. A crash before the commit can leave a
worker's copy under its final name with no row yet: its original is still in the inbox, and the next run writes the
same bytes there again and records it. Without a copy from the worker (the worker crashed, the file was too large to
read, the folders are on another file system) the original is copied in bounded memory instead, and refused if it no
longer hashes to what was read. Either way the final name is replaced atomically, so a copy already there ends up
holding exactly the bytes read. `step` names each of these steps of the main process for the fault-injection test
(tests/returns/test_durability.py). Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STAGING = ".incoming"
SYNC_THREADS = 16
CHUNK = 1024 * 1024
PARTIAL = ".part"

StepHook = Callable[[str, str], None]
_hook: StepHook | None = None


def set_step_hook(hook: StepHook | None) -> None:
    """Call `hook(step, path)` before each step of making a copy durable (write, fsync, rename, folder-fsync,
    commit, remove): the fault-injection test stops the process there. None turns it off."""
    global _hook
    _hook = hook


def step(name: str, path: Path | str) -> None:
    """Mark the start of a step (a no-op unless a hook is set)."""
    if _hook is not None:
        _hook(name, str(path))


def staging_folder(archive_dir: Path) -> Path:
    """Where workers stage copies: inside the archive folder, so the final move is a rename on one file system."""
    return archive_dir / STAGING


def stage(data: bytes, sha256: str, staging: Path) -> str:
    """Write the bytes as `<staging>/<sha256>` atomically and durably; the path, or "" if it could not be written."""
    return _write_as(data, staging / sha256)


def place(data: bytes, sha256: str, source_name: str, staging: Path) -> str:
    """Write the bytes under their final archive name (the archive folder holds `staging`) atomically and durably;
    the path, or "" if it could not be written. The folder the name went into is fsynced by the main process."""
    target = final_name(staging.parent, sha256, source_name, flat=False)
    try:
        target.parent.mkdir(exist_ok=True)
    except OSError:
        return ""
    return _write_as(data, target)


def in_staging(path: str) -> bool:
    """Whether a worker's copy is a staged one (not under a final name)."""
    return bool(path) and Path(path).parent.name == STAGING


def _write_as(data: bytes, target: Path) -> str:
    partial = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL}")
    try:
        _write_durably(partial, [data])
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        return ""
    return str(target)


def final_name(folder: Path, sha256: str, source_name: str, *, flat: bool) -> Path:
    """archive/<sha[:2]>/<sha><ext> (`flat=False`) or quarantine/<sha><ext> (`flat=True`)."""
    suffix = "".join(c for c in Path(source_name).suffix.lower() if c.isalnum() or c == ".")[:8] or ".bin"
    return folder / (f"{sha256}{suffix}" if flat else f"{sha256[:2]}/{sha256}{suffix}")


def keep(target: Path, sha256: str, staged: str, source: Path) -> None:
    """Make `target` hold the file's bytes: nothing to do if the worker's copy is already there, else move the
    worker's copy there, else copy `source` (never following a link)
    if it still hashes to `sha256` (FileChangedError otherwise). The folder must exist; call `sync_folders` on it
    before the commit that records the copy."""
    if staged == str(target):  # the worker wrote it there
        return
    if staged:
        try:
            step("rename", target)
            os.replace(staged, target)
            return
        except OSError:  # gone (another run moved it) or on another file system: copy the original instead
            discard(staged)
    partial = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL}")
    try:
        digest = _write_durably(partial, read_chunks(source))
        if digest != sha256:
            raise FileChangedError(f"{source.name} changed after it was read; it is left to be ingested again")
        step("rename", target)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def sync_folders(folders: Iterable[Path]) -> None:
    """fsync each folder, so the names renamed into it survive a power cut. The folders of a batch (one per
    archive/<sha[:2]>) are fsynced from a few threads at once, so the file system commits them together."""
    todo = sorted(set(folders))
    for folder in todo:
        step("folder-fsync", folder)
    if len(todo) <= 1:
        for folder in todo:
            _fsync_folder(folder)
        return
    with ThreadPoolExecutor(max_workers=min(SYNC_THREADS, len(todo))) as pool:
        list(pool.map(_fsync_folder, todo))  # re-raises the first error


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_chunks(path: Path) -> Iterable[bytes]:
    """The file's bytes in chunks (bounded memory); never follows a symbolic link nor opens a special file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FileChangedError(f"{path.name} is not a regular file")
        while chunk := handle.read(CHUNK):
            yield chunk


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (bounded memory whatever its size)."""
    digest = hashlib.sha256()
    for chunk in read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _write_durably(partial: Path, chunks: Iterable[bytes]) -> str:
    """Write the chunks to `partial` and fsync it; the SHA-256 of what was written."""
    digest = hashlib.sha256()
    step("write", partial)
    with open(partial, "wb") as handle:
        for chunk in chunks:
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        step("fsync", partial)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def discard(staged: str) -> None:
    """Remove a staged copy that is not needed (the file was a duplicate or already kept)."""
    if staged:
        Path(staged).unlink(missing_ok=True)


def clean_leftovers(archive_dir: Path, quarantine_dir: Path) -> int:
    """Remove what a run killed half-way (a full disk, a crash) left behind: staged copies and `.part` files in the
    archive and quarantine folders. Call it only while holding the ingest lock (no other run is writing). Returns
    how many files were removed."""
    removed = 0
    staging = staging_folder(archive_dir)
    folders = [archive_dir, quarantine_dir, *(p for p in _subfolders(archive_dir) if p != staging)]
    candidates = [*_entries(staging), *(e for f in folders for e in _entries(f) if e.name.endswith(PARTIAL))]
    for entry in candidates:
        try:
            os.unlink(entry)
            removed += 1
        except OSError:
            continue
    return removed


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _entries(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


class FileChangedError(OSError):
    """The original's bytes are no longer the ones that were hashed and read."""
