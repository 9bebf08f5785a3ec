"""The copy kept of every message sent (grants.kernel.message_copy.MessageCopy), and the copy marked for sending again.

`keep` stores what a message said and who it went to when its outcome is recorded (sent or failed), so the
officers' "Send again" can send the same message again. Attachments are kept by reference, not as bytes: the
files are already kept (a rejection hands back the archived original from `<archive>/as-sent/`; a return pack is
re-built when a chase step is sent again). A path inside the data folder is stored relative to it (so a restored
installation in another folder still finds it), any other path as it is; the SHA-256 says whether it is still the
same file.

`marked` is the copy as it goes out again: the subject starts "Copy: ", and a first line (and first paragraph of
the HTML) says when it was first sent and that it is being sent again.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from grants.kernel import models as m
from grants.kernel.dates import date_time, short_date
from grants.kernel.errors import GrantsError
from grants.kernel.settings import get_settings

if TYPE_CHECKING:
    from grants.messaging.notify import Outgoing


def _data_dir() -> Path:
    return get_settings().data_dir.resolve()


def _reference(path: Path) -> dict[str, Any]:
    """An attachment as a reference: its name, where it is (relative to the data folder when inside it), SHA-256."""
    content = path.read_bytes()
    where = path.resolve()
    stored = where.relative_to(_data_dir()) if where.is_relative_to(_data_dir()) else where
    return {"name": path.name, "path": stored.as_posix(), "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content)}


def keep(session: Session, message: Outgoing, now: datetime) -> int:
    """Store the copy of a message (in the caller's transaction); its id, for Notification.copy_id."""
    attachments = [_reference(path) for path in message.attachments if path.is_file()]
    row = m.MessageCopy(
        created_at=message.created or now, subject=message.subject, text=message.text, html=message.html,
        to_json=json.dumps([[a.name, a.email] for a in message.to]),
        cc_json=json.dumps([[a.name, a.email] for a in message.cc]), tags_json=json.dumps(sorted(message.tags)),
        attachments_json=json.dumps(attachments), in_reply_to=message.in_reply_to,
        thread_references=" ".join(message.references))
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


@dataclass(frozen=True)
class Attachment:
    """A kept attachment: where it is now, and whether it is still the file that was sent."""

    name: str
    path: Path
    sha256: str

    def check(self) -> Path:
        """The file, or GrantsError saying it is gone or has changed since it was sent."""
        if not self.path.is_file():
            raise GrantsError(f"the attachment {self.name} is no longer at {self.path}: the message cannot be sent "
                              "again as it was")
        if hashlib.sha256(self.path.read_bytes()).hexdigest() != self.sha256:
            raise GrantsError(f"the attachment {self.name} at {self.path} has changed since it was sent: the message "
                              "cannot be sent again as it was")
        return self.path


def attachments(copy: m.MessageCopy) -> list[Attachment]:
    """The copy's attachments, each resolved against today's data folder when it was stored relative to it."""
    out = []
    for item in json.loads(copy.attachments_json or "[]"):
        path = Path(item["path"])
        out.append(Attachment(item["name"], path if path.is_absolute() else _data_dir() / path, item["sha256"]))
    return out


def addresses(raw: str) -> list[tuple[str, str]]:
    """[(name, email)] from a copy's `to_json` or `cc_json`."""
    return [(str(name), str(email)) for name, email in json.loads(raw or "[]")]


def tags(copy: m.MessageCopy) -> list[str]:
    """The Apprise tags the message carried (they choose its channels)."""
    return [str(tag) for tag in json.loads(copy.tags_json or "[]")]


def copy_note(first_sent: datetime, again: datetime, delivered: bool = True) -> str:
    """The line a re-sent copy opens with (`delivered`: whether the first attempt reached anyone)."""
    first = (f"first sent on {date_time(first_sent)}" if delivered else
             f"first due to go on {date_time(first_sent)} (it could not be delivered then)")
    return f"This is a copy of a message {first}, sent again on {short_date(again)} at the request of the grants team."


_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def marked(copy: m.MessageCopy, again: datetime, delivered: bool = True) -> tuple[str, str, str]:
    """(subject, text, html) of the copy as it goes out again: 'Copy: ' before the subject, the note first."""
    note = copy_note(copy.created_at, again, delivered)
    paragraph = f'<p class="copy-note"><strong>{html.escape(note)}</strong></p>'
    body = _BODY.search(copy.html)
    marked_html = (copy.html[:body.end()] + paragraph + copy.html[body.end():] if body else
                   paragraph + copy.html) if copy.html else ""
    subject = copy.subject if copy.subject.startswith("Copy: ") else f"Copy: {copy.subject}"
    return subject, f"{note}\n\n{copy.text}", marked_html
