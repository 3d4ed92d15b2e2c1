"""The project's own wiring: environment.yml against pyproject.toml, and the book's build."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "book" / "_vendor" / "public" / "vendor"
# The conda environment serves the book and the labs; tests and benchmarks install with pip.
ENVIRONMENT_EXTRAS = ("book", "labs")


def _requirement_key(text: str) -> tuple[str, str, str]:
    req = Requirement(text)
    return canonicalize_name(req.name), str(req.specifier), str(req.marker or "")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))


def _environment_pip() -> list[str]:
    return next(d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict))


def test_environment_yml_installs_what_pyproject_declares():
    project = _pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in ENVIRONMENT_EXTRAS:
        declared += project["optional-dependencies"][extra]

    deps = _environment()["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    listed = pip_sections[0]

    expected = sorted(_requirement_key(r) for r in declared)
    got = sorted(_requirement_key(r) for r in listed)
    assert got == expected, (
        "environment.yml's pip section must list pyproject.toml's dependencies plus the extras "
        f"{ENVIRONMENT_EXTRAS}, with the same versions.\n"
        f"only in pyproject.toml: {sorted(set(expected) - set(got))}\n"
        f"only in environment.yml: {sorted(set(got) - set(expected))}"
    )


def test_environment_yml_python_satisfies_requires_python():
    deps = _environment()["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pythons) == 1, f"environment.yml must pin python once, found {pythons}"
    version = pythons[0].split("=", 1)[1].lstrip("=")
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains(version), f"python={version} does not satisfy {requires}"
    assert "pip" in deps


def test_torch_is_only_an_optional_dependency():
    project = _pyproject()["project"]
    assert not any(_requirement_key(r)[0] == "torch" for r in project["dependencies"])
    assert not any(_requirement_key(r)[0] == "torch" for r in _environment_pip())



# The built book -------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds a copy of the book with the real `jupyter-book build`, failing on any warning."""
    if not (VENDOR / "mathjax" / "tex-mml-chtml.js").is_file():
        pytest.fail(f"{VENDOR} is missing: run `make vendor` (make test and make book do)")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    if not jupyter_book.exists():
        pytest.fail(f"no {jupyter_book}: install the book extra (pip install -e '.[book]')")

    source = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "book",
        source / "book",
        ignore=shutil.ignore_patterns("node_modules", "_build", ".ipynb_checkpoints",
                                      "__pycache__"),
    )
    # Matplotlib announces on stderr that it builds its font cache; a chapter's stderr fails
    # the build, so let that happen here first.
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=True)
    result = subprocess.run(
        [str(jupyter_book), "build", str(source), "--all", "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, f"jupyter-book build failed:\n{log}"
    return source / "_build" / "html"


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
    assert len(scripts) == 3  # require.js, its configuration, the manager
    for script in scripts:
        assert urlsplit(script).scheme == ""
        target = (built_book / "_static" / script).resolve()
        assert target.is_file(), f"nb_ipywidgets_js entry {script} is not in the built book"
        assert target.is_relative_to(built_book.resolve())
