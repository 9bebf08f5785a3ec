"""The IMAP connection behind a small protocol, and its real implementation on imap-tools.

The protocol is what the fetch needs and no more: open a folder (its UIDVALIDITY), list the UIDs above one, fetch
headers, fetch whole messages (never marking them seen), move messages to a folder. Every failure of the server, the
network or TLS becomes a MailboxError with one clear line that holds no secret.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError
from imap_tools.message import MailMessage as ToolsMessage

from grants.mailbox.config import MailboxConfig, MailboxError

CHUNK = 100  # UIDs per FETCH command


@dataclass(frozen=True)
class FolderState:
    """What SELECT/STATUS says of a folder."""

    uidvalidity: int
    uidnext: int
    messages: int


@dataclass(frozen=True)
class Fetched:
    """One message as fetched: its UID, its size on the server and the raw bytes (headers only, or all of it)."""

    uid: int
    size: int
    raw: bytes


class MailboxConnection(Protocol):
    """An open, logged-in connection to the returns mailbox."""

    def open(self, folder: str, *, readonly: bool = False) -> FolderState:
        """Select the folder; its UIDVALIDITY, next UID and message count."""
        ...

    def uids_after(self, uid: int) -> list[int]:
        """The UIDs in the open folder greater than `uid`, ascending."""
        ...

    def first_unread(self) -> int | None:
        """The lowest UID in the open folder not marked \\Seen (None: every message has been read)."""
        ...

    def headers(self, uids: Sequence[int]) -> list[Fetched]:
        """The header block of each message (not marking it seen)."""
        ...

    def messages(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """Each whole message (not marking it seen)."""
        ...

    def move(self, uids: Sequence[int], folder: str) -> list[int]:
        """Move messages of the open folder to `folder`, creating it if missing; the UIDs that were no longer in the
        folder (another run, or a person, moved or deleted them first), which are left alone."""
        ...

    def has_folder(self, folder: str) -> bool:
        """Whether the folder exists."""
        ...

    @property
    def security(self) -> str:
        """How the connection is protected, in words (implicit TLS, STARTTLS, none)."""
        ...

    def close(self) -> None:
        """Log out (never raises)."""
        ...


class _RawMessage(ToolsMessage):
    """imap-tools' message keeping the raw bytes as the server sent them, unparsed (grants.mailbox.inbound parses
    them once; only the UID and size properties, which read the FETCH response, are used)."""

    def __init__(self, fetch_data: list[Any]) -> None:  # no super().__init__(): it would parse the whole message
        self.raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)


class _Tls(MailBox):
    email_message_class = _RawMessage


class _Plain(MailBoxUnencrypted):
    email_message_class = _RawMessage


@contextmanager
def translated(config: MailboxConfig, doing: str) -> Iterator[None]:
    """Turn a library, network or TLS failure into a MailboxError naming the mailbox (never its secret)."""
    where = f"{config.host}:{config.effective_port}"
    try:
        yield
    except MailboxError:
        raise
    except MailboxLoginError:
        raise MailboxError(f"mailbox {where}: login refused for {config.username} (wrong password or token?)"
                           ) from None
    except ssl.SSLError as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        hint = (f": the server did not answer in TLS; is {config.effective_port} its TLS port (993 for imaps://; "
                f"imap:// on 143 uses STARTTLS)?" if reason == "WRONG_VERSION_NUMBER" else "")
        raise MailboxError(f"mailbox {where}: TLS failed ({reason}){hint}") from None
    except TimeoutError:
        raise MailboxError(f"mailbox {where}: timed out while {doing}") from None
    except socket.gaierror:
        raise MailboxError(f"mailbox {where}: cannot connect: the host name {config.host!r} is not found (DNS); "
                           f"check the host setting") from None
    except OSError as exc:
        raise MailboxError(f"mailbox {where}: cannot connect ({exc.strerror or type(exc).__name__})") from None
    except imaplib.IMAP4.abort:  # the connection dropped (the server closed it, or the network failed)
        raise MailboxError(f"mailbox {where}: the connection was lost while {doing}; nothing was marked read or "
                           f"moved") from None
    except (imaplib.IMAP4.error, UnexpectedCommandStatusError) as exc:
        if doing == "logging in":
            raise MailboxError(f"mailbox {where}: login refused for {config.username} (wrong password or token?)"
                               ) from None
        raise MailboxError(f"mailbox {where}: the server refused {doing} ({_said(exc)})") from None


def _said(exc: Exception) -> str:
    """What the server answered (its NO/BAD text, which never holds the password), or the error's type."""
    result = getattr(exc, "command_result", None)
    data = result[1] if isinstance(result, tuple) and len(result) > 1 else None
    texts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in (data or []) if d]
    said = " ".join(" ".join(texts).split())[:200]
    return f"it said: {said}" if said else type(exc).__name__


