"""The explorers in the built book, with no kernel: every one renders, and operating its main
controls (Play, slider, menu, toggle buttons) changes what it shows, with no request leaving
localhost. Screenshots go to _build/test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import ARTIFACTS, chromium, local_only, visible_frame

REPO = Path(__file__).resolve().parents[2]


def _pages_with_explorers(site: Path) -> dict[str, int]:
    """Each page holding explorers, with how many (counted in the saved widget state)."""
    pages = {}
    for page in sorted((site / "book").glob("*.html")):
        count = page.read_text(encoding="utf-8").count('"convnb-explorer"')
        if count:
            pages[page.name] = count
    return pages


def test_the_book_has_explorers(built_book: Path):
    pages = _pages_with_explorers(built_book)
    assert sum(pages.values()) >= 9, pages  # every explorer of convnb.widgets, in some page


def _operate(control_kind: str, explorer) -> bool:
    """Operates one kind of control of ``explorer`` if it has one; True when it did."""
    if control_kind == "play":
        play = explorer.locator(".widget-play button").first
        if not play.count():
            return False
        play.click()
        explorer.page.wait_for_timeout(2500)
        play.click()  # pause
        return True
    if control_kind == "slider":
        handle = explorer.locator(".widget-hslider.convnb-axis .noUi-handle")
        if not handle.count():
            return False
        handle.first.focus()
        for _ in range(2):
            handle.first.press("ArrowRight")
        return True
    if control_kind == "menu":
        menu = explorer.locator(".convnb-axis select")
        if not menu.count() or menu.first.locator("option").count() < 2:
            return False
        menu.first.select_option(index=menu.first.locator("option").count() - 1)
        return True
    buttons = explorer.locator(".widget-toggle-buttons.convnb-axis button")
    if buttons.count() < 2:
        return False
    buttons.nth(buttons.count() - 1).click()
    return True


@pytest.mark.parametrize("control_kind", ["play", "slider", "menu", "toggle"])
def test_explorers_work_without_a_kernel(built_book: Path, book_url: str, control_kind: str):
    pages = _pages_with_explorers(built_book)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    operated = 0
    with chromium() as browser:
        for name, count in pages.items():
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            refused = local_only(page, book_url)
            page.goto(f"{book_url}/book/{name}")
            page.wait_for_selector(".convnb-explorer", timeout=60_000)
            explorers = page.locator(".convnb-explorer")
            page.wait_for_function(
                f"document.querySelectorAll('.convnb-explorer').length >= {count}",
                timeout=60_000)
            assert explorers.count() == count, f"{name}: {explorers.count()} of {count} rendered"
            assert not page.get_by_text(re.compile("Loading widget")).count()
            for i in range(count):
                explorer = explorers.nth(i)
                explorer.scroll_into_view_if_needed()
                before = visible_frame(explorer)
                if not _operate(control_kind, explorer):
                    continue
                page.wait_for_timeout(300)
                after = visible_frame(explorer)
                explorer.screenshot(path=ARTIFACTS / f"{name[:-5]}-{i}-{control_kind}.png")
                assert after != before, (
                    f"{name}, explorer {i}: its {control_kind} changed nothing in the page")
                operated += 1
            assert not refused, f"{name} asked other hosts for {refused}"
            page.close()
    if control_kind in ("play", "slider", "menu"):
        assert operated, f"no explorer in the book has a {control_kind}"
