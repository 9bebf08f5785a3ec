"""The mailbox settings: the URL and the notify.yaml block merge; secrets never appear in errors or descriptions;
certificates are checked by default; the returns address; automatic mail is recognised from the headers."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from grants.kernel.errors import ConfigError
from grants.mailbox.config import MailboxError, load_mailbox_config, return_address
from grants.mailbox.imap import ssl_context
from grants.mailbox.inbound import attachments, read_heading
from grants.messaging.channels import NotifyConfig, load_notify_config
from tests.mail_support import email


def _notify(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    return path


def test_the_url_names_host_port_user_password_and_folder(tmp_path: Path) -> None:
    url = SecretStr("imaps://returns%40council.gov.uk:p%40ss@imap.example.org:993/Returns")
    config = load_mailbox_config(url, tmp_path / "none.yaml")
    assert config is not None
    assert (config.host, config.effective_port, config.username, config.folder, config.tls) == (
        "imap.example.org", 993, "returns@council.gov.uk", "Returns", "implicit")
    assert config.secret() == "p@ss"
    assert config.description == "imaps://returns@council.gov.uk@imap.example.org:993/Returns"
    assert config.returns_address == "returns@council.gov.uk"


def test_imap_urls_use_starttls_when_offered_on_port_143(tmp_path: Path) -> None:
    config = load_mailbox_config(SecretStr("imap://u:p@mail.example.org/"), tmp_path / "none.yaml")
    assert config is not None and (config.tls, config.effective_port, config.folder) == ("auto", 143, "INBOX")


def test_the_notify_block_adds_folders_and_the_url_wins_for_what_it_names(tmp_path: Path) -> None:
    path = _notify(tmp_path, "mailbox:\n  host: old.example.org\n  username: x\n  password: old\n"
                             "  processed_folder: Grants/Done\n  set_aside_folder: Grants/Aside\n"
                             "  address: returns@council.gov.uk\n")
    config = load_mailbox_config(SecretStr("imaps://u:new@imap.example.org/INBOX"), path)
    assert config is not None
    assert (config.host, config.secret(), config.processed_folder, config.set_aside_folder) == (
        "imap.example.org", "new", "Grants/Done", "Grants/Aside")
    assert load_notify_config(path).mailbox is not None  # notify.yaml itself accepts the block


def test_no_url_and_no_block_means_no_mailbox(tmp_path: Path) -> None:
    assert load_mailbox_config(None, tmp_path / "none.yaml") is None


def test_errors_name_the_setting_never_the_secret(tmp_path: Path) -> None:
    path = _notify(tmp_path, "mailbox:\n  host: h\n  username: u\n  password: Sup3rSecret\n  tls: sometimes\n")
    with pytest.raises(ConfigError) as caught:
        load_mailbox_config(None, path)
    assert caught.value.problems == [f"{path}: line 5, column 8: mailbox: tls: literal_error"]
    assert "Sup3rSecret" not in str(caught.value)
    with pytest.raises(ConfigError, match="not ftp://"):
        load_mailbox_config(SecretStr("ftp://u:Sup3rSecret@h/"), tmp_path / "none.yaml")


def test_a_password_or_a_token_command_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="password or an oauth2_token_command"):
        load_mailbox_config(None, _notify(tmp_path, "mailbox:\n  host: h\n  username: u\n"))


def test_the_oauth2_token_comes_from_the_configured_command(tmp_path: Path) -> None:
    path = _notify(tmp_path, f"mailbox:\n  host: outlook.office365.com\n  username: returns@council.gov.uk\n"
                             f"  oauth2_token_command: ['{sys.executable}', '-c', 'print(\"eyJ0-token\")']\n")
    config = load_mailbox_config(None, path)
    assert config is not None and config.secret() == "eyJ0-token" and "eyJ0" not in repr(config)


def test_a_failing_token_command_is_one_line_without_its_output(tmp_path: Path) -> None:
    path = _notify(tmp_path, f"mailbox:\n  host: h\n  username: u\n  oauth2_token_command: "
                             f"['{sys.executable}', '-c', 'import sys; print(\"leaked\"); sys.exit(3)']\n")
    config = load_mailbox_config(None, path)
    assert config is not None
    with pytest.raises(MailboxError, match=r"exit 3") as caught:
        config.secret()
    assert "leaked" not in str(caught.value)


def test_certificates_are_verified_unless_turned_off(tmp_path: Path) -> None:
    config = load_mailbox_config(SecretStr("imaps://u:p@imap.example.org/"), tmp_path / "none.yaml")
    assert config is not None
    assert ssl_context(config).verify_mode == ssl.CERT_REQUIRED and ssl_context(config).check_hostname
    off = config.model_copy(update={"verify_certificate": False})
    assert ssl_context(off).verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(("notify", "mailbox_address", "expected"), [
    (NotifyConfig(), None, ""),  # the embedded default: grants@localhost receives nothing, so no address at all
    (NotifyConfig(), "returns@council.gov.uk", "returns@council.gov.uk"),
    (NotifyConfig(return_to="grants@council.gov.uk"), "returns@council.gov.uk", "grants@council.gov.uk"),
    (NotifyConfig(sender="grants@council.gov.uk"), None, "grants@council.gov.uk"),
])
def test_the_returns_address(tmp_path: Path, notify: NotifyConfig, mailbox_address: str | None, expected: str
                             ) -> None:
    mailbox = None
    if mailbox_address:
        mailbox = load_mailbox_config(SecretStr(f"imaps://{mailbox_address.replace('@', '%40')}:p@h/"),
                                      tmp_path / "none.yaml")
    assert return_address(notify, mailbox) == expected


def test_headers_give_the_sender_ids_and_thread_and_ignore_malformed_ids() -> None:
    mail = email(headers={"References": "<a@x.org> junk <b@y.org>\r\n", "In-Reply-To": "<b@y.org>"})
    heading = read_heading(bytes(mail))
    assert heading.sender == "active.bystander@example.org" and heading.automatic == ""
    assert heading.references == ("<a@x.org>", "<b@y.org>") and heading.message_id == mail["Message-ID"]
    bad = read_heading(b"From: a@b.org\r\nMessage-ID: <evil>\r\nX: 1\r\n\r\n")
    assert bad.message_id == ""


def test_attachment_names_cannot_escape_the_staging_folder() -> None:
    mail = email(attachments=[("../../etc/passwd.xlsx", b"x"), ("..\\..\\boot.ini.csv", b"y")])
    assert [a.filename for a in attachments(bytes(mail))] == ["passwd.xlsx", "boot.ini.csv"]


def test_encoded_attachment_names_are_decoded() -> None:
    mail = email(attachments=[("Rückmeldung Q2.xlsx", b"x")])
    assert [a.filename for a in attachments(bytes(mail))] == ["Rückmeldung Q2.xlsx"]
