"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "_build" / "test-artifacts"
"""Screenshots and logs the browser and book tests keep for a person to look at."""


@contextmanager
def chromium() -> Iterator[object]:
    """A headless browser, or a skip that says what is missing (.ci/run installs both)."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser test: no {CHROMIUM} (Debian's chromium; .ci/run installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser test: needs playwright (the test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def local_only(page, allowed: str) -> list[str]:
    """Aborts every request that does not go to ``allowed`` (a localhost origin) and returns the
    list, filled as the page runs, of those it refused."""
    refused: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(allowed) or url.startswith("data:") or url.startswith("blob:"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def visible_frame(explorer) -> str:
    """The HTML of the frame an explorer shows now (the stacks hide every other one)."""
    return explorer.locator(".convnb-frames .widget-html-content:visible").first.inner_html()
