"""`make bench`: run every benchmark of the engine's goals in turn, then print one summary of their goal lines.

Each benchmark script ends with one line per goal in a fixed form that scripts can read:

    goal <job>: <figure> <unit> (goal <target> <unit>): met|missed

e.g. `goal chase-plan-10000-leads: 3.9 s cpu (goal 5 s): met`. This runner streams each script's output as it comes,
keeps its goal lines, and at the end prints them all together with each script's wall time and the load average
(the machine is shared). A goal line not in that form, or a script that fails or prints none, is reported as such
and makes the run exit non-zero, so a broken benchmark can't pass for a met goal.

    .venv/bin/python benchmarks/goals.py [--only ingest,chase] [--ingest-args "--n 3000"]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_LINE = re.compile(r"^goal (?P<job>[a-z0-9][a-z0-9-]*): (?P<figure>-?[0-9][0-9.,]*) (?P<unit>[^()]+?) "
                       r"\(goal (?P<target>(?:[<>]=? )?-?[0-9][0-9.,]*) (?P<target_unit>[^()]+?)\): "
                       r"(?P<verdict>met|missed)$")
BENCHMARKS = {  # name -> the script and its arguments (the sizes the goals are stated at)
    "ingest": ["benchmarks/bench_ingest.py"],
    "check": ["benchmarks/bench_check.py", "1000"],
    "chase": ["benchmarks/bench_chase.py"],
    "flows": ["benchmarks/bench_flows.py"],
}


@dataclass
class Outcome:
    """What one benchmark script printed and how it ended."""

    name: str
    seconds: float = 0.0
    returncode: int = 0
    goals: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def is_goal_line(line: str) -> bool:
    """Whether a line is a goal line in the fixed form."""
    return GOAL_LINE.match(line) is not None


def run(name: str, command: list[str]) -> Outcome:
    """Run one script, echoing its output, and keep its goal lines (and any `goal ...` line not in the form)."""
    outcome = Outcome(name)
    start = time.perf_counter()
    print(f"\n=== {name}: {' '.join(command)} (load average {_load()})", flush=True)
    with subprocess.Popen([sys.executable, *command], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
                          ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            text = line.rstrip("\n")
            if is_goal_line(text):
                outcome.goals.append(text)
            elif text.startswith("goal"):
                outcome.malformed.append(text)
    outcome.returncode = process.returncode
    outcome.seconds = time.perf_counter() - start
    return outcome


def summary(outcomes: list[Outcome], seconds: float) -> tuple[list[str], bool]:
    """The summary's lines and whether every script ran cleanly with well-formed goal lines."""
    lines = [f"=== every goal ({seconds / 60:.1f} min in all, load average now {_load()})"]
    clean = True
    for outcome in outcomes:
        lines += outcome.goals
        problems = [f"  ({outcome.name}: not in the fixed form: {line})" for line in outcome.malformed]
        if outcome.returncode != 0:
            problems.append(f"  ({outcome.name}: exited with {outcome.returncode})")
        elif not outcome.goals:
            problems.append(f"  ({outcome.name}: printed no goal line)")
        lines += problems
        clean = clean and not problems
    lines += [f"  {o.name}: {o.seconds:.0f} s" for o in outcomes]
    met = sum(line.endswith(": met") for o in outcomes for line in o.goals)
    lines.append(f"{met} of {sum(len(o.goals) for o in outcomes)} goals met")
    return lines, clean


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--ingest-args", default="", help="extra arguments for bench_ingest.py")
    args = parser.parse_args()
    start = time.perf_counter()
    outcomes = []
    for name in args.only.split(","):
        extra = shlex.split(args.ingest_args) if name == "ingest" else []
        outcomes.append(run(name, BENCHMARKS[name] + extra))
    lines, clean = summary(outcomes, time.perf_counter() - start)
    print("\n" + "\n".join(lines))
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
