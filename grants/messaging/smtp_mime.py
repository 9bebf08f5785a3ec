"""Email over SMTP as the engine wrote it: the MIME message `channels.to_email` builds (the plain-text part from the
message's own text template, the HTML part, threading headers, attachments), sent through the SMTP connection an
Apprise `mailto://`/`mailtos://` URL describes (host, port, TLS mode, login, certificate check).

Apprise's own email sender takes one body and derives the plain-text part from the HTML itself, which loses the text
template's layout (nested items flattened, a different sign-off), so the email a lead or officer got over SMTP
differed from the outbox copy and the message copy kept for "Send again". Here the same bytes go to both."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from typing import Any

from apprise.exception import AppriseImproperlyConfigured
from apprise.plugins.email.smtp import AppriseSMTPController

from grants.messaging.notify import ChannelError


def envelope_recipients(mail: EmailMessage) -> list[str]:
    """Every To and Cc address of the message, once each, in order."""
    found = [address.addr_spec for name in ("To", "Cc") if mail[name] is not None
             for address in mail[name].addresses]
    return list(dict.fromkeys(found))


def sender_of(plugin: Any) -> str:
    """The From of an Apprise email plugin: its `from=` address, with its `name=` when given."""
    return formataddr(plugin.from_addr)


def send_mime(plugin: Any, mail: EmailMessage) -> None:
    """Send `mail` to its To and Cc on the SMTP server of an Apprise email plugin; ChannelError if refused."""
    try:
        with AppriseSMTPController(
                host=plugin.smtp_host, port=plugin.port, secure_mode=plugin.secure_mode, user=plugin.user,
                password=plugin.password, verify_certificate=plugin.verify_certificate,
                socket_connect_timeout=plugin.socket_connect_timeout) as smtp:
            wire = mail.as_bytes(policy=SMTP)  # bytes: smtplib takes them as they are (UTF-8 text parts included)
            if smtp.sendmail(plugin.from_addr[1], envelope_recipients(mail), wire):  # type: ignore[arg-type]
                return
    except (OSError, smtplib.SMTPException, RuntimeError, AppriseImproperlyConfigured):
        pass
    raise ChannelError("delivery refused or failed")
