"""`grants message list` and `grants message resend ID`: an officer's notice sent again from the command line as the
same copy, with the same audit entry as the web app's "Send again"; a failing channel exits 1 naming its cause."""

from __future__ import annotations

import os
import subprocess

import yaml
from sqlmodel import Session, col, select

from flows.database import configured_engine
from grants.kernel import models as m
from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants
from tests.notify_support import free_port, read_eml

OFFICER = "community.safety.officer@example.org"


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ, GRANTS_ACTOR="kit@example.org"))


def _a_notice() -> m.Notification:
    """The officer's notice of the escalation about active bystander's return."""
    with Session(configured_engine()) as session:
        code = session.exec(select(m.Project).where(m.Project.code == "active-bystander")).one()
        return session.exec(select(m.Notification).where(
            col(m.Notification.idempotency_key).startswith(f"to:{OFFICER}:"),
            m.Notification.project_id == code.id)).one()


def test_message_resend_sends_an_officers_notice_again_and_audits_it(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    assert _grants("chase", "--as-of", "2025-01-29").returncode == 0  # the escalations: one message per person
    notice = _a_notice()
    listed = _grants("message", "list", "--project", "active-bystander")
    row = next(line for line in listed.stdout.splitlines() if line.startswith(f"│ {notice.id} "))
    assert listed.returncode == 0 and all(word in row for word in ("officer-mail", "escalation", OFFICER, "kept"))
    done = _grants("message", "resend", str(notice.id))
    key = f"{notice.idempotency_key}:resend:1"
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"message {notice.id} sent again (the same copy) as {key} to {OFFICER}"
    mail = next(read_eml(p) for p in settings.folder("outbox").glob("*_resend_1.eml"))
    assert mail["Subject"].startswith("Copy: 8 things to know about") and OFFICER in mail["To"]
    (entry, *_) = yaml.safe_load(_grants("audit", "--json").stdout)
    assert (entry["actor"], entry["action"], entry["after"]["message"]) == ("kit@example.org", "message.resend", key)


def test_message_resend_exits_1_naming_the_channel_when_it_fails(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    assert _grants("chase", "--as-of", "2025-01-29").returncode == 0
    settings.notify_config.write_text(yaml.safe_dump({
        "outbox": False, "email": f"mailto://127.0.0.1:{free_port()}?from=grants@example.org", "attempts": 1,
        "retry_delay_seconds": 0}))
    notice = _a_notice()
    failed = _grants("message", "resend", str(notice.id))
    assert failed.returncode == 1
    assert any(line.startswith(f"failed: {notice.idempotency_key}:resend:1: E-Mail: mailto://127.0.0.1:")
               for line in failed.stderr.splitlines()), failed.stderr
