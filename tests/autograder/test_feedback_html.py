"""Feedback a student opens anywhere, and logs an instructor need not learn to read around.

A lab01 course run through ``python -m autograder release`` and ``grade`` in separate processes
(the command line as an instructor runs it), with three students: the solution, a correlate1d
that raises inside NumPy, and the solution with a line added to a locked visible test cell. The
feedback pages are read with an HTML parser and opened in a headless browser that may fetch
nothing but files; the logs are the ones ``grade`` writes from nbgrader's.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import sysconfig
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from browser import ARTIFACTS, chromium, local_only

import autograder.feedback
from autograder.__main__ import main
from autograder.feedback import server_paths_hidden
from autograder.feedback_html import SelfContainedHTML
from autograder.sandbox import KERNEL_HOME

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
NPM_MATHJAX = REPO / "book" / "_vendor" / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"

RAISES = "def correlate1d(x, w):\n    import numpy as np\n    return np.pad(x, 1, mode='nope')\n"
EDITED = "\nprint('the student added this line')"

# Elements and attributes that make a browser fetch something as the page loads.
FETCHING = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"),
            "iframe": ("src",), "frame": ("src",), "embed": ("src",), "object": ("data",),
            "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",),
            "track": ("src",), "input": ("src",)}
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)|@import\s+['\"]([^'\"]+)")


class _References(HTMLParser):
    """Every fetching reference of a page: element attributes, then CSS in ``<style>`` and
    ``style=`` (comments dropped: a licence's URL in a comment fetches nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in FETCHING.get(tag, ()):
                self.found += [(f"<{tag} {name}>", v.split()[0])
                               for v in value.split(",")] if name == "srcset" else \
                    [(f"<{tag} {name}>", value)]
            if value and name == "style":
                self._css(value, f"<{tag} style>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")

    def _css(self, css: str, where: str) -> None:
        css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
        self.found += [(where, a or b) for a, b in _CSS_URL.findall(css)]


def references(page: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(page)
    return parser.found


def _solution(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def _submission(released: Path, changes: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook solved, with the cells named in ``changes`` given that source
    (a source starting with a newline is added to the released cell instead)."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: _solution(c)
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        change = changes.get(grade_id, "")
        if change.startswith("\n"):
            cell.source += change
        elif change or grade_id in solutions:
            cell.source = change or solutions[grade_id]
    return nb


def run_cli(labs: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, list[subprocess.CompletedProcess]]:
    labs = tmp_path_factory.mktemp("course") / "labs"
    (labs / "source").mkdir(parents=True)
    (labs / "nbgrader_config.py").write_text((REPO / "labs" / "nbgrader_config.py").read_text())
    (labs / "source" / LAB).mkdir()
    (labs / "source" / LAB / f"{LAB}.ipynb").write_text(SOURCE.read_text())
    release = run_cli(labs, "release", LAB)
    assert release.returncode == 0, release.stdout + release.stderr
    released = labs / "release" / LAB / f"{LAB}.ipynb"
    for student, changes in {"solution": {}, "raises": {"correlate1d": RAISES},
                             "edited": {"test_correlate1d": EDITED}}.items():
        folder = labs / "submitted" / student / LAB
        folder.mkdir(parents=True)
        nbformat.write(_submission(released, changes), folder / f"{LAB}.ipynb")
    graded = run_cli(labs, "grade", LAB, "--jobs", "2", "--no-progress")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return labs, [release, graded]


def _page(labs: Path, student: str) -> Path:
    return labs / "feedback" / student / LAB / f"{LAB}.html"


def _text(page: str) -> str:
    """What a reader of the page sees (syntax highlighting splits code into many tags)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _formulas() -> list[str]:
    """The display formulas ($$ ... $$) of the lab's markdown cells."""
    nb = nbformat.read(SOURCE, as_version=4)
    return [f for c in nb.cells if c.cell_type == "markdown"
            for f in re.findall(r"\$\$(.+?)\$\$", c.source, re.DOTALL)]


@pytest.mark.parametrize("student", ["solution", "raises"])
def test_feedback_fetches_nothing_outside_its_folder(course, student):
    labs, _ = course
    page = _page(labs, student)
    found = references(page.read_text())
    assert any("mathjax" in ref.lower() for _, ref in found), found
    for where, ref in found:
        parts = urlsplit(ref)
        assert parts.scheme in ("", "data") and not parts.netloc, (where, ref)
        if parts.scheme == "":
            assert (page.parent / parts.path).is_file(), (where, ref)
    assert "cdnjs" not in page.read_text()


def test_feedback_carries_the_mathjax_of_the_npm_package_and_the_labs_formulas(course):
    labs, _ = course
    page = _page(labs, "solution")
    scripts = [ref for where, ref in references(page.read_text())
               if where == "<script src>" and "mathjax" in ref.lower()]
    assert len(scripts) == 1, scripts
    assert (page.parent / scripts[0]).read_bytes() == NPM_MATHJAX.read_bytes()
    text = html.unescape(page.read_text())
    formulas = _formulas()
    assert len(formulas) >= 3 and all(f in text for f in formulas), formulas


def test_feedback_formulas_render_in_a_browser_that_may_fetch_only_files(course):
    labs, _ = course
    page_path = _page(labs, "solution")
    with chromium() as browser:
        page = browser.new_page()
        refused = local_only(page, "file://")
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(page_path.as_uri())
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        shown = page.evaluate("MathJax.startup.promise.then(() => document.querySelectorAll("
                              "'mjx-container[display=\"true\"] svg').length)")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feedback_lab01.png"), full_page=False)
        left = page.evaluate("document.body.innerText")
    assert refused == [] and errors == []
    assert shown == len(_formulas())
    assert "$$" not in left and "\\sum" not in left


def test_a_traceback_shows_the_students_cell_and_line_and_no_server_path(course):
    labs, _ = course
    page = _page(labs, "raises").read_text()
    text = _text(page)
    # The student's own frame comes first: line 3 of the cell that defines correlate1d.
    first = text.split("Traceback (most recent call last)", 1)[1].lstrip()
    assert re.match(r"Cell In\[\d+\], line 3, in correlate1d\(x, w\)", first), first[:200]
    assert "return np.pad(x, 1, mode='nope')" in first
    assert "ValueError: mode 'nope' is not supported" in text
    assert re.search(r"File numpy/[\w/]+\.py:\d+, in pad", text)
    assert re.search(r"File autograder/checks/core\.py:\d+, in Check\.__call__", text)
    server = [str(REPO), str(labs.parent), "site-packages", sys.prefix,
              sysconfig.get_paths()["stdlib"], os.path.expanduser("~") + "/"]
    assert [s for s in server if s in page] == []


def test_the_type_only_failure_says_the_values_are_right_in_the_feedback(tmp_path):
    """lab01's correlate1d returning a list: both the visible and the hidden test, in the
    feedback page, say its values are right."""
    labs = tmp_path / "labs"
    (labs / "source" / LAB).mkdir(parents=True)
    (labs / "nbgrader_config.py").write_text((REPO / "labs" / "nbgrader_config.py").read_text())
    (labs / "source" / LAB / f"{LAB}.ipynb").write_text(SOURCE.read_text())
    assert main(["--course", str(labs), "release", LAB]) == 0
    solution = _solution(next(c for c in nbformat.read(SOURCE, as_version=4).cells
                              if c.metadata.get("nbgrader", {}).get("grade_id") == "correlate1d"))
    as_list = solution + "\n\n_array_version = correlate1d\n" \
        "def correlate1d(x, w):\n    return list(_array_version(x, w))\n"
    folder = labs / "submitted" / "lists" / LAB
    folder.mkdir(parents=True)
    nbformat.write(_submission(labs / "release" / LAB / f"{LAB}.ipynb",
                               {"correlate1d": as_list}), folder / f"{LAB}.ipynb")
    assert main(["--course", str(labs), "grade", LAB, "--jobs", "1", "--no-progress"]) == 0
    text = _text(_page(labs, "lists").read_text())
    right = "returned a list; return a numpy.ndarray (np.array(result)); its values are right"
    visible, hidden = text.split("check_correlate1d(correlate1d)", 1)[1].split(
        "Grade cell: hidden_correlate1d", 1)
    hidden = hidden.split("Grade cell:", 1)[0]
    assert right in visible and right in hidden


def _warnings(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("[WARNING]")]


def test_the_logs_of_a_clean_grading_have_no_warning(course):
    labs, runs = course
    logs = labs / "reports" / f"{LAB}_logs"
    assert _warnings(logs / "solution.log") == []
    assert _warnings(logs / "raises.log") == []
    # Restoring the hidden tests the release removed is not reported: nbgrader logs it
    # for every test cell with hidden tests otherwise.
    assert "hidden_correlate1d" not in (logs / "solution.log").read_text()
    for run in runs:
        assert not re.search(r"warn", run.stdout + run.stderr, re.IGNORECASE), run


def test_an_edited_locked_cell_is_still_reported(course):
    labs, _ = course
    warned = _warnings(labs / "reports" / f"{LAB}_logs" / "edited.log")
    assert len(warned) == 1 and warned[0].startswith(
        "[WARNING] Attribute 'checksum' for cell test_correlate1d has changed!"), warned


def test_server_paths_are_written_as_a_student_would_name_the_files():
    home, stdlib = os.path.expanduser("~"), sysconfig.get_paths()["stdlib"]
    frames = {
        f"File \x1b[32m{REPO}/autograder/checks/core.py:12\x1b[39m, in f":
            "File \x1b[32mautograder/checks/core.py:12\x1b[39m, in f",
        f"File {home}/.local/lib/python3.11/site-packages/numpy/_core/fromnumeric.py:3, in g":
            "File numpy/_core/fromnumeric.py:3, in g",
        "File ~/venv/lib/python3.11/dist-packages/scipy/signal/_x.py:4, in h":
            "File scipy/signal/_x.py:4, in h",
        f"File {stdlib}/json/decoder.py:5, in raw_decode": "File json/decoder.py:5, in raw_decode",
        "File /srv/elsewhere/helpers.py:6, in k": "File helpers.py:6, in k",
        f"No such file: '{REPO}/labs/gradebook.db'": "No such file: '.../labs/gradebook.db'",
        "Cell In[3], line 4, in correlate1d(x, w)": "Cell In[3], line 4, in correlate1d(x, w)",
    }
    assert {frame: server_paths_hidden(frame) for frame in frames} == frames


def test_without_mathjax_the_feedback_exporter_says_where_it_looked(tmp_path):
    exporter = SelfContainedHTML(mathjax_source=str(tmp_path / "tex-svg-full.js"))
    with pytest.raises(FileNotFoundError, match=r"SelfContainedHTML: no MathJax at .*"
                       r"tex-svg-full\.js \(c\.SelfContainedHTML\.mathjax_source\)"):
        exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("$$x^2$$")]))


def test_a_repository_under_the_kernels_home_is_named_from_the_repository(monkeypatch):
    """A sandboxed kernel's HOME is /tmp, so IPython prints a repository under /tmp (a CI
    checkout, say) as ``~/...``: that is the kernel's home, not the grader's."""
    monkeypatch.setattr(autograder.feedback, "_REPOSITORY", Path(KERNEL_HOME) / "course-repo")
    frame = "File \x1b[32m~/course-repo/autograder/checks/core.py:383\x1b[39m, in Check.__call__"
    assert server_paths_hidden(frame) == (
        "File \x1b[32mautograder/checks/core.py:383\x1b[39m, in Check.__call__")
