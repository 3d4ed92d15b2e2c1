"""The summary an instructor reads after ``grade``: ``reports/<lab>.md``, the same as
``reports/<lab>.html`` (self-contained: the histogram inline), and the histogram's PNG.

Scores, due date and late penalties come from the gradebook (so manual overrides made in
formgrader show on the next run); which submissions failed, timed out or were flagged, and the
hints each got, from the grading runs' status file. The late and hint sections are written by
``report_sections.py``.
"""

from __future__ import annotations

import base64
import datetime
import html
import platform
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mistune  # noqa: E402 (nbconvert's Markdown renderer, installed with nbgrader)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .course import Course  # noqa: E402
from .report_sections import hint_sections, late_section, table  # noqa: E402

BINS = 10
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse;margin:1em 0}"
         "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
         "code,pre{background:#f4f4f4}img{max-width:100%}")


def _scores(course: Course, lab: str, students: list[str]) -> tuple[dict, dict, float]:
    """Per student (score after any late penalty, max) and per grade id each student's
    (score, max), from the gradebook."""
    totals, questions, max_score = {}, {}, 0.0
    with course.gradebook() as gb:
        max_score = gb.find_assignment(lab).max_score
        for student in students:
            submission = gb.find_submission(lab, student)
            penalty = submission.late_submission_penalty or 0.0
            totals[student] = (submission.score - penalty, submission.max_score)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    key = grade.name if len(submission.notebooks) == 1 else \
                        f"{notebook.name}/{grade.name}"
                    questions.setdefault(key, {})[student] = (grade.score, grade.max_score)
    return totals, questions, max_score


def _text_histogram(fractions: list[float]) -> list[str]:
    counts = [0] * BINS
    for f in fractions:
        counts[min(int(f * BINS), BINS - 1)] += 1
    width = max(counts) or 1
    lines = []
    for i, n in enumerate(counts):
        low, high = 100 * i // BINS, 100 * (i + 1) // BINS
        lines.append(f"{low:3d}-{high:<3d}% | {'#' * round(30 * n / width):<30} {n}")
    return lines


def histogram(lab: str, fractions: list[float], max_score: float) -> plt.Figure:
    """The scores' histogram (``fractions`` of the points), submissions counted on whole ticks."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist([100 * f for f in fractions], bins=BINS, range=(0, 100), color="#4c72b0",
            edgecolor="white")
    ax.set_xlabel(f"score (% of {max_score:g} points)")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # submissions come whole
    ax.set_title(f"{lab}: {len(fractions)} graded submissions")
    fig.tight_layout()
    return fig


def _html(markdown: str, title: str, figure: Path) -> str:
    """The report as one HTML page, the histogram inline (no file or URL outside it)."""
    inline = "data:image/png;base64," + base64.b64encode(figure.read_bytes()).decode("ascii")
    body = mistune.create_markdown(escape=True, plugins=["table"])(
        markdown.replace(f"]({figure.name})", f"]({inline})"))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{body}</body>\n</html>\n")


def write_report(course: Course, lab: str, status: dict[str, dict], *, seconds: float,
                 jobs: int, graded_now: int) -> tuple[Path, Path, Path]:
    """Writes ``reports/<lab>.md``, ``reports/<lab>.html`` and ``reports/<lab>_histogram.png``;
    returns the three paths.

    ``status`` maps each student with a submission to the last grading result of it
    (``SubmissionResult`` fields).
    """
    folder = course.root / "reports"
    folder.mkdir(exist_ok=True)
    graded = sorted(s for s, v in status.items() if v["graded"])
    failed = sorted(s for s, v in status.items() if not v["graded"])
    totals, questions, max_score = _scores(course, lab, graded)
    fractions = [score / top if top else 0.0 for score, top in totals.values()]
    figure = folder / f"{lab}_histogram.png"
    fig = histogram(lab, fractions, max_score)
    fig.savefig(figure, dpi=120)
    plt.close(fig)

    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out = [f"# {lab}: grading report", "",
           f"Written {now} on {platform.node()}: this run graded {graded_now} submission(s) "
           f"in {seconds:.1f} s with {jobs} worker(s). The numbers cover every submission "
           "graded so far, each as last graded, with any score a grader changed in formgrader. "
           "Scores are after late penalties (as in the CSV's `score`); the points per question "
           "are before them.", ""]
    scores = [score for score, _ in totals.values()]
    summary = [["submissions", len(status)], ["graded", len(graded)],
               ["failed to run", len(failed)], ["points available", f"{max_score:g}"]]
    if scores:
        summary += [["mean", f"{statistics.mean(scores):.2f}"],
                    ["median", f"{statistics.median(scores):g}"],
                    ["min / max", f"{min(scores):g} / {max(scores):g}"]]
    out += table(["", ""], summary)

    out += ["## Score distribution", "", f"![Histogram of the scores]({figure.name})", "",
            "```text", *_text_histogram(fractions), "```", ""]
    rows = [[q, f"{pairs[0][1]:g}", f"{statistics.mean(p for p, _ in pairs):.2f}",
             f"{sum(p == m for p, m in pairs)} of {len(pairs)}"]
            for q, pairs in sorted((q, list(by.values())) for q, by in questions.items())]
    if rows:
        out += ["## Per question", ""]
        out += table(["grade id", "points", "mean", "full marks"], rows)

    with course.gradebook() as gb:
        out += late_section(gb, lab, sorted(status), folder / f"{lab}_lms_late.json")
    single = len(course.notebooks(lab, "grade")) == 1
    lost = {q: {s for s, (p, m) in by.items() if p < m} for q, by in questions.items()}
    out += hint_sections(status, lost, single)

    if failed:
        out += ["## Submissions that failed to run", "",
                "Not graded; fix the cause and rerun `python -m autograder grade "
                f"{lab} --student ID`, or grade them by hand in formgrader.", ""]
        out += table(["student", "reason", "log"],
                      [[s, status[s]["reason"], f"{lab}_logs/{s}.log"] for s in failed])
    sections = [("Flagged for review", "flags"),
                ("Cells stopped at the time limit", "timeouts"), ("Notes", "notes")]
    for title, key in sections:
        items = [(s, item) for s in sorted(status) for item in status[s].get(key, [])]
        if items:
            out += [f"## {title}", "", *[f"* {s}: {item}" for s, item in items], ""]

    missing = sorted({s.id for s in course.roster()} - set(status))
    if missing:
        out += ["## Students without a submission", "", ", ".join(missing), ""]
    out += ["## Files", "", f"* grades (nbgrader's CSV export with the lateness): "
            f"`grades/{lab}.csv`", f"* this report as one HTML page: `reports/{lab}.html`",
            f"* feedback for each student: `feedback/<student>/{lab}/`",
            f"* nbgrader's log of each submission: `reports/{lab}_logs/`", ""]
    report, page = folder / f"{lab}.md", folder / f"{lab}.html"
    report.write_text("\n".join(out), encoding="utf-8")
    page.write_text(_html("\n".join(out), f"{lab}: grading report", figure), encoding="utf-8")
    return report, page, figure
