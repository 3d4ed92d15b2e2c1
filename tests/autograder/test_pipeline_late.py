"""Late work through ``python -m autograder``: a due date, an LMS zip, nbgrader's late penalty.

The sample lab is released with a due date; a Canvas-style zip (one student on time, one marked
``_LATE_``) and a Moodle-style entry (late, unmarked: Moodle never marks) are collected and
graded by the real pipeline. The expected times and penalties are computed here from the zip
entry times the test writes and the penalty formula of ``labs/nbgrader_config.py``
(10 % of the score per day or part of a day late), then read back from nbgrader's gradebook,
the CSV and the report.
"""

from __future__ import annotations

import csv
import math
import statistics
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest
from nbgrader_course import sample_course
from traitlets import TraitError

from autograder.__main__ import main
from autograder.course import Course, UsageError
from autograder.late import PenaltyPerDay, late_by, parse_due
from autograder.sample_lab import LAB, SOLUTIONS, answer

BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 3, 1, 23, 59, tzinfo=BERLIN)
ROSTER = """\
id,first_name,last_name,email,lms_user_id,lms_name
s001,Jane,Smith,,12345,
s002,José,O'Brien,,22222,
s003,Ann,Lee,,33333,
"""
RIGHT = {"add": f"def add(a, b):\n    {SOLUTIONS['add']}",
         "square": f"def square(x):\n    {SOLUTIONS['square']}"}
HALF = {**RIGHT, "square": "def square(x):\n    return x + x"}  # add only: 2 of 5 points
# student -> (file name in the zip, Berlin time of the zip entry, answers, points before penalty)
SUBMISSIONS = {
    "s001": (f"smithjane_12345_901_{LAB}.ipynb", datetime(2026, 3, 1, 21, 0), RIGHT, 5.0),
    "s002": (f"obrienjose_LATE_22222_902_{LAB}.ipynb", datetime(2026, 3, 3, 10, 0), RIGHT, 5.0),
    "s003": (f"Ann Lee_700003_assignsubmission_file_/{LAB}.ipynb", datetime(2026, 3, 2, 0, 30),
             HALF, 2.0),
}


def utc(local: datetime) -> datetime:
    """A Berlin wall-clock time as nbgrader stores times: UTC without a zone."""
    return local.replace(tzinfo=BERLIN).astimezone(UTC).replace(tzinfo=None)


def penalty(points: float, seconds_late: float) -> float:
    """The course's policy, written out: 10 % per day or part of a day, at most all."""
    return round(points * min(1.0, 0.1 * math.ceil(seconds_late / 86400)), 2)


