"""Architecture rules: grants/ never imports Prefect and never reads the clock; flows -> grants, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "grants").rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_never_imports_prefect_or_flows(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] in ("prefect", "flows")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


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
