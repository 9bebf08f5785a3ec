"""Channels for real: emails with attachments through Apprise to an SMTP server on 127.0.0.1, a JSON webhook on
127.0.0.1 chosen by tags, the notify config, and secrets kept out of logs and the database."""

from __future__ import annotations

import email
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.errors import ConfigError
from grants.messaging.channels import (
    AppriseChannel,
    NotifyConfig,
    OutboxChannel,
    build_sender,
    load_notify_config,
    to_email,
)
from grants.messaging.chase_run import run_chase
from grants.messaging.notify import Address, Outgoing, Sender
from tests.factories import load_example
from tests.notify_support import Inbox, attachment_names, free_port, json_webhook, smtp_server, xlsx_pack_builder

__all__ = ["smtp_server"]
NOW = datetime(2025, 1, 2, 9, tzinfo=UTC)


def _message(tmp_path: Path, key: str = "test:1", tags: frozenset[str] = frozenset({"officers"})) -> Outgoing:
    workbook = tmp_path / "return.xlsx"
    workbook.write_bytes(b"PK\x03\x04 not really a workbook")
    return Outgoing(key=key, kind="test", subject="Quarterly return", text="Plain body", html="<p>HTML body</p>",
                    to=(Address("Lead", "lead@example.org"),), cc=(Address("Officer", "officer@example.org"),),
                    tags=tags, attachments=(workbook,), created=NOW)


