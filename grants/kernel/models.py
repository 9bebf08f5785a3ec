"""Database tables (SQLModel) for the domain model. Money is integer pence; timestamps are UTC-aware."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _pence(**kwargs: object) -> object:
    return Field(sa_type=BigInteger, **kwargs)  # type: ignore[call-overload]


def _timestamp(nullable: bool = False) -> object:
    return Field(default=None if nullable else ..., sa_column=Column(DateTime(timezone=True), nullable=nullable))


class ReturnStatus(StrEnum):
    """What became of one received return file."""

    accepted = "accepted"
    rejected = "rejected"
    superseded = "superseded"
    duplicate = "duplicate"


class RAG(StrEnum):
    """Red / amber / green rating, or "no data yet" (shown grey): nothing reported to rate."""

    red = "red"
    amber = "amber"
    green = "green"
    no_data = "no data yet"


class Grant(SQLModel, table=True):
    """The award the partnership receives (e.g. £125,000 Home Office SVD money via the OPCC)."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True)
    name: str
    programme: str
    funder: str
    intermediary: str | None = None
    recipient: str
    amount_pence: int = _pence()  # type: ignore[assignment]
    currency: str = "GBP"
    start: date
    end: date
    spend_by: date
    recurring: bool = False
    expected_funds_release: date | None = None
    conditions_confirmed: date | None = None
    quarter_basis: str = "financial_year"
    due_working_days: int = 10
    closure_days: str = ""  # comma-separated ISO dates
    rules_json: str = Field(default="{}", sa_type=Text)  # per-grant thresholds and chase ladder (JSON)
    open_data_json: str = Field(default="{}", sa_type=Text)  # 360Giving prefix, funder org id, award date
    config_file: str = ""


