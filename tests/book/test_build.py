"""The book's build: computed numbers, nothing fetched from other hosts, its own MathJax and
widget manager."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import yaml

REPO = Path(__file__).resolve().parents[2]



class _ExternalResources(HTMLParser):
    """Collects what a page would fetch from another host: scripts, stylesheets, frames, images."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.local_scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link":
            urls = [attributes.get("href")]
        elif tag in ("script", "img", "iframe", "source", "audio", "video", "embed"):
            urls = [attributes.get("src")]
        else:
            return
        for url in filter(None, urls):
            if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                self.external.append(f"<{tag}> {url}")
            elif tag == "script":
                self.local_scripts.append(url)


def _scan(page: Path) -> _ExternalResources:
    parser = _ExternalResources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _local_target(page: Path, url: str) -> Path:
    path = unquote(urlsplit(url).path)
    return (page.parent / PurePosixPath(path)).resolve()


def test_book_builds_and_shows_computed_numbers(built_book: Path):
    assert (built_book / "index.html").is_file()
    intro = (built_book / "book" / "intro.html").read_text(encoding="utf-8")
    assert "output size of a 9x9 kernel on 83x83: 75" in intro
    assert "receptive field of the dilated stack: 31 pixels, jump 1" in intro
    notation = (built_book / "book" / "notation.html").read_text(encoding="utf-8")
    assert "by convnb:      3" in notation


def test_book_loads_nothing_from_other_hosts(built_book: Path):
    pages = sorted(built_book.rglob("*.html"))
    assert pages
    external = {str(p.relative_to(built_book)): _scan(p).external for p in pages}
    assert not {page: urls for page, urls in external.items() if urls}
    for css in built_book.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"""(@import\s+|url\(\s*)["']?(https?:)?//""", text), css


def test_book_serves_its_own_mathjax(built_book: Path):
    page = built_book / "book" / "notation.html"
    assert 'class="math notranslate nohighlight"' in page.read_text(encoding="utf-8")
    mathjax = [s for s in _scan(page).local_scripts if "mathjax" in s]
    assert len(mathjax) == 1, mathjax
    target = _local_target(page, mathjax[0])
    assert target.is_file(), f"{mathjax[0]} does not lead to a file of the built book"
    assert target.is_relative_to(built_book.resolve())
    # CommonHTML output loads its fonts from beside the script.
    assert any((target.parent / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_book_serves_its_own_widget_manager(built_book: Path):
    # myst-nb adds these scripts to pages holding widgets, each joined to `_static/` by Sphinx.
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    scripts = config["sphinx"]["config"]["nb_ipywidgets_js"]
    assert len(scripts) == 4  # the Font Awesome setting, require.js, its configuration, the manager
    for script in scripts:
        assert urlsplit(script).scheme == ""
        target = (built_book / "_static" / script).resolve()
        assert target.is_file(), f"nb_ipywidgets_js entry {script} is not in the built book"
        assert target.is_relative_to(built_book.resolve())
