"""Test support for the returns mailbox: a real Dovecot IMAP server on 127.0.0.1 (started by .ci/start-dovecot under
a temp folder, on a free port), a fresh mail user per test, emails built like a lead's and put in with IMAP APPEND."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from grants.mailbox.config import MailboxConfig

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / ".ci" / "start-dovecot"
PASSWORD = "secret"
USER_BATCH = 24  # mail users added to a Dovecot at a time


@dataclass
class Dovecot:
    """One running Dovecot: its folder and port; `user()` adds a fresh mail user (its own empty INBOX)."""

    folder: Path
    port: int
    spare: list[str] = field(default_factory=list)

    def start(self) -> None:
        subprocess.run(["bash", str(START), str(self.folder), str(self.port), "returns", PASSWORD], check=True,
                       capture_output=True, timeout=60)

    def stop(self) -> None:
        pid_file = self.folder / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            subprocess.run(["kill", str(pid)], check=False)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                subprocess.run(["sleep", "0.05"], check=False)

    def user(self) -> str:
        """A new user with the same password, never given out before (taken from a batch made in one go)."""
        if not self.spare:
            self._add_users(USER_BATCH)
        return self.spare.pop()

    def _add_users(self, count: int) -> None:
        """Add `count` users to passwd-file at once (it is re-read when it changes). Dovecot looks at its mtime at
        most once a second: a login within the same second as the last lookup would not see new users
        ("Authentication failed") on a quick machine. So wait past that second once per batch, not once per user."""
        users = self.folder / "users"
        first = users.read_text().splitlines()[0].split(":")
        names = [f"u{uuid.uuid4().hex[:10]}" for _ in range(count)]
        with users.open("a") as handle:
            for name in names:
                home = self.folder / "mail" / name
                handle.write(":".join([name, first[1], first[2], first[3], "", str(home)]) + "\n")
        time.sleep(1.1)
        self.spare.extend(names)


def dovecot_available() -> bool:
    return shutil.which("dovecot") is not None or Path("/usr/sbin/dovecot").exists()


def _require_dovecot() -> None:
    if not dovecot_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the mailbox tests: Dovecot is not installed (see .ci/start-dovecot)")
        pytest.skip("Dovecot is not installed (bash .ci/start-dovecot installs it)")


_next_port: dict[str, int] = {}


def _dovecot_port() -> int:
    """A free port from this test process's own range (20000 + 500 per xdist worker): a port taken from the OS's
    shared pool could be handed to another worker's Dovecot while one of ours is stopped and started again, and a
    test would then log in to the wrong server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = 20000 + 500 * int(worker.removeprefix("gw") or 0)
    port = _next_port.get(worker, base)
    while True:
        _next_port[worker] = port + 1
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                port += 1
                continue
        return port


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A Dovecot in a fresh folder under /tmp (pytest's own temp folders are private to root; Dovecot's users
    must read this one), stopped and removed afterwards."""
    _require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="grants-dovecot-"))
    folder.chmod(0o755)
    server = Dovecot(folder, _dovecot_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot per test process (each test takes its own user)."""
    with running_dovecot() as server:
        yield server


@dataclass
class Account:
    """A mail user on a Dovecot: how to configure the engine for it and how to put mail in."""

    server: Dovecot
    user: str

    def config(self, **values: object) -> MailboxConfig:
        base: dict[str, object] = {"host": "127.0.0.1", "port": self.server.port, "tls": "auto",
                                   "username": self.user, "password": PASSWORD, "address": "returns@example.org"}
        return MailboxConfig.model_validate(base | values)

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{PASSWORD}@127.0.0.1:{self.server.port}/INBOX"

    def append(self, message: EmailMessage | bytes, folder: str = "INBOX", *, seen: bool = False) -> None:
        """Put a message in (unread, as new mail arrives; `seen`: already read, as old mail is)."""
        with MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, PASSWORD, initial_folder=None) as box:
            if not box.folder.exists(folder):
                box.folder.create(folder)
            box.append(message if isinstance(message, bytes) else bytes(message), folder,
                       flag_set=["\\Seen"] if seen else None)

    def count(self, folder: str) -> int:
        with MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, PASSWORD, initial_folder=None) as box:
            if not box.folder.exists(folder):
                return 0
            return int(box.folder.status(folder, ["MESSAGES"])["MESSAGES"])

    def move_all(self, folder: str, to: str) -> None:
        """Move every message of a folder to another, as a person tidying the mailbox would."""
        with MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, PASSWORD, initial_folder=folder) as box:
            if not box.folder.exists(to):
                box.folder.create(to)
            box.move(box.uids(), to)

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        with MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, PASSWORD, initial_folder=None) as box:
            box.folder.delete(folder)
            box.folder.create(folder)


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    return Account(dovecot, dovecot.user())


def email(sender: str = "active.bystander@example.org", subject: str = "Re: our return",
          attachments: Sequence[tuple[str, bytes]] = (), *, headers: dict[str, str] | None = None,
          body: str = "Please find our return attached.", message_id: str | None = None) -> EmailMessage:
    """An email as a lead's mail client would send it, with files attached."""
    mail = EmailMessage()
    mail["From"] = f"Jordan Ellis <{sender}>"
    mail["To"] = "returns@example.org"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime(2024, 10, 3, 9, tzinfo=UTC))
    mail["Message-ID"] = message_id or make_msgid(domain="lead.example.org")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    for filename, content in attachments:
        mail.add_attachment(content, maintype="application", subtype="octet-stream", filename=filename)
    return mail
