"""The monitoring commands: check, risks, risk update, release record, payment record (one-line errors)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env={**os.environ, "COLUMNS": "200"})  # a wide terminal: every column shown


@pytest.mark.parametrize("command", [["check"], ["risks"], ["risk", "update"], ["release", "record"],
                                     ["payment", "record"]])
def test_every_monitoring_command_has_help(command: list[str]) -> None:
    result = _grants(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["payment", "record", "--project", "active-bystander", "--amount", "-5", "--date", "2024-07-05"],
     "error: amount must be positive (got -5)"),
    (["payment", "record", "--project", "active-bystander", "--amount", "0", "--date", "2024-07-05"],
     "error: amount must be positive (got 0)"),
    (["payment", "record", "--project", "active-bystander", "--amount", "10.001", "--date", "2024-07-05"],
     "error: amount '10.001' has more than two decimal places (pence)"),
    (["payment", "record", "--project", "nope", "--amount", "10", "--date", "2024-07-05"],
     "error: no project with code 'nope'; see `grants status`"),
    (["payment", "record", "--project", "active-bystander", "--amount", "30000.01", "--date", "2024-07-05"],
     "error: payments would total £30,000.01, more than the £30,000.00 allocation of active-bystander"),
    (["release", "record", "--grant", "NOPE", "--amount", "10", "--date", "2024-07-01"],
     "error: no grant with reference 'NOPE' (known: SVD-2024-25)"),
    (["release", "record", "--grant", "SVD-2024-25", "--amount", "ten", "--date", "2024-07-01"],
     "error: amount 'ten' is not an amount of money"),
    (["release", "record", "--grant", "SVD-2024-25", "--amount", "10", "--date", "1 July"],
     "error: --date '1 July' is not a date; use YYYY-MM-DD, e.g. 2024-07-01"),
    (["risk", "update", "999", "--owner", "Kit"], "error: no risk with id 999 (see `grants risks`)"),
    (["payment", "record", "--project", "active-bystander", "--amount", "10", "--date", "2999-07-05"],
     "error: --date 2999-07-05 is in the future: record a payment once it has happened"),
    (["release", "record", "--grant", "SVD-2024-25", "--amount", "10", "--date", "2999-07-01"],
     "error: --date 2999-07-01 is in the future: record money received once it has happened"),
    (["risks", "--grant", "NOPE"], "error: no grant with reference 'NOPE' (known: SVD-2024-25)"),
])
def test_bad_input_is_one_clear_line(settings: Settings, args: list[str], message: str) -> None:
    assert _grants("init").returncode == 0
    result = _grants(*args)
    assert (result.returncode, result.stderr.strip()) == (1, message)


def test_check_records_risks_reruns_change_nothing_and_officer_fields_are_kept(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    first = _grants("check", "--as-of", "2024-06-15")
    assert first.returncode == 0, first.stderr
    assert "Checks as of 15 June 2024: 9 assessments (9 written), 1 risk changes" in first.stdout  # one cause
    risks = json.loads(_grants("risks", "--json").stdout)
    [grant_risk] = [r for r in risks if r["key"] == "late-funds-release:SVD-2024-25"]
    assert (grant_risk["score"], grant_risk["rag"], grant_risk["status"]) == (12, "amber", "open")
    updated = _grants("risk", "update", str(grant_risk["id"]), "--owner", "Kit Pascoe", "--mitigation",
                      "Chase the OPCC weekly")
    assert updated.returncode == 0, updated.stderr
    again = _grants("check", "--as-of", "2024-06-15")
    assert "9 assessments (0 written), 0 risk changes" in again.stdout
    [kept] = [r for r in json.loads(_grants("risks", "--json").stdout) if r["id"] == grant_risk["id"]]
    assert (kept["owner"], kept["mitigation"]) == ("Kit Pascoe", "Chase the OPCC weekly")
    assert _grants("release", "record", "--grant", "SVD-2024-25", "--amount", "125000",
                   "--date", "2024-07-01").stdout.strip() == "recorded: SVD-2024-25 received £125,000.00 on 1 July 2024"
    _grants("check", "--as-of", "2024-07-02")
    [closed] = [r for r in json.loads(_grants("risks", "--all", "--json").stdout) if r["id"] == grant_risk["id"]]
    assert (closed["status"], closed["closed_on"], closed["owner"]) == ("closed", "2024-07-02", "Kit Pascoe")


def test_status_shows_rag_columns_with_reasons_after_a_check(settings: Settings) -> None:
    _grants("init")
    _grants("check", "--as-of", "2024-06-15")
    result = _grants("status", "--as-of", "2024-06-20")
    assert result.returncode == 0, result.stderr
    assert "Overall" in result.stdout
    assert ("AMBER Active Bystander training (Hate, Race, Domestic Abuse): No payment by 15 June 2024 (45 days after "
            "funds were expected 1 May 2024; the council has not received them yet)") in result.stdout
    [grant] = json.loads(_grants("status", "--as-of", "2024-06-20", "--json").stdout)
    assert grant["rag"]["overall"] == "amber"
    assert grant["projects"][0]["rag"]["as_of"] == "2024-06-15"


def test_a_project_code_in_two_grants_is_refused_naming_both_by_every_command_until_grant_says_which(
    settings: Settings, config_dir: Path
) -> None:
    example = config_dir / "grants" / "svd-2024-25.yaml"  # a second council grant reusing the example's codes
    (config_dir / "grants" / "vru-2025-26.yaml").write_text(
        example.read_text(encoding="utf-8").replace("reference: SVD-2024-25", "reference: VRU-2025-26"),
        encoding="utf-8")
    assert _grants("init").returncode == 0
    said = "error: project code 'purple-flag' is in 2 grants (SVD-2024-25, VRU-2025-26): say which with --grant"
    for args in (["payment", "record", "--project", "purple-flag", "--amount", "10", "--date", "2024-07-05"],
                 ["link", "--project", "purple-flag"], ["message", "list", "--project", "purple-flag"],
                 ["due", "extend", "--project", "purple-flag", "--quarter", "2024-25-Q3", "--to", "2025-01-29"]):
        refused = _grants(*args)
        assert (refused.returncode, refused.stderr.strip()) == (1, said), args
    paid = _grants("payment", "record", "--project", "purple-flag", "--grant", "VRU-2025-26", "--amount", "10",
                   "--date", "2024-07-05")
    assert paid.returncode == 0 and "paid purple-flag £10.00" in paid.stdout
