"""The nbgrader course the command line works on: its configuration, folders, roster and kernel.

A course is a folder with an ``nbgrader_config.py`` (``labs/`` in this repository). Everything
here asks nbgrader where things are (``CourseDirectory.format_path``), so a course that
configures other folder names still works.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
ROSTER_FILE = "roster.csv"
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")
"""nbgrader's own student CSV (``nbgrader db student import``); ``lms_name`` may follow."""


class UsageError(Exception):
    """A command cannot run as asked; the message says what was expected and what was found."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command


@dataclass(frozen=True)
class Student:
    """One row of the roster (or one student already in the gradebook)."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    lms_name: str = ""


@dataclass
class Course:
    """An nbgrader course folder, its configuration loaded once."""

    root: Path
    config: Config

    @classmethod
    def open(cls, root: Path | str, command: str) -> Course:
        """Loads ``root/nbgrader_config.py``; ``command`` names the caller in errors."""
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise UsageError(command, f"no {CONFIG_FILE} in {root} (expected an nbgrader course "
                                      "folder; run from the repository root or pass --course)")
        _this_environment_first_on_path()
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
        config.CourseDirectory.root = str(root)
        return cls(root, config)

    def coursedir(self) -> CourseDirectory:
        """A fresh nbgrader ``CourseDirectory`` (nbgrader's converters change its fields)."""
        return CourseDirectory(config=self.config)

    def path(self, step: str, student: str, lab: str) -> Path:
        """The folder of ``lab`` for ``student`` at nbgrader ``step`` ("source", "release",
        "submitted", "autograded", "feedback"; student "." for source and release)."""
        coursedir = self.coursedir()
        folder = getattr(coursedir, f"{step}_directory")
        return Path(coursedir.format_path(folder, student, lab))

    @property
    def db_url(self) -> str:
        return self.coursedir().db_url

    def gradebook(self) -> Gradebook:
        coursedir = self.coursedir()
        return Gradebook(coursedir.db_url, coursedir.course_id)

    def labs(self) -> list[str]:
        source = self.path("source", ".", "*").parent
        return sorted(p.name for p in source.glob("*") if p.is_dir()) if source.is_dir() else []

    def notebooks(self, lab: str, command: str) -> list[str]:
        """The notebook names (without ``.ipynb``) of ``lab``'s source; an unknown lab raises."""
        source = self.path("source", ".", lab)
        names = sorted(p.stem for p in source.glob("*.ipynb")) if lab in self.labs() else []
        if not names:
            known = ", ".join(self.labs()) or "none"
            what = "has no notebook" if source.is_dir() else "does not exist"
            raise UsageError(command, f"unknown lab '{lab}': {source} {what} "
                                      f"(labs in this course: {known})")
        return names

    def submissions(self, lab: str) -> list[str]:
        """Ids of the students with a folder ``submitted/<student>/<lab>/``."""
        pattern = self.path("submitted", "*", lab)
        base = pattern.parents[1]
        return sorted(p.parent.name for p in base.glob(f"*/{pattern.name}") if p.is_dir())

    def roster_csv(self) -> list[Student]:
        """The students of ``roster.csv``; none when the course has no roster."""
        path = self.root / ROSTER_FILE
        if not path.is_file():
            return []
        students = []
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                if not row.get("id"):
                    raise UsageError("roster", f"{path}, line {n}: no id (expected the columns "
                                               f"{', '.join(ROSTER_COLUMNS)}, lms_name)")
                fields = {k: row.get(k, "") for k in Student.__dataclass_fields__}
                students.append(Student(**fields))
        return students

    def roster(self) -> list[Student]:
        """The students of ``roster.csv`` and of the gradebook (the roster's row wins)."""
        students = {s.id: s for s in self.roster_csv()}
        if Path(self.db_url.removeprefix("sqlite:///")).is_file():
            with self.gradebook() as gb:
                for s in gb.students:
                    students.setdefault(s.id, Student(s.id, s.first_name or "", s.last_name or "",
                                                      s.email or "", s.lms_user_id or ""))
        return list(students.values())

    def import_roster(self) -> int:
        """Adds or updates the students of ``roster.csv`` in the gradebook; returns how many."""
        rows = self.roster_csv()
        if rows:
            with self.gradebook() as gb:
                for s in rows:
                    gb.update_or_create_student(
                        s.id, **{k: getattr(s, k) or None for k in ROSTER_COLUMNS[1:]})
        return len(rows)


def _this_environment_first_on_path() -> None:
    """nbgrader runs the ``alembic`` executable when it creates a gradebook: find this
    interpreter's, even when its environment is not activated."""
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir, path]) if path else bindir


KERNEL_NAME = "python3"


@contextmanager
def course_kernel() -> Iterator[Path]:
    """Within the block, the Jupyter kernel ``python3`` is this interpreter.

    Writes a kernelspec for ``sys.executable`` into a temporary data folder placed first on
    ``JUPYTER_PATH`` (inherited by worker processes), so that a machine whose own ``python3``
    kernel is another environment still grades with the course's.
    """
    with tempfile.TemporaryDirectory(prefix="autograder-kernel-") as tmp:
        spec = Path(tmp, "kernels", KERNEL_NAME)
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            # The kernel's own log goes to the instructor's terminal, not to the notebook:
            # keep it to errors (no debugger or plain-TCP warnings for each of 300 kernels).
            "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                     "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"],
            "display_name": f"Python 3 ({sys.executable})",
            "language": "python",
            "metadata": {"debugger": False},
        }))
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([tmp, *([old] if old else [])])
        try:
            yield spec
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old