def write_zip(path: Path, released: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, when, answers, _ in SUBMISSIONS.values():
            data = nbformat.writes(answer(released, answers)).encode()
            zf.writestr(zipfile.ZipInfo(name, when.timetuple()[:6]), data)
    return path


def course(root: Path, due: str | None) -> Path:
    labs = sample_course(root, 'c.ArchiveTimes.timezone = "Europe/Berlin"\n', release=False)
    (labs / "roster.csv").write_text(ROSTER)
    assert main(["--course", str(labs), "release", LAB, *(["--due", due] if due else [])]) == 0
    archive = write_zip(root / "submissions.zip", labs / "release" / LAB / f"{LAB}.ipynb")
    assert main(["--course", str(labs), "collect", LAB, str(archive)]) == 0
    assert main(["--course", str(labs), "grade", LAB, "--jobs", "2", "--no-progress"]) == 0
    return labs


@pytest.fixture(scope="module")
def labs(tmp_path_factory) -> Path:
    return course(tmp_path_factory.mktemp("late"), "2026-03-01 23:59 Europe/Berlin")


def seconds_late(student: str) -> float:
    return max(0.0, (utc(SUBMISSIONS[student][1]) - utc(DUE.replace(tzinfo=None)))
               .total_seconds())


def test_the_gradebook_holds_the_due_date_the_zip_times_and_the_penalties(labs):
    with Course.open(labs, "test").gradebook() as gb:
        assert gb.find_assignment(LAB).duedate == datetime(2026, 3, 1, 22, 59)
        for student, (_, when, _, points) in SUBMISSIONS.items():
            sub = gb.find_submission(LAB, student)
            assert sub.timestamp == utc(when), student
            assert sub.total_seconds_late == seconds_late(student)
            assert sub.score == points
            assert sub.late_submission_penalty == pytest.approx(
                penalty(points, seconds_late(student))), student
    # 31 minutes late: one day's 10 %; 1 day 10 h 1 min late: two days' 20 %.
    assert seconds_late("s003") == 31 * 60 and penalty(2.0, seconds_late("s003")) == 0.2
    assert penalty(5.0, seconds_late("s002")) == 1.0 and seconds_late("s001") == 0


def test_the_csv_shows_timestamp_lateness_penalty_and_score_after_it(labs):
    with (labs / "grades" / f"{LAB}.csv").open(newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS)
    for student, (_, when, _, points) in SUBMISSIONS.items():
        row, late = rows[student], seconds_late(student)
        assert datetime.fromisoformat(row["timestamp"]) == utc(when)
        assert float(row["raw_score"]) == points
        assert float(row["late_submission_penalty"]) == pytest.approx(penalty(points, late))
        assert float(row["score"]) == pytest.approx(points - penalty(points, late))
        assert float(row["total_seconds_late"]) == late
    assert rows["s001"]["late_by"] == "" and rows["s003"]["late_by"] == "31 min"
    assert rows["s002"]["late_by"] == "1 d 10 h 1 min"


def test_the_report_lists_the_late_submissions(labs):
    report = (labs / "reports" / f"{LAB}.md").read_text()
    late = report.split("## Late submissions")[1].split("\n## ")[0]
    assert "Due 2026-03-01 22:59 UTC" in late and "2 late" in late
    assert "| s002 | 2026-03-03 09:00 UTC | 1 d 10 h 1 min | 1 | 4 of 5 |" in late
    assert "| s003 | 2026-03-01 23:30 UTC | 31 min | 0.2 | 1.8 of 5 |" in late
    assert "s001" not in late


def test_the_reports_scores_are_after_the_penalties(labs):
    """The summary's mean and range are the CSV's scores, after penalties."""
    report = (labs / "reports" / f"{LAB}.md").read_text()
    final = {s: points - penalty(points, seconds_late(s))
             for s, (_, _, _, points) in SUBMISSIONS.items()}
    assert f"| mean | {statistics.mean(final.values()):.2f} |" in report
    assert f"| min / max | {min(final.values()):g} / {max(final.values()):g} |" in report


def test_a_penalty_follows_a_score_changed_after_autograde(labs):
    """A score lowered after nbgrader's penalty step (by the rescoring, or here by a grader in
    formgrader) gets its penalty again at the next ``grade``, even one of another student."""
    course = Course.open(labs, "test")

    def set_manual(score):
        with course.gradebook() as gb:
            gb.find_grade("test_square", LAB, LAB, "s002").manual_score = score
            gb.db.commit()
        assert main(["--course", str(labs), "grade", LAB, "--student", "s001",
                     "--no-progress"]) == 0

    set_manual(1.0)
    try:
        with course.gradebook() as gb:
            sub = gb.find_submission(LAB, "s002")
            assert sub.score == 3.0
            assert sub.late_submission_penalty == pytest.approx(
                penalty(3.0, seconds_late("s002")))
            assert gb.find_submission(LAB, "s001").late_submission_penalty == 0
        with (labs / "grades" / f"{LAB}.csv").open() as f:
            row = next(r for r in csv.DictReader(f) if r["student_id"] == "s002")
        assert float(row["score"]) == pytest.approx(3.0 - penalty(3.0, seconds_late("s002")))
    finally:  # the module's other tests read this gradebook
        set_manual(None)


def test_without_a_due_date_the_lms_late_mark_is_reported_and_nothing_penalised(
        tmp_path_factory):
    labs = course(tmp_path_factory.mktemp("no_due"), None)
    report = (labs / "reports" / f"{LAB}.md").read_text()
    late = report.split("## Late submissions")[1].split("\n## ")[0]
    assert "has no due date" in late
    assert "| s002 | 2026-03-03 09:00 UTC | marked late by the LMS |" in late
    assert "s001" not in late and "s003" not in late  # Moodle marks nothing
    with Course.open(labs, "test").gradebook() as gb:
        assert gb.find_assignment(LAB).duedate is None
        assert gb.find_submission(LAB, "s002").timestamp == utc(SUBMISSIONS["s002"][1])
        assert gb.find_submission(LAB, "s002").late_submission_penalty == 0


def test_a_due_date_needs_its_zone():
    assert parse_due("2026-12-01 23:59 Europe/Berlin") == datetime(2026, 12, 1, 22, 59)
    assert parse_due("2026-07-01T23:59+02:00") == datetime(2026, 7, 1, 21, 59)
    assert parse_due("2026-12-01 23:59 UTC") == datetime(2026, 12, 1, 23, 59)
    for text, why in [("2026-12-01 23:59", "has no time zone"),
                      ("2026-12-01 23:59 Mars/Olympus", "is not a date and time with a zone"),
                      ("next friday", "is not a date and time with a zone")]:
        with pytest.raises(UsageError, match=f"release: --due '{text}' {why}.*Europe/Berlin"):
            parse_due(text)


def test_release_refuses_a_due_date_without_a_zone(tmp_path, capsys):
    labs = sample_course(tmp_path, release=False)
    assert main(["--course", str(labs), "release", LAB, "--due", "2026-12-01"]) == 2
    assert "release: --due '2026-12-01' has no time zone" in capsys.readouterr().err
    assert not (labs / "release" / LAB).exists()


def test_the_penalty_policy_and_its_settings():
    policy = PenaltyPerDay(fraction_per_day=0.25, max_fraction=0.5)
    assert policy.late_submission_penalty("s", 8.0, 1) == 2.0  # one second: a day started
    assert policy.late_submission_penalty("s", 8.0, 86400) == 2.0
    assert policy.late_submission_penalty("s", 8.0, 86401) == 4.0
    assert policy.late_submission_penalty("s", 8.0, 30 * 86400) == 4.0  # capped at half
    with pytest.raises(TraitError, match="PenaltyPerDay.fraction_per_day: expected a fraction "
                                         "from 0 to 1, got 10"):
        PenaltyPerDay(fraction_per_day=10)
    assert late_by(0) == "" and late_by(59) == "59 s" and late_by(3600) == "1 h"
    assert late_by(86400 + 61) == "1 d 1 min"
