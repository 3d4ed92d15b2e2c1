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


def test_every_explorer_is_in_a_chapter(built_book: Path):
    import convnb.widgets

    pages = _pages_with_explorers(built_book)
    assert pages == {f"{name}.html": count for name, count in CHAPTERS.items()}
    used = {name for page in (REPO / "book").glob("*.md")
            for name in re.findall(r"^convnb\.widgets\.(\w+)\(", page.read_text(), re.M)}
    assert used == set(convnb.widgets.__all__), set(convnb.widgets.__all__) ^ used


def _changes(explorer, action) -> bool:
    """Runs ``action`` and says whether the frame the explorer shows is another one after it."""
    before = visible_frame(explorer)
    action()
    explorer.page.wait_for_timeout(300)
    return visible_frame(explorer) != before


def _operate(kind: str, explorer) -> bool | None:
    """Operates the explorer's control of one kind: None when it has none, else whether what
    the explorer shows changed. A slider at its end moves back; a menu tries each other entry
    (one entry, such as "your own settings", may show the same picture as another)."""
    if kind == "play":
        play = explorer.locator(".widget-play button").first
        if not play.count():
            return None

        def run() -> None:  # it plays on to its last step and stops there
            play.click()
            explorer.page.wait_for_timeout(1500)

        return _changes(explorer, run)
    if kind == "slider":
        handle = explorer.locator(".widget-hslider.convnb-axis .noUi-handle").first
        if not handle.count():
            return None
        handle.focus()
        return (_changes(explorer, lambda: handle.press("ArrowRight"))  # at its end: back
                or _changes(explorer, lambda: handle.press("ArrowLeft")))
    if kind == "menu":
        menu = explorer.locator(".convnb-axis select").first
        if not menu.count() or menu.locator("option").count() < 2:
            return None
        current = menu.evaluate("e => e.selectedIndex")
        return any(_changes(explorer, lambda i=i: menu.select_option(index=i))
                   for i in range(menu.locator("option").count()) if i != current)
    buttons = explorer.locator(".widget-toggle-buttons.convnb-axis button")
    if buttons.count() < 2:
        return None
    return any(_changes(explorer, lambda i=i: buttons.nth(i).click())
               for i in range(buttons.count())
               if "mod-active" not in (buttons.nth(i).get_attribute("class") or ""))


CONTROLS = ("play", "slider", "menu", "toggle")
# The explorer's elements whose right edge lies past the page's or the explorer's own.
PAST_THE_EDGE = """root => {
  const edge = Math.min(root.getBoundingClientRect().right, window.innerWidth);
  return [root, ...root.querySelectorAll('*')]
    .filter(e => { const box = e.getBoundingClientRect();
                   return box.width > 0 && box.right > edge + 1; })
    .map(e => `${e.tagName} ${typeof e.className == 'string' ? e.className : ''}`).slice(0, 5);
}"""
# Chapters that embed explorers, and how many (read from their sources).
CHAPTERS = {page.stem: len(re.findall(r"^convnb\.widgets\.\w+\(", page.read_text(), re.M))
            for page in sorted((REPO / "book").glob("*.md"))}
CHAPTERS = {name: count for name, count in CHAPTERS.items() if count}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_explorers_work_without_a_kernel(built_book: Path, book_url: str, chapter: str):
    count = CHAPTERS[chapter]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        refused = local_only(page, book_url)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{book_url}/book/{chapter}.html")
        page.wait_for_function(
            f"document.querySelectorAll('.convnb-explorer').length >= {count}", timeout=60_000)
        explorers = page.locator(".convnb-explorer")
        assert explorers.count() == count, f"{chapter}: {explorers.count()} of {count} rendered"
        assert not page.get_by_text(re.compile("Loading widget")).count()
        for i in range(count):
            explorer = explorers.nth(i)
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=ARTIFACTS / f"{chapter}-{i}.png")
            operated = []
            for kind in CONTROLS:
                changed = _operate(kind, explorer)
                if changed is None:
                    continue
                explorer.screenshot(path=ARTIFACTS / f"{chapter}-{i}-{kind}.png")
                assert changed, f"{chapter}, explorer {i}: its {kind} changed nothing in the page"
                operated.append(kind)
            assert operated, f"{chapter}, explorer {i}: no control to operate"
            # the controls that need a kernel are greyed out and ignore the pointer
            live = explorer.locator(".convnb-live")
            for k in range(live.count()):
                assert live.nth(k).evaluate("e => getComputedStyle(e).pointerEvents") == "none", (
                    f"{chapter}, explorer {i}: a control that needs a kernel can be moved")
        # on a phone's column (400 px) nothing runs past the explorer's right edge
        page.set_viewport_size({"width": 400, "height": 900})
        page.wait_for_timeout(300)
        for i in range(count):
            past = explorers.nth(i).evaluate(PAST_THE_EDGE)
            explorers.nth(i).screenshot(path=ARTIFACTS / f"{chapter}-{i}-narrow.png")
            assert not past, f"{chapter}, explorer {i}: past the right edge at 400 px: {past}"
        assert not refused, f"{chapter} asked other hosts for {refused}"
        assert not errors, f"{chapter}: errors in the page: {errors}"
