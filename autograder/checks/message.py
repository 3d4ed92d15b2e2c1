"""The message a check prints below a test cell: what passed, the smallest failing case, expected
against got, the largest error, and a hint. It never shows a hidden test's source or seed."""

from __future__ import annotations

import re
import textwrap

import numpy as np

from .cases import Case, CheckRun
from .hints import hint

MAX_OTHERS = 3
MAX_SHOWN_INPUT = 36  # arrays of at most this many numbers are printed with the failing case


def input_lines(case: Case, function: str) -> list[str]:
    """The small array arguments of ``case``, each as ``name = [...]`` under the parameter's name
    in ``function`` (``"convolve1d(x, w)"``), so that the student can redo the case by hand;
    nothing where the names do not match the arguments one to one."""
    found = re.search(r"\((.*)\)", function)
    names = [n.strip() for n in found[1].split(",")] if found else []
    if len(names) != len(case.args):
        return []
    lines = []
    for name, arg in zip(names, case.args, strict=True):
        if isinstance(arg, np.ndarray) and 0 < arg.size <= MAX_SHOWN_INPUT and arg.ndim <= 2 \
                and arg.dtype.kind in "biuf":
            text = np.array2string(arg, separator=", ", formatter={"all": lambda v: f"{v:g}"})
            head = f"  {name} = "  # the rows of a matrix line up under its first
            lines.append(head + text.replace("\n", "\n" + " " * len(head)))
    return lines


def _points(x: float) -> str:
    return f"{x:g}"


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def stood_in_line(names: list[str]) -> str:
    """The line that says which of the course's functions ran in place of the student's."""
    own = "its own test" if len(names) == 1 else "their own tests"
    return (f"(Checked with the course's {_listed(names)} standing in for yours: each function "
            f"is graded on its own, so a mistake in yours costs points only in {own}.)")


def flagged_lines(ev: CheckRun, hidden: bool) -> list[str]:
    """What the check detected (``ev.detected``), each with its evidence: it scores the item 0
    in a hidden test and is flagged for the instructor."""
    if not ev.detected:
        return []
    head = ("Flagged for the instructor, and scored 0:" if hidden else
            "Flagged (a hidden test scores this 0, and the instructor sees it):")
    return [head, *(f"  * {d.evidence}" for d in ev.detected)]


def format_report(ev: CheckRun, *, name: str, function: str, tolerance: str, random: bool,
                  points: float | None = None, earned: float | None = None) -> str:
    """The text printed below a test cell (plain text: notebooks, HTML feedback and terminals)
    for the run ``ev`` of the check ``name`` on the student's ``function`` (as the feedback
    names it, ``"pad2d(x, p, mode)"``); ``tolerance`` says what correct means, ``random``
    whether the cases were drawn from a seed, ``points``/``earned`` the score of a hidden test.
    The stand-ins the function called (``ev.stood_in``) are named below the first line, then
    what the check detected (:func:`flagged_lines`)."""
    total, n_fail = len(ev.cases), len(ev.failing)
    which = "random cases" if random else "cases"
    score = "" if points is None else f": {_points(earned)} of {_points(points)} points"
    if not n_fail:
        lines = [f"{name}: all {total} {which} pass{score}."]
    else:
        lines = [f"{name}: {total - n_fail} of {total} {which} pass{score}."]
    if ev.stood_in:
        lines.append(stood_in_line(ev.stood_in))
    lines += flagged_lines(ev, hidden=points is not None)
    if n_fail:
        lines.append(f"Correct means {tolerance}.")
        shown = ev.smallest_failing
        lines.append(f"Smallest failing case: {function} with {ev.cases[shown].label}")
        if points is None:  # a visible test's public case; a hidden case is every student's
            lines += input_lines(ev.cases[shown], function)
        verdict = ev.verdicts[shown]
        lines.append(f"  problem:      {verdict.problem}")
        lines += [textwrap.indent(line, "  ") for line in verdict.lines]
        if ev.hint:
            also = "" if n_fail == 1 else (
                f" (this mistake explains {ev.hint_matches} of the {n_fail} failing cases)")
            lines.append(f"Hint: {hint(ev.hint)}{also}")
        others = [ev.cases[i].label for i in ev.failing if i != shown]
        if others:
            more = len(others) - MAX_OTHERS
            tail = f"; and {more} more" if more > 0 else ""
            lines.append("Also failing: " + "; ".join(others[:MAX_OTHERS]) + tail)
    note = ev.captured.summary()
    if note:
        lines.append(note)
    return "\n".join(lines)
