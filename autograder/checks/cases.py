"""What a check runs on and what a run finds: :class:`Case` and :class:`CheckRun`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .capture import Captured
from .compare import Output, Verdict
from .detect import Detected


@dataclass(frozen=True)
class Case:
    """One call of the student's function: its positional ``args``, a ``label`` for feedback
    (shapes, stride, padding) and a ``size`` that orders cases smallest first.

    ``part`` names the part of the result the case judges, where one check judges several (a
    layer's forward output ``"out"`` or its gradient ``"dx"``): the check's ``reference`` and
    ``call`` then receive it as the keyword ``part=``, and a :class:`.core.Diagnoser` of one part
    sees only that part's cases."""

    args: tuple[Any, ...]
    label: str
    size: int
    part: str | None = None

    @property
    def keywords(self) -> dict[str, str]:
        """``{"part": part}``, or nothing for a case of a whole result."""
        return {} if self.part is None else {"part": self.part}


@dataclass
class CheckRun:
    """Everything one run of a check found: the cases, the student's output and the verdict for
    each, the hint that explains the most failing cases, what the function printed, the
    exceptions it raised (by case index, for the visible test's traceback), the stand-ins it
    called (:attr:`.core.Check.stand_ins`, the course's functions in place of the student's), and
    what the check detected (:mod:`.detect`), which scores the run 0."""

    cases: list[Case]
    outputs: list[Output]
    verdicts: list[Verdict]
    hint: str | None = None
    hint_matches: int = 0
    captured: Captured = field(default_factory=Captured)
    exceptions: dict[int, BaseException] = field(default_factory=dict)
    stood_in: list[str] = field(default_factory=list)
    detected: list[Detected] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(v.passed for v in self.verdicts)

    @property
    def failing(self) -> list[int]:
        return [i for i, v in enumerate(self.verdicts) if not v.passed]

    @property
    def smallest_failing(self) -> int | None:
        """The index of the failing case of the least :attr:`Case.size` (the earliest of equal
        sizes), which the feedback shows; ``None`` when every case passes. The visible tests'
        fixed cases come in the lab's order (its worked example first), not by size."""
        return min(self.failing, key=lambda i: self.cases[i].size, default=None)
