"""Shared set-up for the mailbox tests: the example programme in a real SQLite file, a filled and signed workbook,
one fetch run against the test's Dovecot user, and the answers written to the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.engine import Engine

from grants.kernel.db import create_schema, get_engine
from grants.mailbox.config import MailboxConfig
from grants.mailbox.fetch import MailReport, MailRun, fetch_mail
from grants.mailbox.imap import MailboxConnection, connect
from grants.messaging.channels import OutboxChannel
from grants.messaging.notify import Sender
from grants.returns.ingest import ingest_files
from tests.factories import load_example
from tests.mail_support import Account
from tests.returns_kit import fill, issue, options

NOW = datetime(2024, 10, 3, 10, tzinfo=UTC)
RETURNS = "returns@example.org"
LEAD = "active.bystander@example.org"


def database(tmp_path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{tmp_path / 'grants.db'}")
    create_schema(engine)
    load_example(engine)
    return engine


def workbook(engine: Engine, tmp_path: Path, project: str = "active-bystander", people: int = 60,
             label: str = "2024-25-Q2") -> bytes:
    """A filled, signed return workbook's bytes (different `people` give different files)."""
    blank = issue(engine, tmp_path / "issued" / project, project, label)
    values: dict[str, object] = {"output__people_trained": people} if project == "active-bystander" else {}
    return fill(blank, values, tmp_path / "issued" / f"{project}-{people}.xlsx").read_bytes()


def run(engine: Engine, account: Account, tmp_path: Path, config: MailboxConfig | None = None,
        box: MailboxConnection | None = None) -> MailReport:
    """One fetch, as the ingest job does it, answering into `<tmp>/outbox`."""
    config = config or account.config()
    sender = Sender([OutboxChannel(tmp_path / "outbox", "grants@example.org", RETURNS)], attempts=1)
    opts = options(tmp_path)
    conn = box or connect(config)
    try:
        return fetch_mail(MailRun(engine, conn, config, lambda paths, sources: ingest_files(
            engine, paths, NOW, opts, sources), sender, RETURNS, NOW, tmp_path / "staging"))
    finally:
        conn.close()


def outbox(tmp_path: Path) -> list[EmailMessage]:
    """Every answer written to the outbox, oldest file name first."""
    folder = tmp_path / "outbox"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found
