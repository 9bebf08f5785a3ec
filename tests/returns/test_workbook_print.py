"""The return workbook a lead receives prints each input sheet on as few A4 pages as fit (one each for the example
projects) and says where and how to send it back: the returns address, and the upload link once there is one."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from grants.kernel.db import session_scope
from grants.returns import layout as lay
from grants.returns.writer import write_return_workbook
from tests.factories import load_example, period, project
from tests.returns_kit import KEY

SHEETS = [lay.INSTRUCTIONS, lay.PROJECT, lay.SPEND, lay.OUTPUTS, lay.SIGN_OFF]


def _issue(engine: Engine, folder: Path, **where: str) -> Path:
    load_example(engine)
    with session_scope(engine) as session:
        proj, per = project(session, "active-bystander"), period(session, "2024-25-Q2")
        assert proj.id is not None and per.id is not None
        return write_return_workbook(session, proj.id, per.id, folder, KEY, **where)


def _instructions(path: Path) -> str:
    ws = load_workbook(path)[lay.INSTRUCTIONS]
    return "\n".join(str(c.value) for (c,) in ws.iter_rows(max_col=1) if c.value)


@pytest.mark.parametrize("sheet", SHEETS)
def test_each_input_sheet_prints_on_one_a4_page(engine: Engine, tmp_path: Path, sheet: str) -> None:
    ws = load_workbook(_issue(engine, tmp_path, return_to="returns@example.org"))[sheet]
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (int(ws.page_setup.fitToWidth), int(ws.page_setup.fitToHeight)) == (1, 1)
    expected = "landscape" if sheet in (lay.SPEND, lay.OUTPUTS, lay.SIGN_OFF) else "portrait"
    assert ws.page_setup.orientation == expected


def test_instructions_say_where_to_email_the_return_and_by_when(engine: Engine, tmp_path: Path) -> None:
    text = _instructions(_issue(engine, tmp_path, return_to="returns@example.org"))
    assert "How to send it back" in text
    assert ("Email this file (return-active-bystander-2024-25-Q2.xlsx) back as an attachment to returns@example.org "
            "by Monday 14 October 2024.") in text
    assert "upload" not in text.lower()  # no portal yet: no link to a page that does not exist


def test_instructions_give_the_upload_link_when_the_portal_passes_one(engine: Engine, tmp_path: Path) -> None:
    text = _instructions(_issue(engine, tmp_path, return_to="returns@example.org",
                                upload_url="https://grants.example.org/upload/abc"))
    assert "Or upload it at https://grants.example.org/upload/abc" in text


def test_without_a_returns_address_the_lead_replies_to_the_email(engine: Engine, tmp_path: Path) -> None:
    text = _instructions(_issue(engine, tmp_path))
    assert "Reply to the email this file came with, attaching it, by Monday 14 October 2024." in text
