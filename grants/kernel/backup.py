"""Backup and restore: one .tar.gz with a consistent copy of the SQLite database (the online backup API, safe while
the engine runs), the archived and quarantined return files, and a manifest with every file's SHA-256.

The database is copied first and the files after it: files are only ever added to the archive (each under its
SHA-256) and a file is in place before the commit that records it, so every file the copied database names is in
the backup. With PostgreSQL the database is left to `pg_dump` (see the README) and the backup holds the files only.
The installation's signing key file (`data/signing.key`) goes in too: without it a restored engine would make a new
key, and every return pack and lead link already sent would stop working. The archive is owner-only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from grants.kernel.errors import GrantsError
from grants.kernel.migrate import current_revisions

FOLDERS = ("archive", "quarantine")  # the return files; the outbox, packs and reports can be made again
MANIFEST = "manifest.json"
DATABASE = "grants.db"
KEY = "signing.key"
FORMAT = 1


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or a restore holds: the database (or why not), and the files per folder."""

    path: Path
    database: str
    files: dict[str, int]
    signing_key: str = ""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    """Regular files under a folder (never following links), skipping unfinished `.part` copies and hidden files
    (the ingest run's lock file lives in the archive folder)."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        hidden_or_partial = path.name.startswith(".") or path.name.endswith(".part")
        if path.is_file() and not path.is_symlink() and not hidden_or_partial:
            yield path


def _snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included) through the online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def write_backup(out: Path, db_url: str, folders: dict[str, Path], engine: Engine, now: datetime,
                 key_file: Path | None = None) -> BackupSummary:
    """Write the backup archive to `out` (via a temporary name, so a failed run leaves no half archive), owner-only;
    with the signing key file when there is one."""
    db_file = sqlite_path(db_url)
    if db_file is not None and not db_file.exists():
        raise GrantsError(f"no database at {db_file}: nothing to back up (run `grants init` first)")
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {
        "format": FORMAT, "created": now.isoformat(), "schema": list(current_revisions(engine)),
        "database": "sqlite" if db_file else make_url(db_url).get_backend_name(),
        "folders": {name: str(path.resolve()) for name, path in folders.items()}, "files": {}}
    counts: dict[str, int] = {}
    partial = out.with_name(out.name + ".part")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # it holds the key and password hashes
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(partial, "w:gz") as tar:
        if db_file is not None:
            snapshot = Path(tmp) / DATABASE
            _snapshot_sqlite(db_file, snapshot)  # first: every file it names is already in the archive folder
            tar.add(snapshot, arcname=DATABASE)
        files: dict[str, str] = {}
        for name, folder in folders.items():
            counts[name] = 0
            for path in _files(folder):
                arcname = f"{name}/{path.relative_to(folder).as_posix()}"
                files[arcname] = _sha256(path)
                tar.add(path, arcname=arcname, recursive=False)
                counts[name] += 1
        if key_file is not None and key_file.is_file():
            files[KEY] = _sha256(key_file)
            tar.add(key_file, arcname=KEY, recursive=False)
        manifest["files"] = files
        data = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(data), int(now.timestamp())
        tar.addfile(info, io.BytesIO(data))
    partial.replace(out)
    database = "included (SQLite snapshot)" if db_file else "not included: back it up with pg_dump (see the README)"
    key = "included" if KEY in files else "not included (GRANTS_SIGNING_KEY is set: keep it safe yourself)"
    return BackupSummary(out, database, counts, key)


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, object]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise GrantsError(f"{source} is not a grants backup: it has no {MANIFEST}")
    manifest: dict[str, object] = json.load(member)
    if manifest.get("format") != FORMAT:
        raise GrantsError(f"{source}: backup format {manifest.get('format')} is not one this version reads")
    return manifest


def _not_empty(db_file: Path | None, folders: dict[str, Path]) -> list[str]:
    found = [str(db_file)] if db_file is not None and db_file.exists() and db_file.stat().st_size > 0 else []
    found += [str(folder) for folder in folders.values() if any(_files(folder))]
    return found


def restore_backup(source: Path, db_url: str, folders: dict[str, Path], force: bool = False,
                   key_file: Path | None = None) -> BackupSummary:
    """Restore a backup into the configured database file and folders (and its signing key to `key_file`); refuses
    to overwrite data, or a different key, unless forced."""
    if not source.is_file():
        raise GrantsError(f"no backup file at {source}")
    db_file = sqlite_path(db_url)
    try:
        tar = tarfile.open(source, "r:gz")  # noqa: SIM115  (closed by the with below; opening may fail on its own)
    except (tarfile.TarError, OSError) as exc:
        raise GrantsError(f"{source} is not a readable backup archive ({exc})") from None
    with tar, tempfile.TemporaryDirectory() as tmp:
        manifest = _read_manifest(tar, source)
        occupied = _not_empty(db_file, folders) + _other_key(tar, key_file)
        if occupied and not force:
            raise GrantsError(f"refusing to overwrite existing data ({', '.join(occupied)}): restore into an empty "
                              "data folder, or pass --force to replace it")
        tar.extractall(tmp, filter="data")
        staged = Path(tmp)
        files = manifest.get("files")
        assert isinstance(files, dict)
        for arcname, digest in files.items():
            if _sha256(staged / arcname) != digest:
                raise GrantsError(f"{source}: {arcname} does not match its recorded SHA-256; the backup is damaged")
        counts = {name: _place(staged / name, folder) for name, folder in folders.items()}
        database = _restore_database(staged, manifest, db_file)
        key = _restore_key(staged / KEY, key_file)
    return BackupSummary(source, database, counts, key)


def _other_key(tar: tarfile.TarFile, key_file: Path | None) -> list[str]:
    """The key file, if it holds a key other than the backup's (restoring would replace it)."""
    if key_file is None or not key_file.is_file() or KEY not in tar.getnames():
        return []
    member = tar.extractfile(KEY)
    return [] if member is not None and member.read() == key_file.read_bytes() else [str(key_file)]


