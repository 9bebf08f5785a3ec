"""`grants template` and `grants ingest` from the command line: files out, a table of outcomes in, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from grants.kernel.settings import Settings
from tests.returns_kit import fill


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, check=False,
                          env=dict(os.environ))


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
