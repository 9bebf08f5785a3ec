"""Figures are never misread: Excel errors, formulas without values, ambiguous commas, percentages, future dates and
hostile values are problems at their cell (issue 12, items 1-3, 6 and 13); an earlier accepted return stays."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.returns.layout import META, signature_valid
from grants.returns.official import official_returns
from tests.returns_kit import (  # noqa: F401
    KEY,
    _stop_parser_pool,
    codes,
    fill,
    ingest,
    issue,
    recalculate,
    spend_of,
)

SIGN = "Narrative and sign-off"


@pytest.mark.parametrize("error", ["#REF!", "#DIV/0!", "#N/A", "#VALUE!"])
def test_an_excel_error_in_an_input_cell_is_a_problem_never_zero_and_keeps_the_earlier_accepted_return(
    engine: Engine, blank: Path, tmp_path: Path, error: str,
) -> None:
    [good] = ingest(engine, tmp_path, fill(blank, {"spend__design": 1200}, tmp_path / "good.xlsx"))
    [bad] = ingest(engine, tmp_path, fill(blank, {"spend__design": error}, tmp_path / "bad.xlsx"))
    assert (good.outcome, bad.outcome) == ("accepted", "rejected")
    assert codes(bad) == [("excel-error", "Spend", "F5")]
    assert f"sheet 'Spend', cell F5) contains the Excel error {error}: type the figure instead" in \
        bad.problems[0].message
    with Session(engine) as session:
        [official] = official_returns(session, date(2024, 12, 31)).values()
        assert (official.id, official.version) == (good.return_id, 1)
    assert spend_of(engine, good.return_id)["design"] == 120000 and spend_of(engine, bad.return_id) == {}


def test_a_formula_saved_without_its_value_is_a_problem_and_one_with_its_value_is_read(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    script = fill(blank, {"spend__design": "=100+200"}, tmp_path / "script.xlsx")  # openpyxl saves no values
    excel = recalculate(fill(blank, {"spend__design": "=100+200"}, tmp_path / "excel.xlsx"))  # as Excel saves
    no_value, with_value = ingest(engine, tmp_path, script, excel)
    assert (no_value.outcome, codes(no_value)) == ("rejected", [("formula-without-value", "Spend", "F5")])
    assert "type the figure instead" in no_value.problems[0].message
    assert (with_value.outcome, with_value.problems) == ("accepted", ())
    assert spend_of(engine, with_value.return_id)["design"] == 30000


@pytest.mark.parametrize(("typed", "pence"), [
    ("1,750", 175000), ("£1,750.00", 175000), ("12,500.50", 1250050), ("1750", 175000), (" £1,000,000.00 ", None),
])
def test_uk_thousands_commas_are_read(engine: Engine, blank: Path, tmp_path: Path, typed: str,
                                      pence: int | None) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, {"forecast__delivery__2024_25_Q3": typed}, tmp_path / "in.xlsx"))
    assert (result.outcome, result.problems) == ("accepted", ())
    with Session(engine) as session:
        [forecast] = [f.amount_pence for f in session.exec(select(m.ReturnForecast).where(
            m.ReturnForecast.return_id == result.return_id, m.ReturnForecast.period_label == "2024-25-Q3"))
            if f.amount_pence]
    assert forecast == (pence if pence is not None else 100_000_000)


@pytest.mark.parametrize("typed", ["12,50", "1.750,00", "1,75", "1.750", "12,5000", "1,2,3"])
def test_commas_or_dots_that_are_not_uk_grouping_are_a_problem_at_the_cell(
    engine: Engine, blank: Path, tmp_path: Path, typed: str,
) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__design": typed}, tmp_path / "in.xlsx"))
    assert (result.outcome, codes(result)) == ("rejected", [("ambiguous-number", "Spend", "F5")])
    assert f"is '{typed}', which could be read more than one way" in result.problems[0].message


def _percent(path: Path, name: str, value: object, out: Path) -> Path:
    wb = load_workbook(fill(path, {}, out))
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    cell = wb[sheet][ref.replace("$", "")]
    cell.value, cell.number_format = value, "0%"  # what Excel stores when a lead types 100%
    wb.save(out)
    return out


def test_a_percentage_in_a_count_and_a_sign_off_dated_in_the_future_are_problems(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    typed = _percent(blank, "output__people_trained", 1, tmp_path / "percent.xlsx")
    as_text = fill(blank, {"output__trainers_trained": "100%"}, tmp_path / "text.xlsx")
    future = fill(blank, {"signoff_date": date(2099, 1, 1)}, tmp_path / "future.xlsx")
    percent, text, dated = ingest(engine, tmp_path, typed, as_text, future)
    assert (percent.outcome, codes(percent)) == ("rejected", [("percentage-not-allowed", "Outputs", "G5")])
    assert "is a percentage (100%): enter a whole number, e.g. 12, not a percentage" in percent.problems[0].message
    assert codes(text) == [("percentage-not-allowed", "Outputs", "G6")]
    assert (dated.outcome, codes(dated)) == ("rejected", [("date-in-future", SIGN, "B11")])
    assert "01/01/2099, after the day this return was received (03/10/2024)" in dated.problems[0].message


def test_hostile_values_are_problems_for_their_file_alone_and_the_run_carries_on(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    wb = load_workbook(fill(blank, {}, tmp_path / "signature.xlsx"))
    wb[META]["B7"] = "sïgnature ✓"  # non-ASCII: hmac.compare_digest raised TypeError on str
    wb.save(tmp_path / "signature.xlsx")
    files = [tmp_path / "signature.xlsx", fill(blank, {"spend__design": "1e30"}, tmp_path / "money.xlsx"),
             fill(blank, {"forecast__design__2024_25_Q3": 1e30}, tmp_path / "money-number.xlsx"),
             fill(blank, {"output__people_trained": 1e19}, tmp_path / "count.xlsx"),
             fill(blank, {"spend__design": 100}, tmp_path / "good.xlsx")]
    signature, money, money_number, count, good = ingest(engine, tmp_path, *files)
    assert (signature.outcome, [p.code for p in signature.problems]) == ("quarantined", ["signature-invalid"])
    assert (money.outcome, codes(money)) == ("rejected", [("number-too-large", "Spend", "F5")])
    assert "amounts must be under 1,000,000,000" in money.problems[0].message
    assert codes(money_number) == [("number-too-large", "Spend", "H5")]
    assert (count.outcome, codes(count)) == ("rejected", [("number-too-large", "Outputs", "G5")])
    assert "counts must be under 10,000,000" in count.problems[0].message
    assert (good.outcome, good.problems) == ("accepted", ())


@pytest.mark.parametrize("signature", ["sïgnature", "✓" * 64, "", "\x00"])
def test_the_signature_comparison_takes_any_text_and_refuses_it(blank: Path, signature: str) -> None:
    wb = load_workbook(blank)
    meta = {str(a.value): str(b.value) for a, b in wb[META].iter_rows(max_col=2)}
    assert signature_valid(KEY, meta)
    assert not signature_valid(KEY, meta | {"signature": signature})
    assert not signature_valid(KEY, meta | {"project": "prøject"})


def test_the_problems_of_a_rejected_file_are_stored_with_the_cell_and_the_fix(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__delivery": "#REF!", "output__schools_engaged": "50%"},
                                             tmp_path / "in.xlsx"))
    with Session(engine) as session:
        ret = session.get(m.Return, result.return_id)
        assert ret is not None
        stored = json.loads(ret.problems_json)
    assert [(p["code"], p["sheet"], p["cell"], p["field"]) for p in stored] == [
        ("excel-error", "Spend", "F6", "spend__delivery"),
        ("percentage-not-allowed", "Outputs", "G7", "output__schools_engaged")]


def test_an_input_cell_merged_into_the_one_above_is_a_problem_at_that_cell_never_zero(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    # Merging F5:F6 keeps only F5's figure (Excel warns so): the second line's spend is lost, not £0.
    path = fill(blank, {"spend__design": 500, "spend__delivery": 600, "narrative_progress": "Long text"},
                tmp_path / "merged.xlsx")
    wb = load_workbook(path)
    wb["Spend"].merge_cells("F5:F6")
    wb[SIGN].merge_cells("B4:D4")  # a merged text cell that starts at the input cell loses nothing
    wb.save(path)
    [result] = ingest(engine, tmp_path, path)
    assert (result.outcome, codes(result)) == ("rejected", [("merged-cell", "Spend", "F6")])
    assert "was merged into cells F5:F6, so its own figure is lost" in result.problems[0].message
    assert "unmerge it" in result.problems[0].message


def test_a_negative_figure_is_a_problem_quoting_it_as_typed_with_its_sheet_and_cell(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__design": -300, "output__people_trained": -2},
                                             tmp_path / "negative.xlsx"))
    assert result.outcome == "rejected"
    messages = {p.cell: p.message for p in result.problems}
    assert "(sheet 'Spend', cell F5) is -300; amounts cannot be negative" in messages["F5"]
    assert "(sheet 'Outputs', cell G5) is -2; a count cannot be negative" in messages["G5"]


def test_a_deleted_budget_line_row_is_a_problem_naming_the_line_not_a_zero(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    # Deleting a row in Excel or LibreOffice turns the names of its cells into 'Spend'!#REF!.
    path = fill(blank, {"spend__design": 500}, tmp_path / "deleted.xlsx")
    wb = load_workbook(path)
    wb.defined_names["spend__delivery"].attr_text = "'Spend'!#REF!"
    wb.save(path)
    [result] = ingest(engine, tmp_path, path)
    assert (result.outcome, codes(result)) == ("rejected", [("missing-defined-name", "Spend", "")])
    assert "Spend this quarter on 'Training delivery (face to face and online)' can no longer be found (it now " \
        "points to 'Spend'!#REF!)" in result.problems[0].message