def ssl_context(config: MailboxConfig) -> ssl.SSLContext:
    """Certificate verification on unless turned off; `ca_file` trusts an in-house certificate authority."""
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if not config.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class ImapToolsMailbox:
    """The real MailboxConnection: imap-tools over implicit TLS, STARTTLS or (loopback only) plain IMAP."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self._security = ""
        with translated(config, "connecting"):
            self.box = self._connect()
        try:
            with translated(config, "logging in"):
                self._login()
        except MailboxError:
            self.close()
            raise

    def _connect(self) -> BaseMailBox:
        c = self.config
        checked = "certificate verified" if c.verify_certificate else "certificate NOT verified"
        if c.tls == "implicit":
            self._security = f"implicit TLS, {checked}"
            return _Tls(c.host, c.effective_port, timeout=c.timeout_seconds, ssl_context=ssl_context(c))
        box = _Plain(c.host, c.effective_port, timeout=c.timeout_seconds)
        offered = "STARTTLS" in box.client.capabilities
        if c.tls == "starttls" and not offered:
            box.client.shutdown()
            raise MailboxError(f"mailbox {c.host}:{c.effective_port}: the server does not offer STARTTLS")
        if c.tls in ("starttls", "auto") and offered:
            box.client.starttls(ssl_context(c))
            self._security = f"STARTTLS, {checked}"
        else:
            self._security = "no TLS (the server offers no STARTTLS): use only on a trusted network"
        return box

    @property
    def security(self) -> str:
        return self._security

    def has_folder(self, folder: str) -> bool:
        with translated(self.config, f"listing folder {folder!r}"):
            return bool(self.box.folder.exists(folder))

    def _login(self) -> None:
        secret = self.config.secret()
        if self.config.oauth2_token_command:
            self.box.xoauth2(self.config.username, secret, initial_folder=None)
        else:
            self.box.login(self.config.username, secret, initial_folder=None)
        self._refresh_capabilities()

    def _refresh_capabilities(self) -> None:
        """What the server offers once logged in (imaplib keeps the list from before the login, which often lacks
        MOVE: without it every move was a COPY then a delete, and two runs at once could copy one email twice)."""
        typ, data = self.box.client.capability()
        if typ == "OK" and data and isinstance(data[-1], bytes):
            self.box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())

    def open(self, folder: str, *, readonly: bool = False) -> FolderState:
        with translated(self.config, f"opening folder {folder!r}"):
            if not self.box.folder.exists(folder):
                names = ", ".join(repr(f.name) for f in self.box.folder.list())
                raise MailboxError(f"mailbox {self.config.host}:{self.config.effective_port}: there is no folder "
                                   f"{folder!r} (the folders are {names}); check the folder setting")
            status = self.box.folder.status(folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
            self.box.folder.set(folder, readonly=readonly)
        return FolderState(status["UIDVALIDITY"], status.get("UIDNEXT", 0), status.get("MESSAGES", 0))

    def uids_after(self, uid: int) -> list[int]:
        with translated(self.config, "searching"):
            found = self.box.uids(f"UID {uid + 1}:*")
        return sorted(u for u in (int(x) for x in found) if u > uid)  # n:* always matches the last message

    def first_unread(self) -> int | None:
        with translated(self.config, "searching"):
            found = [int(x) for x in self.box.uids("UNSEEN")]
        return min(found) if found else None

    def headers(self, uids: Sequence[int]) -> list[Fetched]:
        return list(self._fetch(uids, headers_only=True))

    def messages(self, uids: Sequence[int]) -> Iterator[Fetched]:
        return self._fetch(uids, headers_only=False)

    def _fetch(self, uids: Sequence[int], *, headers_only: bool) -> Iterator[Fetched]:
        if not uids:
            return
        with translated(self.config, "fetching"):
            for msg in self.box.fetch(uid_list=[str(u) for u in uids], mark_seen=False, headers_only=headers_only,
                                      bulk=CHUNK):
                assert isinstance(msg, _RawMessage)
                yield Fetched(int(msg.uid or 0), msg.size_rfc822, msg.raw)

    def move(self, uids: Sequence[int], folder: str) -> list[int]:
        if not uids:
            return []
        with translated(self.config, f"moving mail to {folder!r}"):
            self._create(folder)
            present = self._present(uids)
            try:
                self.box.move([str(u) for u in sorted(present)], folder, chunks=CHUNK)
            except UnexpectedCommandStatusError:  # some went meanwhile (a concurrent run moved them): once more
                present = self._present(uids)
                self.box.move([str(u) for u in sorted(present)], folder, chunks=CHUNK)
        return [u for u in uids if u not in present]

    def _create(self, folder: str) -> None:
        """Create the folder if missing (a concurrent run creating it at the same moment is no failure)."""
        if self.box.folder.exists(folder):
            return
        try:
            self.box.folder.create(folder)
        except UnexpectedCommandStatusError:
            if not self.box.folder.exists(folder):
                raise

    def _present(self, uids: Sequence[int]) -> set[int]:
        return {int(u) for u in self.box.uids(f"UID {','.join(str(u) for u in uids)}")}

    def close(self) -> None:
        try:
            self.box.logout()
        except Exception:
            try:
                self.box.client.shutdown()
            except Exception:
                return


def connect(config: MailboxConfig) -> MailboxConnection:
    """A logged-in connection (raises MailboxError with one clear line)."""
    return ImapToolsMailbox(config)
