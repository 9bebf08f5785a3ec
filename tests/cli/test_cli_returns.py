"""`grants template` and `grants ingest` from the command line: files out, a table of outcomes in, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from grants.kernel.settings import DEVELOPMENT_SIGNING_KEY, Settings, get_settings
from tests.cli_support import grants as cli_grants
from tests.returns_kit import fill


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ))


def test_template_for_all_projects_then_ingest_the_inbox(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    made = _grants("template", "--all", "--period", "2024-25-Q2", "--out", str(tmp_path / "packs"))
    assert made.returncode == 0, made.stderr
    assert len(list((tmp_path / "packs").glob("return-*-2024-25-Q2.xlsx"))) == 8
    inbox = settings.folder("inbox")
    assert inbox.is_dir()  # made by init
    signed = {"narrative_progress": "On track", "signoff_name": "Morgan Hale", "signoff_role": "Lead",
              "signoff_date": "01/10/2024"}
    fill(tmp_path / "packs" / "return-purple-flag-2024-25-Q2.xlsx", {"spend__welfare": "£500", **signed},
         inbox / "purple.xlsx", signed=False)
    (inbox / "notes.xlsx").write_text("not a workbook")
    result = _grants("ingest", "--json")
    rows = {r["file"]: r for r in json.loads(result.stdout)}
    assert result.returncode == 1
    assert (rows["purple.xlsx"]["outcome"], rows["purple.xlsx"]["project"]) == ("accepted", "purple-flag")
    assert [p["code"] for p in rows["notes.xlsx"]["problems"]] == ["not-an-xlsx"]
    assert list(inbox.iterdir()) == []


def test_ingest_prints_a_table_of_files_and_problems(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    result = _grants("ingest", str(bad))
    assert result.returncode == 1
    assert "bad.xlsx" in result.stdout and "quarantined" in result.stdout and "legacy-xls" in result.stdout


def test_template_for_an_unknown_project_is_one_line_and_exit_1(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    result = _grants("template", "--project", "nope", "--period", "2024-25-Q2")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no project nope reporting for period 2024-25-Q2; run `grants status`"


def test_init_makes_the_folders_and_an_owner_only_signing_key_when_none_is_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRANTS_SIGNING_KEY")
    assert _grants("init").returncode == 0
    for name in ("inbox", "archive", "quarantine", "outbox", "reports"):
        assert settings.folder(name).is_dir()
    key_file = settings.data_dir / "signing.key"
    key = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key) >= 32 and key != DEVELOPMENT_SIGNING_KEY
    assert _grants("init").returncode == 0 and key_file.read_text().strip() == key  # kept, not replaced
    get_settings.cache_clear()
    assert get_settings().signing_secret() == key.encode()


def test_without_init_or_a_key_nothing_is_signed_with_the_development_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _grants("init").returncode == 0  # the key comes from GRANTS_SIGNING_KEY: no key file written
    monkeypatch.delenv("GRANTS_SIGNING_KEY")
    result = _grants("template", "--all", "--period", "2024-25-Q2")
    assert result.returncode == 1 and "no signing key yet: run `grants init`" in result.stderr


def test_ingest_replies_to_leads_like_the_scheduled_job_and_copies_outside_files_in(
    settings: Settings, tmp_path: Path
) -> None:
    assert _grants("init").returncode == 0
    assert _grants("template", "--project", "purple-flag", "--period", "2024-25-Q2", "--out",
                   str(tmp_path / "packs")).returncode == 0
    outside = fill(tmp_path / "packs" / "return-purple-flag-2024-25-Q2.xlsx", {"spend__welfare": "lots"},
                   tmp_path / "mine.xlsx")
    result = _grants("ingest", "--json", str(outside))
    [row] = json.loads(result.stdout)
    assert (row["outcome"], row["reply"]) == ("rejected", "sent")
    assert outside.exists()  # named from outside the inbox: copied in, never moved
    sent = list(settings.folder("outbox").rglob("*.eml"))
    assert len(sent) == 1 and "Please correct and resend" in sent[0].read_text()


def test_ingest_lists_links_folders_and_hidden_files_as_skipped_every_run(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    inbox = settings.folder("inbox")
    (inbox / "secrets.xlsx").symlink_to("/etc/passwd")
    (inbox / "sub").mkdir()
    (inbox / ".hidden.xlsx").write_bytes(b"x")
    for _ in range(2):
        rows = {r["file"]: r for r in json.loads(_grants("ingest", "--json").stdout)}
        assert {name: r["outcome"] for name, r in rows.items()} == {
            "secrets.xlsx": "skipped", "sub": "skipped", ".hidden.xlsx": "skipped"}
        assert rows["secrets.xlsx"]["note"].startswith("a symbolic link: links are never followed")
    assert not any(settings.folder("quarantine").iterdir())


def test_verify_names_the_return_of_a_missing_or_damaged_copy_and_exits_1(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    assert _grants("template", "--all", "--period", "2024-25-Q2", "--out", str(tmp_path / "packs")).returncode == 0
    inbox = settings.folder("inbox")
    for code in ("purple-flag", "active-bystander"):
        fill(tmp_path / "packs" / f"return-{code}-2024-25-Q2.xlsx", {}, inbox / f"{code}.xlsx")
    _grants("ingest")
    assert _grants("verify").returncode == 0
    copies = sorted(settings.folder("archive").glob("??/*.xlsx"))
    copies[0].write_bytes(b"damaged")
    copies[1].unlink()
    result = _grants("verify")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines[:2]) == ["damaged", "missing"]
    assert all(" 2024-25-Q2 v1 (id " in line for line in lines[:2])
    assert lines[-1] == "2 archived file(s) checked: 2 missing or damaged"
