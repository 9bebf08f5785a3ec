"""Time N emails (To + Cc, a 10 KB attachment) through Apprise to a local aiosmtpd server.

Run: `.venv/bin/python -m benchmarks.bench_smtp 200`.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from aiosmtpd.controller import Controller

from grants.messaging.channels import AppriseChannel
from grants.messaging.notify import Address, Outgoing, Sender
from tests.notify_support import Inbox, free_port


def main(n: int) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with TemporaryDirectory() as tmp:
            attachment = Path(tmp) / "return.xlsx"
            attachment.write_bytes(os.urandom(10_000))
            sender = Sender([AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org")])
            start = time.perf_counter()
            for i in range(n):
                message = Outgoing(
                    key=f"bench:{i}", kind="bench", subject="Quarterly return", text="body", html="<p>body</p>",
                    to=(Address("Lead", f"lead{i}@example.org"),), cc=(Address("Officer", "officer@example.org"),),
                    attachments=(attachment,), created=datetime.now(UTC),
                )
                assert sender.deliver(message).ok
            elapsed = time.perf_counter() - start
    finally:
        controller.stop()
    print(f"{n} emails: {elapsed:.1f} s ({elapsed / n * 1000:.0f} ms each); server received {len(inbox.received)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
