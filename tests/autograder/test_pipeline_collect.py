"""``python -m autograder collect``: LMS downloads into nbgrader's submitted/ folders.

No kernels: each test builds a course with the sample lab and a roster, writes an archive the
way Canvas, Moodle or a plain folder lays it out, and reads what nbgrader's zip_collect filed.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from autograder.__main__ import main
from autograder.course import Course
from autograder.lms import Roster, normalise, parse
from autograder.sample_lab import LAB, sample_notebook, write_sample_lab

REPO = Path(__file__).resolve().parents[2]
ROSTER = """\
id,first_name,last_name,email,lms_user_id,lms_name
s001,Jane,Smith,jane@example.org,12345,
s002,José,O'Brien,jose@example.org,22222,
s003,Ann,Lee,,33333,
s004,Bob,Stone,,44444,Robert Stone
"""


def notebook_bytes(marker: str) -> bytes:
    nb = sample_notebook()
    nb.cells[0].source = marker
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory) -> Path:
    """A new gradebook, made once: nbgrader runs alembic for each new one (seconds)."""
    course = tmp_path_factory.mktemp("gradebook")
    shutil.copy(REPO / "labs" / "nbgrader_config.py", course)
    Course.open(course, "test").gradebook().close()
    return course / "gradebook.db"


@pytest.fixture
def labs(tmp_path, empty_gradebook) -> Path:
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "nbgrader_config.py").write_text((REPO / "labs" / "nbgrader_config.py").read_text())
    (labs / "roster.csv").write_text(ROSTER)
    shutil.copy(empty_gradebook, labs / "gradebook.db")
    write_sample_lab(labs)
    return labs


def collect(labs: Path, archive: Path, capsys) -> str:
    assert main(["--course", str(labs), "collect", LAB, str(archive)]) == 0
    return capsys.readouterr().out


def submitted(labs: Path) -> dict[str, str]:
    """student -> the first cell of the notebook filed for them."""
    return {p.parents[1].name: nbformat.read(p, as_version=4).cells[0].source
            for p in (labs / "submitted").glob(f"*/{LAB}/{LAB}.ipynb")}


def utc(local: datetime) -> str:
    """How nbgrader writes a local time in timestamp.txt."""
    return local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def write_zip(path: Path, entries: dict[str, tuple[bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in entries.items():
            zf.writestr(zipfile.ZipInfo(name, when), data)
    return path


def notebooks_zip(path: Path, when: tuple[int, ...], markers: dict[str, str]) -> Path:
    """A zip of notebooks named as the LMS names them, each holding its marker, all at ``when``."""
    return write_zip(path, {name: (notebook_bytes(marker), when)
                            for name, marker in markers.items()})


def test_canvas_zip_is_matched_by_lms_number_and_name(labs, tmp_path, capsys):
    jan2, jan3 = (2026, 1, 2, 10, 0, 0), (2026, 1, 3, 9, 30, 0)
    archive = write_zip(tmp_path / "submissions.zip", {
        f"smithjane_12345_901_{LAB}.ipynb": (notebook_bytes("jane first"), jan2),
        f"smithjane_12345_902_{LAB}-1.ipynb": (notebook_bytes("jane again"), jan3),
        f"obrienjose_LATE_22222_903_{LAB}.ipynb": (notebook_bytes("jose"), jan2),
        f"leeann_99999_904_{LAB}.ipynb": (notebook_bytes("ann"), jan2),  # number unknown
        f"doejohn_55555_905_{LAB}.ipynb": (notebook_bytes("john"), jan2),
        "smithjane_12345_906_notes.pdf": (b"%PDF", jan2),
    })
    out = collect(labs, archive, capsys)
    assert submitted(labs) == {"s001": "jane again", "s002": "jose", "s003": "ann"}
    assert "collected 3 submission(s)" in out
    assert f"s001: kept smithjane_12345_902_{LAB}-1.ipynb, not smithjane_12345_901" in out
    assert f"doejohn_55555_905_{LAB}.ipynb: no roster student is 'doejohn'" in out
    assert "late (marked by the LMS) (1):\n    s002" in out
    assert "notes.pdf" in out.split("ignored, not notebooks")[1]
    assert "roster students without a submission (1):\n    s004" in out
    stamp = (labs / "submitted" / "s001" / LAB / "timestamp.txt").read_text()
    assert stamp.startswith(utc(datetime(*jan3)))
    with Course.open(labs, "test").gradebook() as gb:
        assert gb.find_student("s002").email == "jose@example.org"


def test_moodle_zip_in_folders_and_flat(labs, tmp_path, capsys):
    archive = notebooks_zip(tmp_path / "moodle.zip", (2026, 2, 1, 8, 0, 0), {
        f"Jane Smith_700001_assignsubmission_file_/{LAB}.ipynb": "jane",
        f"Robert Stone_700002_assignsubmission_file_{LAB}.ipynb": "bob",
        f"Mystery Person_700003_assignsubmission_file_/{LAB}.ipynb": "?",
    })
    out = collect(labs, archive, capsys)
    assert submitted(labs) == {"s001": "jane", "s004": "bob"}
    assert "no roster student is 'Mystery Person'" in out


def test_plain_folder_of_student_ids(labs, tmp_path, capsys):
    folder = tmp_path / "download"
    for path, text in {f"s001/{LAB}.ipynb": "one", f"s002/{LAB}/{LAB}.ipynb": "two",
                       "s003.ipynb": "three", f"s004_{LAB}.ipynb": "four",
                       f"{LAB}.ipynb": "whose?"}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(notebook_bytes(text))
    old = datetime(2026, 3, 1, 12, 0).timestamp()
    os.utime(folder / "s003.ipynb", (old, old))
    out = collect(labs, folder, capsys)
    assert submitted(labs) == {"s001": "one", "s002": "two", "s003": "three", "s004": "four"}
    assert f"{LAB}.ipynb: the file name names no student" in out
    assert (labs / "submitted" / "s003" / LAB / "timestamp.txt").read_text().startswith(
        utc(datetime.fromtimestamp(old)))


def test_without_a_roster_ids_come_from_the_names(labs, tmp_path, capsys):
    (labs / "roster.csv").unlink()
    archive = notebooks_zip(tmp_path / "canvas.zip", (2026, 1, 2, 10, 0, 0), {
        f"smithjane_12345_901_{LAB}.ipynb": "jane",
        f"Ann Lee_1_assignsubmission_file_/{LAB}.ipynb": "ann",
    })
    out = collect(labs, archive, capsys)
    assert submitted(labs) == {"smithjane": "jane", "annlee": "ann"}
    assert "no roster" in out


def test_collect_says_what_archive_it_expected(labs, tmp_path, capsys):
    assert main(["--course", str(labs), "collect", LAB, str(tmp_path / "none.zip")]) == 2
    assert "collect: ARCHIVE" in capsys.readouterr().err
    (tmp_path / "notes.zip").write_text("not a zip")
    assert main(["--course", str(labs), "collect", LAB, str(tmp_path / "notes.zip")]) == 2
    assert "not a zip archive" in capsys.readouterr().err
    assert main(["--course", str(labs), "collect", "lab99", str(tmp_path)]) == 2
    assert "unknown lab 'lab99'" in capsys.readouterr().err


def test_names_match_without_case_accents_or_punctuation():
    roster = Roster([])
    assert normalise("José  O'Brien-Smith") == "joseobriensmith"
    found = parse(f"obrienjose_22222_1_{LAB}.ipynb", [LAB])
    assert (found.layout, found.name, found.number, found.notebook) == (
        "canvas", "obrienjose", "22222", LAB)
    assert roster.match(found) == ("obrienjose", "")
    two = parse("Lab Two (1).ipynb", ["lab_one", "lab_two"])
    assert (two.name, two.notebook, two.named_like_lab) == ("", "lab_two", True)
    assert parse("s007_Lab_Two.ipynb", ["lab_one", "lab_two"]).name == "s007"
    assert parse("s007.ipynb", ["lab_one", "lab_two"]).notebook is None
