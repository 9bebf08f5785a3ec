"""`make bench`'s summary (benchmarks/goals.py) reads the goal lines every benchmark script ends with, in one fixed
form, and refuses anything else: a malformed line, a failed script or one without a goal line fails the run."""

from __future__ import annotations

import pytest

from benchmarks.goals import Outcome, is_goal_line, summary


@pytest.mark.parametrize("line", [
    "goal chase-plan-10000-leads: 3.9 s cpu (goal 5 s): met",
    "goal checks-1000-grants-memory: 369 MiB peak (goal 400 MiB): met",
    "goal ingest-vs-raw-parse: 10.43 x cpu (goal <= 3 x cpu): missed",
    "goal ingest-vs-main: 1.17 x main's returns per cpu second (goal >= 0.95 x main's returns per cpu second): met",
    "goal flow-overhead-check: 134 % of the job (goal 10 %): missed",
    "goal workspace-grant-page-p95-100-grants: 48 ms (goal 300 ms): met",
])
def test_a_goal_line_in_the_fixed_form_is_read(line: str) -> None:
    assert is_goal_line(line)


@pytest.mark.parametrize("line", [
    "goal: p95 under 2 s with 8 at once: met",  # no job name, no figure
    "goal overview p95 at 100 grants: 87 ms (goal 300 ms): met",  # spaces in the job name
    "goal ingest-per-file-flat: 1.02 x (goal <= 1.2 x): met (main-process cpu 2.23 -> 2.27 ms/file)",  # trailing
    "goal chase-plan-10000-leads: 3.9 s cpu (goal 5 s): NOT met",
    "goal chase-plan-10000-leads: fast (goal 5 s): met",
])
def test_any_other_line_starting_with_goal_is_not(line: str) -> None:
    assert not is_goal_line(line)


def test_the_summary_lists_every_goal_and_counts_the_met_ones() -> None:
    outcomes = [Outcome("check", 30, 0, ["goal checks-1000-grants: 4.9 s cpu (goal 5 s): met"]),
                Outcome("flows", 60, 0, ["goal flow-overhead-check: 134 % of the job (goal 10 %): missed"])]
    lines, clean = summary(outcomes, 90)
    assert clean
    assert outcomes[0].goals[0] in lines and outcomes[1].goals[0] in lines
    assert lines[-1] == "1 of 2 goals met"


@pytest.mark.parametrize("outcome", [
    Outcome("chase", 10, 1, []),  # the script failed
    Outcome("chase", 10, 0, []),  # it printed no goal line
    Outcome("chase", 10, 0, ["goal chase-plan-10000-leads: 3.9 s cpu (goal 5 s): met"],
            ["goal chase: 3.9 s (goal 5 s): met, just"]),  # one of its goal lines is not in the form
])
def test_a_failed_script_or_a_malformed_goal_line_makes_the_run_fail(outcome: Outcome) -> None:
    lines, clean = summary([outcome], 10)
    assert not clean and any(line.startswith("  (chase:") for line in lines)
