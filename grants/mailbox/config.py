"""Where the returns mailbox is: `GRANTS_MAILBOX_URL` and/or the `mailbox:` block of notify.yaml, merged.

The URL (`imaps://user:password@host:993/INBOX`, or `imap://...` for STARTTLS when the server offers it) wins over the
block for what it names; the block adds the rest: TLS mode, certificate checking, an OAuth2 token command (XOAUTH2),
the folders handled mail is moved to, and the returns address leads write to. Secrets are SecretStr and are never
echoed: errors name the setting, not its value, and `description` is what logs and artifacts show.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from grants.kernel.errors import ConfigError, setting_problem, yaml_problem
from grants.kernel.yaml_marks import load_marked, place
from grants.messaging.channels import DEFAULT_FROM, NotifyConfig

TlsMode = Literal["implicit", "starttls", "auto", "none"]
PORTS = {"implicit": 993}


class MailboxError(Exception):
    """The mailbox can't be reached or used (down, refused login, TLS failure). The text never holds a secret."""


class MailboxConfig(BaseModel):
    """The returns mailbox. `tls`: implicit (993), starttls (required), auto (STARTTLS when offered), none."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int | None = None
    tls: TlsMode = "implicit"
    verify_certificate: bool = True
    ca_file: Path | None = None
    username: str
    password: SecretStr | None = Field(default=None, repr=False)
    oauth2_token_command: list[str] | None = Field(default=None, repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    set_aside_folder: str = "Set aside"
    address: str | None = None
    max_message_mb: float = Field(default=25, gt=0)
    timeout_seconds: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _one_credential(self) -> MailboxConfig:
        if (self.password is None) == (self.oauth2_token_command is None):
            raise ValueError("give either a password or an oauth2_token_command")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or PORTS.get(self.tls, 143)

    @property
    def account(self) -> str:
        """Who and where, never secret: the key under which UIDs are remembered."""
        return f"{self.username.lower()}@{self.host.lower()}:{self.effective_port}"

    @property
    def description(self) -> str:
        """The mailbox as logs and artifacts may show it (no password, no token)."""
        scheme = "imaps" if self.tls == "implicit" else "imap"
        return f"{scheme}://{self.username}@{self.host}:{self.effective_port}/{self.folder}"

    @property
    def returns_address(self) -> str:
        """The address leads send returns to: `address`, else the username when it is an email address."""
        return self.address or (self.username if "@" in self.username else "")

    def secret(self) -> str:
        """The password, or a fresh OAuth2 access token from the configured command."""
        if self.password is not None:
            return self.password.get_secret_value()
        return _token(self.oauth2_token_command or [])


def _token(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False, text=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MailboxError(f"the OAuth2 token command could not run ({type(exc).__name__})") from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        raise MailboxError(f"the OAuth2 token command failed (exit {done.returncode}, no token)")
    return token


def from_url(url: str) -> dict[str, Any]:
    """The settings an `imaps://` or `imap://` URL names (user and password percent-decoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ConfigError([f"GRANTS_MAILBOX_URL: expected imaps://user:password@host[:port]/FOLDER, "
                           f"not {parts.scheme or '?'}://..."])
    values: dict[str, Any] = {"host": parts.hostname, "username": unquote(parts.username),
                              "tls": "implicit" if parts.scheme == "imaps" else "auto"}
    if parts.password is not None:
        values["password"] = unquote(parts.password)
    try:
        if parts.port:
            values["port"] = parts.port
    except ValueError:
        raise ConfigError(["GRANTS_MAILBOX_URL: the port is not a number"]) from None
    folder = unquote(parts.path.lstrip("/"))
    if folder:
        values["folder"] = folder
    return values


def load_mailbox_config(url: SecretStr | None, notify_path: Path) -> MailboxConfig | None:
    """The mailbox settings, or None when neither the URL nor a `mailbox:` block is given."""
    block, root = _block(notify_path)
    if url is None and block is None:
        return None
    values = dict(block or {})
    named: dict[str, Any] = {}
    if url is not None and url.get_secret_value().strip():
        named = from_url(url.get_secret_value().strip())
        if "password" in named:
            values.pop("oauth2_token_command", None)
        values |= named
    try:
        return MailboxConfig.model_validate(values)
    except ValidationError as exc:  # name the setting (and its line in the file) and the error type, never the value
        where: list[object] = [_error_line(notify_path, root, set(values) - set(named), e["loc"], e["type"], e["msg"])
                               for e in exc.errors()]
        raise ConfigError(where) from None


def _error_line(path: Path, root: yaml.Node | None, from_file: set[str], loc: tuple[int | str, ...], kind: str,
                message: str) -> str:
    """`mailbox: key: error type`, after the file, line and column when the setting was written in notify.yaml; a
    check across settings (no key, no value in it) keeps its message."""
    if not loc:
        return f"mailbox: {message}"
    line = f"mailbox: {'.'.join(str(p) for p in loc)}: {setting_problem(kind, 'config/notify.example.yaml')}"
    if str(loc[0]) not in from_file:  # from GRANTS_MAILBOX_URL, or missing
        return line
    return f"{path}: {place(root, ['mailbox', *loc], key=kind == 'extra_forbidden')}: {line}"


def _block(path: Path) -> tuple[dict[str, Any] | None, yaml.Node | None]:
    """notify.yaml's `mailbox:` block (None without one) and the file's node tree."""
    if not path.exists():
        return None, None
    try:
        data, root = load_marked(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(path, exc)]) from None
    block = data.get("mailbox") if isinstance(data, dict) else None
    if block is not None and not isinstance(block, dict):
        raise ConfigError([f"{path}: mailbox: expected a block of settings"])
    return block, root


def return_address(notify: NotifyConfig, mailbox: MailboxConfig | None) -> str:
    """The address lead-facing messages name and carry as Reply-To: notify.yaml's `return_to`, else the mailbox's
    address, else a configured sender; empty with the embedded default (grants@localhost receives nothing)."""
    if notify.return_to:
        return notify.return_to
    if mailbox is not None and mailbox.returns_address:
        return mailbox.returns_address
    return notify.sender if notify.sender != DEFAULT_FROM else ""
