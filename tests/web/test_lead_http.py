"""The lead portal over HTTP (the real app under a TestClient, a real SQLite file, real workbooks): the answers to
uploads, the link rules, and the protections (headers, body limit, CSRF, rate limit, token-free logs)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes
from email.policy import default
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from flows.database import open_session
from flows.web.app import create_app
from grants.kernel import models as m
from grants.kernel.settings import Settings
from grants.programme.links import revoke_links
from grants.programme.lookup import find_project
from tests.returns_kit import fill
from tests.web.conftest import NOW, OPEN_DAY, csrf_of, issue_workbook, lead_token

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send(client: TestClient, token: str, path: Path | None, *, csrf: str | None = None) -> tuple[int, str]:
    """Post a file through the page's form (taking the form token from the page unless given)."""
    token_value = csrf if csrf is not None else csrf_of(client.get(f"/p/{token}").text)
    files = {"return_file": (path.name, path.read_bytes(), XLSX)} if path else {"return_file": ("", b"", XLSX)}
    response = client.post(f"/p/{token}/upload", data={"csrf": token_value}, files=files)
    return response.status_code, response.text


def text_of(html: str) -> str:
    """The page's words as a reader sees them (tags dropped, entities such as &#39; read as their characters)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def received_files() -> list[m.ReceivedFile]:
    with open_session() as session:
        return list(session.exec(select(m.ReceivedFile)))


def outbox_replies(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.folder("outbox").glob("reply_*.eml"))


def test_a_valid_return_is_answered_with_the_receipt_and_the_same_receipt_is_emailed_once(
        client: TestClient, loaded: Settings, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {"spend__design": "£1,250.00", "output__people_trained": 60})
    status, html = send(client, token, path)
    page = text_of(html)
    assert status == 200 and "Your 2024-25-Q2 return has been accepted" in page
    assert "Co-production and design of the training package £1,250.00" in page
    assert "People trained in Active Bystander 60 people" in page
    [reply] = outbox_replies(loaded)
    email = message_from_bytes((loaded.folder("outbox") / reply).read_bytes(), policy=default)
    assert str(email["subject"]).startswith("Received:")
    body = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"/p/{token}" in body
    # as the emailed receipt says: with no returns address configured, never the sender that receives nothing
    assert "grants@localhost" not in body and "send a corrected workbook to your responsible officer" in body
    status, html = send(client, token, path)  # the very same file again
    assert "You have already sent this exact file" in text_of(html)
    assert outbox_replies(loaded) == [reply]


def test_problems_are_listed_in_the_workbooks_order_with_sheet_cell_label_and_fix(
        client: TestClient, loaded: Settings, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {"signoff_name": None, "spend__delivery": "about 2500"})
    status, html = send(client, token, path)
    page = text_of(html)
    assert status == 200 and "not accepted: 2 things to fix" in page
    spend = page.index("Spend sheet, cell")
    sign_off = page.index("Narrative and sign-off sheet, cell")
    assert spend < sign_off  # the Spend sheet comes before the sign-off sheet in the workbook
    assert re.search(r"Problem 1 Sheet Spend Cell F\d+ Label Spend this quarter on 'Training delivery", page)
    assert re.search(r"Problem 2 Sheet Narrative and sign-off Cell B\d+ Label Sign-off: Name What to fix", page)
    assert "about 2500" in page and "Nothing from" in page
    assert 'href="#a-problem-1"' in html and 'id="a-problem-1"' in html and 'id="a-problem-2"' in html
    [reply] = outbox_replies(loaded)
    assert reply.startswith("reply_")


def test_the_same_rejected_file_sent_again_is_answered_with_what_is_still_wrong_with_it(
        client: TestClient, loaded: Settings, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {"spend__delivery": "1.2k"})
    send(client, token, path)
    status, html = send(client, token, path)  # the lead sends the very same file again (say after a day away)
    page = text_of(html)
    assert status == 200 and "You sent this exact file on Saturday 5 October 2024 and it was not accepted" in page
    assert re.search(r"Problem 1 Sheet Spend Cell F\d+ Label Spend this quarter on 'Training delivery", page)
    assert "'1.2k'" in page
    assert len(outbox_replies(loaded)) == 1  # the rejection was emailed once, not again


def test_the_same_unusable_file_sent_again_says_again_why_it_could_not_be_used(
        client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook at all")
    send(client, lead_token(), path)
    status, html = send(client, lead_token(), path)
    page = text_of(html)
    assert status == 200 and "We could not use this file" in page and "you sent this exact file on" in page
    assert "not an Excel .xlsx workbook" in page


def test_an_accepted_file_sent_again_says_which_version_it_was_recorded_as(
        client: TestClient, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {"spend__design": 1000})
    send(client, token, path)
    _, html = send(client, token, path)
    assert "it was recorded on Saturday 5 October 2024 as version 1 of your 2024-25-Q2 return" in text_of(html)


def test_another_projects_file_sent_before_is_still_another_projects_file(
        client: TestClient, tmp_path: Path) -> None:
    other = fill(issue_workbook(client, lead_token("purple-flag"), tmp_path), {})
    send(client, lead_token("purple-flag"), other)
    _, html = send(client, lead_token("active-bystander"), other)
    assert "This workbook is for another project" in text_of(html)
    assert "version" not in text_of(html).split("This workbook is for another project")[1][:200]


def test_another_projects_workbook_is_refused_with_its_own_message(
        client: TestClient, loaded: Settings, tmp_path: Path) -> None:
    other = issue_workbook(client, lead_token("purple-flag"), tmp_path)
    status, html = send(client, lead_token("active-bystander"), fill(other, {}))
    assert status == 200 and "This workbook is for another project" in text_of(html)
    [row] = received_files()
    assert row.outcome == "quarantined" and outbox_replies(loaded) == []


def test_a_return_first_sent_on_another_projects_page_is_accepted_on_its_own_page(
        client: TestClient, tmp_path: Path) -> None:
    # A lead with two links (or a colleague's) sends on the wrong page first: the file must not then be refused as
    # "already sent" on the right page.
    mine = fill(issue_workbook(client, lead_token("purple-flag"), tmp_path), {"spend__welfare": 1200})
    _, wrong = send(client, lead_token("active-bystander"), mine)
    _, again = send(client, lead_token("active-bystander"), mine)
    assert "This workbook is for another project" in text_of(wrong) and "another project" in text_of(again)
    status, html = send(client, lead_token("purple-flag"), mine)
    assert status == 200 and "Your 2024-25-Q2 return has been accepted" in text_of(html)
    assert sorted(r.outcome for r in received_files()) == ["accepted", "duplicate", "duplicate"]
    _, after = send(client, lead_token("purple-flag"), mine)
    assert "it was recorded on Saturday 5 October 2024 as version 1" in text_of(after)


def test_a_file_that_is_not_a_workbook_is_quarantined_with_a_plain_message(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook at all")
    status, html = send(client, lead_token(), path)
    assert status == 200 and "We could not use this file" in text_of(html)


def test_no_file_chosen_is_an_error_summary_linking_to_the_field(client: TestClient) -> None:
    status, html = send(client, lead_token(), None)
    assert status == 400 and 'class="error-summary"' in html and 'href="#return-file"' in html
    assert 'id="return-file"' in html and "Select the return workbook to send" in html


def test_an_upload_without_this_browsers_form_token_is_forbidden_and_nothing_is_read(
        client: TestClient, loaded: Settings, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {})
    status, html = send(client, token, path, csrf="0" * 64)
    assert status == 403 and 'href="#return-file"' in html and "Choose the file again and send it" in html
    with TestClient(create_app(loaded, as_of=OPEN_DAY)) as stranger:  # another browser: its own cookie
        assert send(stranger, token, path, csrf=csrf_of(client.get(f"/p/{token}").text))[0] == 403
    assert received_files() == []


def test_the_page_shown_after_a_forged_form_token_carries_a_fresh_token_that_works(
        client: TestClient, tmp_path: Path) -> None:
    token = lead_token()
    path = fill(issue_workbook(client, token, tmp_path), {})
    status, html = send(client, token, path, csrf="forged")
    assert status == 403
    assert send(client, token, path, csrf=csrf_of(html))[0] == 200 and len(received_files()) == 1


def test_every_page_has_a_strict_content_security_policy_and_leaks_no_address(client: TestClient) -> None:
    cookie = client.get("/").headers["set-cookie"]  # the first response to a browser sets its form-token cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    for address in ("/", f"/p/{lead_token()}", "/p/1.nope", "/static/app.css"):
        headers = client.get(address).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'nonce-" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
    page = client.get(f"/p/{lead_token()}")
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text and "style=" not in page.text


def test_bad_links_all_get_the_same_plain_not_found_page(loaded: Settings, client: TestClient) -> None:
    token = lead_token()
    unknown = client.get("/no-such-page")
    altered = client.get(f"/p/{token[:-2]}xx")
    assert unknown.status_code == altered.status_code == 404 and altered.text == unknown.text
    assert "Page not found" in altered.text and "active" not in altered.text.lower()
    for odd in ("\u00b2.x", "\u0663." + token.partition(".")[2]):  # digits that are not 0-9 (a 500 before)
        other = client.get(f"/p/{odd}")
        assert other.status_code == 404 and other.text == unknown.text
    with TestClient(create_app(loaded, as_of=date(2025, 7, 14))) as later:  # Q4 due 14 April 2025, + 90 days
        expired = later.get(f"/p/{token}")
        assert expired.status_code == 404 and expired.text == unknown.text
        assert later.get(f"/p/{token}/workbook/2024-25-Q4").status_code == 404


def test_a_revoked_link_stops_working_at_once(client: TestClient, tmp_path: Path) -> None:
    token = lead_token()
    assert client.get(f"/p/{token}").status_code == 200
    with open_session() as session:
        revoke_links(session, find_project(session, "active-bystander"), NOW, "officer")
    assert client.get(f"/p/{token}").status_code == 404
    assert client.get(f"/p/{token}/workbook/2024-25-Q2").status_code == 404
    assert client.post(f"/p/{token}/upload", files={"return_file": ("a.xlsx", b"x", XLSX)}).status_code == 404


def test_only_open_quarters_of_the_links_own_project_can_be_downloaded(client: TestClient) -> None:
    token = lead_token()
    assert client.get(f"/p/{token}/workbook/2024-25-Q3").status_code == 404  # not yet open on 5 October 2024
    assert client.get(f"/p/{token}/workbook/..%2F..%2Fgrants.db").status_code == 404
    response = client.get(f"/p/{token}/workbook/2024-25-Q2")
    assert 'filename="return-active-bystander-2024-25-Q2.xlsx"' in response.headers["content-disposition"]


@pytest.fixture
def small_limits(loaded: Settings) -> Iterator[TestClient]:
    """The app with a 50 kB file limit and two uploads per link per hour."""
    settings = loaded.model_copy(update={"return_max_file_mb": 0.05, "web_uploads_per_hour": 2})
    with TestClient(create_app(settings, as_of=OPEN_DAY)) as test_client:
        yield test_client


def test_a_body_over_the_size_limit_is_refused_while_it_streams(small_limits: TestClient, loaded: Settings) -> None:
    token = lead_token()
    csrf = csrf_of(small_limits.get(f"/p/{token}").text)
    big = b"PK" + b"\0" * 400_000
    declared = small_limits.post(f"/p/{token}/upload", data={"csrf": csrf}, files={"return_file": ("b.xlsx", big)})
    assert declared.status_code == 413 and "The file is too large" in declared.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"return_file\"; filename=\"b.xlsx\"\r\n\r\n"
        yield boundary
        for _ in range(100):
            yield b"\0" * 10_000

    streamed = small_limits.post(f"/p/{token}/upload", content=chunks(),
                                 headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert streamed.status_code == 413
    assert received_files() == [] and not list((loaded.data_dir / "uploads").glob("*/*"))


def test_uploads_are_rate_limited_per_link(small_limits: TestClient) -> None:
    token, other = lead_token("active-bystander"), lead_token("purple-flag")
    assert [send(small_limits, token, None)[0] for _ in range(3)] == [400, 400, 429]
    assert send(small_limits, other, None)[0] == 400  # another link has its own allowance


def test_the_access_log_names_the_route_never_the_link(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    token = lead_token()
    with caplog.at_level(logging.INFO, logger="grants.web.access"):
        client.get(f"/p/{token}")
        client.get(f"/p/{token}/workbook/2024-25-Q2")
    lines = [r.getMessage() for r in caplog.records if r.name == "grants.web.access"]
    assert lines and any("/p/{token}" in line for line in lines)
    assert not any(token in line or token.split(".")[1] in line for line in lines)
