"""Writing the board report: for each grant an Excel workbook and/or a self-contained HTML page, named
`board-report-<grant reference>-<as of>.<xlsx|html>` so a rerun for the same date replaces its own files."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from sqlmodel import Session

from grants.kernel.errors import GrantsError
from grants.reporting.board import BoardData
from grants.reporting.board_data import build_board_data
from grants.reporting.html import write_board_html
from grants.reporting.xlsx import write_board_workbook

FORMATS = ("xlsx", "html")
WRITERS: dict[str, Callable[[BoardData, Path], Path]] = {"xlsx": write_board_workbook, "html": write_board_html}


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The formats asked for, each once and in a stable order; GrantsError naming any unknown one."""
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise GrantsError(f"unknown report format '{unknown[0]}'; use {' or '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in formats) or FORMATS


def report_path(out_dir: Path, grant_reference: str, as_of: date, fmt: str) -> Path:
    """Where one grant's report in one format goes (the reference made safe for a file name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", grant_reference).strip("-") or "grant"
    return out_dir / f"board-report-{safe}-{as_of.isoformat()}.{fmt}"


def write_board_reports(boards: Sequence[BoardData], out_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write each board's report in each format; returns the paths written (grant by grant)."""
    chosen = check_formats(formats)
    return [WRITERS[fmt](board, report_path(out_dir, board.grant.reference, board.as_of, fmt))
            for board in boards for fmt in chosen]


def write_reports(session: Session, as_of: date, out_dir: Path, formats: Sequence[str] = FORMATS,
                  grant_reference: str | None = None, period: str | None = None) -> list[Path]:
    """Build the board data as of `as_of` (see grants.reporting.board_data: checks run first) and write the reports."""
    chosen = check_formats(formats)  # before any work
    boards = build_board_data(session, as_of, grant_reference, period)
    if not boards:
        raise GrantsError("no grants loaded yet; run `grants init` first")
    return write_board_reports(boards, out_dir, chosen)
