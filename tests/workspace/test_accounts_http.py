"""Accounts in the web app over HTTP (the real app, a real SQLite file): 'Your account' changes your own password
(wrong current password refused by its field and counted towards the lockout; your other sessions end, this one
carries on), and the administrators' Accounts page (only administrators, CSRF on every form, the CLI's audit entries,
never leaving no active administrator, a deactivated account's session stopping at once, text escaped)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import make_url
from sqlmodel import Session

from flows.database import configured_engine
from flows.web.app import create_app
from grants.kernel import audit
from grants.kernel.accounts import MAX_FAILURES, add_account, find_account
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings, get_settings
from tests import db_templates
from tests.workspace.conftest import ACCOUNTS, AS_OF, PASSWORD, csrf_of, sign_in

NEW = "a much better passphrase"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The app over an empty programme with an account of each role (no grants: these pages need none)."""
    path = Path(make_url(settings.db_url).database or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    db_templates.sqlite_with_schema(path)
    with session_scope(configured_engine()) as session:
        for role, email in ACCOUNTS.items():
            add_account(session, email, role, PASSWORD, datetime(2025, 1, 1, tzinfo=UTC), "test")
    return create_app(settings, as_of=AS_OF)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def other(app: FastAPI) -> Iterator[TestClient]:
    """A second browser (its own cookies) on the same app."""
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def _audit() -> list[audit.AuditRow]:
    """The entries the test's own actions wrote (the fixture's are by 'test')."""
    with Session(configured_engine()) as session:
        return [e for e in audit.entries(session) if e.actor != "test"]


def _id(email: str) -> int:
    with Session(configured_engine()) as session:
        return find_account(session, email).id or 0


def _post(client: TestClient, path: str, data: dict[str, str], page: str = "/officer/account") -> Response:
    """POST a form with the CSRF token of the page it is on."""
    return client.post(path, data={**data, "csrf": csrf_of(client.get(page).text)})


def _change(client: TestClient, current: str, new: str = NEW, confirm: str | None = None) -> Response:
    return _post(client, "/officer/account/password", {"current_password": current, "password": new,
                                                        "confirm_password": new if confirm is None else confirm})


@pytest.mark.parametrize("path", ["/officer/account", "/officer/accounts"])
def test_the_account_pages_need_a_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/login?next={path}")


@pytest.mark.parametrize("role", ["viewer", "officer", "admin"])
def test_everyone_has_their_account_page_and_only_admins_see_the_accounts_link(client: TestClient, role: str) -> None:
    sign_in(client, role)
    page = client.get("/officer")
    assert page.status_code == 200 and 'href="/officer/account"' in page.text
    assert ('href="/officer/accounts"' in page.text) == (role == "admin")
    mine = client.get("/officer/account")
    assert mine.status_code == 200 and ACCOUNTS[role] in mine.text and 'name="current_password"' in mine.text


@pytest.mark.parametrize("role", ["viewer", "officer"])
def test_viewers_and_officers_are_refused_the_accounts_page_and_every_account_action(client: TestClient,
                                                                                   role: str) -> None:
    sign_in(client, role)
    assert client.get("/officer/accounts").status_code == 403
    target = _id(ACCOUNTS["viewer"])
    csrf = csrf_of(client.get("/officer/account").text)
    for path, data in [("/officer/accounts", {"email": "new@example.org", "role": "admin"}),
                       (f"/officer/accounts/{target}/role", {"role": "admin"}),
                       (f"/officer/accounts/{target}/active", {"do": "deactivate"}),
                       (f"/officer/accounts/{target}/password", {"password": "a temporary password"}),
                       (f"/officer/accounts/{target}/unlock", {})]:
        assert client.post(path, data={**data, "csrf": csrf}).status_code == 403, path
    assert _audit() == []


def test_account_forms_without_the_csrf_token_are_forbidden_and_change_nothing(client: TestClient) -> None:
    sign_in(client, "admin")
    target = _id(ACCOUNTS["viewer"])
    for path, data in [("/officer/accounts", {"email": "new@example.org", "role": "admin"}),
                       (f"/officer/accounts/{target}/role", {"role": "admin"}),
                       (f"/officer/accounts/{target}/active", {"do": "deactivate"}),
                       (f"/officer/accounts/{target}/password", {"password": "a temporary password"}),
                       ("/officer/account/password", {"current_password": PASSWORD, "password": NEW,
                                                      "confirm_password": NEW})]:
        answer = client.post(path, data={**data, "csrf": "forged"})
        assert answer.status_code == 403 and "reload the page and try again" in answer.text, path
    assert _audit() == []


def test_changing_your_password_ends_your_other_sessions_but_not_this_one(client: TestClient,
                                                                          other: TestClient) -> None:
    sign_in(client, "officer")
    sign_in(other, "officer")
    answer = _change(client, PASSWORD)
    assert (answer.status_code, answer.headers["location"]) == (303, "/officer/account?done=password")
    assert "grants_session=" in answer.headers["set-cookie"]
    assert "password has been changed" in client.get(answer.headers["location"]).text
    assert client.get("/officer").status_code == 200
    assert other.get("/officer").status_code == 303
    [entry] = _audit()
    assert (entry.actor, entry.action, entry.subject, entry.after) == (
        ACCOUNTS["officer"], "account.password", ACCOUNTS["officer"], {"password": "changed"})
    assert NEW not in json.dumps(entry.__dict__, default=str)


def test_a_wrong_current_password_is_refused_by_its_field_and_counts_towards_the_lockout(
        client: TestClient, other: TestClient) -> None:
    sign_in(client, "viewer")
    answer = _change(client, "not my password")
    assert answer.status_code == 422 and '<a href="#password-current_password">' in answer.text
    assert 'id="password-current_password-error"' in answer.text and "current password is not right" in answer.text
    assert 'value="not my password"' not in answer.text and f'value="{NEW}"' not in answer.text
    for _ in range(MAX_FAILURES - 1):
        _change(client, "not my password")
    page = other.get("/login")
    locked = other.post("/login", data={"email": ACCOUNTS["viewer"], "password": PASSWORD,
                                        "csrf": csrf_of(page.text)})
    assert locked.status_code == 401 and "locked" in locked.text
    assert _change(client, PASSWORD).status_code == 422  # not even with the right one while locked
    assert _audit() == []


@pytest.mark.parametrize(("new", "confirm", "field", "words"), [
    ("short", "short", "password", "at least 12 characters"),
    (NEW, "something else entirely", "confirm_password", "not the same"),
    (PASSWORD, PASSWORD, "password", "different from the current one"),
])
def test_a_new_password_follows_the_clis_rules_and_must_be_confirmed(client: TestClient, new: str, confirm: str,
                                                                     field: str, words: str) -> None:
    sign_in(client, "officer")
    answer = _change(client, PASSWORD, new, confirm)
    assert answer.status_code == 422 and f'<a href="#password-{field}">' in answer.text and words in answer.text
    assert client.get("/officer").status_code == 200 and _audit() == []


def test_an_admin_adds_an_account_whose_temporary_password_must_be_changed_at_first_sign_in(
        client: TestClient, other: TestClient) -> None:
    sign_in(client, "admin")
    made = _post(client, "/officer/accounts", {"email": "Kit.Pascoe@Example.org", "role": "officer"},
                 "/officer/accounts")
    assert made.status_code == 200 and "shown only once" in made.text
    temporary = made.text.split('class="temporary-password">')[1].split("<")[0]
    [entry] = _audit()
    assert (entry.actor, entry.action, entry.subject, entry.after) == (
        ACCOUNTS["admin"], "account.add", "kit.pascoe@example.org",
        {"email": "kit.pascoe@example.org", "role": "officer", "must_change_password": True})
    page = other.get("/login")
    signed = other.post("/login", data={"email": "kit.pascoe@example.org", "password": temporary,
                                        "csrf": csrf_of(page.text)})
    assert (signed.status_code, signed.headers["location"]) == (303, "/officer/account")
    assert other.get("/officer").headers["location"] == "/officer/account"  # nothing else until it is changed
    assert "Choose your own password" in other.get("/officer/account").text
    action = _post(other, "/officer/calendar/link", {})
    assert (action.status_code, action.headers["location"]) == (303, "/officer/account")
    assert _change(other, temporary).status_code == 303
    assert other.get("/officer").status_code == 200
    listing = client.get("/officer/accounts").text
    assert "kit.pascoe@example.org" in listing and '<span class="hint">temporary password</span>' not in listing


def test_the_last_active_admin_cannot_deactivate_or_demote_themselves(client: TestClient) -> None:
    sign_in(client, "admin")
    me = _id(ACCOUNTS["admin"])
    for path, data in [(f"/officer/accounts/{me}/active", {"do": "deactivate"}),
                       (f"/officer/accounts/{me}/role", {"role": "officer"})]:
        answer = _post(client, path, data, "/officer/accounts")
        assert answer.status_code == 422 and "last active administrator" in answer.text
    assert _audit() == []
    assert _post(client, f"/officer/accounts/{_id(ACCOUNTS['officer'])}/role", {"role": "admin"},
                 "/officer/accounts").status_code == 303
    demoted = _post(client, f"/officer/accounts/{me}/role", {"role": "viewer"}, "/officer/accounts")
    assert demoted.headers["location"] == "/officer/account?done=account-role"
    assert client.get("/officer/accounts").status_code == 403  # the new role applies at once
    assert [(e.action, e.subject, e.before, e.after) for e in _audit()] == [
        ("account.role", ACCOUNTS["admin"], {"role": "admin"}, {"role": "viewer"}),
        ("account.role", ACCOUNTS["officer"], {"role": "officer"}, {"role": "admin"})]


def test_deactivating_an_account_stops_its_session_at_once_with_the_clis_audit_entry(client: TestClient,
                                                                                     other: TestClient) -> None:
    sign_in(other, "officer")
    sign_in(client, "admin")
    target = _id(ACCOUNTS["officer"])
    answer = _post(client, f"/officer/accounts/{target}/active", {"do": "deactivate"}, "/officer/accounts")
    assert answer.headers["location"] == "/officer/accounts?done=account-deactivated"
    assert other.get("/officer").status_code == 303
    assert "Deactivated" in client.get("/officer/accounts").text
    _post(client, f"/officer/accounts/{target}/active", {"do": "reactivate"}, "/officer/accounts")
    assert [(e.actor, e.action, e.before, e.after) for e in _audit()] == [
        (ACCOUNTS["admin"], "account.activate", {"active": False}, {"active": True}),
        (ACCOUNTS["admin"], "account.deactivate", {"active": True}, {"active": False})]


def test_an_admin_unlocks_a_locked_account_and_resets_a_password(client: TestClient, other: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        page = other.get("/login")
        other.post("/login", data={"email": ACCOUNTS["viewer"], "password": "wrong", "csrf": csrf_of(page.text)})
    sign_in(client, "admin")
    target = _id(ACCOUNTS["viewer"])
    assert "Locked until" in client.get("/officer/accounts").text
    assert _post(client, f"/officer/accounts/{target}/unlock", {}, "/officer/accounts").status_code == 303
    sign_in(other, "viewer")
    reset = _post(client, f"/officer/accounts/{target}/password", {"password": "a temporary password"},
                  "/officer/accounts")
    assert reset.status_code == 200 and "a temporary password" not in reset.text  # typed by the admin: not echoed
    assert other.get("/officer").status_code == 303  # the reset ended the viewer's session
    assert [(e.action, e.after) for e in _audit()] == [
        ("account.password", {"password": "changed", "must_change_password": True}),
        ("account.unlock", {"failed_logins": 0, "locked_until": None})]


def test_emails_and_typed_text_are_escaped_on_the_accounts_page(client: TestClient) -> None:
    sign_in(client, "admin")
    assert _post(client, "/officer/accounts", {"email": "o'neil&co@example.org", "role": "viewer",
                                               "password": "a temporary password"},
                 "/officer/accounts").status_code == 200
    listing = client.get("/officer/accounts").text
    assert "o&#39;neil&amp;co@example.org" in listing and "o'neil&co@" not in listing
    refused = _post(client, "/officer/accounts", {"email": "<b>boss</b>", "role": "viewer"}, "/officer/accounts")
    assert refused.status_code == 422 and '<a href="#add-account-email">' in refused.text
    assert 'value="&lt;b&gt;boss&lt;/b&gt;"' in refused.text and "<b>boss</b>" not in refused.text


def test_under_single_sign_on_the_password_change_is_not_offered(app: FastAPI, settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANTS_WEB_TRUSTED_USER_HEADER", "X-Remote-User")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings(), as_of=AS_OF), follow_redirects=False) as sso:
        who = {"X-Remote-User": ACCOUNTS["officer"]}
        page = sso.get("/officer/account", headers=who)
        assert page.status_code == 200 and "single sign-on" in page.text and "current_password" not in page.text
        answer = sso.post("/officer/account/password", headers=who, data={
            "current_password": PASSWORD, "password": NEW, "confirm_password": NEW, "csrf": csrf_of(page.text)})
        assert answer.status_code == 400 and _audit() == []
