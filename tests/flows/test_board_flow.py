"""The board-report flow runs end to end on a temporary database: it writes both report files to the reports folder
and publishes a table artifact with one row per project (RAG and reason) and the files written."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from openpyxl import load_workbook
from prefect.client.orchestration import get_client

from flows.engine.board import board_report
from grants.kernel.settings import Settings
from tests.factories import load_example
from tests.scenario import live_until_q3


async def _artifact(key: str) -> tuple[list[dict[str, str]], str]:
    async with get_client() as client:
        artifacts = await client.read_latest_artifacts()
        artifact: Any = next(a for a in artifacts if a.key == key)
        data = artifact.data
        return (json.loads(data) if isinstance(data, str) else data), artifact.description or ""


def test_board_report_writes_both_formats_to_the_reports_folder(settings: Settings) -> None:
    from flows.database import configured_engine as engine

    load_example(engine())
    rows = board_report(as_of=date(2024, 7, 13))
    folder = settings.folder("reports")
    assert sorted(p.name for p in folder.iterdir()) == [
        "board-report-SVD-2024-25-2024-07-13.html", "board-report-SVD-2024-25-2024-07-13.xlsx"]
    assert len(rows) == 8
    assert rows[0]["project"] == "Purple Flag night-time economy"
    assert rows[0]["overall"] == "red"  # no money received yet and the Q1 return overdue
    wb = load_workbook(folder / "board-report-SVD-2024-25-2024-07-13.xlsx")
    assert wb["Projects"].max_row == 9


def test_board_report_artifact_has_each_project_rag_and_reason_and_the_files(settings: Settings) -> None:
    import asyncio

    from flows.database import configured_engine as engine

    load_example(engine())
    live_until_q3(engine())
    board_report(as_of=date(2025, 1, 24))
    rows, description = asyncio.run(_artifact("board-report"))
    man = next(r for r in rows if r["project"] == "M.A.N Culture")
    assert (man["spend"], man["outputs"], man["RAG"]) == ("green", "red", "✖ red")
    assert list(man)[:3] == ["project", "RAG", "reason"]  # the columns an officer reads first
    assert description.startswith("### Board report as of 24 January 2025\n\n8 projects, ")
    assert man["reason"].startswith("Workshops delivered across the city 5 of 7 profiled by 31 December 2024")
    assert "board-report-SVD-2024-25-2025-01-24.xlsx" in description
    assert "board-report-SVD-2024-25-2025-01-24.html" in description
