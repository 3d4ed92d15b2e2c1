"""The students' package: a wheel with ``convnb`` and the kernel side of the grading, no more.

    python -m autograder.student_wheel book/_downloads/package     # what `make book` runs

Students install it with one line (``pip install convnb-0.1.0-py3-none-any.whl``, or
``%pip install URL`` on Colab) and get what their lab notebooks import and the ``check``
command. It holds, from this repository:

* ``convnb/`` (the course's library, with its package data);
* ``autograder/checks/`` (the checks that the labs' test cells call, see its docstring);
* ``autograder/__init__.py``, ``__main__.py``, ``selfcheck.py``, ``kernel.py``, ``usage.py``
  (``python -m autograder check NOTEBOOK``; the other commands say they need the instructor's
  clone).

It leaves out the instructor's tools (building, releasing, grading, the sandbox, the integrity
flags, the secret's derivation), and it has nothing of ``labs/`` (the lab text and source with
the solutions, the hidden tests, the course secret). Its dependencies are ``convnb``'s and what
running a notebook needs, not nbgrader.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STUDENT_MODULES = ["__init__.py", "__main__.py", "selfcheck.py", "kernel.py", "usage.py"]
"""The files of ``autograder/`` itself in the wheel; ``autograder/checks/`` goes in whole."""

NOTEBOOK_DEPENDENCIES = ["ipykernel>=6", "ipywidgets>=8.1", "nbclient>=0.7", "nbformat>=5.7"]
"""What ``check`` and the notebooks need beyond convnb's own dependencies. The lower bounds
are loose where they can be (``check`` uses what these have had for years), so that a hosted
Jupyter (Colab pins its own ipykernel) keeps its kernel; the explorers need ipywidgets 8."""

DESCRIPTION = "convnb and the lab checks of the course, for students (no solutions, no nbgrader)"


def wheel_name(repo: Path = REPO) -> str:
    """The wheel's file name, e.g. ``convnb-0.1.0-py3-none-any.whl``."""
    project = _project(repo)
    return f"{project['name']}-{project['version']}-py3-none-any.whl"


def _project(repo: Path) -> dict:
    return tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _package_data(repo: Path) -> dict[str, list[str]]:
    config = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    return config.get("tool", {}).get("setuptools", {}).get("package-data", {})


def _stage(repo: Path, stage: Path) -> None:
    """Copies the wheel's files into ``stage`` and writes its ``pyproject.toml``."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(repo / "convnb", stage / "convnb", ignore=skip)
    shutil.copytree(repo / "autograder" / "checks", stage / "autograder" / "checks", ignore=skip)
    for name in STUDENT_MODULES:
        shutil.copy2(repo / "autograder" / name, stage / "autograder" / name)
    project = _project(repo)
    dependencies = [*project["dependencies"], *NOTEBOOK_DEPENDENCIES]
    # A TOML string or array of plain strings is written as JSON writes it.
    data = "".join(f"{json.dumps(package)} = {json.dumps(patterns)}\n"
                   for package, patterns in _package_data(repo).items())
    (stage / "pyproject.toml").write_text(f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = {json.dumps(project["name"])}
version = {json.dumps(project["version"])}
description = {json.dumps(DESCRIPTION)}
requires-python = {json.dumps(project["requires-python"])}
license = {{ text = {json.dumps(project["license"]["text"])} }}
dependencies = {json.dumps(dependencies)}

[tool.setuptools.packages.find]
include = ["convnb*", "autograder*"]

[tool.setuptools.package-data]
{data}""", encoding="utf-8")


def build(out: Path, repo: Path = REPO) -> Path:
    """Builds the students' wheel of ``repo`` into the folder ``out`` (created if needed,
    an older wheel of the same name replaced); returns the wheel's path. The build runs in a
    temporary copy, so the repository gets no ``build/`` or ``egg-info``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student-wheel-") as tmp:
        stage, dist = Path(tmp, "src"), Path(tmp, "dist")
        (stage / "autograder").mkdir(parents=True)
        _stage(repo, stage)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--no-index", "--quiet", "--wheel-dir", str(dist), str(stage)],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"student_wheel.build: pip wheel failed (exit "
                               f"{result.returncode}):\n{result.stdout}{result.stderr}")
        built = dist / wheel_name(repo)
        if not built.is_file():
            raise RuntimeError(f"student_wheel.build: expected {built.name}, pip wrote "
                               f"{sorted(p.name for p in dist.iterdir())}")
        return Path(shutil.copy2(built, out / built.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.student_wheel",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write the wheel into")
    print(build(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
