"""What an officer notices using the workspace (the real app over HTTP, a real SQLite file): an address with an
unknown or malformed id is a plain 'page not found'; exports
open in a spreadsheet with dates as dates."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlmodel import select

from flows.database import configured_engine
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings
from grants.monitoring.assessment import run_checks
from grants.programme.links import configured_link_key, current_link, token_of
from tests.factories import add_return, period, project
from tests.scenario import profile
from tests.workspace.conftest import ACCOUNTS, AS_OF, csrf_of, sign_in


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/officer/projects/abc"), ("GET", "/officer/projects/999"), ("GET", "/officer/returns/x/file"),
    ("GET", "/officer/grants/NO-SUCH-GRANT"), ("POST", "/officer/projects/abc/due"),
    ("POST", "/officer/notifications/abc/resend"), ("POST", "/officer/projects/999/payment"),
    # ids past a 64-bit integer are no row either (the database could not even compare them: a 500 before)
    ("GET", f"/officer/projects/{10**22}"), ("GET", f"/officer/returns/{10**22}/file"),
    ("POST", f"/officer/risks/{10**22}"), ("POST", f"/officer/notifications/{10**22}/resend"),
    ("POST", f"/officer/accounts/{10**22}/role"),
])
def test_an_unknown_or_malformed_id_is_page_not_found(client: TestClient, method: str, path: str) -> None:
    sign_in(client, "officer")
    token = csrf_of(client.get("/officer").text)
    answer = client.request(method, path, data={"csrf": token} if method == "POST" else None)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text and '<a href="/officer">the programme overview</a>' in answer.text
    assert "Ask the officer responsible" not in answer.text  # that is the leads' advice


def test_csv_exports_write_dates_and_times_in_the_form_a_spreadsheet_reads_as_dates(client: TestClient) -> None:
    sign_in(client, "officer")
    client.post("/officer/risks/1", data={"owner": "Kit", "csrf": csrf_of(client.get("/officer/risks").text)})
    audit_rows = list(csv.DictReader(io.StringIO(client.get("/officer/export/audit.csv").text)))
    status_rows = list(csv.DictReader(io.StringIO(client.get("/officer/export/status.csv").text)))
    assert audit_rows and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["at"]) for r in audit_rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["due"]) for r in status_rows)
    sheet = load_workbook(io.BytesIO(client.get("/officer/export/audit.xlsx").content)).active
    assert all(isinstance(row[1].value, datetime) for row in sheet.iter_rows(min_row=2))


def _table(html: str, css: str) -> str:
    """The text of the page's table with this class."""
    return re.sub(r"<[^>]+>", " ", html.split(f'<table class="table stack {css}">')[1].split("</table>")[0])


def test_payments_and_funds_received_show_who_recorded_them_on_the_pages_and_in_the_export(
        client: TestClient) -> None:
    with session_scope(configured_engine()) as session:  # the scenario ('test') paid the whole allocation
        project_id = project(session, "speech-language").id
        session.delete(session.exec(select(m.Payment).where(m.Payment.project_id == project_id)).one())
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    assert "No payments yet." in page.text
    client.post(f"/officer/projects/{project_id}/payment", data={
        "amount": "250", "paid_on": "2025-01-20", "reference": "PO-9", "csrf": csrf_of(page.text)})
    payments = _table(client.get(f"/officer/projects/{project_id}").text, "payments")
    assert "PO-9" in payments and ACCOUNTS["officer"] in payments and "£250.00" in payments
    releases = _table(client.get("/officer/grants/SVD-2024-25").text, "releases")
    assert "£125,000.00" in releases and "test" in releases and "1 July 2024" in releases
    rows = list(csv.DictReader(io.StringIO(client.get("/officer/export/payments.csv").text)))
    assert {(r["reference or note"], r["recorded by"]) for r in rows if r["project"] in ("", "speech-language")} == {
        ("", "test"), ("PO-9", ACCOUNTS["officer"])}


def _risk_section(html: str, risk_id: int) -> str:
    return html.split(f'<section class="risk" id="risk-{risk_id}">')[1].split("</section>")[0]


