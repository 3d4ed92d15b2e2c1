"""The students' package (``autograder.student_wheel``): what is in the wheel, and the ``check``
command in a fresh virtual environment that has the wheel and not nbgrader.

The environment test is marked ``pypi``: it creates a virtual environment from the interpreter
this one was made from and pip-installs the wheel's dependencies from PyPI (the pip cache makes
later runs quick). It takes about a minute.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import GradedCourse

from autograder.build import BOOK_ADDRESS, render
from autograder.student_wheel import build, wheel_name

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("wheel"))


def _texts(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name).decode("utf-8", errors="replace") for name in zf.namelist()}


def _lines(text: str) -> list[str]:
    """The non-blank lines of ``text`` without indentation or comment marks (a solution in a
    markdown cell is commented out in labs/text)."""
    lines = [line.strip().lstrip("#").strip() for line in text.splitlines()]
    return [line for line in lines if line]


def _runs(lines: list[str], n: int = 3) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive lines (a shorter text whole)."""
    return {tuple(lines[i:i + n]) for i in range(max(1, len(lines) - n + 1))}


def _solution_runs() -> set[tuple[str, ...]]:
    """The runs of three lines of every solution region in labs/text."""
    return {run for text in (REPO / "labs" / "text").glob("*.py")
            for region in SOLUTION.findall(text.read_text(encoding="utf-8"))
            for run in _runs(_lines(region))}


def test_the_wheel_has_convnb_and_the_checks_and_is_named_as_the_docs_say(wheel):
    names = _texts(wheel)
    assert wheel.name == wheel_name() == "convnb-0.1.0-py3-none-any.whl"
    for needed in ("convnb/__init__.py", "convnb/conv.py", "convnb/widgets/lenet5_digits.npz",
                   "convnb/kernels.cu",
                   "autograder/__main__.py", "autograder/selfcheck.py",
                   "autograder/checks/__init__.py", "autograder/checks/lab01.py",
                   "autograder/checks/lab05/layers.py"):
        assert needed in names, f"{needed} missing from the students' wheel"
    metadata = next(text for name, text in names.items() if name.endswith(".dist-info/METADATA"))
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)", metadata, re.M)
    assert {"numpy", "ipykernel", "nbclient", "nbformat"} <= set(requires)
    assert "nbgrader" not in requires


def test_the_wheel_has_no_lab_source_solution_hidden_test_or_secret(wheel):
    texts = _texts(wheel)
    assert not [n for n in texts if n.startswith("labs/") or "/labs/" in n]
    assert not [n for n in texts if n.endswith(".ipynb")]
    for instructor in ("build", "secret", "sandbox", "pipeline", "grading", "sample_lab",
                       "student_wheel", "nbgrader_hooks", "integrity", "rescore"):
        assert f"autograder/{instructor}.py" not in texts
    for name, text in texts.items():
        assert "BEGIN HIDDEN TESTS" not in text, name
        assert "BEGIN SOLUTION" not in text, name
        assert "course_secret" not in text, name
    solutions = _solution_runs()
    assert len(solutions) > 100  # the seven labs' solutions were read
    for name, text in texts.items():
        leaked = _runs(_lines(text)) & solutions
        assert not leaked, f"{name} holds a lab's solution: {sorted(leaked)[0]}"


def test_the_solution_scan_finds_a_solution_when_one_is_there():
    text = (REPO / "labs" / "text" / f"{LAB}.py").read_text(encoding="utf-8")
    region = SOLUTION.findall(text)[0]
    assert len(_lines(region)) >= 3
    planted = "def helper(x):\n" + region + "    return x\n"
    assert _runs(_lines(planted)) & _solution_runs()
    assert not _runs(_lines("import numpy as np\n\nx = np.zeros(3)\n")) & _solution_runs()


