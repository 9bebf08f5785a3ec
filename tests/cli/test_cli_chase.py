"""`grants chase`, `grants digest`, `grants alerts` from the command line: dry runs, sending once, config errors."""

from __future__ import annotations

import os
import subprocess

import pytest

from flows.cli.chase import FULL_TABLE_ROWS, _table, failure_summary
from grants.kernel.settings import Settings
from grants.messaging.notify import Address, Outgoing
from tests.cli_support import grants as cli_grants


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env={**os.environ, "COLUMNS": "250"})


@pytest.mark.parametrize("command", ["chase", "digest", "alerts"])
def test_notification_commands_have_help(command: str) -> None:
    result = _grants(command, "--help")
    assert result.returncode == 0 and "--dry-run" in result.stdout and "--as-of" in result.stdout


def test_chase_dry_run_prints_the_table_and_sends_nothing_then_sends_once(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    dry = _grants("chase", "--as-of", "2025-01-29", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    rows = [line for line in dry.stdout.splitlines() if "escalation" in line]
    # each of the 8 escalations reaches the officer and the head of service, each in one message per person
    assert len(rows) == 16 and all("planned" in r for r in rows)
    assert sum("head.of.community.safety@example.org" in r for r in rows) == 8
    assert sum("community.safety.officer@example.org" in r for r in rows) == 8
    outbox = settings.folder("outbox")
    assert not outbox.exists() or not list(outbox.iterdir())
    sent = _grants("chase", "--as-of", "2025-01-29")
    assert sent.returncode == 0 and sent.stdout.count(" sent ") == 16
    assert len(list(outbox.glob("officer-mail_*.eml"))) == 2  # one email per person, listing the 8 projects
    assert _grants("chase", "--as-of", "2025-01-29").stdout.strip() == "Nothing to send."
    assert _grants("chase", "--as-of", "2025-01-25").stdout.strip() == "Nothing to send."  # a Saturday


def test_digest_and_alerts_commands_send_once(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    assert _grants("digest", "--as-of", "2025-01-24").stdout.strip() == "Nothing to send."  # Friday: not due
    first = _grants("digest", "--as-of", "2025-01-27")  # the week's first working day
    assert first.returncode == 0 and "2025-W05" in first.stdout and " sent " in first.stdout
    assert " skipped " in _grants("digest", "--as-of", "2025-01-27").stdout
    assert _grants("alerts", "--as-of", "2025-01-24", "--dry-run").stdout.strip() == "Nothing to send."


def test_bad_notify_config_is_one_line_without_the_secret(settings: Settings) -> None:
    settings.notify_config.write_text("email: mailtos://user:s3cretpw@smtp.example.org\nchanels: []\n")
    result = _grants("chase", "--as-of", "2025-01-29", "--dry-run")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "chanels" in line and "s3cretpw" not in line


def _rows(n: int) -> list[tuple[Outgoing, str, str, str]]:
    lead = Address("Lead", "lead@example.org")
    return [(Outgoing(key=f"k{i}", kind="chase-return-pack", subject="s", text="t", html="h", to=(lead,), step="pack"),
             f"p{i}", "2024-25-Q3", "sent" if i % 10 else "failed") for i in range(n)]


def test_a_day_with_many_messages_prints_a_count_per_step_and_status_unless_all(
        capsys: pytest.CaptureFixture[str]) -> None:
    _table(_rows(10_000))
    summary = capsys.readouterr().out
    assert "10,000 messages (pass --all to list each one)" in summary
    assert "9,000" in summary and "1,000" in summary and "p17" not in summary
    _table(_rows(50), show_all=True)
    assert "p17" in capsys.readouterr().out


def test_a_day_with_few_messages_lists_each_one(capsys: pytest.CaptureFixture[str]) -> None:
    _table(_rows(FULL_TABLE_ROWS))
    out = capsys.readouterr().out
    assert all(f"p{i} " in out for i in range(FULL_TABLE_ROWS)) and "pass --all" not in out


def _row(key: str, kind: str, to: str) -> tuple[Outgoing, str, str, str]:
    return (Outgoing(key=key, kind=kind, subject="s", text="t", html="", to=(Address("", to),)), "", "", "failed")


def test_officer_notices_past_the_table_are_counted_as_the_messages_people_got(
        capsys: pytest.CaptureFixture[str]) -> None:
    notices = [_row(f"to:{who}@example.org:risk:{i}", "officer-mail", f"{who}@example.org")
               for i in range(FULL_TABLE_ROWS) for who in ("officer", "head")]
    _table(notices)
    assert capsys.readouterr().out.splitlines()[0] == (
        f"2 messages, carrying {2 * FULL_TABLE_ROWS} officer notices (pass --all to list each one)")


RUN = [_row("chase:1:1:overdue-1", "chase-overdue", "lead@example.org"),
       _row("to:officer@example.org:chase:1:1:overdue-1", "officer-mail", "officer@example.org"),
       _row("to:officer@example.org:chase:2:1:overdue-1", "officer-mail", "officer@example.org"),
       _row("to:head@example.org:chase:2:1:escalation", "officer-mail", "head@example.org")]


@pytest.mark.parametrize(("failed", "summary"), [
    ({r[0].key for r in RUN}, "3 of 3 messages failed (they carried 3 officer notices)"),
    ({"chase:1:1:overdue-1"}, "1 of 3 messages failed"),
    ({RUN[1][0].key, RUN[2][0].key}, "1 of 3 messages failed (it carried 2 officer notices)"),
])
def test_the_failure_summary_counts_messages_as_people_got_them_and_the_officer_notices_in_them(
        failed: set[str], summary: str) -> None:
    assert failure_summary(RUN, failed) == f"{summary}; a later run retries each on the channels that failed"


def test_a_busy_run_counts_messages_as_people_got_them_not_one_per_officer_notice(settings: Settings) -> None:
    # 15 weeks into the example year every project's Q1 and Q2 returns and the funds are late: two officers get one
    # message each, listing their notices (18 and 9: a row each in the table); the count said 27 messages
    assert _grants("init").returncode == 0 and _grants("check", "--as-of", "2024-10-21").returncode == 0
    sent = _grants("alerts", "--as-of", "2024-10-21")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.splitlines()[-1] == "2 messages, carrying 27 officer notices"
    rows = [line.split("│") for line in sent.stdout.splitlines() if "officer-mail" in line]
    assert len(rows) == 27 and {row[2].strip() for row in rows} == {
        "community.safety.officer@example.org", "head.of.community.safety@example.org"}
    assert len(list(settings.folder("outbox").glob("officer-mail_*.eml"))) == 2
