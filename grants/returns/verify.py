"""`grants verify`: every archived return and quarantined file checked against the SHA-256 recorded when it came in.

A copy that is missing or whose bytes no longer hash to the recorded SHA-256 is reported with the return (project,
period, version) or the quarantined file it belongs to. Files are hashed in chunks (bounded memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.returns.archive import file_sha256


@dataclass(frozen=True)
class ArchiveProblem:
    """One archived copy that is missing or damaged, and what it belongs to."""

    state: str  # "missing" | "damaged"
    path: str
    sha256: str
    source_name: str
    received_at: datetime
    what: str  # "return <project> <period> v<version> (id <n>)" or "quarantined file (id <n>)"
    return_id: int | None = None

    def line(self) -> str:
        """One line for the CLI and the digest."""
        return f"{self.state}: {self.what}, sent as {self.source_name}: {self.path}"


@dataclass(frozen=True)
class Verification:
    """How many copies were checked and the problems found."""

    checked: int
    problems: list[ArchiveProblem]


def verify_archive(session: Session) -> Verification:
    """Check every archived return and quarantined file (see the module docstring)."""
    returns = session.exec(
        select(m.Return, m.Project.code, m.ReportingPeriod.label)
        .join(m.Project, col(m.Project.id) == col(m.Return.project_id))
        .join(m.ReportingPeriod, col(m.ReportingPeriod.id) == col(m.Return.period_id))
        .where(col(m.Return.archive_path) != "").order_by(col(m.Return.id))).all()
    problems: list[ArchiveProblem] = []
    checked = 0
    for ret, code, label in returns:
        checked += 1
        state = _state(ret.archive_path, ret.sha256)
        if state:
            problems.append(ArchiveProblem(state, ret.archive_path, ret.sha256, ret.source_name, ret.received_at,
                                           f"return {code} {label} v{ret.version} (id {ret.id})", ret.id))
    files = session.exec(select(m.ReceivedFile).where(m.ReceivedFile.outcome == "quarantined",
                                                      col(m.ReceivedFile.stored_path) != "")
                         .order_by(col(m.ReceivedFile.id))).all()
    for row in files:
        checked += 1
        state = _state(row.stored_path, row.sha256)
        if state:
            problems.append(ArchiveProblem(state, row.stored_path, row.sha256, row.name, row.received_at,
                                           f"quarantined file (id {row.id})"))
    return Verification(checked, problems)


def _state(path: str, sha256: str) -> str:
    """'' if the file holds the recorded bytes, else 'missing' or 'damaged'."""
    try:
        return "" if file_sha256(Path(path)) == sha256 else "damaged"
    except FileNotFoundError:
        return "missing"
    except OSError:  # unreadable, or no longer a regular file
        return "damaged"
