"""``grade``'s report on a batch with known mistakes: the hints per question and per student,
the flagged items, the histogram's ticks and the HTML version.

lab01 is released and graded through ``python -m autograder`` with the wrong students of the
lab's cases (``tests/lab_cases/lab01.py``: each student's code and the hint each hidden test must
give), one of them twice, the solution, and a student who patches the checks. The expected
counts are counted here from those planted mistakes.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from bs4 import BeautifulSoup
from lab_cases.lab01 import STUDENTS, TAMPER, TAMPERED
from nbgrader_course import lab_course, solved, submit

from autograder.__main__ import main
from autograder.checks import HINTS
from autograder.report import histogram

LAB = "lab01_correlation"
TWICE = "noflip"
"""Submitted by two students: its hints count 2."""
DOUBLED = ("def correlate1d(x, w):\n    K = len(w)\n"
           "    return np.array([2 * np.sum(x[i:i + K] * w) for i in range(len(x) - K + 1)])")
"""A mistake no hint describes: every value twice too large."""


def planted() -> dict[str, dict[str, str]]:
    """student -> {hidden test: the hint it must give}, for every student of the batch."""
    hints = {student: dict(expected) for student, (_, expected) in STUDENTS.items()}
    return hints | {f"{TWICE}2": hints[TWICE], "solution": {}, "tamper": {}, "doubled": {}}


@pytest.fixture(scope="module")
def labs(tmp_path_factory) -> Path:
    labs = lab_course(tmp_path_factory.mktemp("report"), LAB)
    edits = {student: code for student, (code, _) in STUDENTS.items()}
    edits |= {f"{TWICE}2": edits[TWICE], "solution": {}, "doubled": {"correlate1d": DOUBLED},
              "tamper": {"correlate1d": STUDENTS["flipcorr"][0]["correlate1d"] + "\n" + TAMPER}}
    for student, change in edits.items():
        submit(labs, LAB, student, solved(labs, LAB, change))
    assert main(["--course", str(labs), "grade", LAB, "--jobs", "2", "--no-progress"]) == 0
    return labs


def section(text: str, title: str) -> str:
    """The Markdown from ``title``'s heading to the next heading of the same level."""
    level = title.split(" ")[0]
    return text.split(f"\n{title}\n")[1].split(f"\n{level} ")[0]


def test_the_grader_diagnoses_each_planted_hint(labs):
    status = json.loads((labs / "reports" / f"{LAB}_status.json").read_text())
    assert {s: {k.split("/")[1]: v for k, v in r["hints"].items()} for s, r in status.items()} \
        == planted()


def test_hint_counts_per_question_equal_the_planted_mistakes(labs):
    report = (labs / "reports" / f"{LAB}.md").read_text()
    mistakes = section(report, "## Common mistakes")
    expected: dict[str, Counter] = {}
    for hints in planted().values():
        for question, key in hints.items():
            expected.setdefault(question, Counter())[key] += 1
    assert expected["hidden_convolve1d"]["not_flipped"] == 2  # noflip, twice
    found = {}
    for question in re.findall(r"^### (\S+)$", mistakes, re.MULTILINE):
        rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", section(mistakes, f"### {question}"),
                          re.MULTILINE)
        if rows:
            found[question] = Counter({key: int(n) for n, key, _ in rows})
            for _, key, sentence in rows:  # the hint's own words, its first sentence
                assert HINTS[key].startswith(sentence.rstrip(".…"))
    assert found == expected
    # The only points lost without a hint: the doubled values.
    assert re.findall(r"^\| (\d+) \| no hint \| (.+) \|$", mistakes, re.MULTILINE) == [
        ("1", "lost points; no known mistake matches: doubled")]
    assert "| 1 | no hint |" in section(mistakes, "### hidden_correlate1d")


def test_flagged_items_are_listed_under_their_question(labs):
    mistakes = section((labs / "reports" / f"{LAB}.md").read_text(), "## Common mistakes")
    for question in TAMPERED:
        assert "Flagged for review: tamper" in section(mistakes, f"### {question}")
    flagged = [q for q in re.findall(r"^### (\S+)$", mistakes, re.MULTILINE)
               if "Flagged for review" in section(mistakes, f"### {q}")]
    assert sorted(flagged) == sorted(TAMPERED)


def test_the_per_student_table_lists_the_hints_each_received(labs):
    table = section((labs / "reports" / f"{LAB}.md").read_text(), "## Hints per student")
    rows = dict(re.findall(r"^\| (\w+) \| (.+) \|$", table, re.MULTILINE))
    rows.pop("student")  # the header
    assert {s: dict(re.findall(r"(\w+): `(\w+)`", cell)) for s, cell in rows.items()} == \
        {s: h for s, h in planted().items() if h}


def test_the_html_report_is_self_contained_and_says_the_same(labs):
    page = BeautifulSoup((labs / "reports" / f"{LAB}.html").read_text(), "html.parser")
    assert page.title.string == f"{LAB}: grading report"
    links = [t.get("src") or t.get("href") for t in page.find_all(["img", "a", "link", "script"])]
    assert links and all(not re.match(r"[a-z]+://|//", link or "") for link in links)
    image = page.find("img")
    prefix = "data:image/png;base64,"
    assert image["src"].startswith(prefix)
    png = base64.b64decode(image["src"][len(prefix):])
    assert png == (labs / "reports" / f"{LAB}_histogram.png").read_bytes()
    heading = page.find("h3", string="hidden_convolve1d")
    cells = [[td.get_text() for td in tr.find_all("td")]
             for tr in heading.find_next("table").find_all("tr")[1:]]
    assert [c[:2] for c in cells] == [["2", "not_flipped"]]
    assert page.find("h2", string="Hints per student") is not None


def test_histogram_ticks_count_whole_submissions():
    fractions = [0.05, 0.05, 0.95]  # at most 2 per bar: matplotlib alone would tick 0.25s
    plain, ax = plt.subplots()
    ax.hist([100 * f for f in fractions], bins=10, range=(0, 100))
    assert any(t != int(t) for t in ax.get_yticks())  # what the locator is there to avoid
    plt.close(plain)
    fig = histogram("lab", fractions, 5)
    ticks = fig.axes[0].get_yticks()
    plt.close(fig)
    assert len(ticks) >= 2 and all(t == int(t) for t in ticks)
