"""Test support for notifications: a real SMTP server on 127.0.0.1 (aiosmtpd), a real pack builder, outbox readers."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import Workbook
from sqlmodel import Session

from grants.kernel import models as m


@dataclass
class Inbox:
    """Every email the local SMTP server received: envelope recipients and the parsed message."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free loopback port; yields (port, inbox)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def xlsx_pack_builder(session: Session, project_id: int, period_id: int, out_dir: Path) -> Path:
    """A real (small) pre-filled workbook written with openpyxl, standing in for issue 3's writer."""
    project, period = session.get(m.Project, project_id), session.get(m.ReportingPeriod, period_id)
    assert project is not None and period is not None
    book = Workbook()
    sheet = book.active
    sheet.title = "Return"
    sheet["A1"], sheet["B1"] = "Project", project.name
    sheet["A2"], sheet["B2"] = "Period", period.label
    sheet["A3"], sheet["B3"] = "Due", period.due
    path = out_dir / f"{project.code}-{period.label}-return.xlsx"
    book.save(path)
    return path


def read_eml(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def attachment_names(message: EmailMessage) -> list[str]:
    return [part.get_filename() or "" for part in message.iter_attachments()]
