"""Checks: run a student's function on many cases, compare with convnb, score, explain, record.

A lab module describes each function to check with one :class:`Check`: how to draw a random case,
a few fixed cases for the visible test, the reference answer (convnb), the result's strictness
(:mod:`.compare`) and the classic mistakes (:class:`Diagnoser`). Calling the check runs it::

    check_correlate1d(correlate1d)                       # visible test: fixed cases, raises
    check_correlate1d(correlate1d, seed=7, points=3)     # hidden test: random cases, returns points

Each graded function is judged on its own: where it builds on another graded function of the lab
(``convolve1d`` calls ``correlate1d``), the check's ``stand_ins`` put the course's version of that
function in its place while the student's function runs (:func:`standing_in`), so that one
mistake costs points once.

While it runs, the check also watches what it calls and returns (:mod:`.detect`) and whether
anything the checks rely on was replaced (:mod:`.originals`). What it detects scores the item 0,
is flagged in the report and written into the grading record, for the grader and the instructor.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import math
import os
import types
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import records
from .capture import Captured, capture
from .cases import Case, CheckRun
from .compare import Output, Result, ResultError, Verdict, describe, from_exception, type_name
from .detect import (
    COURSE_RULES,
    CallTracer,
    Detected,
    Rules,
    constant_answer,
    fake_result,
    findings,
    merge,
)
from .hints import HINTS
from .message import format_report
from .originals import ORIGINALS


@dataclass(frozen=True)
class Diagnoser:
    """A classic mistake: ``wrong(*case.args)`` computes what that mistake returns (``None`` when
    it cannot happen in this case). ``hint`` is a key of :data:`.hints.HINTS`.

    In a check whose cases name a part (:attr:`.cases.Case.part`), a diagnoser with a ``part``
    is a mistake in that part only: ``wrong(*case.args)`` is called on that part's cases alone.
    One without a ``part`` is called on every case as ``wrong(*case.args, part=case.part)``."""

    hint: str
    wrong: Callable[..., Any]
    part: str | None = None

    def value(self, case: Case) -> Any:
        """What this mistake returns in ``case`` (``None``: it cannot happen there)."""
        if self.part is None:
            return self.wrong(*case.args, **case.keywords)
        return self.wrong(*case.args) if case.part == self.part else None


def pick(index: int, names: Sequence[str]) -> Callable[..., Any]:
    """A :class:`Check` ``call`` that judges one part of a returned tuple: ``pick(1, ("dx", "dw",
    "db"))`` checks ``dw`` of a function returning ``(dx, dw, db)``. A return value that is not a
    tuple (or list) of ``len(names)`` parts, or a ``None`` part, is refused with a message."""
    def call(student_fn: Callable[..., Any], *args: Any) -> Any:
        value = student_fn(*args)
        wanted = "(" + ", ".join(names) + ")"
        if not isinstance(value, tuple | list):
            raise ResultError(f"returned a {type_name(value)}; return the tuple {wanted}")
        if len(value) != len(names):
            raise ResultError(f"returned a {type(value).__name__} of {len(value)} items; return "
                              f"the tuple {wanted}")
        if value[index] is None:
            raise ResultError(f"{names[index]} is None (in the tuple {wanted}): is it computed?")
        return value[index]
    return call


def student_namespace(student_fn: Any) -> dict[str, Any] | None:
    """The global namespace the student's code looks names up in: a function's (a bound
    method's) ``__globals__``, or for a class those of its first method (its own or
    inherited). In a notebook it is the notebook's namespace, shared by every function, method
    and class of every cell. ``None`` for anything else (a trained model, a builtin): nothing
    there to stand in for."""
    if isinstance(student_fn, type):
        methods = [v for klass in student_fn.__mro__ for v in vars(klass).values()
                   if isinstance(v, types.FunctionType)]
        student_fn = methods[0] if methods else None
    if isinstance(student_fn, types.MethodType):
        student_fn = student_fn.__func__
    return student_fn.__globals__ if isinstance(student_fn, types.FunctionType) else None


def _stand_in(name: str, reference: Callable[..., Any], used: set[str],
              live: list[bool]) -> Callable[..., Any]:
    """``reference`` under the student's ``name``, noting in ``used`` that it was called; it
    refuses to run once ``live[0]`` is false (a stand-in kept by the student's code for later).
    Every stand-in runs in this one function, so the course's code it calls is told apart from
    the student's."""
    @functools.wraps(reference)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        if not live[0]:
            raise RuntimeError(f"the course's {name} stands in for yours only while a check "
                               "runs the function that calls it")
        used.add(name)
        return reference(*args, **kwargs)
    return stand_in


STAND_IN_CODE = tuple(c for c in _stand_in.__code__.co_consts
                      if isinstance(c, types.CodeType))
"""The code every stand-in runs (:func:`_stand_in`'s inner function): the tracer counts the
course's calls made from it as the course's, not the student's."""


@contextlib.contextmanager
def standing_in(student_fn: Any, stand_ins: Mapping[str, Callable[..., Any]],
                used: set[str]) -> Iterator[None]:
    """Within the block, each name of ``stand_ins`` in the student's namespace
    (:func:`student_namespace`) is the course's function: every lookup of that name from the
    student's code (the graded function, helpers in other cells, methods) finds it. ``used``
    collects the names called. Afterwards each name is as it was (absent if it was), even when
    the block raised, and a stand-in the student's code kept refuses to run. A value captured
    before the call (a default argument, an alias) is not replaced."""
    namespace = student_namespace(student_fn) if stand_ins else None
    if namespace is None:
        yield
        return
    saved, live = {name: namespace[name] for name in stand_ins if name in namespace}, [True]
    namespace.update({name: _stand_in(name, fn, used, live) for name, fn in stand_ins.items()})
    try:
        yield
    finally:
        live[0] = False
        for name in stand_ins:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


def partial_credit(points: float, passed: int, total: int) -> float:
    """``points * passed / total`` rounded down to a multiple of 0.5; all of ``points`` only when
    every case passes."""
    if passed >= total:
        return float(points)
    return math.floor(2 * points * passed / total + 1e-9) / 2


@dataclass(frozen=True)
class Check:
    """A check of one student function against convnb.

    Parameters
    ----------
    name : the name test cells call, e.g. ``"check_correlate1d"``; the registry's key.
    function : the student's function as the feedback names it, e.g. ``"correlate1d(x, w)"``.
    reference : the right answer: called with a case's arguments, like the student's function
        (and with ``part=`` for a case that names a part of the result).
    draw : one random case from a ``np.random.Generator``; ``None`` for a check with nothing
        random to draw (a trained model against fixed thresholds): hidden tests then run the
        fixed cases too.
    fixed : the cases of the visible test (``seed=None``).
    result : the strictness of the comparison (:class:`.compare.ArrayResult`, ``IntResult``).
    diagnosers : classic mistakes, most specific first.
    n_random : how many random cases a seed draws.
    call : how to call the student's function on a case's arguments, ``call(fn, *args)`` (with
        ``part=`` for a case that names a part), and return the value to judge; default
        ``fn(*args)``. It may observe more than the return value (:func:`pick` takes one part of
        a returned tuple; a hook can return an input after the call to see whether the function
        changed it), and raises :class:`.compare.ResultError` when the return value cannot be
        judged.
    fallback_hint : the hint for failing cases that return a value no diagnoser explains (a
        check where every wrong value means the same mistake).
    cover : the kinds of case the hidden tests must all hold, as a function of a case (default:
        its ``part``): every kind among the visible test's cases is drawn at least once.
    stand_ins : the course's versions of the lab's other graded functions that the student's
        function builds on, by the name the notebook gives them (``{"im2col": im2col}``): while
        it runs they replace the student's own (:func:`standing_in`), and the report says so
        for those it called. Only building blocks, never a function that computes the checked
        answer itself (``conv_forward_loops`` for ``conv_forward_im2col``): calling it would earn
        the points with the course's code.
    forbidden : what the student's function may not call (:class:`.detect.Rules`): the lab's
        rules, by default :data:`.detect.COURSE_RULES`. A call of one scores the item 0.
    """

    name: str
    function: str
    reference: Callable[..., Any]
    draw: Callable[[np.random.Generator], Case] | None
    fixed: Sequence[Case]
    result: Result
    diagnosers: Sequence[Diagnoser] = ()
    n_random: int = 12
    call: Callable[..., Any] | None = None
    fallback_hint: str | None = None
    stand_ins: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    cover: Callable[[Case], Any] | None = None
    forbidden: Rules = COURSE_RULES

    def __post_init__(self) -> None:
        unknown = [d.hint for d in self.diagnosers if d.hint not in HINTS]
        unknown += [self.fallback_hint] if self.fallback_hint not in (None, *HINTS) else []
        if unknown:
            raise ValueError(f"{self.name}: hints {unknown} are not in autograder.checks.hints")
        # This check, its rules and the lab module defining it, as they are before student code.
        for owner, label in ((self, self.name), (self.forbidden, f"{self.name}.forbidden")):
            for name in vars(owner):
                ORIGINALS.hold(f"{label}.{name}", vars(owner), name)
        ORIGINALS.hold_loaded()

    def cases(self, seed: int | None) -> list[Case]:
        """The fixed cases for ``seed=None`` (or ``draw=None``); otherwise ``n_random`` cases
        drawn from ``seed``, smallest first (a stable sort: the same seed gives the same list)."""
        if seed is None or self.draw is None:
            return list(self.fixed)
        rng = np.random.default_rng(seed)
        drawn = self._covering([self.draw(rng) for _ in range(self.n_random)], rng)
        return sorted(drawn, key=lambda c: c.size)

    def _covering(self, drawn: list[Case], rng: np.random.Generator) -> list[Case]:
        """``drawn`` with every kind of case of the visible test (:attr:`cover`) in it: a
        missing kind is drawn again in place of a case of the most common kind. A secret seed
        must not leave a part unjudged (a layer's ``dx`` never asked for)."""
        kind = self.cover or (lambda case: case.part)
        wanted = {kind(case) for case in self.fixed} - {None}
        for _ in range(50 * len(wanted)):  # enough draws for every kind, deterministic
            counts = collections.Counter(kind(case) for case in drawn)
            if not wanted - set(counts) or len(wanted) > len(drawn):
                break
            case = self.draw(rng)
            if kind(case) in wanted - set(counts):
                common = max(counts, key=lambda k: (counts[k], str(k)))
                drawn[max(i for i, c in enumerate(drawn) if kind(c) == common)] = case
        return drawn

    def run_student(self, student_fn: Callable[..., Any], cases: Sequence[Case],
                    captured: Captured, exceptions: dict[int, BaseException],
                    stood_in: set[str] | None = None,
                    detected: list[Detected] | None = None) -> list[Output]:
        """Call the student's function on copies of each case's arguments, capturing what it
        prints; an exception is that case's output (and is kept in ``exceptions``). The names of
        the stand-ins it called are added to ``stood_in``, what it was seen to do (forbidden
        calls, a fake result: :mod:`.detect`) to ``detected``."""
        outputs, stood_in = [], set() if stood_in is None else stood_in
        detected, calls = [] if detected is None else detected, Counter()
        for i, case in enumerate(cases):
            tracer = CallTracer(self.forbidden, calls, given=case.args, student=student_fn,
                                namespace=student_namespace(student_fn),
                                course_code=STAND_IN_CODE)
            with capture(captured):
                try:
                    with tracer:  # the result is described inside: its __array__ may call
                        value = self.call_student(student_fn, case, stood_in)
                        out = describe(value)
                    detected += filter(None, [fake_result(self.function, value)])
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - the student's error
                    out = from_exception(exc)
                    if not isinstance(exc, ResultError):  # a refused result has no traceback
                        exceptions[i] = exc
            outputs.append(out)
        detected += findings(calls)
        return outputs

    def stand_ins_for(self, case: Case) -> Mapping[str, Callable[..., Any]]:
        """The stand-ins of one case: :attr:`stand_ins` (a check may vary them by case)."""
        return self.stand_ins

    def call_student(self, student_fn: Callable[..., Any], case: Case,
                     stood_in: set[str]) -> Any:
        """The value to judge of one case: the student's function on a copy of its arguments,
        through ``call``, with the stand-ins in place."""
        args = copy.deepcopy(case.args)
        with standing_in(student_fn, self.stand_ins_for(case), stood_in):
            if self.call is None:
                return student_fn(*args)
            return self.call(student_fn, *args, **case.keywords)

    def judge(self, cases: Sequence[Case], outputs: Sequence[Output | None]) -> list[Verdict]:
        """Decide every case; a missing output (``None``) fails."""
        verdicts = []
        for case, out in zip(cases, outputs, strict=True):
            if out is None:
                verdicts.append(Verdict(False, "no output was recorded"))
            else:
                verdicts.append(self.result.judge(self.expected(case), out))
        return verdicts

    def expected(self, case: Case) -> Any:
        """The reference's answer for ``case``."""
        return self.reference(*case.args, **case.keywords)

    def diagnose(self, cases: Sequence[Case], outputs: Sequence[Output],
                 failing: Sequence[int]) -> tuple[str | None, int]:
        """The hint key whose mistake matches the most failing cases, and how many it matches."""
        first = outputs[failing[0]] if failing else None
        if first is not None and first.kind == "error":
            key = first.type_name.rsplit(".", 1)[-1]
            if key in ("NotImplementedError", "IndexError"):
                return key, sum(outputs[i].type_name == first.type_name for i in failing)
        # A hint may have several diagnosers (a mistake made either of two ways): it explains
        # the failing cases that any of them matches, each case counted once.
        explained: dict[str, set[int]] = {}
        for diagnoser in self.diagnosers:
            explained.setdefault(diagnoser.hint, set()).update(
                i for i in failing if self._matches(diagnoser, cases[i], outputs[i]))
        best, best_count = None, 0
        for hint, cases_explained in explained.items():  # a tie goes to the earlier hint
            if len(cases_explained) > best_count:
                best, best_count = hint, len(cases_explained)
        if best is None and self.fallback_hint and first is not None and first.kind != "error":
            best = self.fallback_hint
            best_count = sum(outputs[i].kind != "error" for i in failing)
        return best, best_count

    def _matches(self, diagnoser: Diagnoser, case: Case, out: Output) -> bool:
        try:
            wrong = diagnoser.value(case)
        except (ValueError, IndexError):
            return False  # the mistake is impossible in this geometry
        # A mistake giving the right answer here (flipping a symmetric kernel) explains nothing.
        right = describe(self.expected(case))
        return self.result.matches(wrong, out) and not self.result.matches(wrong, right)

    def evaluate(self, student_fn: Callable[..., Any], seed: int | None = None) -> CheckRun:
        """Run, judge and diagnose, without printing, recording or raising."""
        ev = CheckRun(self.cases(seed), [], [])
        used: set[str] = set()
        found = [Detected("patched", what) for what in ORIGINALS.replaced()]
        ev.outputs = self.run_student(student_fn, ev.cases, ev.captured, ev.exceptions, used,
                                      found)
        found += [Detected("patched", what) for what in ORIGINALS.replaced()]
        ev.stood_in = [name for name in self.stand_ins if name in used]
        ev.verdicts = self.judge(ev.cases, ev.outputs)
        ev.hint, ev.hint_matches = self.diagnose(ev.cases, ev.outputs, ev.failing)
        if ev.failing and seed is not None and self.draw is not None:
            found += filter(None, [constant_answer(
                self.function, ev.outputs, lambda: [describe(self.expected(c)) for c in ev.cases])])
        ev.detected = merge(found)
        return ev

    def replay(self, seed: int | None, outputs: Sequence[Output]) -> tuple[int, int]:
        """``(passed, total)`` for recorded outputs, judged again from the seed's cases: the
        grader's side of a hidden test. Missing outputs fail; extra ones are ignored."""
        cases = self.cases(seed)
        padded = list(outputs[: len(cases)]) + [None] * (len(cases) - len(outputs))
        verdicts = self.judge(cases, padded)
        return sum(v.passed for v in verdicts), len(cases)

    def __call__(self, student_fn: Callable[..., Any], *, seed: int | None = None,
                 points: float | None = None) -> float | None:
        """Check ``student_fn`` and print feedback.

        Without ``points`` (a visible test) raise ``AssertionError`` if a case fails. With
        ``points`` (a hidden test) never raise for the student's mistakes: display a grading
        record and return the points earned, which nbgrader reads as the cell's score.
        """
        ev = self.evaluate(student_fn, seed)
        earned = None if points is None else partial_credit(points, ev.passed, len(ev.cases))
        if ev.detected and points is not None:
            earned = 0.0
        print(format_report(ev, name=self.name, function=self.function,
                            tolerance=self.result.tolerance(),
                            random=seed is not None and self.draw is not None,
                            points=points, earned=earned))
        if points is not None:
            records.emit(records.make_record(self.name, seed, points, ev.outputs, ev.detected))
            return earned
        if ev.detected:
            raise AssertionError(f"{self.function}: {ev.detected[0].evidence}; see the report "
                                 "above")
        if ev.failing:
            shown = ev.smallest_failing
            raise AssertionError(
                f"{self.function} fails {len(ev.failing)} of {len(ev.cases)} cases; see the "
                f"report above (smallest: {ev.cases[shown].label}: {ev.verdicts[shown].problem})"
            ) from _from_student_code(ev.exceptions.get(shown))
        return None


def _from_student_code(exc: BaseException | None) -> BaseException | None:
    """The student's exception with the checks' own frames (the calls that led to the
    student's function) left out of its traceback, which then starts at the student's code."""
    if exc is None:
        return None
    tb = exc.__traceback__
    while tb and tb.tb_next and tb.tb_frame.f_code.co_filename.startswith(_CHECKS_FOLDER):
        tb = tb.tb_next
    return exc.with_traceback(tb)


_CHECKS_FOLDER = os.path.dirname(os.path.abspath(__file__)) + os.sep

ORIGINALS.hold_loaded()  # the checks' machinery, before any student code can run
