"""Sending without holding the database (a slow SMTP server), delivery tracked per channel, names that would break
a message refused by `grants config check`, and `grants chase` exiting 1 when a message failed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.settings import Settings
from grants.messaging.channels import AppriseChannel
from grants.messaging.notify import Address, Outgoing, Sender, send_once
from grants.programme.loader import parse_programme
from tests.cli_support import grants as cli_grants
from tests.factories import load_example
from tests.notify_support import Inbox, free_port, json_webhook, running_smtp, smtp_server

__all__ = ["smtp_server"]

NOW = datetime(2025, 1, 29, 9, tzinfo=UTC)


def _grants(*args: str, wait: bool = True) -> Any:
    command = [sys.executable, "-m", "flows.cli", *args]
    env = {**os.environ, "COLUMNS": "250"}
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return cli_grants(*args, env=env)


class SlowInbox(Inbox):
    """An SMTP handler that holds the first message until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.entered.is_set():
            self.entered.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)  # the loop serves on
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[tuple[int, SlowInbox]]:
    inbox = SlowInbox()
    with running_smtp(inbox) as port:
        try:
            yield port, inbox
        finally:
            inbox.release.set()


def test_while_a_slow_smtp_server_holds_a_message_other_commands_read_and_write_the_database(
        settings: Settings, slow_smtp: tuple[int, SlowInbox]) -> None:
    port, inbox = slow_smtp
    settings.notify_config.write_text(yaml.safe_dump(
        {"outbox": False, "email": f"mailto://127.0.0.1:{port}?from=grants@example.org", "attempts": 1}))
    assert _grants("init").returncode == 0
    chase = _grants("chase", "--as-of", "2025-01-29", wait=False)  # 8 escalations; the first is held at the server
    try:
        assert inbox.entered.wait(120), "the chase never reached the SMTP server"
        status = _grants("status", "--as-of", "2025-01-29")
        assert status.returncode == 0, status.stderr
        check = _grants("check", "--as-of", "2025-01-29")  # writes assessments and the register meanwhile
        assert check.returncode == 0, check.stderr
    finally:
        inbox.release.set()
        out, err = chase.communicate(timeout=300)
    # the held message may have outlived the SMTP client's own timeout (then it is failed and retried later);
    # every other one went, and each outcome was recorded after its send
    # 16 notices (8 escalations to each of two people) in one email per person: one of the two may fail
    assert out.count(" sent ") + out.count(" failed ") == 16 and out.count(" sent ") >= 8, err
    assert len(inbox.received) >= 1  # the other person's email, at least


@pytest.fixture
def flaky_webhook() -> Iterator[tuple[int, list[dict[str, object]], list[bool]]]:
    """A JSON webhook on loopback that answers 500 while `up[0]` is False, then 200."""
    up = [False]
    with json_webhook(up) as (port, received):
        yield port, received, up


def test_a_message_failed_on_one_channel_is_retried_only_there(
        engine: Engine, smtp_server: tuple[int, Inbox],
        flaky_webhook: tuple[int, list[dict[str, object]], list[bool]]) -> None:
    load_example(engine)
    smtp_port, inbox = smtp_server
    hook_port, hooked, up = flaky_webhook
    sender = Sender([AppriseChannel(f"mailto://127.0.0.1:{smtp_port}?from=grants@example.org"),
                     AppriseChannel(f"json://127.0.0.1:{hook_port}/hook")], attempts=1)
    message = Outgoing(key="chase:1:1:overdue-1", kind="chase-overdue", subject="Overdue", text="t", html="<p>t</p>",
                       to=(Address("Lead", "lead@example.org"),), created=NOW)
    for _ in range(3):  # three runs while the webhook fails
        with Session(engine) as session:
            assert send_once(session, message, sender, date(2025, 1, 29), NOW) == "failed"
    assert len(inbox.received) == 1  # the email went once, not once per run
    with Session(engine) as session:
        row = session.exec(select(m.Notification)).one()
        assert row.status == "failed" and f"JSON: json://127.0.0.1:{hook_port}/hook" in row.error
        assert "E-Mail" not in row.error and len(json.loads(row.delivered_json)) == 1
    up[0] = True
    with Session(engine) as session:
        assert send_once(session, message, sender, date(2025, 1, 30), NOW) == "sent"
        assert send_once(session, message, sender, date(2025, 1, 30), NOW) == "skipped"
    assert (len(inbox.received), len(hooked)) == (1, 1)


@pytest.mark.parametrize("name", ["Alex\r\nBcc: everyone@example.org", "Alex\nSmith", "Alex\rSmith"])
def test_config_check_refuses_a_name_with_a_line_break(config_dir: Path, name: str) -> None:
    path = config_dir / "grants" / "svd-2024-25.yaml"
    data = yaml.safe_load(path.read_text())
    data["projects"][0]["lead"]["name"] = name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _, problems = parse_programme(path)
    assert [str(replace(p, place=None)) for p in problems if p.severity == "error"] == [
        f"{path}: projects[0].lead.name (project purple-flag): must be one line: no line breaks or control "
        "characters (they would break every message that names it)"]
    result = cli_grants("config", "check", str(path))
    assert result.returncode == 1 and "projects[0].lead.name" in result.stdout


def test_chase_exits_1_naming_the_channel_and_cause_when_a_message_failed(settings: Settings) -> None:
    dead = free_port()
    settings.notify_config.write_text(yaml.safe_dump(
        {"email": f"mailto://127.0.0.1:{dead}?from=grants@example.org", "attempts": 1, "retry_delay_seconds": 0}))
    assert _grants("init").returncode == 0
    result = _grants("chase", "--as-of", "2025-01-29")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    # the 8 escalations went to the officer and the head of service as one email each: every notice failed
    assert len(lines) == 16 and "2 of 2 messages failed (they carried 16 officer notices)" in result.stderr, \
        result.stderr
    assert all(line.startswith("failed: to:") and ":escalation:" in line
               and f"E-Mail: mailto://127.0.0.1:{dead}" in line and "delivery refused or failed" in line
               for line in lines)
    assert not any("outbox" in line for line in lines)  # the outbox took every message: only the email is named
    again = _grants("chase", "--as-of", "2025-01-29")
    assert again.returncode == 1  # retried on the email channel only, still failing
