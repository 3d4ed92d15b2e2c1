"""Results judged by trusted code instead of compared with one right value.

Some answers have no single right value: the parameters of a model the student trained are right
when the model classifies well. Such a check records the parameters, and a *requirement* (what the
check's ``reference`` returns for a case: "test accuracy at least 0.9") scores them with the
course's own code, in the student's kernel for the feedback and again in the grader's process
(:mod:`autograder.rescore`), so a patched kernel cannot raise the score::

    Check(..., reference=lambda threshold: AccuracyAtLeast(threshold), result=ScoreResult("..."),
          diagnosers=[Diagnoser("accuracy_near_chance", lambda threshold: Band(
              AccuracyAtLeast(threshold), 0.0, 0.2))])

A diagnoser returns a :class:`Band`: the mistake it names leaves the score in ``[low, high)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .compare import PASS, Output, Verdict, error_problem, type_problem


@dataclass(frozen=True)
class Assessment:
    """What a requirement makes of recorded values: ``score`` (``None`` when the values cannot
    be scored, e.g. parameters of the wrong sizes), whether the requirement is met, and the
    feedback: ``problem`` (one line) and ``lines`` (details)."""

    score: float | None
    passed: bool
    problem: str = ""
    lines: tuple[str, ...] = ()


class Requirement(Protocol):
    def assess(self, values: Any) -> Assessment:
        """Score ``values`` (a plain ndarray recorded from the student's result)."""


@dataclass(frozen=True)
class Band:
    """A classic mistake's signature: it leaves ``requirement``'s score in ``[low, high)``."""

    requirement: Requirement
    low: float
    high: float


@dataclass(frozen=True)
class ScoreResult:
    """The result must be a plain ``np.ndarray`` that the case's requirement (the check's
    ``reference(*case.args)``) accepts. ``description`` says what is required, for the feedback's
    "Correct means ..." line."""

    description: str

    def tolerance(self) -> str:
        return self.description

    def judge(self, expected: Requirement, got: Output) -> Verdict:
        if got.kind == "error":
            return Verdict(False, error_problem(got))
        if got.kind != "ndarray":
            return Verdict(False, type_problem(got, "a numpy.ndarray"))
        if got.values is None:
            return Verdict(False, f"{got.dtype} values that could not be recorded")
        verdict = expected.assess(got.values)
        return PASS if verdict.passed else Verdict(False, verdict.problem, verdict.lines)

    def matches(self, wrong: Any, got: Output) -> bool:
        """Whether the student's values score inside the band ``wrong``."""
        if not isinstance(wrong, Band) or got.kind != "ndarray" or got.values is None:
            return False
        score = wrong.requirement.assess(got.values).score
        return score is not None and wrong.low <= score < wrong.high
