"""The workspace commands: `grants user add` reads the password from standard input, and the CLI's actions write the
same audit entries as the web app (payment, extension, pause), listed by `grants audit`; `grants export calendar`."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import icalendar

from flows.database import configured_engine
from grants.kernel.accounts import MAX_FAILURES, sign_in
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants


def _grants(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, input=stdin, env=dict(os.environ, GRANTS_ACTOR="kit@example.org"))


def test_user_add_reads_the_password_from_standard_input(settings: Settings) -> None:
    made = _grants("user", "add", "Kit@Example.org", "--role", "admin", stdin="a long enough secret\n")
    assert (made.returncode, made.stdout.strip()) == (0, "account created: kit@example.org (admin)"), made.stderr
    again = _grants("user", "add", "kit@example.org", "--role", "viewer", stdin="a long enough secret\n")
    assert (again.returncode, again.stderr.strip()) == (1, "error: an account for kit@example.org already exists")


def test_cli_actions_write_audit_entries_and_the_calendar_exports(settings: Settings, tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    steps = [("payment", "record", "--project", "active-bystander", "--amount", "7500", "--date", "2024-07-08"),
             ("due", "extend", "--project", "active-bystander", "--quarter", "2024-25-Q3", "--to", "2025-01-29",
              "--reason", "lead on leave"),
             ("chasing", "pause", "--project", "purple-flag", "--quarter", "2024-25-Q3", "--until", "2025-01-20",
              "--reason", "office move")]
    for args in steps:
        done = _grants(*args)
        assert done.returncode == 0, done.stderr
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["actor"], e["action"]) for e in log] == [
        ("kit@example.org", "chase.pause"), ("kit@example.org", "due.extend"), ("kit@example.org", "payment.record")]
    assert log[1]["before"] == {"due": "2025-01-15"} and log[1]["reason"] == "lead on leave"
    out = tmp_path / "due.ics"
    assert _grants("export", "calendar", "--out", str(out)).returncode == 0
    events = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert any(str(e["summary"]).startswith("Return due: Active Bystander") and
               e.decoded("dtstart").isoformat() == "2025-01-29" for e in events)
    table = tmp_path / "audit.xlsx"
    assert _grants("export", "table", "audit", "--out", str(table)).returncode == 0 and table.stat().st_size > 0


def test_user_add_temporary_makes_the_person_choose_their_own_password_at_first_sign_in(settings: Settings) -> None:
    made = _grants("user", "add", "ash@example.org", "--role", "officer", "--temporary", stdin="a long enough secret\n")
    assert (made.returncode, made.stdout.strip()) == (
        0, "account created: ash@example.org (officer, to be changed at first sign-in)"), made.stderr
    assert _grants("user", "add", "kim@example.org", stdin="a long enough secret\n").returncode == 0
    now = datetime.now(UTC)
    with session_scope(configured_engine()) as session:  # the flag the web app's sign-in and pages go by
        assert sign_in(session, "ash@example.org", "a long enough secret", now).account.must_change_password
        assert not sign_in(session, "kim@example.org", "a long enough secret", now).account.must_change_password
    reset = _grants("user", "passwd", "kim@example.org", "--temporary", stdin="another long secret\n")
    assert reset.stdout.strip() == "password changed: kim@example.org (to be changed at next sign-in)", reset.stderr
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["action"], e["after"]) for e in log] == [  # the entries the Accounts page writes
        ("account.password", {"password": "changed", "must_change_password": True}),
        ("account.add", {"email": "kim@example.org", "role": "viewer"}),
        ("account.add", {"email": "ash@example.org", "role": "officer", "must_change_password": True})]


def test_user_deactivate_reactivate_passwd_and_list_are_audited(settings: Settings) -> None:
    made = _grants("user", "add", "sam@example.org", "--role", "officer", stdin="a long enough secret\n")
    assert made.returncode == 0, made.stderr
    assert _grants("user", "deactivate", "sam@example.org").stdout.strip() == "account deactivated: sam@example.org"
    assert "sam@example.org  officer  deactivated" in _grants("user", "list").stdout
    again = _grants("user", "deactivate", "sam@example.org")
    assert (again.returncode, again.stderr.strip()) == (1, "error: sam@example.org is already deactivated")
    assert _grants("user", "reactivate", "sam@example.org").returncode == 0
    short = _grants("user", "passwd", "sam@example.org", stdin="short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    assert _grants("user", "passwd", "sam@example.org", stdin="another long secret\n").returncode == 0
    log = json.loads(_grants("audit", "--json").stdout)
    assert [e["action"] for e in log][:4] == ["account.password", "account.activate", "account.deactivate",
                                              "account.add"]
    assert all("another long secret" not in json.dumps(e) for e in log)


def test_user_role_and_unlock_write_the_web_pages_audit_entries_and_keep_an_active_admin(settings: Settings) -> None:
    assert _grants("user", "add", "ali@example.org", "--role", "admin", stdin="a long enough secret\n").returncode == 0
    last = _grants("user", "role", "ali@example.org", "--role", "officer")
    assert last.returncode == 1 and "last active administrator" in last.stderr
    assert _grants("user", "deactivate", "ali@example.org").returncode == 1
    assert _grants("user", "add", "bo@example.org", "--role", "viewer", stdin="a long enough secret\n").returncode == 0
    made = _grants("user", "role", "bo@example.org", "--role", "admin")
    assert made.stdout.strip() == "role changed: bo@example.org (admin)", made.stderr
    assert _grants("user", "role", "ali@example.org", "--role", "officer").returncode == 0
    not_locked = _grants("user", "unlock", "bo@example.org")
    assert (not_locked.returncode, not_locked.stderr.strip()) == (1, "error: bo@example.org is not locked")
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["action"], e["subject"], e["after"]) for e in log][:2] == [
        ("account.role", "ali@example.org", {"role": "officer"}), ("account.role", "bo@example.org", {"role": "admin"})]


def test_link_reissue_and_revoke_on_the_cli_write_the_same_audit_entries_as_the_workspace(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    first = _grants("link", "--project", "purple-flag").stdout.splitlines()[1]
    reissued = _grants("link", "--project", "purple-flag", "--reissue")
    assert reissued.returncode == 0, reissued.stderr
    second = reissued.stdout.splitlines()[1]
    assert second.startswith("http") and second != first
    assert _grants("link", "--project", "purple-flag").stdout.splitlines()[1] == second  # the new one is live
    assert _grants("link", "--project", "purple-flag", "--revoke").returncode == 0
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["actor"], e["action"], e["subject"], e["before"], e["after"].get("live_links")) for e in log] == [
        ("kit@example.org", "link.revoke", "purple-flag", {"live_links": 1}, 0),
        ("kit@example.org", "link.reissue", "purple-flag", {"live_links": 1}, 1)]


def test_risk_add_close_and_chasing_waive_resume_on_the_cli_are_audited_as_on_the_web(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    added = _grants("risk", "add", "--grant", "SVD-2024-25", "--title", "Lead leaving in March", "--likelihood", "3",
                    "--impact", "4", "--project", "purple-flag", "--owner", "Kit", "--as-of", "2025-01-24")
    assert added.returncode == 0 and "(score 12, amber)" in added.stdout, added.stderr
    risk_id = added.stdout.split()[1]
    refused = _grants("risk", "close", risk_id, "--reason", "", "--as-of", "2025-01-24")
    assert refused.returncode == 1 and "say why the risk is closed" in refused.stderr
    assert _grants("risk", "close", risk_id, "--reason", "a successor started", "--as-of", "2025-02-03").returncode == 0
    for args in (("waive", "--reason", "project wound up"), ("resume",)):
        done = _grants("chasing", args[0], "--project", "purple-flag", "--quarter", "2024-25-Q4", *args[1:])
        assert done.returncode == 0, done.stderr
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["action"], e["subject"], e["reason"]) for e in log] == [
        ("chase.resume", "purple-flag 2024-25-Q4", ""), ("chase.waive", "purple-flag 2024-25-Q4", "project wound up"),
        ("risk.close", f"risk {risk_id}: Lead leaving in March", "a successor started"),
        ("risk.add", f"risk {risk_id}: Lead leaving in March", "")]
    assert log[1]["after"] == {"kind": "waive", "until": None, "reason": "project wound up"}


def test_chasing_resume_takes_the_reason_the_readme_shows_and_audits_it(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    waived = _grants("chasing", "waive", "--project", "purple-flag", "--quarter", "2024-25-Q3", "--reason", "agreed")
    assert waived.returncode == 0, waived.stderr
    resumed = _grants("chasing", "resume", "--project", "purple-flag", "--quarter", "2024-25-Q3",
                      "--reason", "the lead is back")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "purple-flag 2024-25-Q3: chasing resumed"
    [entry, _] = json.loads(_grants("audit", "--json").stdout)
    assert (entry["action"], entry["reason"]) == ("chase.resume", "the lead is back")
    assert "2024-25-Q1" in _grants("chasing", "resume", "--help").stdout  # the quarter's label as `grants status` shows


def test_user_unlock_lifts_a_lock_the_web_app_set_on_another_day(settings: Settings) -> None:
    """`grants web --as-of 2025-01-24` locks an account on its own day; the CLI, on today's clock, still lifts it."""
    assert _grants("user", "add", "bo@example.org", "--role", "officer", stdin="a long enough secret\n").returncode == 0
    web_day = datetime(2025, 1, 24, 10, tzinfo=UTC)
    with session_scope(configured_engine()) as session:
        for _ in range(MAX_FAILURES):
            sign_in(session, "bo@example.org", "not the password", web_day)
    done = _grants("user", "unlock", "bo@example.org")
    assert (done.returncode, done.stdout.strip()) == (0, "account unlocked: bo@example.org"), done.stderr
    with session_scope(configured_engine()) as session:
        assert sign_in(session, "bo@example.org", "a long enough secret", web_day).account is not None


