"""Every table of the built book fits its column on a desktop screen, so that a reader sees all
its columns without scrolling sideways. (On a phone a wide table scrolls inside its own box,
which the theme provides; the text column is then narrower than any table of several columns.)
"""

from __future__ import annotations

from pathlib import Path

from browser import chromium, local_only

# Window widths: the text column is narrowest where a sidebar appears, at 1200 px (the page's
# contents on the right; 624 px for a table) and at 992 px (the book's on the left; 680 px).
WIDTHS = (1400, 1200, 992, 800)
# Each table wider than the box the theme puts it in (the box then scrolls): its first cell and
# both widths in CSS pixels.
TOO_WIDE = """() => [...document.querySelectorAll('article table')]
  .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
  .map(t => `"${(t.querySelector('th, td') || t).textContent.trim().slice(0, 40)}": `
            + `${t.scrollWidth} px in ${t.parentElement.clientWidth}`)"""

# Waits until MathJax has typeset the page and its fonts have loaded.
TYPESET = """async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  await document.fonts.ready;
}"""


def test_tables_fit_the_column(built_book: Path, book_url: str):
    # every page of the book is in book/ (index.html only redirects to its introduction)
    pages = sorted(p.relative_to(built_book).as_posix() for p in built_book.glob("book/*.html"))
    assert len(pages) >= 10, pages
    too_wide, checked = [], 0
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
        refused = local_only(page, book_url)
        for name in pages:
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            page.goto(f"{book_url}/{name}")
            page.evaluate(TYPESET)  # formulas in a table change its width
            checked += page.locator("article table").count()
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(100)
                too_wide += [f"{name} at {width} px: {t}" for t in page.evaluate(TOO_WIDE)]
    assert checked >= 15, f"only {checked} tables found: is the selector still right?"
    assert not too_wide, "\n".join(too_wide)
    assert not refused, refused
