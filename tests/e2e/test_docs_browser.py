"""/docs in a real browser with no network: Debian's Chromium driven by Playwright, every
request that is not to the local server refused, and Swagger UI must still render every
operation of the API. (Its assets come from the pinned fastapi-offline package.)"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CREDITLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        problem = f"no Chromium at {CHROMIUM} (Debian: apt install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true requires Chromium: {problem}")
        pytest.skip(f"{problem} (set CI=true to make this a failure)")
    return CHROMIUM


def test_swagger_ui_renders_every_operation_offline(
    live_url: str, chromium: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright  # noqa: PLC0415

    base = f"http://{live_url}"
    refused: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", local_only)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            title = page.locator(".title").first.inner_text()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
            page.goto(f"{base}/")
            links = page.locator("a").count()
        finally:
            browser.close()
    assert refused == [], f"the docs page asked the network for {refused}"
    assert operations >= 20
    assert "creditline" in title
    assert links >= 5