def test_a_risks_owner_mitigation_and_notes_are_shown_with_their_history(client: TestClient) -> None:
    sign_in(client, "officer")
    with session_scope(configured_engine()) as session:
        risk = session.exec(select(m.Risk).where(m.Risk.status == "open")).first()
        assert risk is not None and risk.id is not None
    for owner, notes in (("Kit Pascoe", "asked the lead"), ("Sam Rowe", "<b>lead</b> replied")):
        page = client.get("/officer/risks")
        answer = client.post(f"/officer/risks/{risk.id}", data={
            "owner": owner, "mitigation": "monthly call", "notes": notes, "csrf": csrf_of(page.text)})
        assert answer.status_code == 303
    client.cookies.clear()
    sign_in(client, "viewer")
    section = _risk_section(client.get("/officer/risks").text, risk.id)
    assert "<form" not in section and "Sam Rowe" in section and "&lt;b&gt;lead&lt;/b&gt; replied" in section
    history = section.split('class="risk-history"')[1]
    assert "History (2 changes, last by officer@example.org" in history
    newest, oldest = history.split("<tbody>")[1].split("</tr>")[:2]  # newest first, each with before and after
    assert "owner: Kit Pascoe" in newest and "owner: Sam Rowe" in newest and "Sam Rowe" not in oldest


def test_a_risk_added_by_hand_is_closed_with_its_reason_and_both_steps_are_on_the_register(
        client: TestClient) -> None:
    sign_in(client, "officer")
    page = client.get("/officer/risks")
    added = client.post("/officer/risks/new", data={"grant_id": "1", "title": "Lead leaving in March",
                                                    "likelihood": "3", "impact": "4", "owner": "Kit",
                                                    "csrf": csrf_of(page.text)})
    assert added.headers["location"] == "/officer/risks?done=risk-added"
    with session_scope(configured_engine()) as session:
        risk = session.exec(select(m.Risk).where(m.Risk.title == "Lead leaving in March")).one()
    section = _risk_section(client.get(added.headers["location"]).text, risk.id or 0)
    assert "amber" in section.lower() and "12" in section and "Close this risk" in section
    closed = client.post(f"/officer/risks/{risk.id}/close", data={"reason": "a successor started",
                                                                 "csrf": csrf_of(page.text)})
    assert closed.status_code == 303
    assert f'id="risk-{risk.id}"' not in client.get("/officer/risks").text  # open risks only by default
    section = _risk_section(client.get("/officer/risks?all=1").text, risk.id or 0)
    assert "closed" in section and "Close this risk" not in section
    assert "risk.close" in section and "a successor started" in section and "risk.add" in section


@pytest.mark.parametrize(("path", "export"), [
    ("/officer", "status"), ("/officer/risks", "risks"), ("/officer/audit", "audit"),
    ("/officer/grants/SVD-2024-25", "payments")])
def test_a_viewer_sees_the_pages_export_links_but_no_action_forms(client: TestClient, path: str,
                                                                 export: str) -> None:
    sign_in(client, "viewer")
    html = client.get(path).text
    assert re.findall(r'<form method="post" action="([^"]+)"', html) == ["/logout"]
    for fmt, media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")):
        assert f'href="/officer/export/{export}.{fmt}"' in html
        assert client.get(f"/officer/export/{export}.{fmt}").headers["content-type"].startswith(media)


def _overdue(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('class="overdue-count">')[1].split("</dd>")[0]))


def test_an_extension_takes_the_return_off_the_grants_overdue_count(client: TestClient) -> None:
    sign_in(client, "officer")
    with session_scope(configured_engine()) as session:
        project_id, period_id = project(session, "speech-language").id, period(session, "2024-25-Q3").id
    before = _overdue(client.get("/officer/grants/SVD-2024-25").text)
    assert before.startswith("1 ") and "Speech, language and communication 2024-25-Q3" in before
    page = client.get(f"/officer/projects/{project_id}")
    assert "from the check on Friday 24 January 2025" in page.text
    client.post(f"/officer/projects/{project_id}/due", data={
        "period_id": period_id, "due": "2025-02-07", "reason": "lead on leave", "csrf": csrf_of(page.text)})
    assert _overdue(client.get("/officer/grants/SVD-2024-25").text).strip() == "0"


