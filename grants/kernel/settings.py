"""The one Settings object (pydantic-settings, `GRANTS_` prefix, `.env` support), read through a cached getter.

The signing key: GRANTS_SIGNING_KEY, else the installation's own random key that `grants init` writes to
`<data_dir>/signing.key` (owner-only). The fixed development key is for the tests and the demo only.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grants.kernel.errors import GrantsError

DEVELOPMENT_SIGNING_KEY = "development-only-signing-key-change-me"  # the tests and the demo only
KEY_FILE = "signing.key"
OTHER_VARIABLES = frozenset({"GRANTS_ACTOR", "GRANTS_DEBUG", "GRANTS_TEST_POSTGRES_URL"})  # the CLI's and the tests'


class Settings(BaseSettings):
    """Where the engine keeps its data and how it reaches people. Every field can be set as GRANTS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="GRANTS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    config_dir: Path = Path("config")
    inbox_dir: Path | None = None
    archive_dir: Path | None = None
    quarantine_dir: Path | None = None
    outbox_dir: Path | None = None
    reports_dir: Path | None = None
    notify_config: Path = Path("notify.yaml")
    timezone: str = "Europe/London"
    signing_key: SecretStr = SecretStr("")  # empty: the key file in the data folder (see signing_secret)
    # The returns mailbox, e.g. imaps://returns%40council.gov.uk:PASSWORD@imap.example.org:993/INBOX (see
    # grants/mailbox/config.py); the rest may be in notify.yaml's `mailbox:` block. Unset: no mailbox is read.
    mailbox_url: SecretStr | None = None
    # Limits on received return files (see grants/workbook_safety.py): anything beyond is quarantined unread.
    return_max_file_mb: float = 5
    return_max_uncompressed_mb: float = 50
    return_max_rows: int = 2_000
    return_max_cols: int = 100
    return_parser_memory_mb: int = 256
    return_parser_workers: int = 2
    return_ingest_batch_files: int = 50  # files stored per transaction, each in its own savepoint
    # The web app (grants web): the address leads' links start with, and the lead links' own key (default: derived
    # from the signing key for that one purpose), how long after the last return is due a link still works, and
    # how many uploads one link may make per hour.
    web_base_url: str = "http://127.0.0.1:8000"
    web_secure_cookies: bool = False  # set true behind HTTPS
    link_key: SecretStr | None = None
    lead_link_margin_days: int = 90
    web_uploads_per_hour: int = 20
    # The officers' workspace: how long a sign-in lasts, and (off by default) the request header a council's single
    # sign-on proxy sets to the signed-in person's email, trusted only when the proxy strips it from every client.
    web_session_hours: int = 8
    web_trusted_user_header: str | None = None
    return_inbox_settle_seconds: float = 5  # a file in the inbox is taken once unchanged this long

    @model_validator(mode="after")
    def _installation_key(self) -> Settings:
        """Without GRANTS_SIGNING_KEY, the key `grants init` wrote for this installation (if it did)."""
        if not self.signing_key.get_secret_value():
            with contextlib.suppress(OSError):
                self.signing_key = SecretStr(self.signing_key_file.read_text().strip())
        return self

    @property
    def signing_key_file(self) -> Path:
        """Where `grants init` keeps the installation's signing key."""
        return self.data_dir / KEY_FILE

    def signing_secret(self) -> bytes:
        """The key that signs issued workbooks and checks returned ones; GrantsError if there is none yet."""
        key = self.signing_key.get_secret_value()
        if not key:
            raise GrantsError(f"no signing key yet: run `grants init` (it writes one to {self.signing_key_file}) or "
                              "set GRANTS_SIGNING_KEY")
        return key.encode()

    @property
    def db_url(self) -> str:
        """The database URL: GRANTS_DATABASE_URL, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'grants.db').as_posix()}"

    def folder(self, name: str) -> Path:
        """The inbox/archive/quarantine/outbox/reports folder: its own setting or `<data_dir>/<name>`."""
        explicit: Path | None = getattr(self, f"{name}_dir")
        return explicit if explicit is not None else self.data_dir / name

    @property
    def grants_config_dir(self) -> Path:
        """The folder holding one YAML file per grant programme."""
        return self.config_dir / "grants"


def ensure_signing_key(settings: Settings) -> Path | None:
    """Write a random key for this installation (owner-only) unless GRANTS_SIGNING_KEY is set or one exists;
    returns the key file, or None when the key comes from the environment."""
    path = settings.signing_key_file
    if settings.signing_key.get_secret_value() and not path.exists():
        return None  # set in the environment (or .env)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()


def unknown_variables(names: Iterable[str]) -> list[str]:
    """A warning for each GRANTS_ name that is no setting (a mistyped one leaves the default in force, e.g. a new
    empty database in ./data), with the setting it most looks like."""
    known = {f"GRANTS_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    lines = []
    for name in sorted({n.upper() for n in names if n.upper().startswith("GRANTS_")} - known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"warning: {name} is not a setting{hint}: it is ignored")
    return lines
