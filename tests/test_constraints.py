"""constraints.txt and pyproject.toml agree, and the environment running the tests is the pinned one.

CI's fresh install is `pip install -c constraints.txt -e '.[dev]'` (make install): a dependency named in
pyproject.toml without a pin, or with a pin its specifier refuses, makes that install resolve to something
nobody tested (or fail). Each rule below is one way the two files drift apart.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CONSTRAINT_LINES = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]


def _declared() -> list[Requirement]:
    """Every runtime and optional (dev) dependency pyproject.toml names."""
    texts = list(PYPROJECT["dependencies"])
    for extra in PYPROJECT.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def _pins() -> dict[NormalizedName, Version]:
    pins: dict[NormalizedName, Version] = {}
    for line in CONSTRAINT_LINES:
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


DECLARED = _declared()
PINS = _pins()


def _installed(name: str) -> Version | None:
    try:
        return Version(distribution(name).version)
    except PackageNotFoundError:
        return None


def _wanted(req: Requirement, extras: frozenset[str]) -> bool:
    return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""})


def _closure(roots: list[Requirement]) -> set[NormalizedName]:
    """The distributions the declared requirements pull in (with their extras), walked through installed metadata."""
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    todo = [req for req in roots if _wanted(req, frozenset())]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = distribution(req.name).requires or []
        except PackageNotFoundError:
            continue  # the per-dependency test reports a declared dependency that is not installed
        todo.extend(child for child in map(Requirement, requires) if _wanted(child, key[1]))
    return {name for name, _ in seen}


def test_constraints_are_one_exact_pin_per_line_sorted_without_duplicates() -> None:
    entries = [line for line in CONSTRAINT_LINES if line and not line.startswith("#")]
    bad = [line for line in entries if len(Requirement(line).specifier) != 1 or "==" not in line or "*" in line]
    assert not bad, f"constraints.txt lines that are not exact `name==version` pins: {bad}"
    names = [canonicalize_name(line.partition("==")[0]) for line in entries]
    assert len(names) == len(set(names)), "constraints.txt pins a package twice"
    assert entries == sorted(entries, key=str.upper), "constraints.txt is not sorted as `LC_ALL=C sort -f` sorts"


@pytest.mark.parametrize("req", DECLARED, ids=str)
def test_every_declared_dependency_has_a_pin_its_specifier_accepts(req: Requirement) -> None:
    pin = PINS.get(canonicalize_name(req.name))
    assert pin is not None, f"{req.name} is in pyproject.toml but not pinned in constraints.txt"
    assert req.specifier.contains(pin, prereleases=True), f"constraints.txt pins {req.name}=={pin}, outside {req}"


@pytest.mark.parametrize("req", DECLARED, ids=str)
def test_every_declared_dependency_is_installed_at_its_pin(req: Requirement) -> None:
    pin, installed = PINS.get(canonicalize_name(req.name)), _installed(req.name)
    assert installed == pin, f"{req.name}: installed {installed}, pinned {pin} (run make install)"


def test_everything_the_dependencies_pull_in_is_pinned_at_the_installed_version() -> None:
    drift = {
        name: (str(PINS.get(name)), str(_installed(name)))
        for name in sorted(_closure(DECLARED))
        if PINS.get(name) != _installed(name)
    }
    assert not drift, f"(pinned, installed) differ; regenerate constraints.txt from a working venv: {drift}"