class Officer(SQLModel, table=True):
    """A council officer named in a grant file (responsible officer, escalation manager)."""

    __table_args__ = (UniqueConstraint("grant_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    key: str
    name: str
    email: str
    role: str
    manager_key: str | None = None


class FundsRelease(SQLModel, table=True):
    """Money actually received for a grant from the funder or intermediary."""

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    amount_pence: int = _pence()  # type: ignore[assignment]
    received_on: date
    note: str = ""
    recorded_at: datetime = _timestamp()  # type: ignore[assignment]


class Project(SQLModel, table=True):
    """A funded project: an allocation out of a grant, run by a lead organisation."""

    __table_args__ = (UniqueConstraint("grant_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    code: str
    name: str
    description: str = Field(default="", sa_type=Text)
    illustrative: bool = False
    lead_organisation: str
    lead_name: str
    lead_email: str
    officer_key: str
    allocation_pence: int = _pence()  # type: ignore[assignment]
    delivery_start: date
    delivery_end: date
    award_date: date | None = None
    recipient_org_id: str | None = None
    active: bool = True  # false once removed from config (kept for its history)


class BudgetLine(SQLModel, table=True):
    """A line of a project's budget (labour or non-labour)."""

    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    key: str
    name: str
    cost_type: str = "non_labour"
    amount_pence: int = _pence()  # type: ignore[assignment]
    position: int = 0
    active: bool = True


class BudgetProfile(SQLModel, table=True):
    """Planned spend on a budget line in one reporting period (not cumulative)."""

    __table_args__ = (UniqueConstraint("budget_line_id", "period_label"),)
    id: int | None = Field(default=None, primary_key=True)
    budget_line_id: int = Field(foreign_key="budgetline.id", index=True)
    period_label: str
    amount_pence: int = _pence()  # type: ignore[assignment]


class Target(SQLModel, table=True):
    """A condition on a project: a count (>= target by due) or a milestone (delivered by due)."""

    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    key: str
    kind: str  # "count" | "milestone"
    name: str
    unit: str = ""
    target_value: int = 1
    due: date
    is_condition: bool = True
    is_sustainability: bool = False
    position: int = 0
    active: bool = True


class TargetProfile(SQLModel, table=True):
    """The cumulative count a target is profiled to reach by the end of a reporting period."""

    __table_args__ = (UniqueConstraint("target_id", "period_label"),)
    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="target.id", index=True)
    period_label: str
    cumulative_value: int


class ReportingPeriod(SQLModel, table=True):
    """One reporting quarter of a grant and the date its returns are due."""

    __table_args__ = (UniqueConstraint("grant_id", "label"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    label: str
    quarter: int
    start: date
    end: date
    due: date


class Return(SQLModel, table=True):
    """One received return file for a project and period. The latest accepted version is the official one.

    The schema makes duplicates impossible whatever runs at once: one row per file (SHA-256), one per project,
    period and version (which also indexes the project and period), at most one accepted per project and period."""

    __table_args__ = (
        UniqueConstraint("project_id", "period_id", "version", name="uq_return_project_period_version"),
        Index("uq_return_one_accepted", "project_id", "period_id", unique=True,
              sqlite_where=text("status = 'accepted'"), postgresql_where=text("status = 'accepted'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    period_id: int = Field(foreign_key="reportingperiod.id", index=True)
    version: int = 1
    status: str = ReturnStatus.accepted
    received_at: datetime = _timestamp()  # type: ignore[assignment]
    source_name: str = ""
    sha256: str = Field(unique=True, index=True)
    archive_path: str = ""
    template_version: str = ""
    problems_json: str = Field(default="[]", sa_type=Text)
    signed_name: str = ""
    signed_role: str = ""
    signed_on: date | None = None
    progress: str = Field(default="", sa_type=Text)
    issues: str = Field(default="", sa_type=Text)
    risks: str = Field(default="", sa_type=Text)


class ReturnSpend(SQLModel, table=True):
    """Spend reported on a budget line for the return's period (not cumulative)."""

    __table_args__ = (UniqueConstraint("return_id", "budget_line_id"),)
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="return.id", index=True)
    budget_line_id: int = Field(foreign_key="budgetline.id")
    actual_pence: int = _pence()  # type: ignore[assignment]


class ReturnForecast(SQLModel, table=True):
    """The lead's forecast spend on a budget line for a later period of the grant."""

    __table_args__ = (UniqueConstraint("return_id", "budget_line_id", "period_label"),)
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="return.id", index=True)
    budget_line_id: int = Field(foreign_key="budgetline.id")
    period_label: str
    amount_pence: int = _pence()  # type: ignore[assignment]


class ReturnOutput(SQLModel, table=True):
    """A count achieved against a target in the return's period (not cumulative)."""

    __table_args__ = (UniqueConstraint("return_id", "target_id"),)
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="return.id", index=True)
    target_id: int = Field(foreign_key="target.id")
    achieved: int


class ReturnMilestone(SQLModel, table=True):
    """A milestone's state as the lead reported it in a return."""

    __table_args__ = (UniqueConstraint("return_id", "target_id"),)
    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="return.id", index=True)
    target_id: int = Field(foreign_key="target.id")
    delivered: bool = False
    delivered_on: date | None = None
    evidence: str = Field(default="", sa_type=Text)


class Payment(SQLModel, table=True):
    """Money the council paid to a project."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    amount_pence: int = _pence()  # type: ignore[assignment]
    paid_on: date
    reference: str = ""
    recorded_at: datetime = _timestamp()  # type: ignore[assignment]


class Assessment(SQLModel, table=True):
    """RAG ratings for a project (or the whole grant when project_id is null) as of a date, with reasons."""

    __table_args__ = (UniqueConstraint("grant_id", "project_id", "as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    as_of: date
    spend_rag: str
    outputs_rag: str
    overall_rag: str
    reasons_json: str = Field(default="{}", sa_type=Text)
    figures_json: str = Field(default="{}", sa_type=Text)


class Risk(SQLModel, table=True):
    """A risk register row; `key` identifies it across reruns (kind + scope) so reruns update, not duplicate."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    grant_id: int = Field(foreign_key="grant.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    kind: str
    title: str
    likelihood: int
    impact: int
    score: int
    rag: str
    status: str = "open"
    owner: str = ""
    mitigation: str = Field(default="", sa_type=Text)
    notes: str = Field(default="", sa_type=Text)
    evidence: str = Field(default="", sa_type=Text)
    first_seen: date
    last_seen: date
    closed_on: date | None = None


class RiskEvent(SQLModel, table=True):
    """One change a run made to a risk (opened, updated, reopened, closed): the history a past board pack needs to
    show the register as it stood on its date."""

    id: int | None = Field(default=None, primary_key=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    day: date
    change: str
    rag: str
    score: int
    evidence: str = Field(default="", sa_type=Text)


class Notification(SQLModel, table=True):
    """Everything sent (or that failed to send). `idempotency_key` means a rerun never sends twice."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, index=True)
    kind: str
    grant_id: int | None = Field(default=None, foreign_key="grant.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    period_id: int | None = Field(default=None, foreign_key="reportingperiod.id")
    step: str = ""
    recipients: str = ""
    subject: str = ""
    status: str = "sent"  # "sent" | "failed" | "sending" (claimed, being delivered)
    attempts: int = 1
    error: str = Field(default="", sa_type=Text)
    as_of: date | None = None
    sent_at: datetime = _timestamp()  # type: ignore[assignment]
    delivered_json: str = Field(default="[]", sa_type=Text)  # the channels that took it, so a retry skips them
    copy_id: int | None = Field(default=None, foreign_key="messagecopy.id")  # what was sent; None: before copies


class ReceivedFile(SQLModel, table=True):
    """Every file ingestion saw, with its SHA-256 and what became of it (accepted, rejected, duplicate, quarantined).

    Files that could be identified also have a Return row (`return_id`); unidentifiable or hostile files only this.
    A file's SHA-256 is recorded once (later copies are rows with outcome `duplicate`). `source` is how it came
    (inbox, path, email, upload), `sender` the address it came from when known, `project_id` the project it is for
    when known (a quarantined file whose signed details could be read).
    """

    __table_args__ = (
        Index("uq_receivedfile_sha256_once", "sha256", unique=True,
              sqlite_where=text("outcome <> 'duplicate'"), postgresql_where=text("outcome <> 'duplicate'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True)
    name: str
    size: int = 0
    received_at: datetime = _timestamp()  # type: ignore[assignment]
    outcome: str
    return_id: int | None = Field(default=None, foreign_key="return.id")
    problems_json: str = Field(default="[]", sa_type=Text)
    stored_path: str = ""
    source: str = "inbox"
    sender: str = ""  # the From address, for a file that came by email
    message_id: str = Field(default="", index=True)  # the Message-ID of the email it came in
    project_id: int | None = Field(default=None, foreign_key="project.id")


class MailboxState(SQLModel, table=True):
    """Per returns mailbox account and folder: the UIDVALIDITY seen and the highest UID handled under it."""

    __table_args__ = (UniqueConstraint("account", "folder"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str  # user@host:port, never a secret
    folder: str
    uidvalidity: int = Field(sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)


class MailboxLease(SQLModel, table=True):
    """Which run is reading a returns mailbox folder, until when: one run at a time reads it (a run that finds it
    taken leaves the mail to the holder); the holder frees it when done, and a crashed run's lease runs out."""

    __table_args__ = (UniqueConstraint("account", "folder"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str
    folder: str
    holder: str = ""  # a token of the run holding it; empty when free
    since: datetime | None = _timestamp(nullable=True)  # type: ignore[assignment]
    until: datetime | None = _timestamp(nullable=True)  # type: ignore[assignment]


class MailMessage(SQLModel, table=True):
    """Every email the mailbox fetch handled, with or without a return in it, so it is never fetched twice.

    `outcome`: returns / no-workbook / zip / link (to a shared file) / tnef (winmail.dat) / automatic / duplicate /
    too-large; `moved_to` stays empty until the message has been moved out of the folder (after this row committed),
    so a crash in between is finished later.
    """

    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str
    folder: str
    uidvalidity: int = Field(sa_type=BigInteger)
    uid: int = Field(sa_type=BigInteger)
    message_id: str = Field(index=True)
    references: str = Field(default="", sa_type=Text)
    sender: str = ""
    subject: str = ""
    received_at: datetime = _timestamp()  # type: ignore[assignment]
    outcome: str
    files: int = 0
    detail: str = Field(default="", sa_type=Text)
    destination: str = ""  # the folder it is to be moved to
    moved_to: str = ""


class LeadLink(SQLModel, table=True):
    """A project lead's personal link to the portal: signed over its id, project and expiry (see
    grants/programme/links.py). Revoking sets `revoked_at`; the next link for the project is a new row."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    issued_at: datetime = _timestamp()  # type: ignore[assignment]
    expires_on: date
    revoked_at: datetime | None = _timestamp(nullable=True)  # type: ignore[assignment]
    revoked_by: str = ""


# The officers' workspace tables and the message copies live in their own modules; imported here so every user of
# the models sees them.
from grants.kernel.message_copy import MessageCopy as MessageCopy  # noqa: E402
from grants.kernel.officer_tables import Account as Account  # noqa: E402
from grants.kernel.officer_tables import AuditEntry as AuditEntry  # noqa: E402
from grants.kernel.officer_tables import ChaseHold as ChaseHold  # noqa: E402
from grants.kernel.officer_tables import DueDateOverride as DueDateOverride  # noqa: E402
