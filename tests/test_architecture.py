"""Architecture rules import-linter cannot state: grants/ never reads the clock and every module has a docstring.

The import directions (flows above grants, the capability layers, no Prefect in grants) are import-linter contracts
in pyproject.toml, checked by `lint-imports` in `make lint`."""

from __future__ import annotations

import ast
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