def test_money_is_read_as_officers_write_it_with_a_pound_sign_and_thousands_commas(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    done = _grants("payment", "record", "--project", "purple-flag", "--amount", "£7,500.00", "--date", "2024-07-08")
    assert (done.returncode, done.stdout.strip()) == (0, "recorded: paid purple-flag £7,500.00 on 8 July 2024")
    for odd in ("7,50", "£7.500,00", "7500£"):
        refused = _grants("payment", "record", "--project", "purple-flag", "--amount", odd, "--date", "2024-07-09")
        assert refused.returncode == 1 and "is not an amount of money" in refused.stderr, odd


def test_revoking_when_the_project_has_no_live_link_says_so_and_writes_no_audit_entry(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    assert _grants("link", "--project", "purple-flag").returncode == 0
    assert _grants("link", "--project", "purple-flag", "--revoke").returncode == 0
    again = _grants("link", "--project", "purple-flag", "--revoke")
    assert again.returncode == 0 and "has no live link: nothing to revoke" in again.stdout, again.stderr
    log = json.loads(_grants("audit", "--json").stdout)
    assert [(e["action"], e["before"], e["after"]) for e in log] == [
        ("link.revoke", {"live_links": 1}, {"live_links": 0})]


def test_the_audit_log_and_its_export_show_accented_names_as_typed_not_as_escapes(settings: Settings,
                                                                                 tmp_path: Path) -> None:
    assert _grants("init").returncode == 0
    added = _grants("risk", "add", "--grant", "SVD-2024-25", "--title", "Venue for Zoë's summit", "--likelihood", "3",
                    "--impact", "4", "--owner", "Seán O'Callaghan", "--as-of", "2025-01-24")
    assert added.returncode == 0, added.stderr
    shown = cli_grants("audit", env=dict(os.environ, COLUMNS="250")).stdout
    assert "Seán O'Callaghan" in shown and "Venue for Zoë's summit" in shown and "\\u00" not in shown
    table = tmp_path / "audit.csv"
    assert _grants("export", "table", "audit", "--out", str(table)).returncode == 0
    exported = table.read_text(encoding="utf-8-sig")
    assert "Seán O'Callaghan" in exported and "\\u00" not in exported
