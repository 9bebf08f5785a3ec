"""Fixtures shared by the returns tests: the issued workbook a lead fills."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.factories import load_example
from tests.returns_kit import issue


@pytest.fixture
def blank(engine: Engine, tmp_path: Path) -> Path:
    """The issued Active Bystander 2024-25-Q2 workbook (example programme loaded)."""
    load_example(engine)
    return issue(engine, tmp_path / "issued")
