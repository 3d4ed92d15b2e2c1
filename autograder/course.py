"""The nbgrader course the command line works on: its configuration, folders, roster and kernel.

A course is a folder with an ``nbgrader_config.py`` (``labs/`` in this repository). Everything
here asks nbgrader where things are (``CourseDirectory.format_path``), so a course that
configures other folder names still works.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .kernel import KERNEL_NAME, course_kernel
from .usage import UsageError

# The kernel and UsageError live in modules without nbgrader (the students' `check` uses them).
__all__ = ["CONFIG_FILE", "KERNEL_NAME", "ROSTER_COLUMNS", "ROSTER_FILE", "Course", "Student",
           "UsageError", "course_kernel"]

CONFIG_FILE = "nbgrader_config.py"
ROSTER_FILE = "roster.csv"
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")
"""nbgrader's own student CSV (``nbgrader db student import``); ``lms_name`` may follow."""


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
