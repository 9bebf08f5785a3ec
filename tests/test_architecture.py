"""Architecture rules import-linter cannot state: grants/ never reads the clock and every module has a docstring.

The import directions (flows above grants, the capability layers, no Prefect in grants) are import-linter contracts
in pyproject.toml, checked by `lint-imports` in `make lint`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "grants").rglob("*.py"))


CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "monotonic")}


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    calls = {
        (node.func.value.id, node.func.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
    }
    assert not calls & CLOCK_CALLS, f"{path.relative_to(ROOT)} reads the clock: {sorted(calls & CLOCK_CALLS)}"


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_every_core_module_opens_with_a_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} has no module docstring"


OLD_DATE_STYLES = re.compile(r"%d %b|%a %d|%b %Y|%d %B|%A %d|strftime|DD MMM")
PEOPLE_FACING = [p for p in sorted([*(ROOT / "grants").rglob("*.py"), *(ROOT / "flows").rglob("*.py"),
                                    *(ROOT / "templates").rglob("*.j2")])
                 if p.relative_to(ROOT).as_posix() not in {"grants/returns/values.py", "grants/kernel/dates.py"}]


@pytest.mark.parametrize("path", PEOPLE_FACING, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_dates_for_people_come_from_the_kernels_govuk_helpers(path: Path) -> None:
    """grants/kernel/dates.py writes every date a person reads ('Monday 14 October 2024', '14 October 2024'); the
    input formats a lead may type (grants/returns/values.py) are the one other place a date format appears."""
    found = OLD_DATE_STYLES.findall(path.read_text())
    assert not found, f"{path.relative_to(ROOT)} formats dates itself: {found}"
