"""`grants backup` / `grants restore`: one archive with a consistent database copy and every return file, taken
safely while ingest runs, restored into an empty folder with nothing lost; never over existing data unless forced."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from grants.kernel.backup import FOLDERS, write_backup
from grants.kernel.db import get_engine
from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants
from tests.returns_kit import fill

SIGNED = {"narrative_progress": "On track", "signoff_name": "Morgan Hale", "signoff_role": "Lead",
          "signoff_date": "01/10/2024"}


def _grants(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env={**os.environ, **(env or {})})


def _returns_in_inbox(settings: Settings, tmp_path: Path, copies: int) -> None:
    """Fill each project's Q2 pack `copies` times with different spend (each a distinct file and version)."""
    packs = tmp_path / "packs"
    made = _grants("template", "--all", "--period", "2024-25-Q2", "--out", str(packs))
    assert made.returncode == 0, made.stderr
    inbox = settings.folder("inbox")
    inbox.mkdir(parents=True, exist_ok=True)
    for n, pack in enumerate(sorted(packs.glob("return-*.xlsx"))):
        for copy in range(copies):
            fill(pack, SIGNED | {"narrative_progress": f"Update {copy}"}, inbox / f"{n:02d}-{copy:02d}.xlsx",
                 signed=False)


def _stored_files(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT archive_path, sha256 FROM return ORDER BY id").fetchall()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _status(env: dict[str, str]) -> object:
    result = _grants("status", "--as-of", "2024-10-20", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_backup_and_restore_into_an_empty_folder_keeps_every_return_file_and_the_status(
        settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    _returns_in_inbox(settings, tmp_path, copies=1)
    assert _grants("ingest").returncode in (0, 1)
    before = _status({})
    backup = tmp_path / "backups" / "b.tar.gz"
    made = _grants("backup", "--out", str(backup))
    assert made.returncode == 0, made.stderr
    assert "database: included" in made.stdout and "archive: 8 files" in made.stdout

    new = {"GRANTS_DATA_DIR": str(tmp_path / "restored")}
    done = _grants("restore", str(backup), env=new)
    assert done.returncode == 0, done.stderr
    assert _status(new) == before
    stored = _stored_files(tmp_path / "restored" / "grants.db")
    assert len(stored) == 8
    for path, sha in stored:
        assert Path(path).is_relative_to(tmp_path / "restored" / "archive") and _sha(Path(path)) == sha


def test_restore_refuses_to_overwrite_existing_data_unless_forced(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    backup = tmp_path / "b.tar.gz"
    assert _grants("backup", "--out", str(backup)).returncode == 0
    refused = _grants("restore", str(backup))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: refusing to overwrite existing data") and "--force" in refused.stderr
    assert _grants("restore", str(backup), "--force").returncode == 0


def test_restore_of_a_file_that_is_not_a_backup_is_one_line(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not an archive")
    result = _grants("restore", str(junk))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "is not a readable backup archive" in result.stderr


def test_a_backup_taken_while_ingest_runs_restores_every_file_its_database_names(
        settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    _returns_in_inbox(settings, tmp_path, copies=8)  # 64 files: the run takes a few seconds
    env = {**os.environ, "GRANTS_RETURN_INGEST_BATCH_FILES": "4"}  # many small commits while the backup runs
    ingest = subprocess.Popen([sys.executable, "-m", "flows.cli", "ingest"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backups: list[tuple[Path, bool]] = []
    folders = {name: settings.folder(name) for name in FOLDERS}
    engine = get_engine(settings.db_url)
    try:
        while ingest.poll() is None and len(backups) < 50:  # in-process: many backups during one run
            target = tmp_path / f"during-{len(backups)}.tar.gz"
            write_backup(target, settings.db_url, folders, engine, datetime.now(UTC))
            backups.append((target, ingest.poll() is None))
    finally:
        ingest.wait(timeout=300)
    during = [path for path, running in backups if running]
    assert during, "ingest finished before a backup was taken: make the run longer"
    with tarfile.open(during[0]) as tar:  # the first one taken mid-run
        tar.extract("grants.db", tmp_path / "first", filter="data")
    assert len(_stored_files(tmp_path / "first" / "grants.db")) < 64, "the backup should catch the run part-way"
    chosen = during[len(during) // 2]
    restored = tmp_path / "restored"
    assert _grants("restore", str(chosen), env={"GRANTS_DATA_DIR": str(restored)}).returncode == 0
    with sqlite3.connect(restored / "grants.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for path, sha in _stored_files(restored / "grants.db"):
        assert _sha(Path(path)) == sha, f"{path} named by the database is missing or damaged"


@pytest.mark.postgres
def test_postgresql_backup_holds_the_files_and_pg_dump_restores_the_database(
        settings: Settings, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (postgresql-client)")
    monkeypatch.setenv("GRANTS_DATABASE_URL", postgres_url)
    assert _grants("init").returncode == 0
    _returns_in_inbox(settings, tmp_path, copies=1)
    assert _grants("ingest").returncode in (0, 1)
    before = _status({})
    backup = tmp_path / "files.tar.gz"
    made = _grants("backup", "--out", str(backup))
    assert made.returncode == 0 and "not included: back it up with pg_dump" in made.stdout
    with tarfile.open(backup) as tar:
        assert "grants.db" not in tar.getnames()

    plain = make_url(postgres_url).set(drivername="postgresql")
    dump = tmp_path / "db.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), plain.render_as_string(hide_password=False)], check=True)
    copy = plain.set(database=f"{plain.database}_restored")
    admin = plain.set(database="postgres").render_as_string(hide_password=False)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{copy.database}"'], check=True)
    try:
        subprocess.run(["pg_restore", "-d", copy.render_as_string(hide_password=False), str(dump)], check=True)
        new = {"GRANTS_DATA_DIR": str(tmp_path / "restored"),
               "GRANTS_DATABASE_URL": copy.render_as_string(hide_password=False)}
        done = _grants("restore", str(backup), env=new)
        assert done.returncode == 0, done.stderr
        assert "restore it with pg_restore" in done.stdout and "archive: 8 files" in done.stdout
        assert _status(new) == before
    finally:
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)'], check=True)


def test_the_installations_signing_key_is_backed_up_and_restored_so_sent_links_and_packs_still_work(
        settings: Settings, tmp_path: Path) -> None:
    own_key = {k: v for k, v in os.environ.items() if k != "GRANTS_SIGNING_KEY"}  # the key `grants init` writes
    assert cli_grants("init", env=own_key).returncode == 0
    link = cli_grants("link", "--project", "active-bystander", env=own_key).stdout.splitlines()[1]
    backup = tmp_path / "b.tar.gz"
    made = cli_grants("backup", "--out", str(backup), env=own_key)
    assert made.returncode == 0 and "signing key: included" in made.stdout, made.stderr
    assert backup.stat().st_mode & 0o077 == 0  # the archive holds the key: owner-only

    new = own_key | {"GRANTS_DATA_DIR": str(tmp_path / "restored")}
    done = cli_grants("restore", str(backup), env=new)
    assert done.returncode == 0, done.stderr
    key = tmp_path / "restored" / "signing.key"
    assert key.read_bytes() == (settings.data_dir / "signing.key").read_bytes() and key.stat().st_mode & 0o077 == 0
    assert cli_grants("link", "--project", "active-bystander", env=new).stdout.splitlines()[1] == link


def test_restore_refuses_to_replace_a_different_signing_key_unless_forced(settings: Settings, tmp_path: Path) -> None:
    own_key = {k: v for k, v in os.environ.items() if k != "GRANTS_SIGNING_KEY"}
    assert cli_grants("init", env=own_key).returncode == 0
    backup = tmp_path / "b.tar.gz"
    assert cli_grants("backup", "--out", str(backup), env=own_key).returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "signing.key").write_text("another installation's key\n")
    new = own_key | {"GRANTS_DATA_DIR": str(other)}
    refused = cli_grants("restore", str(backup), env=new)
    assert refused.returncode == 1 and str(other / "signing.key") in refused.stderr and "--force" in refused.stderr
    assert cli_grants("restore", str(backup), "--force", env=new).returncode == 0
    assert (other / "signing.key").read_bytes() == (settings.data_dir / "signing.key").read_bytes()
