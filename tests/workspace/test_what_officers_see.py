"""What an officer notices using the workspace (the real app over HTTP, a real SQLite file): an address with an
unknown or malformed id is a plain 'page not found'; exports
open in a spreadsheet with dates as dates."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.workspace.conftest import csrf_of, sign_in


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/officer/projects/abc"), ("GET", "/officer/projects/999"), ("GET", "/officer/returns/x/file"),
    ("GET", "/officer/grants/NO-SUCH-GRANT"), ("POST", "/officer/projects/abc/due"),
    ("POST", "/officer/notifications/abc/resend"), ("POST", "/officer/projects/999/payment"),
])
def test_an_unknown_or_malformed_id_is_page_not_found(client: TestClient, method: str, path: str) -> None:
    sign_in(client, "officer")
    token = csrf_of(client.get("/officer").text)
    answer = client.request(method, path, data={"csrf": token} if method == "POST" else None)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text


def test_csv_exports_write_dates_and_times_in_the_form_a_spreadsheet_reads_as_dates(client: TestClient) -> None:
    sign_in(client, "officer")
    client.post("/officer/risks/1", data={"owner": "Kit", "csrf": csrf_of(client.get("/officer/risks").text)})
    audit_rows = list(csv.DictReader(io.StringIO(client.get("/officer/export/audit.csv").text)))
    status_rows = list(csv.DictReader(io.StringIO(client.get("/officer/export/status.csv").text)))
    assert audit_rows and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["at"]) for r in audit_rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["due"]) for r in status_rows)
    sheet = load_workbook(io.BytesIO(client.get("/officer/export/audit.xlsx").content)).active
    assert all(isinstance(row[1].value, datetime) for row in sheet.iter_rows(min_row=2))