def _quarter(html: str, label: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split(f'id="quarter-{label}"')[1].split("</section>")[0]))


def _q3_action(client: TestClient, action: str, data: dict[str, str]) -> tuple[int, int, Response]:
    """Post `data` to the project page's `action` form for speech and language's Q3 return (its period and the page's
    CSRF token added): (project id, period id, the answer)."""
    with session_scope(configured_engine()) as session:
        project_id, period_id = project(session, "speech-language").id, period(session, "2024-25-Q3").id
    assert project_id is not None and period_id is not None
    page = client.get(f"/officer/projects/{project_id}")
    answer = client.post(f"/officer/projects/{project_id}/{action}", data={
        **data, "period_id": str(period_id), "csrf": csrf_of(page.text)})
    return project_id, period_id, answer


@pytest.mark.parametrize(("data", "shown", "ladder"), [
    ({"kind": "pause", "until": "2025-01-31", "reason": "lead <em>on leave</em>"},
     "chasing paused until Friday 31 January 2025 lead <em>on leave</em>",
     "escalation Monday 3 February 2025 planned (after the pause)"),  # as the calendar feed shows it
    ({"kind": "waive", "reason": "project wound up"}, "chasing waived project wound up",
     "escalation Wednesday 29 January 2025 held"),
])
def test_a_pause_or_waiver_shows_its_reason_and_holds_the_ladder_until_resumed(
        client: TestClient, data: dict[str, str], shown: str, ladder: str) -> None:
    sign_in(client, "officer")
    project_id, period_id, answer = _q3_action(client, "hold", data)
    assert answer.headers["location"] == f"/officer/projects/{project_id}?done=held"
    held = client.get(answer.headers["location"])
    quarter = _quarter(held.text, "2024-25-Q3")
    assert shown.replace("<", "&lt;").replace(">", "&gt;") in quarter and ladder in quarter
    assert "Resume chasing" in quarter
    client.post(f"/officer/projects/{project_id}/resume", data={"period_id": period_id, "csrf": csrf_of(held.text)})
    quarter = _quarter(client.get(f"/officer/projects/{project_id}").text, "2024-25-Q3")
    assert "chasing paused" not in quarter and "chasing waived" not in quarter and " held" not in quarter


def test_times_are_shown_as_the_officers_clock_reads_them_british_summer_time_included(client: TestClient) -> None:
    sign_in(client, "viewer")  # the scenario recorded the funds release at 12:00 UTC on 1 July 2024
    html = client.get("/officer/grants/SVD-2024-25").text
    assert "1 July 2024, 1pm" in _table(html, "releases") and "1 July 2024, 1pm" in html.split("audit-table")[1]


def test_a_chase_step_due_today_is_planned_not_missed(client: TestClient) -> None:
    """Extended to Friday 31 January, the Q3 reminder falls on today (24 January): today's chasing run sends it."""
    sign_in(client, "officer")
    project_id, _, _ = _q3_action(client, "due", {"due": "2025-01-31", "reason": "lead on leave"})
    quarter = _quarter(client.get(f"/officer/projects/{project_id}").text, "2024-25-Q3")
    assert "reminder Friday 24 January 2025 planned" in quarter


def test_the_overview_counts_one_grant_in_the_singular(client: TestClient) -> None:
    sign_in(client, "viewer")
    assert "1 grant as of Friday 24 January 2025" in client.get("/officer").text


def test_a_grant_forecast_below_its_spend_says_why_on_the_overview(client: TestClient) -> None:
    """Speech and language spends £100,000 of its £13,000 in Q3: the grant's forecast counts only the £13,000."""
    sign_in(client, "viewer")
    assert "overspend not counted" not in client.get("/officer").text.lower()
    with session_scope(configured_engine()) as session:
        line = next(iter(profile(session, "speech-language", "2024-25-Q3")))
        add_return(session, "speech-language", "2024-25-Q3", received=date(2025, 1, 20), spend={line: 10_000_000})
        run_checks(session, AS_OF)
    html = client.get("/officer").text
    assert "overspend not counted</span>" in html and "counts each project's forecast up to its allocation" in html


