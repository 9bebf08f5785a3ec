"""Problems found in a received return: stable kebab-case codes, severity, and where (sheet, cell, field).

Bad content is data, not an exception. Errors reject a return (or quarantine a file); warnings accept it and are
reported to the lead. `CODES` is the one list of codes, with what each means (the README's table comes from it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class Severity(StrEnum):
    """Errors reject; warnings are reported only."""

    error = "error"
    warning = "warning"


# code -> (default severity, what it means). File-level codes quarantine the file; the rest reject or warn.
CODES: dict[str, tuple[Severity, str]] = {
    "not-an-xlsx": (Severity.error, "The file is not an Excel .xlsx workbook (empty, truncated, CSV, renamed)."),
    "damaged-zip": (Severity.error, "The file is a damaged or truncated zip (cut short while sent or copied)."),
    "opendocument": (Severity.error, "Saved as OpenDocument (.ods); save it as an Excel Workbook (.xlsx)."),
    "too-many-sheets": (Severity.error, "The workbook has far more sheets than a return (sheets were added)."),
    "not-a-regular-file": (Severity.error, "A link, folder, pipe or device: never followed or opened."),
    "legacy-xls": (Severity.error, "An old-style .xls workbook; save it as .xlsx."),
    "password-protected": (Severity.error, "The workbook is encrypted with a password."),
    "macro-enabled": (Severity.error, "The workbook contains macros (.xlsm / vbaProject.bin)."),
    "file-too-large": (Severity.error, "The file is larger than the size limit."),
    "zip-bomb": (Severity.error, "The workbook expands far beyond the limits (size, ratio or member count)."),
    "sheet-too-large": (Severity.error, "A sheet claims more rows or columns than a return can have."),
    "unsafe-xml": (Severity.error, "The workbook's XML declares entities or a DTD (entity-expansion attack)."),
    "unreadable-workbook": (Severity.error, "The workbook could not be read (corrupt content, reader failure)."),
    "not-a-return": (Severity.error, "The workbook is not a return issued by this system (no metadata sheet)."),
    "old-template-version": (Severity.error, "The workbook was issued from an older template version."),
    "signature-invalid": (Severity.error, "The workbook's identity (grant, project, period) was altered or forged."),
    "unknown-project-or-period": (Severity.error, "The project or period in the workbook is not in the register."),
    "wrong-project": (Severity.error, "The workbook is for a different project than expected."),
    "wrong-period": (Severity.error, "The workbook is for a different period than expected."),
    "project-withdrawn": (Severity.error, "The project was withdrawn from the register; the officer decides what to "
                          "do with the file."),
    "ingest-failed": (Severity.error, "Storing failed (database or disk); nothing was saved, the file stays."),
    "duplicate-file": (Severity.warning, "The very same file was received before; it is not counted twice."),
    "period-not-reported": (Severity.error, "The project does not report for this period."),
    "quarter-not-ended": (Severity.error, "The quarter has not ended yet: \"this quarter ends on <date>: send the "
                          "return after that\"."),
    "missing-defined-name": (Severity.error, "An input cell's name is missing or broken (cells pasted over)."),
    "required-field-missing": (Severity.error, "A required answer is blank."),
    "not-a-number": (Severity.error, "A number was expected but the cell holds text."),
    "negative-amount": (Severity.error, "An amount or count is below zero."),
    "too-many-decimals": (Severity.error, "An amount has fractions of a penny."),
    "not-whole-number": (Severity.error, "An output count is not a whole number."),
    "not-a-date": (Severity.error, "A date was expected."),
    "invalid-choice": (Severity.error, "The answer is not one of the allowed choices (e.g. Yes / No)."),
    "excel-error": (Severity.error, "An input cell holds an Excel error (#REF!, #DIV/0!, #N/A, #VALUE!): \"type the "
                    "figure instead\"; never read as zero."),
    "formula-without-value": (Severity.error, "An input cell holds a formula saved without its calculated value: "
                              "type the figure, or open the file in Excel and save it again."),
    "ambiguous-number": (Severity.error, "Commas or dots that are not UK grouping (12,50 or 1.750,00): type the "
                         "number with no commas, or as 1,250.50."),
    "percentage-not-allowed": (Severity.error, "A percentage (100%) where an amount or a count is asked for: enter "
                               "the number itself."),
    "number-too-large": (Severity.error, "An amount of £1bn or more, or a count of ten million or more: check the "
                         "figure."),
    "merged-cell": (Severity.error, "An input cell was merged into the cell above or beside it, so its own figure is "
                    "lost: unmerge the cells and type each figure in its own cell."),
    "unreadable-value": (Severity.error, "A cell's value could not be read at all: type it again."),
    "date-in-future": (Severity.error, "A sign-off or delivery date after the day the return was received: enter the "
                       "real date."),
    "unknown-budget-line": (Severity.error, "A row added inside the spend table is not one of the project's budget "
                            "lines: \"unknown budget line: use one of the listed lines or ask your officer\"."),
    "table-total-mismatch": (Severity.error, "A table's total row, as the workbook shows it, differs from the sum of "
                             "its rows: check the rows and the total (rows added below the table?)."),
    "derived-cell-overwritten": (Severity.error, "A worked-out cell (spent or achieved to date) was typed over: "
                                 "enter the figure in the input cell named and leave the worked-out one alone."),
    "derived-cell-mismatch": (Severity.error, "A worked-out cell shows a value that disagrees with the input cell "
                              "it is worked out from: check both cells."),
    "milestone-date-missing": (Severity.error, "A milestone marked delivered has no delivery date."),
    "spend-over-budget-line": (Severity.error, "Spend this quarter alone is more than the whole budget line."),
    "cumulative-over-budget-line": (Severity.warning, "Spend to date on a budget line is more than its budget."),
    "cumulative-over-allocation": (Severity.warning, "Spend to date is more than the project's allocation."),
}

FILE_LEVEL = frozenset(
    {"not-an-xlsx", "damaged-zip", "opendocument", "too-many-sheets", "not-a-regular-file", "legacy-xls",
     "password-protected", "macro-enabled", "file-too-large", "zip-bomb", "sheet-too-large", "unsafe-xml",
     "unreadable-workbook", "not-a-return", "old-template-version", "signature-invalid", "unknown-project-or-period",
     "wrong-project", "wrong-period", "project-withdrawn"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a return, located as precisely as possible."""

    code: str
    severity: str
    sheet: str
    cell: str
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The stored form: keys exactly code, severity, sheet, cell, field, message."""
        return asdict(self)


PROBLEM_KEYS = tuple(f.name for f in fields(Problem))  # the stored keys, in order


def problem(code: str, message: str, *, sheet: str = "", cell: str = "", field: str = "") -> Problem:
    """A problem with the code's default severity (unknown codes are a programming error)."""
    severity, _ = CODES[code]
    return Problem(code, str(severity), sheet, cell, field, message)


def has_errors(problems: Iterable[Problem]) -> bool:
    """True if any problem is an error."""
    return any(p.severity == Severity.error for p in problems)


MAX_PROBLEMS = 50  # listed per file: a hostile file can't make a run (or the lead's reply) hold thousands


def capped(problems: list[Problem]) -> list[Problem]:
    """At most MAX_PROBLEMS: beyond that the first ones, then one saying how many more there are (with the gravest
    severity and the code of the first left out)."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = problems[MAX_PROBLEMS - 1:]
    severity = Severity.error if has_errors(rest) else Severity.warning
    more = Problem(rest[0].code, str(severity), "", "", "", f"...and {len(rest):,} more problems like the ones above: "
                   "fix those and send the workbook again.")
    return [*problems[:MAX_PROBLEMS - 1], more]


def problems_to_json(problems: Iterable[Problem]) -> str:
    """The JSON list stored in `Return.problems_json` / `ReceivedFile.problems_json`."""
    return json.dumps([p.to_json() for p in problems], ensure_ascii=False)


def problems_from_json(text: str) -> list[Problem]:
    """Problems back from their stored JSON."""
    return [Problem(**item) for item in json.loads(text or "[]")]