@pytest.mark.parametrize("lab", sorted(p.name for p in (REPO / "labs" / "source").iterdir()))
def test_every_lab_shows_the_install_line_and_the_check_command(lab):
    intro = nbformat.read(REPO / "labs" / "source" / lab / f"{lab}.ipynb", as_version=4).cells[0]
    assert intro.cell_type == "markdown"
    assert f"`pip install {wheel_name()}`" in intro.source
    assert f"`%pip install {BOOK_ADDRESS}/{wheel_name()}`" in intro.source
    assert f"`python -m autograder check {lab}.ipynb`" in intro.source


def test_a_published_book_puts_its_address_in_the_colab_line():
    text = render(REPO / "labs" / "text" / f"{LAB}.py", "https://course.example.edu/cnn")
    intro = nbformat.reads(text, as_version=4).cells[0].source
    assert f"`%pip install https://course.example.edu/cnn/{wheel_name()}`" in intro
    assert "<the book's address>" not in intro


def _venv(tmp: Path) -> Path:
    """A fresh virtual environment from the base interpreter (not this one's packages)."""
    base = Path(sys.base_prefix) / "bin" / "python{}.{}".format(*sys.version_info[:2])
    subprocess.run([str(base), "-m", "venv", str(tmp / "venv")], check=True, timeout=120)
    return tmp / "venv" / "bin" / "python"


@pytest.mark.pypi
def test_check_runs_a_released_lab_in_a_fresh_environment_without_nbgrader(wheel, tmp_path):
    python = _venv(tmp_path)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    no_nbgrader = subprocess.run([str(python), "-c", "import nbgrader"],
                                 capture_output=True, text=True)
    assert no_nbgrader.returncode == 1 and "No module named 'nbgrader'" in no_nbgrader.stderr
    # Every module of the checks (every lab's) imports there, without nbgrader.
    every_check = subprocess.run([str(python), "-c", (
        "import importlib, pkgutil, autograder.checks as c\n"
        "names = [m.name for m in pkgutil.walk_packages(c.__path__, 'autograder.checks.')]\n"
        "[importlib.import_module(n) for n in names]\nprint(len(names))")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert every_check.returncode == 0, every_check.stderr[-3000:]
    assert int(every_check.stdout) >= 20

    course = GradedCourse.generate(tmp_path, LAB)
    stub = tmp_path / "student" / f"{LAB}.ipynb"
    stub.parent.mkdir()
    nbformat.write(course.released, stub)
    solved = tmp_path / "student" / f"{LAB}_solved.ipynb"
    nbformat.write(course.submission({}), solved)

    def run(*args: str) -> subprocess.CompletedProcess:
        # From an empty folder: the wheel's autograder, not this checkout's, is imported.
        return subprocess.run([str(python), "-m", "autograder", *args], cwd=stub.parent,
                              capture_output=True, text=True, timeout=600)

    where = run("check", "--help")
    assert where.returncode == 0, where.stderr
    located = subprocess.run([str(python), "-c", "import autograder; print(autograder.__file__)"],
                             cwd=stub.parent, capture_output=True, text=True).stdout
    assert str(tmp_path / "venv") in located

    blank = run("check", stub.name)
    assert blank.returncode == 1, blank.stdout + blank.stderr
    fails = re.findall(r"^FAIL  (\S+)", blank.stdout, re.M)
    assert len(fails) == 6 and "test_correlate1d" in fails, blank.stdout
    assert "not written yet" in blank.stdout and "0 of 6 tests passed" in blank.stdout

    right = run("check", solved.name)
    assert right.returncode == 0, right.stdout + right.stderr
    assert len(re.findall(r"^PASS  ", right.stdout, re.M)) == 6, right.stdout
    assert "6 of 6 tests passed" in right.stdout

    release = run("release", LAB)
    assert release.returncode == 2
    assert release.stderr.startswith("python -m autograder release: needs nbgrader")
    assert "pip install -e \".[labs]\"" in release.stderr and "Traceback" not in release.stderr