def test_a_risk_added_on_the_web_can_name_one_project_of_the_grant(client: TestClient) -> None:
    sign_in(client, "officer")
    with session_scope(configured_engine()) as session:
        project_id = project(session, "purple-flag").id
    page = client.get("/officer/risks")
    assert 'id="new-risk-project_id"' in page.text and "SVD-2024-25: Purple Flag night-time economy" in page.text
    risk = {"grant_id": "1", "title": "Venue closing", "likelihood": "2", "impact": "3", "csrf": csrf_of(page.text)}
    wrong = client.post("/officer/risks/new", data={**risk, "project_id": "999"})
    assert wrong.status_code == 422 and '<a href="#new-risk-project_id">' in wrong.text
    added = client.post("/officer/risks/new", data={**risk, "project_id": str(project_id)})
    assert added.status_code == 303
    with session_scope(configured_engine()) as session:
        row = session.exec(select(m.Risk).where(m.Risk.title == "Venue closing")).one()
        assert row.project_id == project_id
    assert "Venue closing" in client.get(f"/officer/projects/{project_id}").text


def test_the_apps_home_page_leads_officers_to_the_sign_in(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200 and '<a href="/login">' in home.text


def test_an_extension_is_the_leads_due_date_on_their_own_page(client: TestClient, programme: Settings) -> None:
    """Speech and language's Q3 return, overdue since 15 January, is given until 7 February: the lead's page and the
    workbook they download say so."""
    with session_scope(configured_engine()) as session:
        row, quarter = project(session, "speech-language"), period(session, "2024-25-Q3")
        link = current_link(session, row, datetime(2025, 1, 20, tzinfo=UTC), 90)
        token, project_id, period_id = token_of(configured_link_key(programme), link), row.id, quarter.id
    before = _lead_quarter(client.get(f"/p/{token}").text)
    assert "15 January 2025" in before and "Overdue" in before
    sign_in(client, "officer")
    page = client.get(f"/officer/projects/{project_id}")
    client.post(f"/officer/projects/{project_id}/due", data={
        "period_id": period_id, "due": "2025-02-07", "reason": "lead on leave", "csrf": csrf_of(page.text)})
    after = _lead_quarter(client.get(f"/p/{token}").text)
    assert "7 February 2025" in after and "Overdue" not in after and "Open" in after
    workbook = load_workbook(io.BytesIO(client.get(f"/p/{token}/workbook/2024-25-Q3").content))
    cells = [str(c.value) for ws in workbook for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("7 February 2025" in c for c in cells) and not any("15 January 2025" in c for c in cells)


def _lead_quarter(html: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.split("2024-25-Q3", 1)[1].split("2024-25-Q4", 1)[0]


def test_the_audit_log_shows_an_empty_value_as_a_dash_not_none(client: TestClient) -> None:
    sign_in(client, "officer")
    _q3_action(client, "hold", {"kind": "waive", "reason": "project wound up"})
    log = client.get("/officer/audit").text
    assert "until: –" in log and "None" not in log.split("audit-table")[1]


def test_the_exports_page_says_what_each_list_holds(client: TestClient) -> None:
    sign_in(client, "viewer")
    html = client.get("/officer/exports").text
    for name, words in (("status", "Status"), ("risks", "Risks"), ("returns", "Returns log"),
                        ("payments", "Payments"), ("audit", "Audit log")):
        assert f"<strong>{words}</strong>" in html and f'href="/officer/export/{name}.xlsx"' in html


def test_a_return_whose_archived_copy_is_missing_says_so(client: TestClient, programme: Settings) -> None:
    sign_in(client, "viewer")
    lost = Path(programme.folder("archive")) / "ab" / "lost.xlsx"  # in the archive folder, but not there
    with session_scope(configured_engine()) as session:
        row = session.exec(select(m.Return)).first()
        assert row is not None
        row.archive_path, return_id = str(lost), row.id
        session.add(row)
    answer = client.get(f"/officer/returns/{return_id}/file")
    assert answer.status_code == 404 and "is missing from the archive folder" in answer.text
