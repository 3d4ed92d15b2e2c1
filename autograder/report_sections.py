"""The report's sections an instructor acts on: late submissions and the hints students got.

Each function returns Markdown lines (``report.py`` puts them together). Late work comes from
nbgrader's gradebook (the lab's due date, each submission's timestamp and late penalty, see
``late.py``) and from the marks ``collect`` kept (``reports/<lab>_lms_late.json``); hints from
the grading runs' status (``SubmissionResult.hints``: what the rescoring diagnosed from each
hidden test's recorded outputs).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .checks import HINTS
from .late import late_by

SHORT = 110
"""The most characters of a hint's sentence the per-question tables show."""


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines + [""]


def short_hint(key: str) -> str:
    """The hint's first sentence, cut to :data:`SHORT` characters."""
    text = HINTS.get(key, key)
    first = text.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= SHORT else first[: SHORT - 1].rstrip() + "…"


def late_section(gb: Gradebook, lab: str, students: list[str], lms_late: Path) -> list[str]:
    """``## Late submissions``: each late one (student, submitted, late by, penalty, score),
    judged by nbgrader's due date; without one, the students the LMS marked late."""
    marked = json.loads(lms_late.read_text()) if lms_late.exists() else {}
    due = gb.find_assignment(lab).duedate
    rows, on_time_marked = [], []
    for student in students:
        try:
            sub = gb.find_submission(lab, student)
        except MissingEntry:
            continue
        submitted = f"{sub.timestamp:%Y-%m-%d %H:%M} UTC" if sub.timestamp else "unknown"
        if due is None:
            if student in marked:
                rows.append([student, submitted, "marked late by the LMS", "", ""])
        elif sub.total_seconds_late > 0:
            penalty = sub.late_submission_penalty or 0.0
            rows.append([student, submitted, late_by(sub.total_seconds_late), f"{penalty:g}",
                         f"{max(0.0, sub.score - penalty):g} of {sub.max_score:g}"])
        elif student in marked:
            on_time_marked.append(student)
    out = ["## Late submissions", ""]
    if due is None:
        out += ["The lab has no due date in the gradebook, so nothing is judged late and no "
                f"penalty is given (set one: `python -m autograder release {lab} --due "
                "\"2026-12-01 23:59 Europe/Berlin\"`)." + (" The LMS marked these late:"
                                                           if rows else ""), ""]
    else:
        out += [f"Due {due:%Y-%m-%d %H:%M} UTC (nbgrader's due date; a student's extension is "
                f"added). {len(rows)} late; the penalty is the course's late policy "
                "(labs/nbgrader_config.py), in points.", ""]
    if rows:
        out += table(["student", "submitted", "late by", "penalty", "score after penalty"],
                     rows)
    if on_time_marked:
        out += ["Marked late by the LMS but on time by the due date (an extension, or the LMS's "
                f"own deadline differs): {', '.join(on_time_marked)}", ""]
    return out


def question_name(key: str, single: bool) -> str:
    """``notebook/grade_id`` as the report names a question: the grade id alone when the lab has
    one notebook."""
    return key.split("/", 1)[1] if single else key


def hint_sections(status: dict[str, dict], lost: dict[str, set[str]],
                  single: bool) -> list[str]:
    """``## Common mistakes``: per question, how many students got each hint, how many lost
    points with no hint, and who is flagged there; then ``## Hints per student``.

    ``lost`` maps every question to the students below full marks on it (in the gradebook).
    """
    given: dict[str, Counter] = {q: Counter() for q in lost}
    flagged: dict[str, list[str]] = {q: [] for q in lost}
    unexplained = {q: set(students) for q, students in lost.items()}
    per_student = {}
    for student, result in sorted(status.items()):
        hints = {question_name(k, single): v for k, v in result.get("hints", {}).items()}
        for question, key in hints.items():
            given.setdefault(question, Counter())[key] += 1
            unexplained.get(question, set()).discard(student)
        if hints:
            per_student[student] = hints
        for flag in result.get("flags", []):
            where = question_name(flag.split(":", 1)[0], single)
            if where in flagged and student not in flagged[where]:
                flagged[where].append(student)
    out = ["## Common mistakes", "",
           "Per question, the number of students whose hidden test gave each hint (the mistake "
           "their answers match, diagnosed by the grader from the recorded answers), the "
           "students who lost points there with no hint (no known mistake matches: worth a "
           "look), and the students flagged for review there.", ""]
    for question in sorted(given):
        unhinted = sorted(unexplained.get(question, set()) - set(flagged.get(question, [])))
        if not given[question] and not flagged.get(question) and not unhinted:
            continue
        out += [f"### {question}", ""]
        rows = [[n, f"`{key}`", short_hint(key)] for key, n in
                sorted(given[question].items(), key=lambda item: (-item[1], item[0]))]
        if unhinted:
            rows.append([len(unhinted), "no hint", "lost points; no known mistake matches: "
                                                   + ", ".join(unhinted)])
        if rows:
            out += table(["students", "hint", "what it says"], rows)
        if flagged.get(question):
            out += [f"Flagged for review: {', '.join(flagged[question])}", ""]
    if not any(given.values()) and not any(flagged.values()):
        out += ["No hint given and nothing flagged.", ""]
    if per_student:
        out += ["## Hints per student", ""]
        out += table(["student", "hints received"],
                     [[s, "; ".join(f"{q}: `{k}`" for q, k in sorted(h.items()))]
                      for s, h in per_student.items()])
    return out
