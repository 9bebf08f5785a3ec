"""Test support for notifications: a real SMTP server on 127.0.0.1 (aiosmtpd), a JSON webhook on 127.0.0.1, a real
pack builder, outbox readers."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import Workbook
from sqlmodel import Session

from grants.kernel import models as m
from tests.ports import free_port

__all__ = ["Inbox", "attachment_names", "free_port", "json_webhook", "read_eml", "running_smtp", "smtp_server",
           "xlsx_pack_builder"]


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


@contextmanager
def running_smtp(handler: Inbox) -> Iterator[int]:
    """A real SMTP server handing each message to `handler`, on a free loopback port; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free loopback port; yields (port, inbox)."""
    inbox = Inbox()
    with running_smtp(inbox) as port:
        yield port, inbox


@contextmanager
def json_webhook(up: list[bool] | None = None) -> Iterator[tuple[int, list[dict[str, object]]]]:
    """A JSON webhook on a free loopback port (stands where a Teams or Slack webhook would be); yields (port, the
    bodies received). While `up[0]` is False it answers 500 and keeps nothing; otherwise 200 (default: always up)."""
    received: list[dict[str, object]] = []
    state = up if up is not None else [True]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if state[0]:
                received.append(body)
            self.send_response(200 if state[0] else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


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
