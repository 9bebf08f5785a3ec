"""The workspace over HTTP (the real app, a real SQLite file): sign-in and lockout, CSRF, roles checked on the
server, the optional single sign-on header, and an audit log nothing in the app can change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from flows.database import configured_engine
from flows.web.app import create_app
from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.accounts import MAX_FAILURES, set_active, set_password
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings, get_settings
from grants.programme.links import configured_link_key, current_link, token_of
from tests.factories import period, project
from tests.workspace.conftest import ACCOUNTS, AS_OF, PASSWORD, csrf_of, sign_in


def _ids() -> tuple[int, int]:
    with Session(configured_engine()) as session:
        return project(session, "speech-language").id or 0, period(session, "2024-25-Q3").id or 0


def _audit() -> list[audit.AuditRow]:
    """The entries the test's own actions wrote (the fixture's set-up is recorded by the actor 'test')."""
    with Session(configured_engine()) as session:
        return [e for e in audit.entries(session) if e.actor != "test"]


@pytest.mark.parametrize("path", ["/officer", "/officer/grants/SVD-2024-25", "/officer/projects/1",
                                  "/officer/risks", "/officer/intake", "/officer/calendar", "/officer/audit",
                                  "/officer/export/risks.csv"])
def test_every_officer_page_needs_a_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert (answer.status_code, answer.headers["location"].split("?")[0]) == (303, "/login")


def test_the_session_cookie_is_signed_httponly_and_samesite(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post("/login", data={"email": ACCOUNTS["officer"], "password": PASSWORD,
                                         "csrf": csrf_of(page.text)})
    cookie = answer.headers["set-cookie"]
    assert "grants_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/officer").status_code == 200
    value = client.cookies["grants_session"]
    client.cookies.set("grants_session", value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert client.get("/officer").status_code == 303  # a tampered cookie is no session


def test_login_locks_the_account_after_repeated_failures(client: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        page = client.get("/login")
        wrong = client.post("/login", data={"email": ACCOUNTS["officer"], "password": "not it at all",
                                            "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401 and "Email or password is not right" in wrong.text
    page = client.get("/login")
    right = client.post("/login", data={"email": ACCOUNTS["officer"], "password": PASSWORD,
                                        "csrf": csrf_of(page.text)})
    assert right.status_code == 401 and "locked" in right.text
    assert "grants_session" not in client.cookies


def test_login_without_the_forms_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"email": ACCOUNTS["officer"], "password": PASSWORD, "csrf": "forged"})
    assert answer.status_code == 403 and "grants_session" not in client.cookies
    assert "The form had expired: please sign in again" in answer.text


def test_an_action_with_a_forged_or_missing_csrf_token_is_forbidden_and_changes_nothing(client: TestClient) -> None:
    sign_in(client, "officer")
    project_id, period_id = _ids()
    for token in ({"csrf": "forged"}, {}):
        answer = client.post(f"/officer/projects/{project_id}/due",
                             data={"period_id": period_id, "due": "2025-02-07", "reason": "x", **token})
        assert answer.status_code == 403 and "reload the page and try again" in answer.text
    assert _audit() == []


def test_signing_out_with_a_forged_csrf_token_is_forbidden_and_keeps_the_session(client: TestClient) -> None:
    sign_in(client, "officer")
    answer = client.post("/logout", data={"csrf": "forged"})
    assert answer.status_code == 403 and "reload the page and try again" in answer.text
    assert client.get("/officer").status_code == 200


def test_a_viewer_sees_and_exports_but_cannot_act(client: TestClient) -> None:
    sign_in(client, "viewer")
    project_id, period_id = _ids()
    page = client.get(f"/officer/projects/{project_id}")
    assert page.status_code == 200 and "Change the due date" not in page.text and "Record payment" not in page.text
    assert client.get("/officer/export/status.xlsx").status_code == 200
    answer = client.post(f"/officer/projects/{project_id}/due", data={
        "period_id": period_id, "due": "2025-02-07", "reason": "x", "csrf": csrf_of(page.text)})
    assert answer.status_code == 403 and _audit() == []
    for path, data in [(f"/officer/projects/{project_id}/payment", {"amount": "10", "paid_on": "2025-01-20"}),
                       ("/officer/risks/1", {"owner": "me"}), ("/officer/grants/SVD-2024-25/release",
                                                                {"amount": "1", "received_on": "2025-01-20"})]:
        assert client.post(path, data={**data, "csrf": csrf_of(page.text)}).status_code == 403
    assert _audit() == []


def test_an_officer_extends_a_due_date_and_the_page_shows_it_and_its_audit_entry(client: TestClient) -> None:
    sign_in(client, "officer")
    project_id, period_id = _ids()
    before = client.get(f"/officer/projects/{project_id}")
    assert "overdue" in before.text
    answer = client.post(f"/officer/projects/{project_id}/due", data={
        "period_id": period_id, "due": "2025-02-07", "reason": "lead off sick", "csrf": csrf_of(before.text)})
    assert answer.status_code == 303
    after = client.get(answer.headers["location"])
    assert "Friday 7 February 2025" in after.text and "extended" in after.text and "lead off sick" in after.text
    [entry] = _audit()
    assert (entry.actor, entry.action, entry.after) == (ACCOUNTS["officer"], "due.extend", {"due": "2025-02-07"})


def test_a_refused_action_shows_the_problem_and_writes_nothing(client: TestClient) -> None:
    sign_in(client, "officer")
    project_id, _ = _ids()
    page = client.get(f"/officer/projects/{project_id}")
    answer = client.post(f"/officer/projects/{project_id}/payment", data={
        "amount": "-5", "paid_on": "2025-01-20", "reference": "INV 7", "csrf": csrf_of(page.text)})
    assert answer.status_code == 422 and "There is a problem" in answer.text
    assert '<a href="#payment-amount">amount must be positive' in answer.text
    assert 'id="payment-amount-error"' in answer.text and 'value="INV 7"' in answer.text
    assert _audit() == []


def _release(client: TestClient, amount: str, day: str) -> tuple[int, str]:
    page = client.get("/officer/grants/SVD-2024-25")
    answer = client.post("/officer/grants/SVD-2024-25/release", data={
        "amount": amount, "received_on": day, "note": "tranche <b>2</b>", "csrf": csrf_of(page.text)})
    return answer.status_code, answer.text


@pytest.mark.parametrize(("amount", "day", "field", "words"), [
    ("-100", "2025-01-20", "amount", "amount must be positive"),
    ("ten pounds", "2025-01-20", "amount", "amount"),
    ("999999999", "2025-01-20", "amount", "more than the"),
    ("100", "2025-02-20", "received_on", "cannot be in the future"),
    ("100", "20/01/2025", "received_on", "as a real date"),
    ("100", "", "received_on", "Enter the day received"),
    ("100", "1024-07-01", "received_on", "is over a year before SVD-2024-25 starts (1 April 2024): check the year"),
    ("1e999", "2025-01-20", "amount", "too large to be an amount of money"),
])
def test_a_refused_funds_release_shows_the_form_again_with_the_input_and_the_message_by_the_field(
        client: TestClient, amount: str, day: str, field: str, words: str) -> None:
    sign_in(client, "officer")
    status, html = _release(client, amount, day)
    assert status == 422 and "There is a problem" in html
    assert f'<a href="#release-{field}">' in html and f'id="release-{field}-error"' in html and words in html
    assert f'id="release-amount" name="amount" type="text" value="{amount}"' in html
    assert "tranche &lt;b&gt;2&lt;/b&gt;" in html  # kept, and escaped
    assert _audit() == []


def test_recording_a_funds_release_already_recorded_is_refused(client: TestClient) -> None:
    sign_in(client, "officer")  # the example recorded £125,000 received on 1 Jul 2024
    status, html = _release(client, "125000", "2024-07-01")
    assert status == 422 and "already recorded" in html and '<a href="#release-amount">' in html
    assert _audit() == []


@pytest.mark.parametrize(("path", "form", "data", "field"), [
    ("/officer/projects/{project}/due", "due-{period}", {"period_id": "{period}", "due": "2024-11-01"}, "due"),
    ("/officer/projects/{project}/due", "due-{period}", {"period_id": "{period}", "due": "soon"}, "due"),
    ("/officer/projects/{project}/hold", "hold-{period}", {"period_id": "{period}", "kind": "pause",
                                                           "until": "2025-02-01", "reason": ""}, "reason"),
    ("/officer/projects/{project}/hold", "hold-{period}", {"period_id": "{period}", "kind": "pause",
                                                           "reason": "leave"}, "until"),
    ("/officer/projects/{project}/resume", "resume-{period}", {"period_id": "{period}"}, ""),
    ("/officer/risks/new", "new-risk", {"grant_id": "1", "title": "x", "likelihood": "9", "impact": "2"},
     "likelihood"),
    ("/officer/risks/new", "new-risk", {"grant_id": "1", "title": "", "likelihood": "2", "impact": "2"}, "title"),
    # a mistyped year would move the quarter out of every calendar (and once broke the project page for good)
    ("/officer/projects/{project}/due", "due-{period}", {"period_id": "{period}", "due": "9999-12-31"}, "due"),
    # a pause that is already over, or that outlasts the grant, would silently do nothing useful
    ("/officer/projects/{project}/hold", "hold-{period}", {"period_id": "{period}", "kind": "pause",
                                                           "until": "2025-01-20", "reason": "leave"}, "until"),
    ("/officer/projects/{project}/hold", "hold-{period}", {"period_id": "{period}", "kind": "pause",
                                                           "until": "9999-12-31", "reason": "leave"}, "until"),
    # more digits than money has: a clear refusal, not a server error
    ("/officer/projects/{project}/payment", "payment", {"amount": "1e999", "paid_on": "2025-01-10"}, "amount"),
    ("/officer/projects/{project}/payment", "payment", {"amount": "99999999999999999999999",
                                                        "paid_on": "2025-01-10"}, "amount"),
    ("/officer/projects/{project}/payment", "payment", {"amount": "", "paid_on": "2025-01-10"}, "amount"),
    ("/officer/projects/{project}/payment", "payment", {"amount": "5", "paid_on": "1024-07-08"}, "paid_on"),
    # a link form that names neither revoke nor reissue does neither
    ("/officer/projects/{project}/link", "link", {"do": "delete"}, ""),
])
def test_every_action_form_refuses_bad_input_by_its_field(client: TestClient, path: str, form: str,
                                                          data: dict[str, str], field: str) -> None:
    sign_in(client, "officer")
    project_id, period_id = _ids()
    ids = {"project": project_id, "period": period_id}
    page = client.get(f"/officer/projects/{project_id}")
    values = {k: v.format(**ids) for k, v in data.items()}
    answer = client.post(path.format(**ids), data={**values, "csrf": csrf_of(page.text)})
    form_id = form.format(**ids)
    anchor = f"#{form_id}-{field}" if field else f"#{form_id}"
    assert answer.status_code == 422 and f'<a href="{anchor}">' in answer.text
    assert f'id="{anchor[1:]}' in answer.text
    assert _audit() == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_the_audit_log_cannot_be_edited_through_the_app(client: TestClient, method: str) -> None:
    sign_in(client, "admin")
    project_id, period_id = _ids()
    page = client.get(f"/officer/projects/{project_id}")
    client.post(f"/officer/projects/{project_id}/due", data={"period_id": period_id, "due": "2025-02-07",
                                                            "csrf": csrf_of(page.text)})
    [entry] = _audit()
    for path in ("/officer/audit", f"/officer/audit/{entry.id}", f"/officer/audit/{entry.id}/edit"):
        answer = client.request(method, path, data={"actor": "someone else", "csrf": csrf_of(page.text)})
        assert answer.status_code in (404, 405)
    assert _audit() == [entry]


def test_a_leads_link_never_reaches_officer_pages(client: TestClient, programme: Settings) -> None:
    with session_scope(configured_engine()) as session:
        link = current_link(session, project(session, "speech-language"), datetime(2025, 1, 20, tzinfo=UTC), 90)
        token = token_of(configured_link_key(programme), link)
    assert client.get(f"/p/{token}").status_code == 200
    assert client.get("/officer").status_code == 303
    assert client.get(f"/officer/projects/{_ids()[0]}", params={"token": token}).status_code == 303


def test_the_single_sign_on_header_is_ignored_unless_configured(client: TestClient) -> None:
    assert client.get("/officer", headers={"X-Remote-User": ACCOUNTS["officer"]}).status_code == 303


def test_the_configured_single_sign_on_header_names_the_user(programme: Settings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANTS_WEB_TRUSTED_USER_HEADER", "X-Remote-User")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings(), as_of=AS_OF), follow_redirects=False) as sso:
        assert sso.get("/officer", headers={"X-Remote-User": ACCOUNTS["viewer"]}).status_code == 200
        assert sso.get("/officer", headers={"X-Remote-User": "stranger@example.org"}).status_code == 303
        assert sso.get("/officer").status_code == 303
        page = sso.get(f"/officer/projects/{_ids()[0]}", headers={"X-Remote-User": ACCOUNTS["viewer"]})
        answer = sso.post(f"/officer/projects/{_ids()[0]}/payment", headers={"X-Remote-User": ACCOUNTS["viewer"]},
                          data={"amount": "5", "paid_on": "2025-01-20", "csrf": csrf_of(page.text)})
        assert answer.status_code == 403  # the role still decides


def test_recording_a_payment_on_the_web_writes_the_same_entry_as_the_cli(client: TestClient) -> None:
    project_id, _ = _ids()
    with session_scope(configured_engine()) as session:  # the scenario paid the whole allocation: undo that payment
        session.delete(session.exec(select(m.Payment).where(m.Payment.project_id == project_id)).one())
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    client.post(f"/officer/projects/{project_id}/payment", data={"amount": "250", "paid_on": "2025-01-20",
                                                                "reference": "PO-9", "csrf": csrf_of(page.text)})
    with Session(configured_engine()) as session:
        paid = session.exec(select(m.Payment).where(m.Payment.reference == "PO-9")).one()
    [entry] = _audit()
    assert paid.paid_on == date(2025, 1, 20)
    assert (entry.action, entry.subject, entry.after["amount"], entry.after["reference"]) == (
        "payment.record", "speech-language", "250.00", "PO-9")


def test_an_officer_reissues_a_leads_link_the_old_one_stops_and_it_is_audited(client: TestClient,
                                                                               programme: Settings) -> None:
    project_id, _ = _ids()
    with session_scope(configured_engine()) as session:
        old = token_of(configured_link_key(programme), current_link(
            session, project(session, "speech-language"), datetime(2025, 1, 20, tzinfo=UTC), 90))
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    answer = client.post(f"/officer/projects/{project_id}/link", data={"do": "reissue", "csrf": csrf_of(page.text)})
    new = answer.text.split('class="lead-url">')[1].split("<")[0].split("/p/")[1]
    assert new != old and client.get(f"/p/{old}").status_code == 404 and client.get(f"/p/{new}").status_code == 200
    assert [e.action for e in _audit()] == ["link.reissue"]


def test_resending_a_chase_message_sends_it_again_and_audits_it(client: TestClient, programme: Settings) -> None:
    from flows.cli.chase import chase
    project_id, _ = _ids()
    chase(as_of="2025-01-22", dry_run=False)  # overdue-2 for the late Q3 return goes to the outbox
    with Session(configured_engine()) as session:
        sent = session.exec(select(m.Notification).where(
            m.Notification.project_id == project_id, col(m.Notification.kind).startswith("chase-"))).one()
    before = len(list(programme.folder("outbox").glob("*.eml")))  # the lead's chaser and the officers' notices
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    answer = client.post(f"/officer/notifications/{sent.id}/resend", data={
        "project_id": project_id, "csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    with Session(configured_engine()) as session:
        again = session.exec(select(m.Notification).where(
            m.Notification.idempotency_key == f"{sent.idempotency_key}:resend:1")).one()
    assert again.status == "sent" and [e.action for e in _audit()] == ["message.resend"]
    assert len(list(programme.folder("outbox").glob("*.eml"))) == before + 1


def test_a_deactivated_accounts_session_stops_at_once_and_a_new_password_ends_old_sessions(
        client: TestClient) -> None:
    sign_in(client, "officer")
    assert client.get("/officer").status_code == 200
    with session_scope(configured_engine()) as session:
        set_active(session, ACCOUNTS["officer"], False, datetime(2025, 1, 24, tzinfo=UTC), "admin@example.org")
    assert client.get("/officer").status_code == 303
    with session_scope(configured_engine()) as session:
        set_active(session, ACCOUNTS["officer"], True, datetime(2025, 1, 24, tzinfo=UTC), "admin@example.org")
    assert client.get("/officer").status_code == 200
    with session_scope(configured_engine()) as session:
        set_password(session, ACCOUNTS["officer"], "a brand new passphrase", datetime(2025, 1, 24, tzinfo=UTC),
                     "admin@example.org")
    assert client.get("/officer").status_code == 303
    assert [e.action for e in _audit()] == ["account.password", "account.activate", "account.deactivate"]


def test_revoking_a_link_twice_says_there_was_none_the_second_time_and_audits_once(client: TestClient) -> None:
    sign_in(client, "officer")
    project_id, _ = _ids()
    with session_scope(configured_engine()) as session:
        current_link(session, project(session, "speech-language"), datetime(2025, 1, 24, tzinfo=UTC), 60)
    outcomes = []
    for _ in range(2):
        page = client.get(f"/officer/projects/{project_id}")
        answer = client.post(f"/officer/projects/{project_id}/link", data={"do": "revoke", "csrf": csrf_of(page.text)})
        assert answer.status_code == 303
        outcomes.append(client.get(answer.headers["location"]).text)
    assert "The lead&#39;s link was revoked" in outcomes[0] or "The lead's link was revoked" in outcomes[0]
    assert "no live link: nothing was revoked" in outcomes[1]
    assert [(e.action, e.before, e.after) for e in _audit()] == [("link.revoke", {"live_links": 1}, {"live_links": 0})]
