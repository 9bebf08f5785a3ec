"""Limits over HTTP that officers and forged requests run into: one office address may sign in all day but not guess
passwords all day; numbers past any id (in a form or a session cookie) are refused, never a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from flows.database import configured_engine
from grants.kernel import audit
from tests.factories import project
from tests.workspace.conftest import ACCOUNTS, PASSWORD, csrf_of, sign_in


def _project_id() -> int:
    with Session(configured_engine()) as session:
        return project(session, "speech-language").id or 0


def _audit() -> list[audit.AuditRow]:
    with Session(configured_engine()) as session:
        return [e for e in audit.entries(session) if e.actor != "test"]


def test_one_address_may_sign_in_often_but_not_guess_passwords_often(client: TestClient) -> None:
    """Officers behind one office address sign in all day; 30 wrong passwords in 5 minutes stop that address."""
    for _ in range(35):
        sign_in(client, "viewer")
    for n in range(31):
        page = client.get("/login")
        wrong = client.post("/login", data={"email": f"guess{n}@example.org", "password": "not it at all",
                                            "csrf": csrf_of(page.text)})
        assert wrong.status_code == (401 if n < 30 else 429)
    page = client.get("/login")
    right = client.post("/login", data={"email": ACCOUNTS["viewer"], "password": PASSWORD,
                                        "csrf": csrf_of(page.text)})
    assert right.status_code == 429 and "Too many sign-in attempts" in right.text


@pytest.mark.parametrize(("path", "data"), [
    ("/officer/projects/{project}/due", {"period_id": str(10**22), "due": "2025-02-07"}),
    ("/officer/risks/new", {"grant_id": str(10**22), "title": "x", "likelihood": "2", "impact": "2"}),
    ("/officer/risks/new", {"grant_id": "1", "project_id": str(10**22), "title": "x", "likelihood": "2",
                            "impact": "2"}),
])
def test_a_number_past_any_id_in_a_form_is_refused_not_a_server_error(client: TestClient, path: str,
                                                                       data: dict[str, str]) -> None:
    sign_in(client, "officer")
    page = client.get("/officer/risks")
    answer = client.post(path.format(project=_project_id()), data={**data, "csrf": csrf_of(page.text)})
    assert answer.status_code == 422 and "There is a problem" in answer.text and _audit() == []


def test_a_forged_session_cookie_with_a_huge_account_number_is_no_session(client: TestClient) -> None:
    client.cookies.set("grants_session", f"{10**22}.{10**22}.forged")
    answer = client.get("/officer")
    assert (answer.status_code, answer.headers["location"].split("?")[0]) == (303, "/login")
