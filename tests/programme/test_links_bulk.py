"""Lead links for many projects at once (a chase run): the same links, expiry and tokens as one at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.programme.links import current_link, current_links, link_key, revoke_links, token_of
from tests.factories import load_example, project

NOW = datetime(2024, 7, 1, 9, tzinfo=UTC)
LAST_DUE = date(2025, 4, 14)  # 2024/25 Q4's return


def _projects(session: Session) -> list[m.Project]:
    return list(session.exec(select(m.Project).order_by(col(m.Project.id))))


def test_missing_links_are_issued_together_expiring_with_the_grants_last_return(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        links = current_links(session, _projects(session), NOW, 90)
        assert len(links) == 8
        assert {link.expires_on for link in links.values()} == {LAST_DUE + timedelta(days=90)}
        assert session.exec(select(func.count()).select_from(m.LeadLink)).one() == 8


def test_a_project_keeps_its_live_link_and_its_token_is_the_one_current_link_gives(engine: Engine) -> None:
    load_example(engine)
    key = link_key(b"signing-key")
    with session_scope(engine) as session:
        first = current_link(session, project(session, "active-bystander"), NOW, 90)
        links = current_links(session, _projects(session), NOW, 90)
        again = current_links(session, _projects(session), NOW, 90)
        assert links == again
        assert links[first.project_id].id == first.id
        assert token_of(key, links[first.project_id]) == token_of(key, first)
        assert session.exec(select(func.count()).select_from(m.LeadLink)).one() == 8


def test_a_revoked_link_is_replaced_by_a_new_one(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        lead = project(session, "active-bystander")
        old = current_links(session, [lead], NOW, 90)[lead.id or 0]
        revoke_links(session, lead, NOW, "officer")
        new = current_links(session, [lead, lead], NOW, 90)[lead.id or 0]
        assert new.id != old.id
        assert current_link(session, lead, NOW, 90).id == new.id
