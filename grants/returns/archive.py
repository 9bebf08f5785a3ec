"""Content-addressed copies of received files, made from the very bytes that were hashed and read.

The worker that examines a file also stages its bytes as `<staging>/<sha256>` (written under a temporary name, then
renamed, so a staged file is always whole). The main process then gives the copy its final name, archive/<sha[:2]>/
<sha><ext> for a return or quarantine/<sha><ext>, with one rename. The copy is made before the file's transaction
commits; the original leaves the inbox only after it. Without a staged copy (the worker crashed, the staging folder
is on another file system) the original is copied instead, and refused if it no longer hashes to what was read.
Either way the final name is replaced atomically, so a copy already there (left by an earlier failed attempt, say)
ends up holding exactly the bytes that were read. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

STAGING = ".incoming"


def staging_folder(archive_dir: Path) -> Path:
    """Where workers stage copies: inside the archive folder, so the final move is a rename on one file system."""
    return archive_dir / STAGING


def stage(data: bytes, sha256: str, staging: Path) -> str:
    """Write the bytes as `<staging>/<sha256>` atomically; returns the path, or "" if it could not be written."""
    target = staging / sha256
    partial = staging / f".{sha256}.{os.getpid()}.part"
    try:
        partial.write_bytes(data)
        partial.replace(target)
    except OSError:
        partial.unlink(missing_ok=True)
        return ""
    return str(target)


def final_name(folder: Path, sha256: str, source_name: str, *, flat: bool) -> Path:
    """archive/<sha[:2]>/<sha><ext> (`flat=False`) or quarantine/<sha><ext> (`flat=True`)."""
    suffix = "".join(c for c in Path(source_name).suffix.lower() if c.isalnum() or c == ".")[:8] or ".bin"
    return folder / (f"{sha256}{suffix}" if flat else f"{sha256[:2]}/{sha256}{suffix}")


def keep(target: Path, sha256: str, staged: str, source: Path) -> None:
    """Make `target` hold the file's bytes: move the staged copy there, else copy `source` if it still hashes to
    `sha256` (FileChangedError otherwise: the file changed since it was read). The folder must exist."""
    if staged:
        try:
            os.replace(staged, target)
            return
        except OSError:  # gone (another run moved it) or on another file system: copy the original instead
            discard(staged)
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise FileChangedError(f"{source} changed after it was read; it is left to be ingested again")
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)


def discard(staged: str) -> None:
    """Remove a staged copy that is not needed (the file was a duplicate or already kept)."""
    if staged:
        Path(staged).unlink(missing_ok=True)


class FileChangedError(OSError):
    """The original's bytes are no longer the ones that were hashed and read."""

