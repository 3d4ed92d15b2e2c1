"""Lab text files -> nbgrader source notebooks: the committed notebooks are what the text builds,
and inconsistent labs are refused."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.build import (
    BuildError,
    book_url,
    main,
    notebook_path,
    parse,
    render,
    to_notebook,
)

LABS = Path(__file__).resolve().parents[2] / "labs"
TEXTS = sorted((LABS / "text").glob("*.py"))


@pytest.mark.parametrize("text", TEXTS, ids=[t.stem for t in TEXTS])
def test_committed_notebooks_equal_what_their_text_builds(text):
    target = notebook_path(text, LABS)
    assert target.exists(), f"run: python -m autograder.build {text.stem}"
    assert target.read_text(encoding="utf-8") == render(text), (
        f"{target} is out of date: run python -m autograder.build {text.stem}")


def test_the_check_command_agrees():
    assert main(["--check", "--root", str(LABS)]) == 0


@pytest.mark.parametrize("text", TEXTS, ids=[t.stem for t in TEXTS])
def test_every_lab_is_a_valid_nbgrader_notebook(text):
    nb = nbformat.reads(render(text), as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    tests = [m for m in meta if m and m["grade"] and not m["solution"]]
    solutions = [m for m in meta if m and m["solution"]]
    assert tests and solutions
    assert all(m["locked"] and m["points"] > 0 for m in tests)
    assert not any(m["locked"] for m in solutions)


GOOD = """\
# a comment for editors
# %% [markdown] id=intro locked
# # Lab
#
# Total: 3 points.

# %% id=f solution
def f(x, w):
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION

# %% id=test_f locked
check_correlate1d(f)

# %% id=hidden_f tests
# hidden
### BEGIN HIDDEN TESTS
check_correlate1d(f, seed=1, points=3)
### END HIDDEN TESTS

# %%
scratch = 1
"""


def test_a_small_lab_builds_with_nbgrader_metadata():
    nb = to_notebook(parse(GOOD))
    intro, sol, visible, hidden, scratch = nb.cells
    assert intro.source == "# Lab\n\nTotal: 3 points."
    assert intro.metadata.nbgrader == {"grade": False, "grade_id": "intro", "locked": True,
                                       "schema_version": 3, "solution": False, "task": False}
    assert sol.metadata.nbgrader["solution"] and not sol.metadata.nbgrader["locked"]
    assert not visible.metadata.nbgrader["grade"] and visible.metadata.nbgrader["locked"]
    assert hidden.metadata.nbgrader["grade"] and hidden.metadata.nbgrader["points"] == 3
    assert hidden.id == "hidden_f" and scratch.id == "cell-4" and scratch.metadata == {}


@pytest.mark.parametrize(("old", "new", "message"), [
    ("id=f solution", "solution", "needs an id"),
    ("id=f solution", "id=f solutoin", "cannot read 'solutoin'"),
    ("id=test_f locked", "id=f locked", "used twice"),
    ("    ### END SOLUTION\n", "", "BEGIN/END SOLUTION"),
    ("Total: 3 points", "Total: 4 points", "'3 points'"),
    ("check_correlate1d(f)", "check_corelate1d(f)", "no check is named 'check_corelate1d'"),
    ("id=hidden_f tests", "id=hidden_f tests points=2", "points=2 but the check gives 3"),
    ("### BEGIN HIDDEN TESTS\ncheck_correlate1d(f, seed=1, points=3)",
     "check_correlate1d(f, seed=1, points=3)\n### BEGIN HIDDEN TESTS", "belongs between"),
    ("seed=1, points=3)\n", "seed=1, points=3)\nx = 1\n", "ends with exactly one"),
    ("seed=1, points=3", "seed=s, points=3", "seed must be a literal int"),
    ("check_correlate1d(f)\n", "check_correlate1d(f, seed=2, points=1)\n", "belongs in a tests"),
    ("# # Lab", "not a comment", "markdown lines start with '# '"),
])
def test_inconsistent_labs_are_refused(old, new, message):
    assert old in GOOD
    with pytest.raises((BuildError, ValueError), match=message.replace("(", r"\(")):
        to_notebook(parse(GOOD.replace(old, new, 1)))


def test_main_writes_and_checks(tmp_path, capsys):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "lab99_toy.py").write_text(GOOD, encoding="utf-8")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "source" / "lab99_toy" / "lab99_toy.ipynb").exists()
    assert main(["--check", "--root", str(tmp_path), "lab99_toy"]) == 0
    assert "wrote" in capsys.readouterr().out


def test_a_published_book_turns_reading_pointers_into_links(tmp_path):
    # With the book's address in _config.yml (html: baseurl), `(`02_convolution`)` in a lab's
    # text becomes a link to that chapter; without one the text stays as it is.
    labs = tmp_path / "labs"
    (labs / "text").mkdir(parents=True)
    text = LABS / "text" / "lab01_correlation.py"
    assert book_url(labs) is None
    plain = render(text, book_url(labs))
    assert "(`02_convolution`)" in plain and "book/02_convolution.html" not in plain

    (tmp_path / "_config.yml").write_text("html:\n  baseurl: https://course.example.edu/cnn/\n")
    url = book_url(labs)
    assert url == "https://course.example.edu/cnn"
    linked = nbformat.reads(render(text, url), as_version=4)
    intro = linked.cells[0].source
    assert "([`02_convolution`](https://course.example.edu/cnn/book/02_convolution.html))" in intro
    assert "([`03_padding_stride`](https://course.example.edu/cnn/book/03_padding_stride.html))" \
        in intro
    assert "(`02_convolution`)" not in intro
