"""In `grants demo --prefect` the ingest runs as a Prefect flow, and the demo still learns each file's outcome."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flows.database import configured_engine
from flows.demo.script import Submission
from flows.demo.year import DemoResult, Year
from grants.kernel.settings import Settings
from tests.factories import load_example
from tests.returns_kit import fill, issue


def test_prefect_mode_records_each_files_outcome_from_the_database(settings: Settings) -> None:
    load_example(configured_engine())
    inbox = settings.folder("inbox")
    inbox.mkdir(parents=True)
    key = settings.signing_key.get_secret_value().encode()
    good = fill(issue(configured_engine(), inbox, "man-culture", "2024-25-Q2", key=key), {"output__workshops": 3})
    bad = fill(issue(configured_engine(), inbox, "impact-project", "2024-25-Q2", key=key),
               {"spend__activities": "about 300"})
    subs = [Submission(code, "2024-25-Q2", date(2024, 10, 10), {}, Decimal(0), expect, "")
            for code, expect in (("man-culture", "accepted"), ("impact-project", "rejected"))]
    result = DemoResult(settings.data_dir, subs)
    Year(prefect=True, echo=lambda _: None, result=result).ingest(date(2024, 10, 10), list(zip(subs, [good, bad],
                                                                                              strict=True)))
    assert [outcome for _, outcome in result.outcomes] == ["accepted", "rejected"]
