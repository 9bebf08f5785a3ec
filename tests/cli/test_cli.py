"""The command line: every command has --help; failures are one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants


def _grants(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    return cli_grants(*args, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [[], ["init"], ["config"], ["config", "check"], ["status"], ["demo"], ["deploy"],
                                     ["web"], ["link"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = _grants(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def _commands() -> list[tuple[str, object]]:
    import typer

    from flows.cli.app import app

    found: list[tuple[str, object]] = []

    def walk(command: object, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")
        if not hasattr(command, "commands"):
            found.append((path, command))
    walk(typer.main.get_command(app), "grants")
    return found


def test_every_command_option_and_argument_says_what_it_is_in_its_help() -> None:
    commands = _commands()
    assert len(commands) > 40
    missing = [f"{path}: the command" for path, command in commands if not str(getattr(command, "help", "")).strip()]
    missing += [f"{path}: {param.name}" for path, command in commands for param in getattr(command, "params", [])
                if param.name != "help" and not getattr(param, "help", None)]
    assert missing == []


def test_bad_date_is_one_line(settings: Settings) -> None:
    result = _grants("status", "--as-of", "31/03/2025")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --as-of '31/03/2025' is not a date; use YYYY-MM-DD, e.g. 2024-07-01"


def test_init_with_no_config_files_is_one_line(settings: Settings, tmp_path: Path) -> None:
    result = _grants("init", env={"GRANTS_CONFIG_DIR": str(tmp_path / "empty")})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no grant files (*.yaml) found" in result.stderr


def test_unreachable_database_is_one_line_without_traceback(settings: Settings) -> None:
    result = _grants("status", env={"GRANTS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: database error:")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["garbage", "mysql://grants:s3cret@db.internal/grants"])
def test_a_database_url_the_engine_cannot_use_is_one_line_naming_the_setting(settings: Settings, url: str) -> None:
    result = _grants("status", env={"GRANTS_DATABASE_URL": url})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: GRANTS_DATABASE_URL is not a database URL the engine can use (")
    assert "s3cret" not in result.stderr


def test_init_reports_no_changes_on_a_second_run(settings: Settings) -> None:
    first = _grants("init")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("SVD-2024-25: loaded (143 created)")
    second = _grants("init")
    assert second.stdout.startswith("SVD-2024-25: no changes (143 unchanged)")


def test_deploy_without_a_prefect_server_named_is_one_line(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-m", "flows.cli", "deploy"], capture_output=True, text=True,
                            check=False, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: set PREFECT_API_URL to the Prefect server to deploy to")


def test_demo_with_prefect_but_no_server_named_is_one_line(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-m", "flows.cli", "demo", "--prefect", "--folder", str(tmp_path / "d")],
                            capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 1
    assert "start `grants serve` in another terminal" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_mistyped_setting_is_a_warning_naming_the_setting_it_looks_like(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    result = _grants("status", "--as-of", "2024-07-01", env={"GRANTS_DATA_DRI": str(tmp_path / "elsewhere")})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("warning: GRANTS_DATA_DRI is not a setting (did you mean GRANTS_DATA_DIR?): it "
                                     "is ignored")
    assert _grants("status", "--as-of", "2024-07-01").stderr == ""  # every real setting and GRANTS_ACTOR/DEBUG: quiet
