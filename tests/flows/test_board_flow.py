"""The board-report flow runs end to end on a temporary database and publishes its table artifact."""

from __future__ import annotations

import json
from datetime import date

from prefect.client.orchestration import get_client

from flows.board import board_report
from grants.settings import Settings
from tests.factories import load_example


async def _artifact_rows(key: str) -> list[dict[str, str]]:
    async with get_client() as client:
        artifacts = await client.read_latest_artifacts()
        data = next(a.data for a in artifacts if a.key == key)
        return json.loads(data) if isinstance(data, str) else data  # type: ignore[no-any-return]


def test_board_report_lists_every_project_with_its_return_states(settings: Settings) -> None:
    from flows.common import engine

    load_example(engine())
    rows = board_report(as_of=date(2024, 7, 13))
    assert len(rows) == 8
    assert rows[0]["project"] == "Purple Flag night-time economy"
    assert rows[0]["allocation"] == "£12,000.00"
    assert rows[0]["2024-25-Q1"] == "overdue"
    assert rows[0]["2024-25-Q2"] == "not yet open"


def test_board_report_artifact_is_readable_in_the_ui(settings: Settings) -> None:
    import asyncio

    from flows.common import engine

    load_example(engine())
    board_report(as_of=date(2024, 7, 1))
    rows = asyncio.run(_artifact_rows("board-report"))
    bystander = next(r for r in rows if r["project"].startswith("Active Bystander"))
    assert bystander["allocation"] == "£30,000.00"
    assert bystander["2024-25-Q1"] == "open"
