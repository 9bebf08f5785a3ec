"""Lead links: signed over id, project and expiry; any change, a revocation or the expiry day passing ends them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.database import open_session
from grants.kernel.settings import Settings
from grants.programme.links import (
    configured_link_key,
    current_link,
    link_key,
    revoke_links,
    token_of,
    verify,
)
from grants.programme.lookup import find_project
from tests.web.conftest import NOW, OPEN_DAY, lead_token

LAST_DUE = date(2025, 4, 14)  # 2024/25 Q4's return


def test_the_link_key_is_not_the_signing_key_but_derived_for_its_own_purpose() -> None:
    derived = link_key(b"signing-key")
    assert derived != b"signing-key" and len(derived) == 32
    assert link_key(b"signing-key") == derived
    assert link_key(b"signing-key", b"own-key") == b"own-key"


def test_a_link_opens_its_own_project_only(loaded: Settings) -> None:
    token = lead_token("active-bystander")
    with open_session() as session:
        access = verify(session, configured_link_key(loaded), token, OPEN_DAY)
        assert access is not None and access.project.code == "active-bystander"
        assert current_link(session, find_project(session, "active-bystander"), NOW, 90).id == access.link.id


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the signature
    lambda t: str(int(t.split(".")[0]) + 1) + "." + t.split(".")[1],  # another link's id with this signature
    lambda t: t.split(".")[0],  # no signature
    lambda t: "x" + t,
    lambda t: "",
    lambda t: "1." + "A" * 5000,
])
def test_an_altered_link_opens_nothing(loaded: Settings, change: object) -> None:
    lead_token("active-bystander")
    token = lead_token("purple-flag")
    with open_session() as session:
        assert verify(session, configured_link_key(loaded), change(token), OPEN_DAY) is None  # type: ignore[operator]


def test_a_link_signed_with_another_key_opens_nothing(loaded: Settings) -> None:
    token = lead_token()
    with open_session() as session:
        assert verify(session, link_key(b"another-key"), token, OPEN_DAY) is None


def test_a_link_works_until_the_last_return_is_due_plus_the_margin(loaded: Settings) -> None:
    token = lead_token()
    last_day = LAST_DUE + timedelta(days=loaded.lead_link_margin_days)
    with open_session() as session:
        key = configured_link_key(loaded)
        assert verify(session, key, token, last_day) is not None
        assert verify(session, key, token, last_day + timedelta(days=1)) is None


def test_a_revoked_link_stays_dead_and_the_project_gets_a_new_one(loaded: Settings) -> None:
    old = lead_token()
    with open_session() as session:
        assert revoke_links(session, find_project(session, "active-bystander"), NOW, "officer") == 1
    new = lead_token()
    assert new != old
    with open_session() as session:
        key = configured_link_key(loaded)
        assert verify(session, key, old, OPEN_DAY) is None
        assert verify(session, key, new, OPEN_DAY) is not None
        assert token_of(key, current_link(session, find_project(session, "active-bystander"), NOW, 90)) == new
