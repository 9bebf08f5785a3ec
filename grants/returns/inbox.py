"""Which entries of the inbox folder a run takes in, and why it leaves each of the others (said every run).

Only regular files directly in the inbox, whose size and modification time have not changed for `settle_seconds`
(a file still being copied in is left for the next run; a file moved in by rename keeps its old time and is taken at
once). Never followed or opened: symbolic links, folders, pipes, sockets and devices; also left: hidden files and
Office lock files. The folder is read with lstat only, so nothing here opens a file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

LOCK_PREFIXES = ("~$", ".~lock.")


@dataclass(frozen=True)
class Skipped:
    """An entry left where it is, and why (in words for whoever put it there)."""

    name: str
    reason: str
    waiting: bool = False  # still being written: taken on a later run without anyone doing anything


@dataclass
class InboxScan:
    """The files to take in now (oldest name first) and the entries left, with their reasons."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def scan_inbox(folder: Path, now: float, settle_seconds: float = 5.0) -> InboxScan:
    """The entries of `folder` sorted into files to take now and entries skipped (see the module docstring);
    `now` is the current time as a POSIX timestamp."""
    scan = InboxScan()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return scan
    for entry in entries:
        reason = skip_reason(Path(entry.path), entry.stat(follow_symlinks=False), now, settle_seconds)
        if reason is None:
            scan.files.append(Path(entry.path))
        else:
            scan.skipped.append(reason)
    return scan


def skip_reason(path: Path, info: os.stat_result, now: float, settle_seconds: float) -> Skipped | None:
    """Why the entry is left (None: take it). `info` is its lstat."""
    name, mode = path.name, info.st_mode
    if stat.S_ISLNK(mode):
        return Skipped(name, "a symbolic link: links are never followed; put the file itself in the inbox")
    if stat.S_ISDIR(mode):
        return Skipped(name, "a folder: only files directly in the inbox are taken in; move its files up into the "
                       "inbox")
    if not stat.S_ISREG(mode):
        return Skipped(name, "not a regular file (a pipe, socket or device): it is never opened")
    if name.startswith(LOCK_PREFIXES):
        return Skipped(name, "an Office lock file (the workbook is open in Excel or LibreOffice): ignored")
    if name.startswith("."):
        return Skipped(name, "a hidden file (its name starts with '.'): rename it without the dot to have it "
                       "taken in")
    age = now - info.st_mtime
    if age < settle_seconds:
        return Skipped(name, f"still being written (changed {max(age, 0):.0f} s ago): taken once it has not "
                       f"changed for {settle_seconds:g} s", waiting=True)
    return None


def path_skip_reason(path: Path, now: float, settle_seconds: float = 0.0) -> Skipped | None:
    """Why a file named directly (not found by scanning) is left; None to take it. Missing: FileNotFoundError."""
    return skip_reason(path, path.lstat(), now, settle_seconds)
