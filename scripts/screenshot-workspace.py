"""Screenshots of the officers' workspace for the README (docs/workspace-overview.png, docs/workspace-project.png):
the example programme lived until 24 Jan 2025, served by uvicorn on 127.0.0.1, photographed by Debian's Chromium.

    .venv/bin/python scripts/screenshot-workspace.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "config", folder / "config")
    from grants.kernel.settings import DEVELOPMENT_SIGNING_KEY

    os.environ |= {"GRANTS_DATA_DIR": str(folder / "data"), "GRANTS_CONFIG_DIR": str(folder / "config"),
                   "GRANTS_SIGNING_KEY": DEVELOPMENT_SIGNING_KEY}  # a throwaway folder: the tests' key will do
    import uvicorn
    from playwright.sync_api import sync_playwright

    from flows.database import configured_engine
    from flows.web.app import create_app
    from grants.kernel.accounts import add_account
    from grants.kernel.db import session_scope
    from grants.kernel.settings import get_settings
    from grants.monitoring.assessment import run_checks
    from tests.factories import load_example
    from tests.scenario import live_until_q3
    from tests.web.live import free_port
    from tests.workspace.conftest import AS_OF

    engine = configured_engine()
    load_example(engine)
    live_until_q3(engine)
    with session_scope(engine) as session:
        run_checks(session, AS_OF)
        add_account(session, "kit.pascoe@example.org", "officer", "a long screenshot password",
                    datetime(2025, 1, 1, tzinfo=UTC), "screenshot")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(get_settings(), as_of=AS_OF), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#email", "kit.pascoe@example.org")
        page.fill("#password", "a long screenshot password")
        page.click("button[type=submit]")
        page.wait_for_selector("h1")
        page.screenshot(path=str(ROOT / "docs" / "workspace-overview.png"))
        page.goto(f"{base}/officer/grants/SVD-2024-25")
        page.get_by_role("link", name="Speech, language and communication").first.click()
        page.wait_for_selector("#quarter-2024-25-Q3")
        page.screenshot(path=str(ROOT / "docs" / "workspace-project.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": 2000})
        browser.close()
    server.should_exit = True
    print("docs/workspace-overview.png, docs/workspace-project.png")


if __name__ == "__main__":
    main()
