"""The channels messages go out on, and the notify config (YAML, outside git) that names them.

- The outbox (the default, no server needed): each message as an .eml file (headers, plain text and HTML bodies,
  attachments) in the outbox folder, exactly as it would be emailed.
- Apprise URLs: an `email` URL (SMTP; recipients are added per message) and any number of `channels` (Microsoft
  Teams, Slack, ...) each with Apprise tags choosing which messages it gets (`officers`, `managers`, `lead-<code>`).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import apprise
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from grants.kernel.errors import ConfigError, setting_error, yaml_problem
from grants.kernel.yaml_marks import load_marked, place
from grants.messaging.address_header import AddressHeader
from grants.messaging.notify import ChannelError, Outgoing, Sender
from grants.messaging.smtp_mime import send_mime, sender_of

EMAIL_SCHEMAS = ("mailto", "mailtos")
DEFAULT_FROM = "grants@localhost"
MESSAGE_ID_DOMAIN = "grants.local"  # every Message-ID the engine gives its emails ends @grants.local>


_URL = re.compile(r"([a-z][a-z0-9+.-]*://)[^\s'\"]+", re.IGNORECASE)


class RedactUrls(logging.Filter):
    """Masks everything after `scheme://` in a log line: Apprise logs a URL it cannot parse, secrets included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = _URL.sub(r"\1****", message), None
        return True


def _redact_apprise_logs() -> None:
    logger = logging.getLogger("apprise")
    if not any(isinstance(f, RedactUrls) for f in logger.filters):
        logger.addFilter(RedactUrls())


