"""The lead portal in a real browser (Playwright driving Debian's Chromium) against `grants web` under uvicorn:
a lead opens their link, downloads their workbook, fills it (openpyxl, by defined name), sends it and reads the
answer; bad links get the plain not-found page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from tests.returns_kit import fill
from tests.web.live import chromium, chromium_or_skip, grants, lead_link, serve

OPEN_DAY = "2024-10-05"  # 2024/25 Q2 has ended; its return is due on Monday 14 October 2024
AFTER_EXPIRY = "2025-07-14"  # the last return was due on 14 April 2025; links work 90 days more


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The example programme in a data folder of its own, served as of OPEN_DAY; (folder, base address)."""
    chromium_or_skip()
    folder = tmp_path_factory.mktemp("portal")
    grants(folder, "init")
    with serve(folder, OPEN_DAY) as base:
        yield folder, base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1024, "height": 900})
    yield context.new_page()
    context.close()


def download(page: Page, quarter: str, folder: Path) -> Path:
    """Click the quarter's download link and keep the file."""
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Download the {quarter} workbook").click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def send(page: Page, path: Path) -> None:
    page.get_by_label("Your completed return workbook").set_input_files(path)
    page.get_by_role("button", name="Send return").click()


def cell_of(path: Path, name: str) -> str:
    """The sheet cell a defined name points to (as the lead would see it: no $ signs)."""
    _sheet, ref = next(iter(load_workbook(path).defined_names[name].destinations))
    return ref.replace("$", "")


def test_a_lead_downloads_fills_and_sends_their_return_and_sees_the_receipt(
        site: tuple[Path, str], page: Page, tmp_path: Path) -> None:
    folder, base = site
    page.goto(f"{base}/p/{lead_link(folder, 'active-bystander')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Active Bystander training (Hate, Race, Domestic Abuse)")
    expect(page.get_by_text("£30,000.00")).to_be_visible()
    workbook = download(page, "2024-25-Q2", tmp_path)
    assert workbook.name == "return-active-bystander-2024-25-Q2.xlsx"
    fill(workbook, {"spend__design": 1250, "spend__delivery": "£3,000.50", "output__people_trained": 60})
    send(page, workbook)
    expect(page.get_by_role("heading", name="Your 2024-25-Q2 return has been accepted")).to_be_visible()
    receipt = page.locator(".banner")
    expect(receipt).to_contain_text("Co-production and design of the training package")
    expect(receipt).to_contain_text("£1,250.00")
    expect(receipt).to_contain_text("£3,000.50")
    expect(receipt).to_contain_text("We have emailed this receipt")
    expect(page.get_by_role("row", name="2024-25-Q2")).to_contain_text("Accepted")


def test_a_return_with_two_mistakes_names_both_cells_and_the_summary_links_to_each(
        site: tuple[Path, str], page: Page, tmp_path: Path) -> None:
    folder, base = site
    page.goto(f"{base}/p/{lead_link(folder, 'purple-flag')}")
    workbook = download(page, "2024-25-Q2", tmp_path)
    spend_name = next(n for n in load_workbook(workbook).defined_names if n.startswith("spend__"))
    fill(workbook, {spend_name: "about 2500", "signoff_name": None})
    send(page, workbook)
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("2 things to fix")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_contain_text(f"Spend sheet, cell {cell_of(workbook, spend_name)}")
    expect(links.nth(1)).to_contain_text(f"Narrative and sign-off sheet, cell {cell_of(workbook, 'signoff_name')}")
    links.nth(1).focus()
    page.keyboard.press("Enter")  # keyboard only: the link takes the lead to the problem
    assert page.url.endswith("#a-problem-2")
    expect(page.locator("#a-problem-2")).to_contain_text("Sign-off: Name")
    expect(page.locator("#a-problem-1")).to_contain_text("about 2500")


def test_another_projects_workbook_gets_a_plain_message(site: tuple[Path, str], page: Page, tmp_path: Path) -> None:
    folder, base = site
    other = Path(grants(folder, "template", "--project", "man-culture", "--period", "2024-25-Q2", "--out",
                        str(tmp_path)).strip().splitlines()[-1].split()[-1])
    fill(other, {})
    page.goto(f"{base}/p/{lead_link(folder, 'csa-prevention')}")
    send(page, other)
    expect(page.get_by_role("heading", name="This workbook is for another project")).to_be_visible()


def test_an_altered_or_expired_link_gets_the_plain_not_found_page(
        site: tuple[Path, str], page: Page) -> None:
    folder, base = site
    token = lead_link(folder, "impact-project")
    page.goto(f"{base}/p/{token[:-3]}abc")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text("Impact")
    with serve(folder, "2025-07-14") as later:
        page.goto(f"{later}/p/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