def _restore_key(staged: Path, key_file: Path | None) -> str:
    if not staged.is_file():
        return ("not in this backup (GRANTS_SIGNING_KEY was set, or an older version made it): set the same "
                "GRANTS_SIGNING_KEY, or copy signing.key from the old data folder, before `grants init` makes a new "
                "one")
    if key_file is None:
        return "in the backup but not restored"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(staged.read_bytes())
    return f"restored to {key_file} (owner-only)"


def _place(staged: Path, folder: Path) -> int:
    count = 0
    for path in _files(staged):
        target = folder / path.relative_to(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        count += 1
    return count


def _restore_database(staged: Path, manifest: dict[str, object], db_file: Path | None) -> str:
    snapshot = staged / DATABASE
    if not snapshot.exists():
        return "not in this backup (PostgreSQL): restore it with pg_restore first (see the README)"
    if db_file is None:
        raise GrantsError("this backup holds a SQLite database but GRANTS_DATABASE_URL names another kind of "
                          "database: unset it to restore into the data folder")
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
    shutil.copy2(snapshot, db_file)
    return f"restored to {db_file}"


def relocate_paths(engine: Engine, old: dict[str, str], new: dict[str, Path]) -> int:
    """Point stored file paths at the folders they were restored into (paths are stored absolute)."""
    changed = 0
    with engine.begin() as connection:
        for name, before in old.items():
            after = str(new[name].resolve()) if name in new else None
            if after is None or after == before:
                continue
            for table, column in (("return", "archive_path"), ("receivedfile", "stored_path")):
                result = connection.execute(
                    text(f'UPDATE "{table}" SET {column} = :after || substr({column}, :cut) '
                         f"WHERE substr({column}, 1, :n) = :before"),
                    {"after": after, "cut": len(before) + 1, "n": len(before), "before": before})
                changed += result.rowcount or 0
    return changed


def manifest_folders(source: Path) -> dict[str, str]:
    """The folders the backed-up files came from, as the manifest recorded them."""
    with tarfile.open(source, "r:gz") as tar:
        folders = _read_manifest(tar, source).get("folders")
    assert isinstance(folders, dict)
    return {str(k): str(v) for k, v in folders.items()}
