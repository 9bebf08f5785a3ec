"""Reading an incoming email: who sent it, its Message-ID and thread, whether it is automatic mail, its attachments.

Automatic mail (RFC 3834 and what mail systems do in practice) is never answered: `Auto-Submitted` other than `no`,
`Precedence: bulk/junk/list`, `X-Autoreply`/`X-Autorespond`, a mailing list's `List-Id`, an empty Return-Path, a
sender that is MAILER-DAEMON or postmaster, a delivery report, or an out-of-office subject. All of it comes from the
headers alone, so automatic mail is set aside without downloading its body.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from pathlib import PurePath

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tar")
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_OUT_OF_OFFICE = re.compile(r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|away from|"
                            r"on leave|absence|abwesenheit|r[ée]ponse automatique|undeliverable|delivery status)",
                            re.IGNORECASE)
_SHARED = re.compile(r"https?://([\w.-]*\b(?:sharepoint\.com|onedrive\.live\.com|1drv\.ms|drive\.google\.com|"
                     r"docs\.google\.com|dropbox\.com|wetransfer\.com|we\.tl|box\.com))(?=[/:?#\s\"'<>]|$)",
                     re.IGNORECASE)
_FINAL_RECIPIENT = re.compile(r"^Final-Recipient:\s*rfc822\s*;\s*<?([\w.+'-]+@[\w.-]+)>?", re.IGNORECASE | re.MULTILINE)
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"  # winmail.dat: Outlook's rich-text wrapping of a message's attachments
_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")


@dataclass(frozen=True)
class Heading:
    """What the headers say: ids for threading and dedupe, who sent it, and why it is automatic (empty if not)."""

    message_id: str
    references: tuple[str, ...]
    sender: str
    subject: str
    automatic: str
    bounce: bool = False  # a delivery failure report (multipart/report, MAILER-DAEMON, an empty Return-Path)


@dataclass(frozen=True)
class Attachment:
    """One attached file: its name as sent, its bytes and their SHA-256."""

    filename: str
    content: bytes
    sha256: str

    @property
    def suffix(self) -> str:
        return PurePath(self.filename).suffix.lower()

    @property
    def is_tnef(self) -> bool:
        """Outlook's winmail.dat, which wraps the real attachments where no other mail program can open them."""
        return self.filename.lower() == "winmail.dat" or self.content.startswith(TNEF_SIGNATURE)


def message_ids(value: str | None) -> tuple[str, ...]:
    """The well-formed `<id@domain>` tokens in a header: anything else is dropped (never echoed into a header)."""
    return tuple(dict.fromkeys(_MSGID.findall(value or "")))


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.compat32)  # tolerant of broken headers; decoded below
    return parsed  # type: ignore[return-value]


def _text(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(policy.default.header_factory(name, str(value))).strip()  # decodes =?utf-8?...?=
    except Exception:
        return str(value).strip()


def read_heading(raw: bytes) -> Heading:
    """The heading of a message from its header block (or the whole message)."""
    message = _parse(raw)
    ids = message_ids(_text(message, "Message-ID"))
    references = message_ids(_text(message, "References")) or message_ids(_text(message, "In-Reply-To"))
    sender = _sender(message)
    subject = re.sub(r"[\r\n\t]+", " ", _text(message, "Subject"))[:250]
    automatic = automatic_reason(message, sender, subject)
    empty_return_path = message.get("Return-Path") is not None and _text(message, "Return-Path").strip("<> ") == ""
    bounce = bool(automatic) and (message.get_content_type() == "multipart/report" or empty_return_path
                                  or sender.split("@", 1)[0] in ("mailer-daemon", "postmaster"))
    return Heading(ids[0] if ids else "", references, sender, subject, automatic, bounce)


def _sender(message: Message) -> str:
    for name in ("From", "Sender", "Return-Path"):
        address = parseaddr(_text(message, name))[1].strip().lower()
        if "@" in address and not re.search(r"[\s<>,;\"]", address):
            return address
    return ""


def automatic_reason(message: Message, sender: str, subject: str) -> str:
    """Why this mail is automatic and must not be answered; empty for mail a person sent."""
    auto = _text(message, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto[:40]}"
    precedence = _text(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response", "List-Id", "List-Unsubscribe"):
        if message.get(name) is not None:
            return f"{name} header"
    if message.get("Return-Path") is not None and _text(message, "Return-Path").strip("<> ") == "":
        return "empty Return-Path (a bounce)"
    local = sender.split("@", 1)[0]
    if not sender or local in _DAEMONS:
        return f"sent by {local or 'no address'}"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report"
    if _OUT_OF_OFFICE.search(subject):
        return "an out-of-office or automatic reply"
    return ""


def attachments(raw: bytes) -> list[Attachment]:
    """Every attached file of the message (parts with a file name), decoded, in order."""
    message = _parse(raw)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if not name:
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(_safe_name(_decoded(name)), content, hashlib.sha256(content).hexdigest()))
    return found


def _decoded(name: str) -> str:
    """A file name in RFC 2047 encoded words (=?utf-8?q?...?=) decoded; RFC 2231 names come decoded already."""
    try:
        return str(make_header(decode_header(name)))
    except Exception:
        return name


def _safe_name(name: str) -> str:
    """A file name safe to write anywhere: the last path part, no control or shell-special characters."""
    base = PurePath(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w .()&+,-]+", "_", base).strip(" .")
    return cleaned[:150] or "attachment"


def recipients_of(value: str) -> list[str]:
    """The addresses in an address header."""
    return [a.lower() for _, a in getaddresses([value]) if "@" in a]


def shared_link(raw: bytes) -> str:
    """The host of the first link to a file-sharing service (OneDrive, SharePoint, Google Drive, Dropbox, ...) in
    the message's own text, lower-case; empty if none. A lead who "shares" the workbook sends such a link instead
    of the file."""
    for part in _parse(raw).walk():
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found = _SHARED.search(payload.decode(part.get_content_charset() or "utf-8", "replace"))
            if found:
                return found.group(1).lower()
    return ""


def undelivered_to(raw: bytes) -> list[str]:
    """The addresses a delivery failure report (RFC 3464) says could not be reached, lower-case, in order."""
    found = _FINAL_RECIPIENT.findall(raw.decode("utf-8", "replace"))
    return list(dict.fromkeys(address.lower() for address in found))
