"""Where a received file came from: the inbox folder (nothing more to say) or an email (its sender and Message-ID)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileSource:
    """The sender's address and the Message-ID of the email a file was attached to (both empty: the inbox folder)."""

    sender: str = ""
    message_id: str = ""


INBOX = FileSource()
