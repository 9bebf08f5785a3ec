"""Loading and checking grant programme files: every problem names the file and the key path, and (for a file
that parses) the line and column it is at."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from grants.kernel.errors import ConfigError
from grants.kernel.yaml_marks import Place, load_marked, path_parts, place
from grants.programme.config import CountTarget, ProgrammeFile, Project
from grants.programme.periods import Period, WorkingCalendar, reporting_periods, reports_for


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, located by file, line and column (when known), key path and, inside a
    project, by its code, so an officer with fourteen projects need not count them (e.g.
    `svd.yaml: line 40, column 17: projects[2].allocation (project active-bystander): ...`)."""

    file: str
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"
    place: Place | None = None
    project: str = ""

    def __str__(self) -> str:
        where = ": ".join(str(part) for part in (self.file, self.place, self.path) if part)
        where += f" (project {self.project})" if self.project else ""
        return f"{where}: {self.message}" if self.severity == "error" else f"{where}: warning: {self.message}"


@dataclass(frozen=True)
class LoadedProgramme:
    """A valid programme file and where it came from."""

    file: Path
    programme: ProgrammeFile


def _key_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("count", "milestone"):  # discriminated-union tag pydantic puts in the location
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


DATE_FIX = "write dates as YYYY-MM-DD, e.g. 2025-03-31"


class _NotADate(yaml.constructor.ConstructorError):
    """A value written as a date that is not one (2024-13-01, 2025-02-30), at its line in the file."""


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a date that does not exist is a problem at its line, not a crash."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            raise _NotADate(None, None, f"'{node.value}' is not a real date: {DATE_FIX}", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _project_code(raw: dict[str, object], loc: tuple[int | str, ...]) -> str:
    """The code of the project an error's location is inside (empty when none is given)."""
    projects = raw.get("projects")
    if len(loc) < 2 or loc[0] != "projects" or not isinstance(loc[1], int) or not isinstance(projects, list):
        return ""
    project = projects[loc[1]] if loc[1] < len(projects) else None
    code = project.get("code") if isinstance(project, dict) else None
    return code if isinstance(code, str) else ""


def _message(error: dict[str, object]) -> str:
    kind, given = str(error["type"]), error.get("input")
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; allowed fields are listed in config/README.md)"
    if kind == "missing":
        return "required field is missing"
    if given is None:
        return "is empty: give a value (see config/README.md)"
    if kind.startswith("date_"):
        return f"'{given}' is not a date: {DATE_FIX}"
    context = error.get("ctx") if isinstance(error.get("ctx"), dict) else {}
    assert isinstance(context, dict)
    if kind == "literal_error":
        return f"'{given}' is not allowed: use {context.get('expected')}"
    if kind == "greater_than" and error["loc"] and tuple(error["loc"])[-1] == "target":  # type: ignore[arg-type]
        return f"must be more than {context.get('gt')} (for something done once, use kind: milestone)"
    if kind in ("too_short", "string_too_short"):
        return "is empty: give at least one (see config/README.md)" if kind == "too_short" else "must not be empty"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


def parse_programme(file: Path) -> tuple[ProgrammeFile | None, list[ConfigProblem]]:
    """Parse and validate one file; returns the programme (or None) and every problem found."""
    name = str(file)
    try:
        raw, root = load_marked(file.read_text(encoding="utf-8"), _Loader)
    except OSError as exc:
        return None, [ConfigProblem(name, "", f"cannot read the file: {exc.strerror or exc}")]
    except _NotADate as exc:
        return None, [ConfigProblem(name, "", str(exc.problem), place=_mark_place(exc))]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(name, "", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                    place=_mark_place(exc))]
    if not isinstance(raw, dict):
        return None, [ConfigProblem(name, "", "expected a mapping with grant, officers and projects")]
    try:
        programme = ProgrammeFile.model_validate(raw)
    except ValidationError as exc:
        return None, [ConfigProblem(name, _key_path(e["loc"]), _message(dict(e)),
                                    place=place(root, e["loc"], key=e["type"] == "extra_forbidden"),
                                    project=_project_code(raw, e["loc"]))
                      for e in exc.errors()]
    return programme, [replace(problem, place=place(root, path_parts(problem.path))) if problem.path else problem
                       for problem in check_programme(programme, name)]


def _mark_place(exc: yaml.YAMLError) -> Place | None:
    mark = getattr(exc, "problem_mark", None)
    return Place(mark.line + 1, mark.column + 1) if mark is not None else None


def check_programme(p: ProgrammeFile, file: str) -> list[ConfigProblem]:
    """Cross-field rules pydantic can't see: sums, dates, references, profile periods, unique keys."""
    problems: list[ConfigProblem] = []
    g = p.grant

    def add(path: str, message: str, severity: Literal["error", "warning"] = "error") -> None:
        problems.append(ConfigProblem(file, path, message, severity))

    if g.end < g.start:
        add("grant.end", f"ends {g.end} before it starts {g.start}")
        return problems
    if g.spend_by < g.start:
        add("grant.spend_by", f"spend-by date {g.spend_by} is before the grant starts {g.start}")
    calendar = WorkingCalendar(g.reporting.closure_days)
    periods = {
        period.label: period
        for period in reporting_periods(
            g.start, g.end, due_working_days=g.reporting.due_working_days,
            basis=g.reporting.quarter_basis, calendar=calendar,
        )
    }
    for key, officer in p.officers.items():
        if officer.manager is not None and officer.manager not in p.officers:
            add(f"officers.{key}.manager", f"names '{officer.manager}', which is not an officer in this file")
    total = sum((project.allocation for project in p.projects), Decimal(0))
    if total > g.amount:
        add("projects", f"allocations add up to £{total:,.2f}, more than the grant of £{g.amount:,.2f}")
    elif total < g.amount:
        add("projects", f"£{g.amount - total:,.2f} of the £{g.amount:,.2f} grant is not allocated", "warning")
    codes: set[str] = set()
    for i, project in enumerate(p.projects):
        if project.code in codes:
            add(f"projects[{i}].code", f"'{project.code}' is used by another project")
        codes.add(project.code)
        problems += _check_project(project, f"projects[{i}]", file, p, periods)
    return [replace(problem, project=_code_at(problem.path, p)) for problem in problems]


