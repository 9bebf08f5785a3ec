"""The iCalendar feed (parsed back with icalendar) matches the chase ladder for a quarter; the secret URL is the only
way in; exports neutralise formulas in CSV and xlsx; accounts hash passwords and lock after failures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import icalendar
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from flows.database import configured_engine
from grants.kernel import models as m
from grants.kernel.accounts import LOCKOUT, MAX_FAILURES, add_account, sign_in
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError
from grants.messaging.chase_plan import calendar_of, ladder_of
from grants.monitoring.risks import update_risk
from grants.programme.overrides import extend_due
from grants.reporting.calendar import calendar_items, to_ical
from grants.reporting.exports import Table, export_table, to_csv, to_xlsx
from tests.factories import load_example, period, project
from tests.workspace.conftest import csrf_of
from tests.workspace.conftest import sign_in as web_sign_in

NOW = datetime(2025, 1, 2, 9, tzinfo=UTC)


def _events(data: bytes, code_name: str, label: str) -> dict[str, date]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["summary"]).split(":")[0]: e.decoded("dtstart") for e in cal.walk("VEVENT")
            if code_name in str(e["summary"]) and f"({label})" in str(e["summary"])}


def _expected(session: Session, code: str, label: str) -> dict[str, date]:
    proj, per = project(session, code), period(session, label)
    grant = session.get(m.Grant, proj.grant_id)
    assert grant is not None
    due = {(o.project_id, o.period_id): o.due for o in session.exec(select(m.DueDateOverride))}.get(
        (proj.id, per.id), per.due)
    steps = ladder_of(grant).steps(per.end, due, calendar_of(grant))
    return {"Return due": due} | {f"Chase {s.name}": s.day for s in steps}


def test_the_ical_feed_matches_the_chase_ladder_for_a_quarter_and_follows_an_extension(engine: Engine) -> None:
    load_example(engine)
    with Session(engine) as session:
        name = project(session, "active-bystander").name
        assert _events(to_ical(calendar_items(session), NOW), name, "2024-25-Q3") == _expected(
            session, "active-bystander", "2024-25-Q3")
    with session_scope(engine) as session:
        extend_due(session, project(session, "active-bystander").id or 0, period(session, "2024-25-Q3").id or 0,
                   date(2025, 1, 29), "", actor="kit@example.org", now=NOW)
    with Session(engine) as session:
        events = _events(to_ical(calendar_items(session), NOW), name, "2024-25-Q3")
        assert events == _expected(session, "active-bystander", "2024-25-Q3")
    assert events["Return due"] == date(2025, 1, 29) and events["Chase escalation"] == date(2025, 2, 12)


def test_the_subscription_url_serves_the_feed_and_nothing_without_the_secret(client: TestClient) -> None:
    web_sign_in(client, "viewer")
    page = client.get("/officer/calendar")
    made = client.post("/officer/calendar/link", data={"csrf": csrf_of(page.text)})
    feed = made.text.split('class="feed-url">')[1].split("<")[0]
    path = feed.split("127.0.0.1:8000")[1]
    client.cookies.clear()
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    with Session(configured_engine()) as session:
        assert _events(answer.content, project(session, "purple-flag").name, "2024-25-Q4") == _expected(
            session, "purple-flag", "2024-25-Q4")
    assert client.get(path.replace(".ics", "x.ics")).status_code == 404
    assert client.get("/calendar/.ics").status_code == 404


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)"])
def test_exports_write_formula_like_text_as_text(engine: Engine, text: str) -> None:
    load_example(engine)
    from grants.monitoring.assessment import run_checks
    with session_scope(engine) as session:
        run_checks(session, date(2024, 6, 15))
        risk = session.exec(select(m.Risk)).first()
        assert risk is not None
        update_risk(session, risk.id or 0, notes=text, owner="Kit", actor="kit@example.org", now=NOW)
    with Session(engine) as session:
        table = export_table(session, "risks", date(2024, 6, 15))
    rows = list(csv.reader(io.StringIO(to_csv(table), newline="")))
    notes = rows[0].index("notes")
    assert [r[notes] for r in rows[1:] if r[notes]] == ["'" + text]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    cells = [c for c in sheet.iter_rows(min_row=2) if c[notes].value]
    assert [(c[notes].value, c[notes].data_type) for c in cells] == [(text, "s")]


@pytest.mark.parametrize("text", ["\t=1+1", "\r=1+1", "=1+1", "-1"])
def test_a_cell_starting_with_tab_or_cr_is_neutralised_too(text: str) -> None:
    table = Table("t", ("a", "n"), [(text, Decimal("-1.50"))])
    assert list(csv.reader(io.StringIO(to_csv(table), newline="")))[1] == ["'" + text, "-1.50"]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    # a text cell (XML turns a lone CR into LF on reading back; the rest is exactly as typed)
    assert (sheet["A2"].value[1:], sheet["A2"].data_type, sheet["B2"].value) == (text[1:], "s", -1.5)


def test_every_export_has_rows_and_money_is_a_number(engine: Engine) -> None:
    load_example(engine)
    from tests.scenario import release_and_pay
    release_and_pay(engine)
    with Session(engine) as session:
        tables = {name: export_table(session, name, date(2024, 12, 31))
                  for name in ("status", "risks", "returns", "payments", "audit")}
    assert len(tables["payments"].rows) == 9 and len(tables["audit"].rows) == 9
    assert len(tables["status"].rows) == 8 * 4
    sheet = load_workbook(io.BytesIO(to_xlsx(tables["payments"]))).active
    assert isinstance(sheet["D2"].value, int | float) and sheet["D2"].value == 125000


def test_passwords_are_argon2_hashes_and_the_account_locks_after_failures(engine: Engine) -> None:
    with session_scope(engine) as session:
        account = add_account(session, "Kit@Example.org", "officer", "a long enough secret", NOW, "test")
        assert account.email == "kit@example.org" and account.password_hash.startswith("$argon2id$")
        for _ in range(MAX_FAILURES):
            assert sign_in(session, "kit@example.org", "wrong", NOW).account is None
        assert "locked" in sign_in(session, "kit@example.org", "a long enough secret", NOW).error
        later = NOW + LOCKOUT + timedelta(seconds=1)
        assert sign_in(session, "kit@example.org", "a long enough secret", later).account is not None


@pytest.mark.parametrize(("email", "role", "password", "message"), [
    ("kit@example.org", "boss", "a long enough secret", "role must be one of viewer, officer, admin"),
    ("kit@example.org", "viewer", "short", "at least 12 characters"),
    ("not an address", "viewer", "a long enough secret", "is not an email address"),
])
def test_an_account_that_makes_no_sense_is_refused(engine: Engine, email: str, role: str, password: str,
                                                   message: str) -> None:
    with session_scope(engine) as session, pytest.raises(GrantsError, match=message):
        add_account(session, email, role, password, NOW, "test")
