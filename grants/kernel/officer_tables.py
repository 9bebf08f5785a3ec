"""Tables of the officers' workspace: accounts, the append-only audit log, and per-project overrides of a
quarter's due date and chasing (an extension, a pause or a waiver)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _timestamp(nullable: bool = False) -> object:
    return Field(default=None if nullable else ..., sa_column=Column(DateTime(timezone=True), nullable=nullable))


class Account(SQLModel, table=True):
    """A person who signs in to the officers' workspace: viewer, officer or admin. Passwords are Argon2 hashes."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    role: str
    password_hash: str
    active: bool = True
    created_at: datetime = _timestamp()  # type: ignore[assignment]
    failed_logins: int = 0
    locked_until: datetime | None = _timestamp(nullable=True)  # type: ignore[assignment]
    calendar_token_hash: str | None = Field(default=None, index=True)
    last_sign_in_at: datetime | None = _timestamp(nullable=True)  # type: ignore[assignment]
    must_change_password: bool = False  # a temporary password an administrator set: change it at next sign-in


class AuditEntry(SQLModel, table=True):
    """One action an officer took (web or CLI): who, when, what, on what, before and after. Never updated."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp()  # type: ignore[assignment]
    actor: str
    action: str = Field(index=True)
    grant_id: int | None = Field(default=None, foreign_key="grant.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    subject: str = ""
    before_json: str = Field(default="{}", sa_type=Text)
    after_json: str = Field(default="{}", sa_type=Text)
    reason: str = Field(default="", sa_type=Text)


class DueDateOverride(SQLModel, table=True):
    """One project's due date for one quarter when an officer extended it (the grant's period due otherwise)."""

    __table_args__ = (UniqueConstraint("project_id", "period_id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    period_id: int = Field(foreign_key="reportingperiod.id")
    due: date
    reason: str = Field(default="", sa_type=Text)


class ChaseHold(SQLModel, table=True):
    """Chasing paused (until a day) or waived for one project and quarter, with the officer's reason."""

    __table_args__ = (UniqueConstraint("project_id", "period_id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    period_id: int = Field(foreign_key="reportingperiod.id")
    kind: str  # "pause" | "waive"
    until: date | None = None  # a pause ends after this day; a waiver has none
    reason: str = Field(default="", sa_type=Text)
