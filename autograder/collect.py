"""``collect LAB ARCHIVE``: an LMS download of submissions into nbgrader's ``submitted/`` folders.

Built on nbgrader's ``zip_collect`` (``ZipCollectApp``): the archive (a zip, or a folder that
may hold zips) is staged in ``downloaded/<lab>/archive/``; nbgrader's extractor unpacks it into
``downloaded/<lab>/extracted/``, asks a collector plugin who submitted each file, copies the
files to ``submitted/<student>/<lab>/`` and writes ``timestamp.txt``. What is ours:

* the collector (``_PlanCollector``): it reads the names LMSs give files (``lms.py``), matches
  them to the roster, and keeps one notebook per student (the one named like the lab, then the
  newest), reporting every file it did not keep;
* the extractor keeps each file's time from the archive (nbgrader's sets the extraction time),
  which becomes the submission's timestamp (nbgrader's late penalties compare it with the due
  date; an LMS that stamps its zips with the download time makes it the download time). A zip
  entry's time has no zone: it is read in ``c.ArchiveTimes.timezone`` (default: this machine's);
* the students the LMS marked late (Canvas's ``_LATE_``) are kept in ``reports/<lab>_lms_late.json``
  for the report, which lists them when the lab has no due date to judge by.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.apps import ZipCollectApp
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import capture_log
from traitlets import Unicode
from traitlets.config import Configurable

from .course import Course, UsageError
from .grading import failure_reason, quiet_logging
from .lms import Roster, parse


@dataclass
class CollectResult:
    """What ``collect`` did with each file of the archive."""

    lab: str
    archive: Path
    collected: dict[str, str] = field(default_factory=dict)
    """student id -> the file filed as their submission (path inside the archive)."""
    late: list[str] = field(default_factory=list)
    """Students whose file the LMS marked late (Canvas's ``_LATE_``)."""
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    """(file, why) for notebooks that could not be given to a roster student."""
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    """(student, file kept, file not kept)."""
    ignored: list[str] = field(default_factory=list)
    """Files that are not notebooks."""
    missing: list[str] = field(default_factory=list)
    """Roster students with no submission of the lab (from this archive or an earlier one)."""
    roster_size: int = 0

    def summary(self) -> str:
        lines = [f"collected {len(self.collected)} submission(s) of {self.lab} from "
                 f"{self.archive}"]
        if not self.roster_size:
            lines.append("  no roster (labs/roster.csv, or students in the gradebook): student "
                         "ids were taken from the file names")
        sections = [
            ("late (marked by the LMS)", self.late),
            ("NOT collected, no roster student matched", [f"{f}: {w}" for f, w in self.unmatched]),
            ("duplicates, the kept file first", [f"{s}: kept {k}, not {d}"
                                                 for s, k, d in self.duplicates]),
            ("ignored, not notebooks", self.ignored),
            ("roster students without a submission", self.missing),
        ]
        for title, items in sections:
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines += [f"    {item}" for item in items]
        return "\n".join(lines)


class ArchiveTimes(Configurable):
    """The zone of the times in an LMS's zip (a zip stores local times without a zone)."""

    timezone = Unicode("", help="The IANA time zone of the file times in the LMS's zip "
                                "downloads, e.g. 'Europe/Berlin' or 'UTC' (empty: this "
                                "machine's time zone).").tag(config=True)

    def zone(self) -> datetime.tzinfo | None:
        """The zone, or None for this machine's."""
        if not self.timezone:
            return None
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise UsageError("collect", f"c.ArchiveTimes.timezone = '{self.timezone}' is not a "
                                        "time zone; expected an IANA name such as "
                                        "'Europe/Berlin' or 'UTC'") from None


class _KeepTimes(ExtractorPlugin):
    """nbgrader's extractor, then each extracted file gets the time it has in the archive."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        super().extract(archive_path, extracted_path)
        zone = ArchiveTimes(parent=self).zone()
        for root, _, files in os.walk(archive_path):
            target = Path(extracted_path, os.path.relpath(root, archive_path))
            for name in files:
                source = Path(root, name)
                if source.suffix in self.zip_ext and zipfile.is_zipfile(source):
                    _zip_times(source, target / source.stem, zone)
                elif (target / name).exists():
                    shutil.copystat(source, target / name)


def _zip_times(archive: Path, folder: Path, zone: datetime.tzinfo | None) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = folder / info.filename
            if not info.is_dir() and path.is_file():
                stamp = datetime.datetime(*info.date_time, tzinfo=zone).timestamp()
                os.utime(path, (stamp, stamp))


class _PlanCollector(FileNameCollectorPlugin):
    """nbgrader's collector protocol: the student and notebook of each file, or None to skip.

    The decisions are made for all files at once by ``_CourseZipCollect._collect_files``; this
    only answers from them.
    """

    valid_ext = [".ipynb"]

    def collect(self, submitted_file: str) -> dict | None:
        return self.parent.plan.get(submitted_file)


class _CourseZipCollect(ZipCollectApp):
    """``nbgrader zip_collect`` that first matches every extracted file to the roster."""

    course: Course
    roster: Roster
    result: CollectResult
    notebooks: list[str]
    plan: dict[str, dict]

    def _collect_files(self, src_files: list[str]) -> dict:
        extracted = Path(self._format_collect_path(self.extracted_directory))
        self.plan = _plan(self, [Path(f) for f in src_files], extracted)
        return super()._collect_files(src_files)


def _plan(app: _CourseZipCollect, files: list[Path], extracted: Path) -> dict[str, dict]:
    """Chooses each student's file; records the rest in ``app.result``."""
    result, chosen = app.result, {}
    for path in files:
        # The first folder is the archive's own name (the zip's stem, or the folder's).
        shown = "/".join(path.relative_to(extracted).parts[1:])
        if path.name.startswith(".") or "__MACOSX" in path.parts or ".ipynb_checkpoints" in \
                path.parts:
            continue
        if path.suffix != ".ipynb":
            result.ignored.append(shown)
            continue
        found = parse(shown, app.notebooks)
        if found.notebook is None:
            result.unmatched.append((shown, f"not one of the lab's notebooks "
                                            f"({', '.join(app.notebooks)})"))
            continue
        student, why = app.roster.match(found)
        if student is None:
            result.unmatched.append((shown, why))
            continue
        rank = (found.named_like_lab, path.stat().st_mtime)
        key = (student, found.notebook)
        if key in chosen:
            old = chosen[key]
            keep, drop = (found, old[1]) if rank > old[0] else (old[1], found)
            result.duplicates.append((student, keep.shown, drop.shown))
            if keep is old[1]:
                continue
        chosen[key] = (rank, found, path)
    plan = {}
    for (student, notebook), (rank, found, path) in sorted(chosen.items()):
        stamp = datetime.datetime.fromtimestamp(rank[1]).astimezone()
        plan[str(path)] = {"student_id": student, "file_id": f"{notebook}.ipynb",
                           "timestamp": stamp.isoformat(" ")}
        result.collected[student] = found.shown
        if found.late and student not in result.late:
            result.late.append(student)
    return plan


def _stage(course: Course, lab: str, archive: Path) -> Path:
    """Copies the archive into ``downloaded/<lab>/archive/`` (emptied first)."""
    if not archive.exists():
        raise UsageError("collect", f"ARCHIVE {archive} does not exist (expected the .zip or "
                                    "the folder of submissions downloaded from the LMS)")
    if archive.is_file() and not zipfile.is_zipfile(archive):
        raise UsageError("collect", f"ARCHIVE {archive} is a file but not a zip archive")
    staged = course.root / "downloaded" / lab / "archive"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    if archive.is_dir():
        shutil.copytree(archive, staged / archive.resolve().name)
    else:
        shutil.copy2(archive, staged / archive.name)
    return staged


def _keep_lms_late(path: Path, result: CollectResult) -> None:
    """Student -> the file the LMS marked late, for the students collected now (a student
    collected again keeps the mark of their new file only)."""
    marked = json.loads(path.read_text()) if path.exists() else {}
    marked = {s: f for s, f in marked.items() if s not in result.collected}
    marked.update({s: result.collected[s] for s in result.late})
    path.write_text(json.dumps(marked, indent=1, sort_keys=True))


def collect(course: Course, lab: str, archive: Path) -> CollectResult:
    """Files the submissions in ``archive`` under ``submitted/<student>/<lab>/``.

    A student collected again is replaced (their earlier submission folder is emptied).
    Writes the summary to ``reports/<lab>_collect.txt`` too.
    """
    notebooks = course.notebooks(lab, "collect")
    ArchiveTimes(config=course.config).zone()  # a wrong zone stops here, not inside nbgrader
    _stage(course, lab, archive)
    course.import_roster()
    roster = Roster(course.roster())
    quiet_logging()
    app = _CourseZipCollect(config=course.config)
    app.coursedir = course.coursedir()
    app.coursedir.assignment_id = lab
    app.force = True
    app.extractor_plugin, app.collector_plugin = _KeepTimes, _PlanCollector
    app.course, app.roster, app.notebooks, app.plan = course, roster, notebooks, {}
    app.result = CollectResult(lab, archive, roster_size=len(roster))
    for handler in list(app.log.handlers):  # the log goes to reports/, not the terminal
        app.log.removeHandler(handler)
    outcome = capture_log(app)  # also catches the SystemExit of ZipCollectApp.fail
    folder = course.root / "reports"
    folder.mkdir(exist_ok=True)
    (folder / f"{lab}_collect.log").write_text(outcome.get("log", ""), encoding="utf-8")
    if not outcome["success"]:
        raise UsageError("collect", f"nbgrader zip_collect failed: {failure_reason(outcome)} "
                                    f"(its log: {folder / f'{lab}_collect.log'})")
    result = app.result
    _keep_lms_late(folder / f"{lab}_lms_late.json", result)
    if len(roster):
        result.missing = sorted({s.id for s in roster.students} - set(course.submissions(lab)))
    (folder / f"{lab}_collect.txt").write_text(result.summary() + "\n", encoding="utf-8")
    return result
