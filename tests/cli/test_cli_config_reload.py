"""Editing a grant file mid-year and running `grants init` again: each change is shown and audited, a new lead's
predecessor loses the project's portal link, and nothing already recorded (payments, risks, the audit log) is lost."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ, GRANTS_ACTOR="kit@example.org", COLUMNS="200"))


def _link(code: str) -> str:
    [address] = [line for line in _grants("link", "--project", code).stdout.splitlines() if "/p/" in line]
    return address


def _edit(config_dir: Path, *changes: tuple[str, str]) -> None:
    grant_file = config_dir / "grants" / "svd-2024-25.yaml"
    text = grant_file.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    grant_file.write_text(text, encoding="utf-8")


def test_a_grant_file_edited_mid_year_shows_and_audits_each_change_and_keeps_what_was_recorded(
    settings: Settings, config_dir: Path
) -> None:
    assert _grants("init").returncode == 0
    paid = _grants("payment", "record", "--project", "prevention-feasibility", "--amount", "2500", "--date",
                   "2024-07-08")
    risk = _grants("risk", "add", "--grant", "SVD-2024-25", "--title", "Venue for Zoë's summit", "--likelihood", "3",
                   "--impact", "4", "--as-of", "2024-08-01")
    old_link = _link("purple-flag")
    assert paid.returncode == risk.returncode == 0
    _edit(config_dir,
          ("    allocation: 10000.00\n    budget_lines:\n      - key: research\n        name: Feasibility research and "
           "consultation\n        amount: 10000.00\n        profile: {2024-25-Q1: 0, 2024-25-Q2: 2500, 2024-25-Q3: "
           "3500, 2024-25-Q4: 4000}",
           "    allocation: 9000.00\n    budget_lines:\n      - key: research\n        name: Feasibility research and "
           "consultation\n        amount: 9000.00\n        profile: {2024-25-Q1: 0, 2024-25-Q2: 2500, 2024-25-Q3: "
           "3500, 2024-25-Q4: 3000}"),
          ("name: Morgan Hale, email: purple.flag@example.org", "name: Zoë Ōkafor, email: zoe.okafor@example.org"))

    reloaded = _grants("init")
    assert reloaded.returncode == 0, reloaded.stderr
    for line in ("project prevention-feasibility allocation: £10,000.00 -> £9,000.00",
                 "project prevention-feasibility line research profile 2024-25-Q4 amount: £4,000.00 -> £3,000.00",
                 "project purple-flag lead_email: purple.flag@example.org -> zoe.okafor@example.org",
                 "project purple-flag lead_name: Morgan Hale -> Zoë Ōkafor",
                 "project purple-flag: new lead, so the old lead's portal link is revoked"):
        assert line in reloaded.stdout, reloaded.stdout
    log = json.loads(_grants("audit", "--json").stdout)
    assert [e["action"] for e in log] == ["link.revoke", "config.load", "risk.add", "payment.record"]
    assert log[0]["subject"] == "purple-flag" and log[0]["actor"] == "kit@example.org"
    loaded = log[1]
    assert loaded["actor"] == "kit@example.org" and loaded["subject"].startswith("SVD-2024-25 from ")
    assert (loaded["before"]["project prevention-feasibility allocation"],
            loaded["after"]["project prevention-feasibility allocation"]) == ("£10,000.00", "£9,000.00")
    assert _link("purple-flag") != old_link  # the new lead's link

    again = _grants("init")
    assert "SVD-2024-25: no changes" in again.stdout and "->" not in again.stdout
    assert len(json.loads(_grants("audit", "--json").stdout)) == len(log)  # an unchanged file writes nothing
    [grant] = json.loads(_grants("status", "--as-of", "2024-08-01", "--json").stdout)
    [project] = [p for p in grant["projects"] if p["code"] == "prevention-feasibility"]
    assert project["allocation"] == "9000.00"
    payments = config_dir.parent / "payments.csv"
    assert _grants("export", "table", "payments", "--out", str(payments)).returncode == 0
    assert "prevention-feasibility,2500.00,2024-07-08" in payments.read_text(encoding="utf-8-sig")
