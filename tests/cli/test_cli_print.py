"""The CLI reads well at 100 columns and speaks plainly: `status` never cuts money, boolean options show as flags
in --help, an unwritable --out folder is one plain line (exit 1), and a command acting on one grant asks which
when several are loaded instead of picking one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants


def _grants(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env={**os.environ, **(env or {})})


def test_status_fits_100_columns_and_never_cuts_money(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    result = _grants("status", "--as-of", "2024-07-01", env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in result.stdout
    for amount in ("£12,000.00", "£30,000.00", "£125,000.00"):
        assert any(amount in line for line in lines if line.startswith("│")), amount


@pytest.mark.parametrize("command", [["status"], ["ingest"], ["risks"], ["check"], ["chase"]])
def test_boolean_options_read_as_flags_in_help(command: list[str]) -> None:
    result = _grants(*command, "--help")
    assert result.returncode == 0
    assert "<bool>" not in result.stdout and "[bool]" not in result.stdout.lower()
    flags = re.findall(r"^\s+(--json|--dry-run|--all|--keep)\s{2,}\S", result.stdout, flags=re.M)
    assert flags, result.stdout


@pytest.mark.parametrize("command", [["report", "--format", "html"], ["template", "--all", "--period", "2024-25-Q1"],
                                     ["export", "360giving"]])
def test_an_out_folder_that_cannot_be_made_is_one_plain_line(settings: Settings, tmp_path: Path,
                                                             command: list[str]) -> None:
    assert _grants("init").returncode == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "reports" / ("x.json" if command[0] == "export" else "")
    result = _grants(*command, "--out", str(out), "--as-of", "2024-07-01") if command[0] != "template" else \
        _grants(*command, "--out", str(out))
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --out {out if command[0] != 'export' else out.parent}: cannot create the folder")
    assert "unexpected" not in line


def test_export_asks_which_grant_when_several_are_loaded(settings: Settings, config_dir: Path) -> None:
    source = config_dir / "grants" / "svd-2024-25.yaml"
    second = config_dir / "grants" / "svd-2025-26.yaml"
    shutil.copy(source, second)
    second.write_text(second.read_text().replace("reference: SVD-2024-25", "reference: SVD-2025-26"))
    assert _grants("init").returncode == 0
    result = _grants("export", "360giving", "--as-of", "2024-07-01")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: several grants: pass --grant REF, one of SVD-2024-25, SVD-2025-26"
    chosen = _grants("export", "360giving", "--grant", "SVD-2025-26", "--as-of", "2024-07-01")
    assert chosen.returncode == 0, chosen.stderr
    assert "SVD-2025-26-360giving.json" in chosen.stdout


def test_export_uses_the_only_grant_loaded(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    result = _grants("export", "360giving", "--as-of", "2024-07-01")
    assert result.returncode == 0, result.stderr
    assert "SVD-2024-25-360giving.json" in result.stdout
