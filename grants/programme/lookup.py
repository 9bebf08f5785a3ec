"""Finding a grant or a project by what an officer types (a reference, a project code), with errors that say what to
type instead: the known references, or the grants a code is in."""

from __future__ import annotations

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError


def find_grant(session: Session, reference: str) -> m.Grant:
    """The grant with this reference, or NotFoundError naming the known ones."""
    grant = session.exec(select(m.Grant).where(m.Grant.reference == reference)).one_or_none()
    if grant is None:
        known = ", ".join(session.exec(select(m.Grant.reference))) or "none loaded; run `grants init`"
        raise NotFoundError(f"no grant with reference '{reference}' (known: {known})")
    return grant


def find_project(session: Session, code: str, grant_reference: str | None = None) -> m.Project:
    """The project with this code (in the named grant when given); errors when unknown, or when the code is in
    several grants (naming them, for --grant)."""
    statement = select(m.Project, m.Grant.reference).join(m.Grant).where(m.Project.code == code)
    if grant_reference is not None:
        statement = statement.where(m.Project.grant_id == find_grant(session, grant_reference).id)
    found = list(session.exec(statement.order_by(col(m.Grant.reference))))
    if not found:
        raise NotFoundError(f"no project with code '{code}'" + (f" in {grant_reference}" if grant_reference else "")
                            + "; see `grants status`")
    if len(found) > 1:
        raise GrantsError(f"project code '{code}' is in {len(found)} grants ({', '.join(ref for _, ref in found)}): "
                          "say which with --grant")
    return found[0][0]
