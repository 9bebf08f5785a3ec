"""Screenshot the lead's page for the README: the example programme served by `grants web` as of 5 Oct 2024; the
Active Bystander lead has sent Q1, then sends Q2 with two mistakes. Headless Chromium (Debian's) via Playwright.

    .venv/bin/python scripts/screenshot-lead-page.py docs/lead-page.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.returns_kit import fill  # noqa: E402
from tests.web.live import CHROMIUM, grants, lead_link, serve  # noqa: E402


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        grants(folder, "init")
        token = lead_link(folder, "active-bystander")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1400}, accept_downloads=True)
        with serve(folder, "2024-10-05") as base:
            page.goto(f"{base}/p/{token}")
            for quarter, values in (("2024-25-Q1", {"spend__design": 2400, "output__people_trained": 40}),
                                    ("2024-25-Q2", {"spend__delivery": "about 2500", "signoff_name": None})):
                with page.expect_download() as info:
                    page.get_by_role("link", name=f"Download the {quarter} workbook").click()
                path = folder / f"{quarter}.xlsx"
                info.value.save_as(path)
                fill(path, values)
                page.get_by_label("Your completed return workbook").set_input_files(path)
                page.get_by_role("button", name="Send return").click()
                page.wait_for_load_state()
            page.screenshot(path=str(out), full_page=True, clip={"x": 0, "y": 0, "width": 1000, "height": 2250})
        browser.close()
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/lead-page.png"))
