"""Which project and period a received workbook is for: its signed metadata, checked against the register."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.returns.layout import META, TEMPLATE_ID, TEMPLATE_VERSION, signature_valid
from grants.returns.problems import Problem, problem

IdentityCache = dict[tuple[str, str, str], tuple[m.Project, m.ReportingPeriod] | None]


@dataclass(frozen=True)
class Expected:
    """What the sender should be returning (e.g. known from the email it came in), if known."""

    project: str | None = None
    period: str | None = None


def identify(
    session: Session, meta: dict[str, str], signing_key: bytes, expected: Expected = Expected(),
    cache: IdentityCache | None = None,
) -> tuple[tuple[m.Project, m.ReportingPeriod] | None, list[Problem]]:
    """((project, period), []) for a genuine return, else (None, [the problem]). `cache`: lookups of one run."""
    where = {"sheet": META}
    if meta.get("template_id") != TEMPLATE_ID:
        return None, [problem("not-a-return", "This workbook is not a return issued by the grants team (its "
                              "hidden details sheet is missing). Please fill in the return workbook we sent you.",
                              **where)]
    if meta.get("template_version") != TEMPLATE_VERSION:
        return None, [problem("old-template-version", f"This return was issued from template version "
                              f"{meta.get('template_version')!r}; the current version is {TEMPLATE_VERSION}. "
                              "Please copy your answers into the new return we sent you.", **where)]
    if not signature_valid(signing_key, meta):
        return None, [problem("signature-invalid", "This workbook's project and period details were changed or "
                              "copied from another workbook, so it cannot be trusted. Please fill in the return "
                              "we sent you for your project.", **where)]
    key = (meta["grant"], meta["project"], meta["period"])
    if cache is None or key not in cache:
        row = session.exec(
            select(m.Project, m.ReportingPeriod).join(m.Grant, col(m.Grant.id) == col(m.Project.grant_id))
            .join(m.ReportingPeriod, col(m.ReportingPeriod.grant_id) == col(m.Grant.id))
            .where(m.Grant.reference == key[0], m.Project.code == key[1], m.ReportingPeriod.label == key[2])
        ).first()
        found = (row[0], row[1]) if row is not None else None
        if cache is not None:
            cache[key] = found
    else:
        found = cache[key]
    if found is None:
        return None, [problem("unknown-project-or-period", f"Project {meta['project']!r}, period {meta['period']!r} "
                              f"of grant {meta['grant']!r} is not in the register.", **where)]
    if expected.project is not None and expected.project != meta["project"]:
        return None, [problem("wrong-project", f"This is the return for project {meta['project']!r}, not "
                              f"{expected.project!r}. Please send the return for your own project.", **where)]
    if expected.period is not None and expected.period != meta["period"]:
        return None, [problem("wrong-period", f"This is the return for {meta['period']!r}, not {expected.period!r}. "
                              "Please send the return for the period asked for.", **where)]
    project, period = found
    if not project.active:
        return None, [problem("project-withdrawn", f"Project {project.name!r} ({project.code}) has been withdrawn "
                              "from the grant's register, so this return was not recorded. The file is kept in "
                              "quarantine for the officer to decide; your officer will be in touch.", **where)]
    return (project, period), []
