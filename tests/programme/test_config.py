"""Grant programme config: the shipped example is valid; every problem names the file and the key path."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import yaml

from grants.programme.config import CountTarget, MilestoneTarget
from grants.programme.loader import check_files, load_programmes, parse_programme
from tests.cli_support import grants as cli_grants
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_GRANT_FILE


def _edit(config_dir: Path, change: object) -> Path:
    path = config_dir / "grants" / "svd-2024-25.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _errors(path: Path) -> list[str]:
    _, problems = parse_programme(path)
    return [str(p) for p in problems if p.severity == "error"]


def _keyed(path: Path) -> list[str]:
    """The errors with their line and column left out (tests of the key path and the words)."""
    _, problems = parse_programme(path)
    return [str(replace(p, place=None)) for p in problems if p.severity == "error"]


def _line_of(path: Path, text: str) -> int:
    """The line (from 1) of the first line of the file holding `text`."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_example_programme_is_valid_and_allocations_add_up_to_the_grant() -> None:
    [loaded] = load_programmes(EXAMPLE_CONFIG)
    p = loaded.programme
    assert p.grant.amount == Decimal("125000.00")
    assert p.grant.recurring is False
    assert len(p.projects) == 8
    assert sum(project.allocation for project in p.projects) == Decimal("125000.00")
    for project in p.projects:
        assert str(project.lead.email).endswith("@example.org")


def test_example_carries_the_seeded_targets() -> None:
    [loaded] = load_programmes(EXAMPLE_CONFIG)
    projects = {p.code: p for p in loaded.programme.projects}
    bystander = {t.key: t for t in projects["active-bystander"].targets if isinstance(t, CountTarget)}
    assert (bystander["people_trained"].target, bystander["trainers_trained"].target,
            bystander["schools_engaged"].target) == (500, 16, 2)
    assert all(str(t.due) == "2025-03-31" for t in bystander.values())
    man = {t.key: t for t in projects["man-culture"].targets}
    assert isinstance(man["workshops"], CountTarget) and man["workshops"].target == 12
    assert isinstance(man["conference"], MilestoneTarget)
    assert isinstance(man["sustainability_plan"], MilestoneTarget) and man["sustainability_plan"].sustainability


def test_missing_allocation_names_file_and_key(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["projects"][2].pop("allocation"))
    assert _keyed(path) == [f"{path}: projects[2].allocation (project active-bystander): required field is missing"]


def test_negative_amount_names_file_and_key(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["projects"][0]["budget_lines"][1].update(amount=-50))
    [error] = _keyed(path)
    assert error.startswith(f"{path}: projects[0].budget_lines[1].amount (project purple-flag): must not be negative")


def test_unknown_target_field_names_file_and_key(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["projects"][2]["targets"][0].update(tagret=600))
    [error] = _keyed(path)
    assert error.startswith(f"{path}: projects[2].targets[0].tagret (project active-bystander): unknown field")


def test_allocations_exceeding_the_grant_is_an_error(config_dir: Path) -> None:
    def bump(d: dict) -> None:  # type: ignore[type-arg]
        d["grant"]["amount"] = 100000
    path = _edit(config_dir, bump)
    assert _keyed(path) == [
        f"{path}: projects: allocations add up to £125,000.00, more than the grant of £100,000.00"
    ]


def test_unallocated_money_is_a_warning_not_an_error(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["grant"].update(amount=130000))
    _, problems = parse_programme(path)
    assert [(p.severity, p.path) for p in problems] == [("warning", "projects")]
    assert "£5,000.00 of the £130,000.00 grant is not allocated" in str(problems[0])


def test_budget_lines_must_add_up_to_the_allocation(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["projects"][7].update(allocation=9000))
    errors = _keyed(path)
    assert (f"{path}: projects[7].budget_lines (project prevention-feasibility): lines add up to £10,000.00 but the "
            "allocation is £9,000.00") in errors


def test_profile_for_a_period_outside_the_grant_is_an_error(config_dir: Path) -> None:
    path = _edit(config_dir, lambda d: d["projects"][7]["budget_lines"][0]["profile"].update({"2025-26-Q1": 0}))
    [error] = _keyed(path)
    assert error.startswith(f"{path}: projects[7].budget_lines[0].profile.2025-26-Q1 (project prevention-feasibility): "
                            "not a reporting period")


