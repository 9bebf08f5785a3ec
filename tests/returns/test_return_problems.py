"""Problem codes are stable kebab-case, documented in the README, and stored as JSON with exactly six keys."""

from __future__ import annotations

import json
import re

from grants.returns.problems import CODES, MAX_PROBLEMS, capped, problem, problems_from_json, problems_to_json
from tests.conftest import ROOT


def test_every_problem_code_is_kebab_case_and_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    returns = readme[readme.index("## Returns: workbooks out, Excel in"):]
    section = returns[:returns.find("\n## ", 1) if "\n## " in returns[1:] else len(returns)]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code) for code in CODES)
    assert documented == set(CODES)


def test_problems_are_stored_as_json_objects_with_exactly_the_six_keys() -> None:
    stored = problems_to_json([problem("not-a-number", "Spend is text", sheet="Spend", cell="F5", field="spend__x")])
    assert json.loads(stored) == [{"code": "not-a-number", "severity": "error", "sheet": "Spend", "cell": "F5",
                                   "field": "spend__x", "message": "Spend is text"}]
    assert problems_from_json(stored)[0].cell == "F5"


def test_a_file_lists_at_most_fifty_problems_and_then_how_many_more() -> None:
    many = [problem("unknown-budget-line", f"row {i}") for i in range(2_000)]
    kept = capped(many)
    assert len(kept) == MAX_PROBLEMS == 50
    assert kept[:49] == many[:49]
    assert (kept[-1].code, kept[-1].severity) == ("unknown-budget-line", "error")
    assert kept[-1].message.startswith("...and 1,951 more problems")
    assert capped(many[:50]) == many[:50]
