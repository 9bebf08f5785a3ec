"""Benchmark: N returns arriving by email (one workbook each) fetched and ingested in one run, against the same
files ingested from the inbox folder; the mail path's overhead per message; and a second run over the same mailbox.

Usage: python benchmarks/bench_mailbox.py [--n 500] [--runs 1]. Needs Dovecot (bash .ci/start-dovecot installs it);
starts its own on a free loopback port under /tmp. Not run by the tests (`make bench-mailbox`).
Both routes end the same way: every file stored in a fresh SQLite database and every lead's receipt written to an
outbox folder. The mail route adds: listing UIDs, fetching headers, downloading each message, staging its attachment,
recording each email, moving it to the processed folder.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import KEY, PERIODS, filled_bases, make_files, new_database  # noqa: E402

from grants.kernel import models as m  # noqa: E402
from grants.kernel.db import get_engine, session_scope  # noqa: E402
from grants.mailbox.config import MailboxConfig  # noqa: E402
from grants.mailbox.fetch import MailReport, MailRun, fetch_mail  # noqa: E402
from grants.mailbox.imap import connect  # noqa: E402
from grants.messaging.channels import OutboxChannel  # noqa: E402
from grants.messaging.notify import Sender  # noqa: E402
from grants.messaging.replies import send_ingest_replies  # noqa: E402
from grants.returns.ingest import IngestOptions, ingest_files  # noqa: E402
from grants.returns.sandbox import shutdown  # noqa: E402

PASSWORD = "secret"
RETURNS = "returns@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dovecot(folder: Path, port: int) -> None:
    subprocess.run(["bash", str(ROOT / ".ci" / "start-dovecot"), str(folder), str(port), "returns", PASSWORD],
                   check=True, capture_output=True, timeout=120)


def add_user(folder: Path, name: str) -> None:
    users = folder / "users"
    first = users.read_text().splitlines()[0].split(":")
    with users.open("a") as handle:
        handle.write(":".join([name, first[1], first[2], first[3], "", str(folder / "mail" / name)]) + "\n")


def lead_emails(url: str) -> list[str]:
    """The lead's address for each base workbook, in filled_bases' order."""
    with Session(get_engine(url)) as session:
        pairs = session.exec(select(m.Project, m.ReportingPeriod).join(
            m.ReportingPeriod, m.ReportingPeriod.grant_id == m.Project.grant_id)).all()  # type: ignore[arg-type]
        return [proj.lead_email for proj, per in pairs if per.label in PERIODS]


def fill_mailbox(port: int, user: str, files: list[Path], leads: list[str]) -> None:
    with MailBoxUnencrypted("127.0.0.1", port).login(user, PASSWORD, initial_folder=None) as box:
        for i, path in enumerate(files):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = leads[i % len(leads)], RETURNS, f"Re: return {i}"
            mail["Message-ID"] = make_msgid(domain="lead.example.org")
            mail.set_content("Our return is attached.")
            mail.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream",
                                filename=path.name)
            box.append(bytes(mail), "INBOX")


def inbox_route(folder: Path, files: list[Path]) -> float:
    """Ingest the files from an inbox folder and write each receipt, as the ingest job does."""
    url = new_database(folder)
    inbox = folder / "inbox"
    inbox.mkdir()
    copies = [Path(shutil.copyfile(f, inbox / f.name)) for f in files]
    options = IngestOptions(folder / "archive", folder / "quarantine", KEY)
    sender = Sender([OutboxChannel(folder / "outbox", "grants@example.org", RETURNS)])
    start = time.perf_counter()
    now = datetime.now(UTC)
    results = ingest_files(get_engine(url), copies, now, options)
    with session_scope(get_engine(url)) as session:
        send_ingest_replies(session, [r.return_id for r in results if r.return_id], now, sender, return_to=RETURNS)
    seconds = time.perf_counter() - start
    shutdown()
    assert len(list((folder / "outbox").glob("*.eml"))) == len(files)
    return seconds


def mail_route(folder: Path, port: int, user: str) -> tuple[float, MailReport, float, MailReport]:
    """Fetch and ingest the whole mailbox in one run, then run again (which must download nothing)."""
    url = new_database(folder)
    engine = get_engine(url)
    options = IngestOptions(folder / "archive", folder / "quarantine", KEY)
    sender = Sender([OutboxChannel(folder / "outbox", "grants@example.org", RETURNS)])
    config = MailboxConfig(host="127.0.0.1", port=port, tls="auto", username=user, password=PASSWORD)
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        now = datetime.now(UTC)
        box = connect(config)
        run = MailRun(engine, box, config, lambda p, s: ingest_files(engine, p, now, options, s), sender,  # noqa: B023
                      RETURNS, now, folder / "staging")
        report = fetch_mail(run)
        box.close()
        timings.append((time.perf_counter() - start, report))
    shutdown()
    return timings[0][0], timings[0][1], timings[1][0], timings[1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    server = Path(tempfile.mkdtemp(prefix="grants-bench-dovecot-"))
    server.chmod(0o755)
    port = free_port()
    start_dovecot(server, port)
    try:
        with tempfile.TemporaryDirectory(prefix="grants-bench-mail-") as tmp:
            work = Path(tmp)
            url = new_database(work)
            bases, leads = filled_bases(url, work / "issued"), lead_emails(url)
            files = make_files(bases, args.n, work / "files")
            inbox_s, mail_s, second_s = [], [], []
            for run in range(args.runs):
                inbox_s.append(inbox_route(work / f"inbox{run}", files))
                user = f"bench{run}"
                add_user(server, user)
                fill_mailbox(port, user, files, leads)
                first, report, second, again = mail_route(work / f"mail{run}", port, user)
                assert report.downloaded == args.n and report.accepted == args.n and not report.error, report.error
                assert again.downloaded == 0 and again.rows == []
                mail_s.append(first)
                second_s.append(second)
    finally:
        subprocess.run(["kill", (server / "run" / "master.pid").read_text().split()[0]], check=False)
        shutil.rmtree(server, ignore_errors=True)
    a, b, c = (statistics.median(x) for x in (inbox_s, mail_s, second_s))
    n = args.n
    print(f"{n} returns, one per email; medians of {args.runs} run(s)")
    print(f"(a) inbox folder: ingest + receipts         {a:6.2f} s  {n / a:6.1f} returns/s")
    print(f"(b) mailbox: fetch + ingest + receipts + move {b:6.2f} s  {n / b:6.1f} returns/s")
    print(f"    overhead of the mail path: {(b - a) / n * 1000:.1f} ms per message ({b / a:.2f}x)")
    print(f"(c) second run over the same mailbox: {c:.3f} s, downloaded 0 messages")


if __name__ == "__main__":
    main()