def test_unknown_officer_and_unknown_kind_are_reported(config_dir: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["projects"][1]["officer"] = "nobody"
        d["projects"][3]["targets"][1]["kind"] = "event"
    path = _edit(config_dir, change)
    errors = _keyed(path)
    assert any(e.startswith(f"{path}: projects[3].targets[1] (project man-culture): kind must be 'count'")
               for e in errors)


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("grant:\n  reference: [unclosed\n")
    [error] = _errors(path)
    assert error.startswith(f"{path}: line ") and "not valid YAML" in error


def test_duplicate_grant_reference_across_files_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(EXAMPLE_GRANT_FILE.read_text())
    loaded, problems = check_files([EXAMPLE_GRANT_FILE, copy])
    assert len(loaded) == 1
    expected = f"{copy}: grant.reference: 'SVD-2024-25' is also used in {EXAMPLE_GRANT_FILE}"
    assert [str(p) for p in problems] == [expected]


def test_config_check_command_prints_one_line_per_problem_and_exits_1(config_dir: Path) -> None:
    def break_it(d: dict) -> None:  # type: ignore[type-arg]
        d["projects"][2].pop("allocation")
        d["projects"][0]["budget_lines"][1]["amount"] = -50
        d["projects"][2]["targets"][0]["tagret"] = 600
    path = _edit(config_dir, break_it)
    result = cli_grants("config", "check", str(path))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert all(re.match(rf"{re.escape(str(path))}: line \d+, column \d+: projects\[", line) for line in lines)
    assert "Traceback" not in result.stderr


def test_config_check_command_passes_on_the_example() -> None:
    result = cli_grants("config", "check", str(EXAMPLE_GRANT_FILE))
    assert result.returncode == 0, result.stderr
    assert "SVD-2024-25, 8 projects, £125,000.00" in result.stdout


def _edit_text(config_dir: Path, old: str, new: str) -> Path:
    """Edit the file's text as an officer would in an editor (no YAML round trip)."""
    path = config_dir / "grants" / "svd-2024-25.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_date_that_does_not_exist_names_file_line_and_the_fix_and_init_stops_with_one_line(
        config_dir: Path) -> None:
    path = _edit_text(config_dir, "  start: 2024-04-01", "  start: 2024-13-01")
    line = 1 + path.read_text().splitlines().index("  start: 2024-13-01")
    assert _errors(path) == [f"{path}: line {line}, column 10: '2024-13-01' is not a real date: write dates as "
                             "YYYY-MM-DD, e.g. 2025-03-31"]
    result = cli_grants("config", "check", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "unexpected" not in result.stderr


def test_a_date_in_another_format_says_how_to_write_it_at_its_line_and_column(config_dir: Path) -> None:
    path = _edit_text(config_dir, "due: 2025-03-31}", "due: 31/03/2025}")
    line = _line_of(path, "31/03/2025")
    column = 1 + path.read_text().splitlines()[line - 1].index("31/03/2025")
    [error] = _errors(path)
    assert error == (f"{path}: line {line}, column {column}: projects[0].targets[0].due (project purple-flag): "
                     "'31/03/2025' is not a date: write dates as YYYY-MM-DD, e.g. 2025-03-31")


def test_an_empty_value_or_list_says_it_is_empty(config_dir: Path) -> None:
    path = _edit_text(config_dir, "  reference: SVD-2024-25", "  reference:")
    assert _keyed(path) == [f"{path}: grant.reference: is empty: give a value (see config/README.md)"]
    path = _edit(config_dir, lambda d: d["projects"][0].update(budget_lines=[]))
    assert _keyed(path) == [f"{path}: grant.reference: is empty: give a value (see config/README.md)",
                             f"{path}: projects[0].budget_lines (project purple-flag): is empty: give at least one "
                             "(see config/README.md)"]


def test_a_field_error_names_the_line_and_column_of_the_value(config_dir: Path) -> None:
    path = _edit_text(config_dir, "    allocation: 15000.00", "    allocation: -15000.00")  # projects[1]
    line = _line_of(path, "allocation: -15000.00")
    assert any(e.startswith(f"{path}: line {line}, column 17: projects[1].allocation (project community-coproduction): "
                            "must not be negative")
               for e in _errors(path))


def test_an_unknown_key_is_placed_at_the_key_and_a_missing_one_at_its_block(config_dir: Path) -> None:
    path = _edit_text(config_dir, "  - code: speech-language\n", "  - code: speech-language\n    lead_oficer: Sam\n")
    path = _edit_text(config_dir, "    allocation: 10000.00\n", "")  # projects[6] (csa-prevention) loses its own
    unknown, missing = _line_of(path, "lead_oficer"), _line_of(path, "code: csa-prevention")
    assert _errors(path) == [
        f"{path}: line {unknown}, column 5: projects[5].lead_oficer (project speech-language): unknown field (check "
        "the spelling; allowed fields are listed in config/README.md)",
        f"{path}: line {missing}, column 5: projects[6].allocation (project csa-prevention): required field is missing"]


def test_a_value_of_the_wrong_type_names_its_line(config_dir: Path) -> None:
    path = _edit_text(config_dir, "  recurring: false", "  recurring: [false]")
    [error] = _errors(path)
    assert error.startswith(f"{path}: line {_line_of(path, 'recurring: [false]')}, column 14: grant.recurring: ")


def test_a_rule_across_fields_is_placed_at_the_key_it_names(config_dir: Path) -> None:
    path = _edit_text(config_dir, "    officer: ", "    officer: nobody  # was: ")  # projects[0]'s officer
    [error] = _errors(path)
    assert error.startswith(f"{path}: line {_line_of(path, 'officer: nobody')}, column 14: projects[0].officer "
                            "(project purple-flag): names 'nobody', which is not in officers")


def test_a_problem_inside_a_project_names_its_code_so_nobody_counts_fourteen_projects(config_dir: Path) -> None:
    def break_it(d: dict) -> None:  # type: ignore[type-arg]
        d["projects"][6]["lead"]["email"] = "sasha.quinn.example.org"  # pydantic's check
        d["projects"][5]["officer"] = "cst0"  # the cross-field checks
    path = _edit(config_dir, break_it)
    assert _keyed(path) == [
        f"{path}: projects[6].lead.email (project csa-prevention): value is not a valid email address: An email "
        "address must have an @-sign."]
    path = _edit(config_dir, lambda d: d["projects"][6]["lead"].update(email="sasha.quinn@example.org"))
    assert _keyed(path) == [
        f"{path}: projects[5].officer (project speech-language): names 'cst0', which is not in officers (csto, head)"]


def test_a_zero_target_and_a_cadence_or_cost_type_not_offered_say_what_to_use_instead(config_dir: Path) -> None:
    def break_it(d: dict) -> None:  # type: ignore[type-arg]
        d["grant"]["reporting"]["cadence"] = "monthly"
        d["projects"][0]["targets"][0]["target"] = 0
        d["projects"][0]["budget_lines"][0]["cost_type"] = "capital"
    path = _edit(config_dir, break_it)
    assert sorted(_keyed(path)) == sorted([
        f"{path}: grant.reporting.cadence: 'monthly' is not allowed: use 'quarterly'",
        f"{path}: projects[0].targets[0].target (project purple-flag): must be more than 0 (for something done once, "
        "use kind: milestone)",
        f"{path}: projects[0].budget_lines[0].cost_type (project purple-flag): 'capital' is not allowed: use 'labour' "
        "or 'non_labour'"])


def test_money_profiled_in_a_quarter_before_the_project_starts_delivering_is_an_error(config_dir: Path) -> None:
    # no return is made for that quarter, so the money could never be reported spent
    path = _edit_text(config_dir, "  - code: purple-flag\n", "  - code: purple-flag\n    delivery_start: 2024-10-01\n")
    assert _keyed(path) == [
        f"{path}: projects[0].budget_lines[{j}].profile.2024-25-Q2 (project purple-flag): £{amount} profiled, but the "
        "project delivers from 2024-10-01 to 2025-03-31, so it makes no return for 2024-25-Q2: profile 0 or move the "
        "money" for j, amount in ((0, "750.00"), (1, "1,750.00"), (2, "500.00"))]
