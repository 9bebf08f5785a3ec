"""The workspace in Debian's Chromium (Playwright) against the real app served by uvicorn on 127.0.0.1: sign in,
follow a red rating to the project's evidence, extend a due date and see the ladder and the status move and the audit
entry appear; a viewer has no forms to act with; an administrator adds an account and its person signs in with the
temporary password and chooses their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.live import chromium
from tests.workspace.conftest import ACCOUNTS, PASSWORD


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module; each sign-in opens a page in a context of its own (its own cookies)."""
    with chromium() as launched:
        yield launched


def _sign_in(browser: Browser, base: str, role: str) -> Page:
    page = browser.new_page()
    page.goto(f"{base}/officer")
    expect(page).to_have_url(f"{base}/login?next=/officer")
    page.fill("#email", ACCOUNTS[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Programme overview")
    return page


def test_from_a_red_rating_to_the_projects_evidence(browser: Browser, live_url: str) -> None:
    page = _sign_in(browser, live_url, "officer")
    page.get_by_label("SVD-2024-25 rating red").click()
    expect(page.locator("h1")).to_have_text("Serious Violence Duty 2024/25")
    page.locator("tr", has=page.locator(".tag-red")).get_by_role("link").first.click()
    expect(page.locator(".caption")).to_contain_text("project")
    quarter = page.locator("section.quarter").nth(2)  # Q3
    expect(quarter.locator("h4").first).to_contain_text("received")
    expect(page.locator("table.figures").first).to_contain_text("Spend")
    expect(page.get_by_role("heading", name="Outputs against trajectory")).to_be_visible()


def test_extending_a_due_date_moves_the_ladder_and_the_status_and_is_audited(browser: Browser,
                                                                             live_url: str) -> None:
    page = _sign_in(browser, live_url, "officer")
    page.goto(f"{live_url}/officer/grants/SVD-2024-25")
    page.get_by_role("link", name="Speech, language and communication").first.click()
    q3 = page.locator("#quarter-2024-25-Q3")
    expect(q3.locator("h3")).to_contain_text("overdue")
    expect(q3.locator("table.ladder")).to_contain_text("escalation")
    q3.locator("summary").click()
    q3.locator("input[name=due]").fill("2025-02-07")
    q3.locator("form[action$='/due'] input[name=reason]").fill("lead on leave")
    q3.get_by_role("button", name="Change the due date").click()
    expect(page.locator(".banner-success")).to_contain_text("Due date changed")
    q3 = page.locator("#quarter-2024-25-Q3")
    expect(q3.locator("h3")).to_contain_text("open")
    expect(q3.locator(".due")).to_have_text("Friday 7 February 2025")
    expect(q3.locator("table.ladder tr", has_text="escalation")).to_contain_text("Friday 21 February 2025")
    expect(page.locator(".audit-table")).to_contain_text("due.extend")
    expect(page.locator(".audit-table")).to_contain_text("lead on leave")
    page.goto(f"{live_url}/officer/audit")
    expect(page.locator(".audit-table tbody tr").first).to_contain_text(ACCOUNTS["officer"])


def test_a_viewer_sees_everything_but_has_nothing_to_act_with(browser: Browser, live_url: str) -> None:
    page = _sign_in(browser, live_url, "viewer")
    page.goto(f"{live_url}/officer/grants/SVD-2024-25")
    page.get_by_role("link", name="Speech, language and communication").first.click()
    expect(page.locator("#quarter-2024-25-Q3 table.ladder")).to_be_visible()
    assert page.locator("form[action*='/due'], form[action*='/payment'], form[action*='/hold']").count() == 0
    page.goto(f"{live_url}/officer/risks")
    assert page.locator("form.risk-form").count() == 0
    expect(page.locator("h1")).to_have_text("Risk register")


def test_an_admin_adds_an_account_and_the_person_signs_in_and_chooses_their_password(browser: Browser,
                                                                                    live_url: str) -> None:
    admin = _sign_in(browser, live_url, "admin")
    admin.get_by_role("link", name="Accounts", exact=True).click()
    expect(admin.locator("h1")).to_have_text("Accounts")
    admin.fill("#add-account-email", "kit.pascoe@example.org")
    admin.select_option("#add-account-role", "officer")
    admin.get_by_role("button", name="Add the account").click()
    expect(admin.locator("h1")).to_have_text("Account added")
    temporary = admin.locator(".temporary-password").inner_text()
    person = browser.new_page()
    person.goto(f"{live_url}/officer")
    person.fill("#email", "kit.pascoe@example.org")
    person.fill("#password", temporary)
    person.click("button[type=submit]")
    expect(person.locator("h1")).to_have_text("Your account")
    expect(person.locator(".banner")).to_contain_text("temporary password")
    person.fill("#password-current_password", temporary)
    person.fill("#password-password", "kit's own long passphrase")
    person.fill("#password-confirm_password", "kit's own long passphrase")
    person.get_by_role("button", name="Change my password").click()
    expect(person.locator(".banner-success")).to_contain_text("Your password has been changed")
    person.get_by_role("link", name="Overview").click()
    expect(person.locator("h1")).to_have_text("Programme overview")
    admin.goto(f"{live_url}/officer/accounts")
    expect(admin.locator(".audit-table")).to_contain_text("account.password")
