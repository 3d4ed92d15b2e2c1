"""Adding a lab takes three touches (CONTRIBUTING.md, "Adding a lab"): its text, its checks module
and one line of the test table. This test makes a copy of the course's code, adds a small eighth
lab there with exactly those three touches, builds it, and runs the shared lab suite on it
(``pytest -m lab08``), nbgrader included."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LAB_TEXT = '''\
# A throwaway lab, written by tests/autograder/test_adding_a_lab.py.

# %% [markdown] id=intro locked
# # Lab 8: turning a kernel
#
# A convolution is a correlation with the kernel turned half a turn. **Total: 2 points.**

# %% id=setup locked
import numpy as np

from autograder.checks.lab08 import check_flip_kernel

# %% id=flip_kernel solution
def flip_kernel(w):
    """The kernel turned half a turn (both axes reversed).

    Shapes: w (KH, KW) -> (KH, KW)
    """
    ### BEGIN SOLUTION
    return w[::-1, ::-1].copy()
    ### END SOLUTION

# %% id=test_flip_kernel locked
check_flip_kernel(flip_kernel)

# %% id=hidden_flip_kernel tests
# Hidden tests (2 points): flip_kernel on random kernels.
### BEGIN HIDDEN TESTS
check_flip_kernel(flip_kernel, seed=808, points=2)
### END HIDDEN TESTS
'''

CHECKS = '''\
"""Checks for lab08_tiny: the kernel turned half a turn, NumPy's rot90 as the answer key."""

import numpy as np

from autograder.checks import ArrayResult, Case, Check, Diagnoser, register

__all__ = ["check_flip_kernel"]


def _case(w):
    return Case((w,), f"w {w.shape}", w.size)


def _draw(rng):
    return _case(np.round(rng.normal(size=tuple(int(n) for n in rng.integers(2, 5, size=2))), 2))


check_flip_kernel = register(Check(
    name="check_flip_kernel", function="flip_kernel(w)", reference=lambda w: np.rot90(w, 2),
    draw=_draw, fixed=(_case(np.arange(6.0).reshape(2, 3)), _case(np.arange(9.0).reshape(3, 3))),
    result=ArrayResult(),
    diagnosers=[Diagnoser("flipped_one_axis", lambda w: w[::-1]),
                Diagnoser("flipped_one_axis", lambda w: w[:, ::-1]),
                Diagnoser("transposed_kernel", lambda w: w.T)],
))
'''

TABLE_LINE = ('    Lab("lab08_tiny", 2, students={"one_axis": ({"flip_kernel": "def flip_kernel(w):'
              '\\n    return w[::-1]"}, {"hidden_flip_kernel": "flipped_one_axis"})}),\n')


def _copy_of_the_course(root: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_build", ".hypothesis")
    for folder in ("autograder", "tests", "labs/text", "labs/source"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", root)


def test_an_eighth_lab_needs_its_text_its_checks_and_one_table_line(tmp_path):
    _copy_of_the_course(tmp_path)
    # The three touches.
    (tmp_path / "labs" / "text" / "lab08_tiny.py").write_text(LAB_TEXT)
    (tmp_path / "autograder" / "checks" / "lab08.py").write_text(CHECKS)
    table = tmp_path / "tests" / "lab_table.py"
    text = table.read_text()
    end = text.index("\n]\n", text.index("LABS = [")) + 1
    table.write_text(text[:end] + TABLE_LINE + text[end:])

    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    build = subprocess.run([sys.executable, "-m", "autograder.build", "lab08_tiny"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "labs" / "source" / "lab08_tiny" / "lab08_tiny.ipynb").is_file()

    run = subprocess.run([sys.executable, "-m", "pytest", "tests/autograder/test_labs.py",
                          "-m", "lab08", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", run.stdout)[1])
    # points, solution, unwritten, signatures, full marks, zero, two quiet checks, one wrong
    # student, rescoring of three notebooks, no hidden source
    assert passed == 13, run.stdout[-2000:]
    assert " failed" not in run.stdout and " skipped" not in run.stdout