def test_smtp_server_receives_the_email_with_cc_and_attachment(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp_server
    channel = AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org")
    assert Sender([channel]).deliver(_message(tmp_path)).ok
    assert len(inbox.received) == 1
    rcpts, mail = inbox.received[0]
    assert sorted(rcpts) == ["lead@example.org", "officer@example.org"]
    assert mail["Subject"] == "Quarterly return" and "officer@example.org" in mail["Cc"]
    assert attachment_names(mail) == ["return.xlsx"]
    assert next(mail.iter_attachments()).get_payload(decode=True) == (tmp_path / "return.xlsx").read_bytes()


def test_chase_run_emails_every_pack_with_its_workbook(
    engine: Engine, smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp_server
    load_example(engine)
    config = NotifyConfig.model_validate({"email": f"mailto://127.0.0.1:{port}?from=grants@example.org",
                                          "retry_delay_seconds": 0})
    sender = build_sender(config, tmp_path / "outbox")
    with Session(engine) as session:
        outcomes = run_chase(session, date(2025, 1, 2), NOW, sender, xlsx_pack_builder, tmp_path / "packs",
                             return_to="returns@example.org")
    assert [o.status for o in outcomes] == ["sent"] * 8
    assert len(inbox.received) == 8 and len(list((tmp_path / "outbox").glob("*.eml"))) == 8
    for rcpts, mail in inbox.received:
        code = attachment_names(mail)[0].removesuffix("-2024-25-Q3-return.xlsx")
        assert rcpts == [f"{code.replace('-', '.')}@example.org"]


@pytest.fixture
def webhook() -> Iterator[tuple[int, list[dict[str, object]]]]:
    """A JSON webhook on a free loopback port (stands where a Teams or Slack webhook would be)."""
    with json_webhook() as served:
        yield served


def test_tagged_channel_gets_only_messages_carrying_its_tags(
    webhook: tuple[int, list[dict[str, object]]], tmp_path: Path
) -> None:
    port, received = webhook
    config = NotifyConfig.model_validate({"outbox": False, "channels": [
        {"url": f"json://127.0.0.1:{port}/hook", "tags": ["officers"]}]})
    sender = build_sender(config, tmp_path)
    assert sender.deliver(_message(tmp_path, "officers:1", frozenset({"officers"}))).ok
    assert sender.deliver(_message(tmp_path, "lead:1", frozenset({"lead-purple-flag"}))).ok
    assert [r["title"] for r in received] == ["Quarterly return"]
    assert received[0]["message"] == "Plain body"


def test_secrets_never_reach_the_log_or_the_database(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channel = AppriseChannel(f"mailto://user:s3cretpw@127.0.0.1:{free_port()}?from=grants@example.org")
    assert "s3cretpw" not in channel.description and "s3cretpw" not in repr(vars(channel))
    from grants.messaging.notify import send_once

    caplog.set_level(logging.DEBUG)
    with Session(engine) as session:
        status = send_once(session, _message(tmp_path), Sender([channel], attempts=2), date(2025, 1, 2), NOW)
        row = session.exec(select(m.Notification)).one()
    assert status == "failed" and row.attempts == 2 and "127.0.0.1" in row.error
    assert "s3cretpw" not in row.error and "s3cretpw" not in caplog.text


def test_teams_and_slack_urls_are_described_without_their_tokens() -> None:
    teams = AppriseChannel("workflow://prod-14.westus.logic.azure.com:443/d9bd0ab2f8ab4b2a/sigABCDEFsecret123")
    slack = AppriseChannel("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#grants")
    assert "sigABCDEFsecret123" not in teams.description and "TIiajkdnlazkcOXrIdevi7FQ" not in slack.description


def test_an_unparseable_url_is_refused_without_echoing_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError) as info:
        AppriseChannel("msteams://team/TokenSecretAAAA/TokenSecretBBBB/")
    assert "TokenSecret" not in str(info.value) and "TokenSecret" not in caplog.text


def test_missing_notify_config_means_outbox_only(tmp_path: Path) -> None:
    sender = build_sender(load_notify_config(tmp_path / "notify.yaml"), tmp_path / "outbox")
    assert sender.descriptions == [f"outbox {tmp_path / 'outbox'}"]


def test_notify_config_errors_name_the_field_not_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("email: mailtos://user:s3cretpw@smtp.example.org\nchanels: []\n")
    with pytest.raises(ConfigError) as info:
        load_notify_config(path)
    assert "chanels" in str(info.value) and "s3cretpw" not in str(info.value)


def test_notify_config_problems_say_what_to_do_and_where(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("email: mailtos://user:s3cretpw@smtp.example.org\nchanels: []\n")
    with pytest.raises(ConfigError) as info:
        load_notify_config(path)
    assert info.value.problems == [f"{path}: line 2, column 1: chanels: unknown setting (check the spelling; see "
                                   "config/notify.example.yaml)"]
    path.write_text("email: mailtos://user:s3cretpw@smtp.example.org\nchannels: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_notify_config(path)
    [problem] = info.value.problems
    assert str(problem).startswith(f"{path}: line 3, column 1: not valid YAML: ") and "s3cretpw" not in str(problem)


def test_a_notify_setting_of_the_wrong_type_names_its_line_and_column_never_the_value(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("email: mailtos://user:s3cretpw@smtp.example.org\nchannels:\n  - tags: [officers]\n"
                    "    url: [json://hook.example.org/s3cret]\nattempts: -1\n")
    with pytest.raises(ConfigError) as info:
        load_notify_config(path)
    assert info.value.problems == [f"{path}: line 4, column 10: channels.0.url: string_type",
                                   f"{path}: line 5, column 11: attempts: greater_than_equal"]


def test_the_shipped_example_notify_config_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "notify.example.yaml"
    config = load_notify_config(example)
    assert config.outbox and config.return_to == "returns@example.org" and config.email is None
    assert build_sender(config, tmp_path).descriptions == [f"outbox {tmp_path}"]


def test_smtp_email_to_a_lead_carries_reply_to_and_threads_to_what_it_answers(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp_server
    channel = AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org", reply_to="returns@example.org")
    message = replace(_message(tmp_path, tags=frozenset({"lead-purple-flag"})),
                      in_reply_to="<reply-1@lead.example.org>", references=("<pack-1@grants.local>",))
    assert Sender([channel]).deliver(message).ok
    [(_, mail)] = inbox.received
    assert mail["Reply-To"] == "returns@example.org" and mail["In-Reply-To"] == "<reply-1@lead.example.org>"
    assert mail["References"].split() == ["<pack-1@grants.local>", "<reply-1@lead.example.org>"]


def test_messages_to_officers_carry_no_reply_to_the_returns_address(tmp_path: Path) -> None:
    mail = to_email(_message(tmp_path, tags=frozenset({"officers"})), reply_to="returns@example.org")
    assert mail["Reply-To"] is None and mail["In-Reply-To"] is None


def test_an_email_over_smtp_carries_the_engines_own_plain_text_part_and_headers_as_the_outbox_copy_has_them(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    # The plain-text part is the message's text template (indented details, its own sign-off), not a conversion of
    # the HTML by the mail library: what a lead or officer reads in a plain-text client is what the copy kept says.
    port, inbox = smtp_server
    channel = AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org&name=Grant%20monitoring")
    message = replace(_message(tmp_path), text="Dear Kit,\n\n  - Purple Flag: overdue\n      Lead: Morgan Hale\n",
                      html="<p>Dear Kit,</p><ul><li>Purple Flag: overdue<ul><li>Lead: Morgan Hale</li></ul></li></ul>")
    assert Sender([channel]).deliver(message).ok
    [(rcpts, mail)] = inbox.received
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n") == message.text
    assert html is not None and html.get_content().strip() == message.html
    assert mail["From"] == "Grant monitoring <grants@example.org>" and mail["X-Grants-Key"] == "test:1"
    assert attachment_names(mail) == ["return.xlsx"]
    assert sorted(rcpts) == ["lead@example.org", "officer@example.org"]


def test_an_email_to_two_people_with_a_reply_to_reaches_both_once_in_one_message(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    # The receipt for a return sent by someone not on record goes to the sender and to the lead on record, with the
    # officer copied in and Reply-To the returns address: one email reaching all three, addressed as the message
    # copy is (both in To), not a failure and not one copy per To address.
    port, inbox = smtp_server
    channel = AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org", reply_to="returns@example.org")
    message = replace(_message(tmp_path, tags=frozenset({"lead-purple-flag"})),
                      to=(Address("", "sender@elsewhere.org"), Address("Lead", "lead@example.org")))
    assert Sender([channel]).deliver(message).ok
    [(rcpts, mail)] = inbox.received
    assert sorted(rcpts) == ["lead@example.org", "officer@example.org", "sender@elsewhere.org"]
    assert mail["To"] == "sender@elsewhere.org, Lead <lead@example.org>" and mail["Reply-To"] == "returns@example.org"
    assert "officer@example.org" in mail["Cc"]


def test_every_email_we_send_says_it_is_automatic_so_auto_responders_and_our_own_mailbox_skip_it(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp_server
    channel = AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org", reply_to="returns@example.org")
    answer = replace(_message(tmp_path, "test:2", frozenset({"lead-purple-flag"})), in_reply_to="<r@lead.example.org>")
    assert Sender([channel]).deliver(_message(tmp_path)).ok and Sender([channel]).deliver(answer).ok
    assert [mail["Auto-Submitted"] for _, mail in inbox.received] == ["auto-generated", "auto-replied"]


PEOPLE = (Address("Seán O'Callaghan", "sean@northshire.example.org"),
          Address("Mererānui Te Whare", "vru.manager@northshire.example.org"),
          Address("Smith, Jo (VRU)", "jo.smith@northshire.example.org"),
          Address("Zoë Ōkafor-Brown", "zoe@northshire.example.org"))


def test_every_person_an_email_names_is_read_back_with_their_own_name_and_address(
    smtp_server: tuple[int, Inbox], tmp_path: Path
) -> None:
    # Accents beside an apostrophe made the standard library fold the comma between two people into an encoded word
    # (one reader saw three people as two), and a name with a comma was read as two addresses.
    port, inbox = smtp_server
    message = replace(_message(tmp_path), to=PEOPLE[:3], cc=PEOPLE[3:])
    outbox = OutboxChannel(tmp_path / "outbox")
    sender = Sender([outbox, AppriseChannel(f"mailto://127.0.0.1:{port}?from=grants@example.org")])
    assert sender.deliver(message).ok
    [(rcpts, over_smtp)] = inbox.received
    assert sorted(rcpts) == sorted(p.email for p in PEOPLE)
    [written] = (tmp_path / "outbox").iterdir()
    from_outbox = email.message_from_bytes(written.read_bytes(), policy=default)
    for mail in (over_smtp, from_outbox):
        named = [(a.display_name, a.addr_spec) for h in ("To", "Cc") for a in mail[h].addresses]
        assert named == [(p.name, p.email) for p in PEOPLE]