def _code_at(path: str, p: ProgrammeFile) -> str:
    """The code of the project a problem's key path is inside (projects[3].allocation), else empty."""
    found = re.match(r"projects\[(\d+)\]", path)
    return p.projects[int(found.group(1))].code if found and int(found.group(1)) < len(p.projects) else ""


def _check_project(
    project: Project, at: str, file: str, p: ProgrammeFile, periods: dict[str, Period]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    g = p.grant

    def add(path: str, message: str) -> None:
        problems.append(ConfigProblem(file, f"{at}.{path}", message))

    if project.officer not in p.officers:
        add("officer", f"names '{project.officer}', which is not in officers ({', '.join(sorted(p.officers))})")
    start = project.delivery_start or g.start
    end = project.delivery_end or g.end
    if not (g.start <= start <= end <= g.end):
        add("delivery_end", f"delivery {start} to {end} must fall within the grant, {g.start} to {g.end}")
    lines_total = sum((line.amount for line in project.budget_lines), Decimal(0))
    if lines_total != project.allocation:
        add("budget_lines", f"lines add up to £{lines_total:,.2f} but the allocation is £{project.allocation:,.2f}")
    keys: set[str] = set()
    window = _Window(start, end)
    for j, line in enumerate(project.budget_lines):
        if line.key in keys:
            add(f"budget_lines[{j}].key", f"'{line.key}' is used by another budget line")
        keys.add(line.key)
        for label, planned in line.profile.items():
            period = periods.get(label)
            if period is not None and planned and not reports_for(window, period.start, period.end):
                add(f"budget_lines[{j}].profile.{label}", f"£{planned:,.2f} profiled, but the project delivers from "
                    f"{start} to {end}, so it makes no return for {label}: profile 0 or move the money")
            if period is None:
                known = ", ".join(sorted(periods))
                add(f"budget_lines[{j}].profile.{label}", f"not a reporting period of this grant ({known})")
        profiled = sum(line.profile.values(), Decimal(0))
        if line.profile and profiled != line.amount:
            add(f"budget_lines[{j}].profile",
                f"quarters add up to £{profiled:,.2f} but the line is £{line.amount:,.2f}")
    target_keys: set[str] = set()
    for j, target in enumerate(project.targets):
        if target.key in target_keys:
            add(f"targets[{j}].key", f"'{target.key}' is used by another target")
        target_keys.add(target.key)
        if not g.start <= target.due <= g.end:
            add(f"targets[{j}].due", f"{target.due} is outside the grant, {g.start} to {g.end}")
        if isinstance(target, CountTarget):
            problems += _check_profile(target, f"{at}.targets[{j}]", file, periods)
    return problems


@dataclass(frozen=True)
class _Window:
    """A project's delivery dates as the grant file gives them (defaulting to the grant's)."""

    delivery_start: date
    delivery_end: date


def _check_profile(target: CountTarget, at: str, file: str, periods: Mapping[str, Period]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    previous = 0
    for label in sorted(target.profile):
        value = target.profile[label]
        if label not in periods:
            problems.append(ConfigProblem(file, f"{at}.profile.{label}", "not a reporting period of this grant"))
        if value < previous:
            problems.append(
                ConfigProblem(file, f"{at}.profile.{label}", f"cumulative profile falls from {previous} to {value}")
            )
        if value < 0:
            problems.append(ConfigProblem(file, f"{at}.profile.{label}", "must not be negative"))
        previous = value
    return problems


def programme_files(config_dir: Path) -> list[Path]:
    """The grant files under `<config_dir>/grants/` (*.yaml, *.yml), sorted by name."""
    folder = config_dir / "grants"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def check_files(files: list[Path]) -> tuple[list[LoadedProgramme], list[ConfigProblem]]:
    """Validate files; returns the valid programmes and all problems (errors and warnings)."""
    loaded: list[LoadedProgramme] = []
    problems: list[ConfigProblem] = []
    references: dict[str, Path] = {}
    for file in files:
        programme, found = parse_programme(file)
        problems += found
        if programme is None or any(p.severity == "error" for p in found):
            continue
        ref = programme.grant.reference
        if ref in references:
            problems.append(ConfigProblem(str(file), "grant.reference", f"'{ref}' is also used in {references[ref]}"))
            continue
        references[ref] = file
        loaded.append(LoadedProgramme(file, programme))
    return loaded, problems


def load_programmes(config_dir: Path) -> list[LoadedProgramme]:
    """Every grant programme under the config folder; raises ConfigError listing every error if any is invalid."""
    files = programme_files(config_dir)
    if not files:
        raise ConfigError([ConfigProblem(str(config_dir / "grants"), "", "no grant files (*.yaml) found")])
    loaded, problems = check_files(files)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(list(errors))
    return loaded
