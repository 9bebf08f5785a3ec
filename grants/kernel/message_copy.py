"""The copy kept of each message the engine sends (grants/messaging/copies.py writes and reads it): what an officer's
"Send again" sends when a message is re-sent as it was.

One row per message as delivered: the subject, the plain-text and HTML bodies, who it went to (names and addresses),
the Apprise tags that chose its channels, the threading headers, and each attachment by reference (its path under
the data folder, or an absolute path outside it, with its SHA-256 and size): the files are already kept (the
archive, the packs folder), so no file is stored twice. Several Notification rows may share one copy: the notices
that went to one person in one officer-mail message. Copies are never changed or deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel


class MessageCopy(SQLModel, table=True):
    """What was sent: subject, bodies, addressees, tags, threading and attachment references (JSON lists)."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    subject: str = Field(sa_type=Text)
    text: str = Field(sa_type=Text)
    html: str = Field(default="", sa_type=Text)
    to_json: str = Field(default="[]", sa_type=Text)  # [[name, email], ...]
    cc_json: str = Field(default="[]", sa_type=Text)
    tags_json: str = Field(default="[]", sa_type=Text)
    attachments_json: str = Field(default="[]", sa_type=Text)  # [{"name", "path", "sha256", "bytes"}, ...]
    in_reply_to: str = ""
    thread_references: str = Field(default="", sa_type=Text)  # References Message-IDs, space-separated
