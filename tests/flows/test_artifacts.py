"""The check-and-assess artifact reads in one screen: one row per project and one for the grant (project, RAG in
words, reason), the risks the run changed named by their titles (never their keys), and a summary in words."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows.database import configured_engine
from flows.engine import jobs
from flows.engine.common import check_view
from grants.kernel.settings import Settings
from tests.factories import load_example
from tests.scenario import live_until_q3


def test_check_artifact_has_a_row_per_project_with_rag_reason_and_risk_titles(settings: Settings) -> None:
    load_example(configured_engine())
    live_until_q3(configured_engine())
    rows = jobs.check_job(date(2025, 1, 24), datetime(2025, 1, 24, 12, tzinfo=UTC))
    changes = [r for r in rows if str(r["what"]).startswith("risk ")]
    view, summary = check_view(rows)
    assert len(view) == 9  # 8 projects and the grant, however many risks changed
    assert all(list(r) == ["project", "RAG", "reason", "risks changed"] for r in view)
    man = next(r for r in view if r["project"] == "M.A.N Culture")
    assert man["RAG"] == "✖ red" and man["reason"].startswith("Workshops delivered across the city 5 of 7")
    assert "opened: Workshops delivered across the city behind trajectory (✖ red, score 20)" in man["risks changed"]
    text = " ".join(r["risks changed"] for r in view)
    assert changes and not any(str(c["subject"]) in text for c in changes)  # titles, not keys like late-return:...
    opened = sum(1 for c in changes if c["what"] == "risk opened")
    assert summary.startswith("9 ratings: 5 red, 0 amber, 4 green. Risks: ") and f"{opened} opened" in summary
