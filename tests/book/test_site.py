"""The built site as a reader meets it: every chapter with its prose, figures, exercises, lab and
notebook download, and a section for every lecture topic; every link and download working; pages
light enough."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag

from autograder.student_wheel import wheel_name

REPO = Path(__file__).resolve().parents[2]

# chapter -> (its lab, the lecture topics it must cover, as the anchors of their sections)
CHAPTERS = {
    "01_why_convolutions": ("lab05_train_cnn", [
        "ch1-mlp-ignores-structure", "ch1-locality-stationarity", "ch1-fc-lc-conv",
        "ch1-sparse-interactions", "ch1-parameter-sharing", "ch1-equivariance",
        "ch1-hubel-wiesel", "ch1-feature-detector"]),
    "02_convolution": ("lab01_correlation", [
        "ch2-continuous", "ch2-discrete-1d", "ch2-discrete-2d", "ch2-convolution-vs-correlation",
        "ch2-commutativity", "ch2-matrix-view", "ch2-image-filters"]),
    "03_padding_stride": ("lab01_correlation", [
        "ch3-boundaries", "ch3-valid-same-full", "ch3-stride", "ch3-arithmetic", "ch3-cost"]),
    "04_channels": ("lab02_conv_forward", [
        "ch4-tensors", "ch4-full-depth", "ch4-worked-example", "ch4-output-depth", "ch4-bias",
        "ch4-one-by-one", "ch4-cost", "ch4-kernel-tensor"]),
    "05_pooling": ("lab03_pooling", [
        "ch5-max-pooling", "ch5-average-pooling", "ch5-lp-pooling", "ch5-stochastic-pooling",
        "ch5-fractional-pooling", "ch5-subsampling", "ch5-invariance", "ch5-output-size",
        "ch5-pooling-vs-strided-conv", "ch5-global-pooling"]),
    "06_backprop": ("lab04_conv_backward", [
        "ch6-1d-derivation", "ch6-input-gradient", "ch6-weight-gradient", "ch6-bias-gradient",
        "ch6-max-pool-switches", "ch6-average-pool-gradient", "ch6-gradient-check"]),
    "07_variants": ("lab06_variants", [
        "ch7-transposed", "ch7-checkerboard", "ch7-dilated", "ch7-depthwise-separable",
        "ch7-grouped", "ch7-tiled", "ch7-locally-connected"]),
    "08_fast_convolution": ("lab07_fast_conv", [
        "ch8-loops", "ch8-im2col", "ch8-fft", "ch8-direct", "ch8-memory", "ch8-measured",
        "ch8-gpus"]),
    "09_architectures": ("lab05_train_cnn", [
        "ch9-building-blocks", "ch9-lenet", "ch9-walkthrough-83", "ch9-encoder", "ch9-decoder",
        "ch9-encoder-decoder", "ch9-receptive-fields", "ch9-what-layers-learn",
        "ch9-later-ideas"]),
    # No lab of its own: its Lab section redoes Lab 5's network in PyTorch.
    "10_frameworks": ("lab05_train_cnn", [
        "ch10-pytorch", "ch10-keras", "ch10-padding", "ch10-layouts", "ch10-weights",
        "ch10-defaults"]),
}
MAX_PAGE_BYTES = 1_500_000
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _page(site: Path, name: str) -> BeautifulSoup:
    return BeautifulSoup((site / "book" / f"{name}.html").read_text(encoding="utf-8"),
                         "html.parser")


def _article(soup: BeautifulSoup) -> Tag:
    article = soup.find("article")
    assert article is not None, "no <article> in the page"
    return article


def _section(article: Tag, heading: str) -> Tag:
    """The <section> whose own heading reads ``heading`` (Sphinx nests sections)."""
    for section in article.find_all("section"):
        title = section.find(re.compile("^h[1-6]$"))
        text = title.get_text(" ", strip=True).rstrip("#").strip() if title else ""
        if re.sub(r"^[\d.]+\s*", "", text) == heading:  # "4.9. Exercises": chapters are numbered
            return section
    raise AssertionError(f"no section headed {heading!r}")


def _prose_words(article: Tag) -> int:
    """Words in paragraphs, list items, headings and tables outside code cells and math."""
    article = BeautifulSoup(str(article), "html.parser")
    for junk in article.select(".cell, .highlight, .math, pre, script, style, .headerlink"):
        junk.decompose()
    return len(WORD.findall(article.get_text(" ")))


def _target(page: Path, href: str) -> tuple[Path, str]:
    parts = urlsplit(href)
    path = unquote(parts.path)
    target = (page.parent / PurePosixPath(path)).resolve() if path else page
    return target, unquote(parts.fragment)


def _local_links(soup: BeautifulSoup) -> list[str]:
    links = []
    for a in soup.find_all("a", href=True):
        href = a["href"]
        scheme = urlsplit(href).scheme
        if scheme in ("http", "https", "mailto", "javascript") or href.startswith("//"):
            continue
        links.append(href)
    return links


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_has_prose_figures_exercises_and_lab(built_book: Path, chapter: str):
    lab, _ = CHAPTERS[chapter]
    page = built_book / "book" / f"{chapter}.html"
    assert page.is_file(), f"the chapter {chapter} is not in the built book"
    article = _article(_page(built_book, chapter))

    words = _prose_words(article)
    assert words >= 1500, f"{chapter}: {words} words of prose, expected at least 1,500"

    figures = [img for img in article.select(".cell_output img")
               if img.get("alt", "").strip() and not img["src"].startswith("data:")]
    assert len(figures) >= 2, f"{chapter}: {len(figures)} figures with alt text from its code"
    for img in figures:
        assert _target(page, img["src"])[0].is_file(), img["src"]

    exercises = _section(article, "Exercises")
    solutions = exercises.select("details.sd-dropdown")
    assert len(solutions) >= 3, f"{chapter}: {len(solutions)} hidden solutions"

    lab_section = _section(article, "Lab")
    hrefs = [a["href"] for a in lab_section.find_all("a", href=True)]
    assert any(urlsplit(h).path.endswith("labs.html")
               and urlsplit(h).fragment == lab.replace("_", "-") for h in hrefs), hrefs
    downloads = [h for h in hrefs if h.endswith(f"{lab}.ipynb")]
    assert downloads, f"{chapter}: the Lab section does not offer {lab}.ipynb"
    for href in downloads:
        nbformat.validate(nbformat.read(_target(page, href)[0], as_version=4))


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_covers_the_lecture_topics(built_book: Path, chapter: str):
    soup = _page(built_book, chapter)
    missing = [anchor for anchor in CHAPTERS[chapter][1] if soup.find(id=anchor) is None]
    assert not missing, f"{chapter} has no section for {missing}"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_downloads_as_an_executed_notebook(built_book: Path, chapter: str):
    page = built_book / "book" / f"{chapter}.html"
    soup = _page(built_book, chapter)
    button = soup.select_one(".btn-download-notebook-button")
    assert button is not None, f"{chapter} has no notebook download button"
    notebook = nbformat.read(_target(page, button["href"])[0], as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("outputs") is not None for cell in code)
    assert any(cell.outputs for cell in code), "the download should be the executed notebook"


def test_every_local_link_and_anchor_resolves(built_book: Path):
    broken = []
    ids: dict[Path, set[str]] = {}
    for page in sorted(built_book.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for href in _local_links(soup):
            target, fragment = _target(page, href)
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(built_book)}: {href}")
                continue
            if fragment and target.suffix == ".html":
                if target not in ids:
                    text = target.read_text(encoding="utf-8")
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', text))
                if fragment not in ids[target]:
                    broken.append(f"{page.relative_to(built_book)}: {href} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_launch_button_without_a_repository(built_book: Path):
    # _config.yml names no repository, so no launch button may lead anywhere.
    for page in built_book.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for service in ("mybinder.org", "colab.research.google.com", "executablebooks"):
            assert service not in text, f"{page.relative_to(built_book)} links to {service}"


def test_pages_are_light(built_book: Path):
    heavy = {str(p.relative_to(built_book)): p.stat().st_size
             for p in built_book.rglob("*.html") if p.stat().st_size > MAX_PAGE_BYTES}
    assert not heavy, f"pages over {MAX_PAGE_BYTES:,} bytes: {heavy}"


def _points(notebook: Path) -> float:
    cells = nbformat.read(notebook, as_version=4).cells
    return sum(cell.metadata.get("nbgrader", {}).get("points", 0) for cell in cells
               if cell.metadata.get("nbgrader", {}).get("grade"))


@pytest.mark.parametrize("lab", sorted(p.name for p in (REPO / "labs" / "source").iterdir()))
def test_labs_page_offers_each_student_notebook(built_book: Path, lab: str):
    page = built_book / "book" / "labs.html"
    target = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find(
        id=lab.replace("_", "-"))
    assert target is not None, f"the Labs page has no section for {lab}"
    # Sphinx writes a label before a heading as an empty <span id=...> inside the section.
    section = target if target.name == "section" else target.find_parent("section")
    text = section.get_text(" ", strip=True)
    source = REPO / "labs" / "source" / lab / f"{lab}.ipynb"
    stated = re.search(r"Points:\s*(\d+)", text)
    assert stated and float(stated.group(1)) == _points(source), (
        f"{lab}: the page says {stated and stated.group(0)}, nbgrader's source gives "
        f"{_points(source)}")
    links = [a["href"] for a in section.find_all("a", href=True) if a["href"].endswith(".ipynb")]
    assert len(links) == 1, links
    student = _target(page, links[0])[0]
    assert student.is_file(), f"{links[0]} does not lead to a file of the site"
    notebook = json.loads(student.read_text(encoding="utf-8"))
    text = json.dumps(notebook)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "YOUR CODE HERE" in text, "the download should be the student version"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("page_name", ["labs", "intro"])
def test_labs_and_intro_offer_the_students_package(built_book: Path, page_name: str):
    name = wheel_name()
    at_root = built_book / name  # the address the Colab line names: the site's root
    assert at_root.is_file(), f"{name} is not at the site's root"
    with zipfile.ZipFile(at_root) as zf:
        files = zf.namelist()
    assert "autograder/selfcheck.py" in files and "convnb/conv.py" in files
    assert not [f for f in files if f.startswith("labs/") or f.endswith(".ipynb")]

    page = built_book / "book" / f"{page_name}.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in soup.find_all("a", href=True) if a["href"].endswith(name)]
    assert links, f"{page_name}: no link to {name}"
    for href in links:
        target = _target(page, href)[0]
        assert target.is_file() and target.read_bytes() == at_root.read_bytes(), href
    text = " ".join(_article(soup).get_text().split())  # code blocks are highlighted in spans
    assert f"pip install {name}" in text
    assert f"%pip install https://<this book's address>/{name}" in text