def _filename(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".eml"


def lead_facing(message: Outgoing) -> bool:
    """Whether a message goes to a project lead (or someone who wrote in): it carries Reply-To the returns address."""
    return any(tag.startswith("lead-") for tag in message.tags)


def threading_headers(message: Outgoing, reply_to: str) -> dict[str, str]:
    """Reply-To (lead-facing messages, when there is a returns address), In-Reply-To and References, and
    Auto-Submitted (RFC 3834) on every message: out-of-office replies skip it, and should one of our own messages land
    in the returns mailbox (a lead's address set to it, say) it is set aside there, never answered, so no loop."""
    headers = {"Reply-To": reply_to} if reply_to and lead_facing(message) else {}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
        headers["References"] = " ".join(dict.fromkeys((*message.references, message.in_reply_to)))
    headers["Auto-Submitted"] = "auto-replied" if message.in_reply_to else "auto-generated"
    return headers


def to_email(message: Outgoing, sender: str = DEFAULT_FROM, reply_to: str = "") -> EmailMessage:
    """The message as a MIME email: From/To/Cc/Subject/Date, threading headers, plain text and HTML, attachments."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = AddressHeader("To", message.to)
    if message.cc:
        mail["Cc"] = AddressHeader("Cc", message.cc)
    mail["Subject"] = message.subject
    if message.created is not None:
        mail["Date"] = format_datetime(message.created)
    mail["Message-ID"] = make_msgid(domain=MESSAGE_ID_DOMAIN)
    mail["X-Grants-Key"] = message.key
    for name, value in threading_headers(message, reply_to).items():
        mail[name] = value
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    for path in message.attachments:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        mail.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return mail


class OutboxChannel:
    """Writes each message as `<key>.eml` into a folder (a retry overwrites the same file)."""

    def __init__(self, folder: Path, sender: str = DEFAULT_FROM, reply_to: str = "") -> None:
        self.folder = folder
        self.sender = sender
        self.reply_to = reply_to

    @property
    def description(self) -> str:
        return f"outbox {self.folder}"

    def accepts(self, message: Outgoing) -> bool:
        return True

    def deliver(self, message: Outgoing) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / _filename(message.key)).write_bytes(bytes(to_email(message, self.sender, self.reply_to)))
        except OSError as exc:
            raise ChannelError(f"cannot write to the outbox ({type(exc).__name__})") from None


class AppriseChannel:
    """One Apprise URL. Email URLs get the message's To/Cc added; others get the plain-text body."""

    def __init__(self, url: str, tags: frozenset[str] | None = None, reply_to: str = "") -> None:
        _redact_apprise_logs()
        self.reply_to = reply_to
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ConfigError([f"not a valid Apprise URL: {_scheme(url)}://..."])
        self._url = SecretStr(url)  # never shown by repr() (e.g. of this object in a traceback)
        self.tags = tags
        self.is_email = _scheme(url) in EMAIL_SCHEMAS
        self._description = f"{plugin.service_name}: {plugin.url(privacy=True)}"  # type: ignore[no-untyped-call]

    @property
    def description(self) -> str:
        return self._description

    def accepts(self, message: Outgoing) -> bool:
        return self.tags is None or bool(self.tags & message.tags)

    def deliver(self, message: Outgoing) -> None:
        secret = self._url.get_secret_value()
        plugin = apprise.Apprise.instantiate(_with_recipients(secret, message) if self.is_email
                                             else secret)
        if plugin is None:
            raise ChannelError("invalid recipients for this channel")
        plugin.request_rate_per_sec = 0  # no throttle: one fresh object per message anyway
        if self.is_email:
            send_mime(plugin, to_email(message, sender_of(plugin), self.reply_to))
            return
        box = apprise.Apprise()
        box.add(plugin)
        if not box.notify(body=message.text, title=message.subject, body_format=apprise.NotifyFormat.TEXT):
            raise ChannelError("delivery refused or failed")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def _with_recipients(url: str, message: Outgoing) -> str:
    """The email URL naming the message's addresses, for Apprise to check them and to read the server, TLS mode,
    login and From; the email itself (its To, Cc, Reply-To and threading headers) is built by `to_email`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("to", "cc")]
    query.append(("to", ",".join(dict.fromkeys(a.email for a in (*message.to, *message.cc)))))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))  # %20, not +: Apprise keeps a +


class ChannelConfig(BaseModel):
    """A non-email Apprise URL and the tags of the messages it gets (none: every message)."""

    model_config = ConfigDict(extra="forbid")
    url: SecretStr
    tags: list[str] | None = None


class NotifyConfig(BaseModel):
    """notify.yaml: where messages go. With no file, messages only go to the outbox."""

    model_config = ConfigDict(extra="forbid")
    outbox: bool = True
    sender: str = DEFAULT_FROM
    return_to: str | None = None
    email: SecretStr | None = None
    channels: list[ChannelConfig] = Field(default_factory=list)
    attempts: int = Field(default=3, ge=1, le=10)
    retry_delay_seconds: float = Field(default=2.0, ge=0, le=60)
    mailbox: dict[str, Any] | None = Field(default=None, repr=False, exclude=True)  # read by grants.mailbox.config


def load_notify_config(path: Path) -> NotifyConfig:
    """Read notify.yaml; a missing file means the outbox only. Errors never echo the URLs."""
    if not path.exists():
        return NotifyConfig()
    try:
        data, root = load_marked(path.read_text())
        return NotifyConfig.model_validate(data or {})
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(path, exc)]) from None
    except ValidationError as exc:  # name the field, its line and the error type, never the value (it may be secret)
        where: list[object] = [setting_error(path, place(root, e["loc"], key=e["type"] == "extra_forbidden"),
                                             e["loc"], e["type"], "config/notify.example.yaml") for e in exc.errors()]
        raise ConfigError(where) from None


def build_sender(config: NotifyConfig, outbox: Path, reply_to: str = "") -> Sender:
    """The Sender for a notify config: the outbox (unless turned off), the email URL, then the other channels.
    `reply_to`: the returns address lead-facing email carries as Reply-To (none: no Reply-To)."""
    channels: list[Any] = [OutboxChannel(outbox, config.sender, reply_to)] if config.outbox else []
    if config.email is not None:
        channels.append(AppriseChannel(config.email.get_secret_value(), reply_to=reply_to))
    for item in config.channels:
        channels.append(AppriseChannel(item.url.get_secret_value(), frozenset(item.tags) if item.tags else None))
    if not channels:
        raise ConfigError(["notify config: no channel (outbox is off and no email or channels given)"])
    return Sender(channels, attempts=config.attempts, retry_delay_seconds=config.retry_delay_seconds)
