"""Text from config, officers or leads is never a formula: OWASP's leading characters get an apostrophe."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from grants.kernel.text import as_text, cell_text


@pytest.mark.parametrize(("text", "written"), [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"), ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\r=1", "'\r=1"),
    ("Active Bystander", "Active Bystander"), ("", ""), ("a=b", "a=b"), (" =1", " =1"), ("'=1", "'=1"),
])
def test_text_a_spreadsheet_would_evaluate_gets_a_leading_apostrophe(text: str, written: str) -> None:
    assert as_text(text) == written == cell_text(text)


@pytest.mark.parametrize("value", [-5, Decimal("-1.50"), 0.5, date(2024, 1, 1), None, True])
def test_numbers_dates_and_blanks_are_written_unchanged(value: object) -> None:
    assert cell_text(value) == value
