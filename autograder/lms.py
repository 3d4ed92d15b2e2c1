"""Who submitted a file, read from the name an LMS gave it, and matched to the course roster.

Layouts recognised (``path`` is the file's path inside the downloaded archive)::

    Canvas   smithjane_12345_67890_lab01_correlation.ipynb          (lastfirst_user_file_name)
             smithjane_LATE_12345_67890_lab01_correlation-1.ipynb
    Moodle   Jane Smith_123456_assignsubmission_file_/lab01_correlation.ipynb
             Jane Smith_123456_assignsubmission_file_lab01_correlation.ipynb
    folder   <student id>/lab01_correlation.ipynb, <student id>/<lab>/<lab>.ipynb
    file     <student id>.ipynb, <student id>_lab01_correlation.ipynb

A roster student matches by id, by ``lms_name`` or name (first and last, either order, compared
without case, accents, spaces or punctuation), or by ``lms_user_id`` (the LMS's number; tried
first for Canvas, whose number is the user id, last for Moodle, whose number is per assignment).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

from .course import Student

CANVAS = re.compile(r"^(?P<name>[a-z]+?)(?P<late>_late)?_(?P<number>\d+)_\d+_(?P<file>.+)$",
                    re.IGNORECASE)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<number>\d+)_assignsubmission_[a-z]+_(?P<file>.*)$",
                    re.IGNORECASE)


def normalise(text: str) -> str:
    """``"José  O'Brien-Smith"`` -> ``"joseobriensmith"``: what names are compared on."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def safe_id(text: str) -> str:
    """A student id usable as a folder name, from a name found in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("_.") or "unknown"


@dataclass(frozen=True)
class Found:
    """What a file's path says about its submitter."""

    shown: str
    """The path inside the archive, for reports."""
    layout: str
    """"canvas", "moodle", "folder" or "file"."""
    name: str
    """The submitter as the LMS wrote them: an id, ``lastfirst`` or ``First Last``."""
    number: str = ""
    """The LMS's number for the submitter (Canvas user id, Moodle participant id)."""
    late: bool = False
    notebook: str | None = None
    """The lab notebook this file is a submission of (None: not one of them)."""
    named_like_lab: bool = False


def _notebook(filename: str, notebooks: list[str]) -> tuple[str | None, bool]:
    """Which of the lab's notebooks a file is, and whether its name says so."""
    stem = re.sub(r"(-\d+|\s*\(\d+\))$", "", PurePosixPath(filename).stem)  # LMS copy suffixes
    for name in sorted(notebooks, key=len, reverse=True):
        if normalise(name) in normalise(stem):
            return name, True
    return (notebooks[0], False) if len(notebooks) == 1 else (None, False)


def parse(shown: str, notebooks: list[str]) -> Found:
    """Reads the submitter from ``shown``, a notebook's path inside the archive."""
    parts = PurePosixPath(shown).parts
    filename = parts[-1]
    notebook, named = _notebook(filename, notebooks)
    m = CANVAS.match(filename)
    if m:
        notebook, named = _notebook(m["file"], notebooks)
        return Found(shown, "canvas", m["name"], m["number"], bool(m["late"]), notebook, named)
    for part in reversed(parts):
        m = MOODLE.match(part)
        if m:
            if m["file"] and part == filename:
                notebook, named = _notebook(m["file"], notebooks)
            return Found(shown, "moodle", m["name"], m["number"], False, notebook, named)
    folders = [p for p in parts[:-1] if normalise(p) not in {normalise(n) for n in notebooks}]
    if folders:
        return Found(shown, "folder", folders[-1], notebook=notebook, named_like_lab=named)
    stem = PurePosixPath(filename).stem
    if named:  # "<student>_<lab>.ipynb", "<lab> (2).ipynb": the rest of the name, if any
        lab = re.compile(r"[\W_]*".join(map(re.escape, normalise(notebook))), re.IGNORECASE)
        stem = re.sub(r"(-\d+|\s*\(\d+\))$", "", lab.sub("", stem, count=1)).strip(" _-.")
    return Found(shown, "file", stem, notebook=notebook, named_like_lab=named)


class Roster:
    """The course's students, indexed by every key a file name may carry."""

    def __init__(self, students: list[Student]) -> None:
        self.students = students
        self._ids = {s.id: s.id for s in students}
        self._numbers: dict[str, set[str]] = defaultdict(set)
        self._names: dict[str, set[str]] = defaultdict(set)
        for s in students:
            if s.lms_user_id:
                self._numbers[s.lms_user_id].add(s.id)
            for name in (s.lms_name, s.first_name + s.last_name, s.last_name + s.first_name,
                         s.id):
                if normalise(name):
                    self._names[normalise(name)].add(s.id)

    def __len__(self) -> int:
        return len(self.students)

    def match(self, found: Found) -> tuple[str | None, str]:
        """The student id for ``found`` and, when there is none, why."""
        if not found.name and not found.number:
            return None, "the file name names no student"
        if not self.students:
            name = found.name if found.layout in ("folder", "file") else normalise(found.name)
            return safe_id(name), ""
        if found.name in self._ids:
            return found.name, ""
        by_number = self._numbers.get(found.number, set())
        by_name = self._names.get(normalise(found.name), set())
        # Canvas's number is the user id; Moodle's is a per-assignment participant number.
        order = (by_number, by_name) if found.layout == "canvas" else (by_name, by_number)
        for candidates in order:
            if len(candidates) == 1:
                return next(iter(candidates)), ""
            if len(candidates) > 1:
                return None, f"'{found.name}' fits several roster students: " \
                             f"{', '.join(sorted(candidates))}"
        number = f" (LMS number {found.number})" if found.number else ""
        return None, f"no roster student is '{found.name}'{number}"
