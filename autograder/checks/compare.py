"""What "correct" means for a student's result: strict types, shapes, dtypes, finiteness, tolerance.

A result is first turned into an :class:`Output` (its kind, type, shape, dtype and a copy of its
values, or the exception the function raised). Outputs are what grading records store, so the same
:meth:`ArrayResult.judge` / :meth:`IntResult.judge` decide a case in the student's kernel and again
in the grader's process (:mod:`autograder.rescore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .shown import distinct, show, side_by_side

# Larger results are described (kind, shape, dtype) but their values are not kept: no lab's
# expected output comes near this, and a record must stay small.
MAX_RECORDED = 100_000


@dataclass(frozen=True)
class Output:
    """One call's result as the checks see it.

    ``kind`` is one of ``"ndarray"`` (exactly ``np.ndarray``), ``"subclass"`` (a subclass of it),
    ``"int"``, ``"float"``, ``"bool"``, ``"none"``, ``"other"`` or ``"error"`` (the call raised;
    ``error`` holds ``"TypeName: message"``). ``values`` is a plain-ndarray copy of the result when
    it converts to a numeric array of at most :data:`MAX_RECORDED` entries.
    """

    kind: str
    type_name: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    values: np.ndarray | None = None
    error: str | None = None


def type_name(value: Any) -> str:
    """``list``, ``numpy.ndarray``, ``numpy.matrix``: short names a student recognises."""
    cls = type(value)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.split(".")[0] == "numpy":
        return "numpy." + cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _kind(value: Any) -> str:
    if type(value) is np.ndarray:
        return "ndarray"
    if isinstance(value, np.ndarray):
        return "subclass"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    return "none" if value is None else "other"


def describe(value: Any) -> Output:
    """The :class:`Output` for a returned value. Never raises, whatever the value is."""
    kind, name = _kind(value), type_name(value)
    try:
        array = np.array(value, subok=False)  # a copy: the student may reuse a buffer
    except Exception:  # noqa: BLE001 - any object may come back; it just has no values
        return Output(kind, name)
    if array.dtype.kind not in "biufc":
        return Output(kind, name, tuple(array.shape), str(array.dtype))
    values = array if array.size <= MAX_RECORDED else None
    return Output(kind, name, tuple(array.shape), str(array.dtype), values)


class ResultError(Exception):
    """Raised by a check's ``call`` hook when the student's return value cannot be judged (not
    the tuple it should be, an input changed); the message is the problem shown to the student."""


RESULT_ERROR = f"{__name__}.ResultError"


def from_exception(exc: BaseException) -> Output:
    """The :class:`Output` of a call that raised ``exc``."""
    message = str(exc)
    name = type(exc).__name__
    if isinstance(exc, ResultError):
        return Output("error", RESULT_ERROR, error=message)
    return Output("error", type_name(exc), error=f"{name}: {message}" if message else name)


def error_problem(got: Output) -> str:
    """The problem of a call that raised: the student's exception, or a refused result."""
    return str(got.error) if got.type_name == RESULT_ERROR else f"raised {got.error}"


@dataclass(frozen=True)
class Verdict:
    """The decision on one case: ``problem`` is one line for the student, ``lines`` show
    expected against got and the largest error."""

    passed: bool
    problem: str = ""
    lines: tuple[str, ...] = ()


PASS = Verdict(True)


def type_problem(got: Output, wanted: str) -> str:
    """The problem of a result of the wrong type, with what to return instead (``wanted``)."""
    if got.kind == "none":
        return f"returned None instead of {wanted} (is the `return` statement missing?)"
    if got.kind == "subclass":
        return (f"returned a {got.type_name}, a subclass of numpy.ndarray; return a plain "
                "numpy.ndarray (np.asarray(result))")
    return f"returned a {got.type_name}; return {wanted}"


def values_note(expected: Any, got: Output, rtol: float, atol: float) -> str:
    """``"; its values are right"`` for a result refused for its type or dtype alone: its values
    have the expected shape and lie within the tolerance (or, in a lower-precision float dtype,
    within that dtype's precision, which the note names). ``""`` otherwise."""
    values, expected = got.values, np.asarray(expected)
    if (values is None or values.dtype.kind not in "iuf" or expected.dtype.kind not in "biuf"
            or values.shape != expected.shape):
        return ""
    what = "its values are right" if values.ndim else "its value is right"
    if np.allclose(values, expected, rtol=rtol, atol=atol):
        return f"; {what}"
    if values.dtype.kind == "f" and values.dtype.itemsize < 8:
        # A few units in the last place of each entry, one of the largest (cancellation).
        eps = float(np.finfo(values.dtype).eps)
        scale = float(np.max(np.abs(expected), initial=0.0))
        if np.allclose(values, expected, rtol=4 * eps, atol=eps * scale):
            return f"; {what} to {values.dtype} precision"
    return ""


@dataclass(frozen=True)
class ArrayResult:
    """The result must be a plain ``np.ndarray`` of the expected shape and dtype, finite, and
    ``np.allclose(got, expected, rtol, atol)`` entry by entry."""

    rtol: float = 1e-6
    atol: float = 1e-9

    def tolerance(self) -> str:
        if self.rtol == self.atol == 0:
            return "a numpy.ndarray of the expected shape and dtype, every entry exactly equal"
        return (f"a numpy.ndarray of the expected shape and dtype, every entry within "
                f"{self.atol:g} + {self.rtol:g} * |expected|")

    def judge(self, expected: np.ndarray, got: Output) -> Verdict:
        if got.kind == "error":
            return Verdict(False, error_problem(got))
        if got.kind != "ndarray":
            wanted = "a numpy.ndarray"
            if got.kind == "other" and got.values is not None:
                wanted += " (np.array(result))"
            right = values_note(expected, got, self.rtol, self.atol)
            return Verdict(False, type_problem(got, wanted) + right,
                           side_by_side(expected, got.values, self.rtol, self.atol))
        if got.shape != expected.shape:
            lines = side_by_side(expected, got.values) + ("max error:    n/a (the shapes differ)",)
            return Verdict(False, f"shape {got.shape}, expected {expected.shape}", lines)
        if got.dtype != str(expected.dtype):
            right = values_note(expected, got, self.rtol, self.atol)
            return Verdict(False, f"dtype {got.dtype}, expected {expected.dtype}{right}",
                           side_by_side(expected, got.values, self.rtol, self.atol))
        if got.values is None:
            return Verdict(False, f"{got.dtype} values that could not be recorded")
        bad = ~np.isfinite(got.values)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            return Verdict(False, f"contains NaN or infinity (first at index {where})",
                           side_by_side(expected, got.values, self.rtol, self.atol))
        close = np.isclose(got.values, expected, rtol=self.rtol, atol=self.atol)
        if close.all():
            return PASS
        return Verdict(False, f"{int((~close).sum())} of {close.size} entries are wrong",
                       self._entries(expected, got.values, close))

    def _entries(self, expected: np.ndarray, got: np.ndarray, close: np.ndarray) -> tuple[str, ...]:
        lines = []
        for index in np.argwhere(~close)[:4]:
            at = tuple(int(i) for i in index)
            lines.append("at {}: expected {}, got {}".format(at, *distinct(expected[at], got[at])))
        error = np.abs(got.astype(float) - expected)
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
        lines.append(f"max error:    {error[worst]:.3g} (|got - expected| at index {worst})")
        return tuple(lines)

    def matches(self, wrong: Any, got: Output) -> bool:
        """Whether the student's values equal ``wrong`` (a mistaken answer), whatever their type."""
        if wrong is None or got.values is None:
            return False
        wrong = np.asarray(wrong)
        return got.values.shape == wrong.shape and bool(
            np.allclose(got.values, wrong, rtol=self.rtol, atol=self.atol))


@dataclass(frozen=True)
class IntResult:
    """The result must be an ``int`` (a NumPy integer also counts) equal to the expected one."""

    def tolerance(self) -> str:
        return "an int, exactly equal"

    def judge(self, expected: int, got: Output) -> Verdict:
        if got.kind == "error":
            return Verdict(False, error_problem(got))
        shown = () if got.values is None else (f"expected {expected}, got {got.values!s}",)
        right = values_note(expected, got, 0.0, 0.0)
        if got.kind == "float":
            return Verdict(False, f"returned a float ({got.values!s}); return an int "
                           f"(floor division // keeps ints){right}", shown)
        if got.kind != "int":
            return Verdict(False, type_problem(got, "an int") + right, shown)
        if got.values is None or got.values.shape != ():
            return Verdict(False, "returned an int too large to record")
        if int(got.values) != expected:
            return Verdict(False, f"returned {got.values!s}, expected {expected}", shown)
        return PASS

    def matches(self, wrong: Any, got: Output) -> bool:
        if wrong is None or got.values is None or got.values.shape != ():
            return False
        return float(got.values) == float(wrong)



@dataclass(frozen=True)
class BelowResult:
    """The result is a plain float ``np.ndarray`` of the expected shape whose entries are finite,
    at least 0 and below ``threshold``: errors, such as a gradient check's relative errors, that
    must be small but cannot equal a reference. ``names`` names the entries in the feedback; the
    expected array (the reference's errors) is shown for comparison."""

    threshold: float
    names: tuple[str, ...] = ()

    def tolerance(self) -> str:
        what = f" ({', '.join(self.names)})" if self.names else ""
        return f"a numpy.ndarray of errors{what}, each at least 0 and below {self.threshold:g}"

    def _lines(self, expected: np.ndarray, got: Output) -> tuple[str, ...]:
        lines = [f"reference:    {show(expected)} (the course's errors, for comparison)"]
        if got.values is not None:
            lines.append(f"got:          {show(got.values)}")
        return tuple(lines)

    def _small(self, got: Output) -> str:
        """``"; its values are right"`` when a result of the wrong type holds finite errors, each
        at least 0 and below the threshold (with the names' count, if any)."""
        values = got.values
        if values is None or values.dtype.kind not in "iuf" or values.ndim != 1:
            return ""
        if self.names and values.size != len(self.names):
            return ""
        right = np.isfinite(values).all() and ((values >= 0) & (values < self.threshold)).all()
        return f"; its values are right (each below {self.threshold:g})" if right else ""

    def judge(self, expected: np.ndarray, got: Output) -> Verdict:
        if got.kind == "error":
            return Verdict(False, error_problem(got))
        if got.kind != "ndarray":
            return Verdict(False, type_problem(got, "a numpy.ndarray") + self._small(got),
                           self._lines(expected, got))
        if got.shape != expected.shape:
            return Verdict(False, f"shape {got.shape}, expected {expected.shape}",
                           self._lines(expected, got))
        if got.values is None or got.values.dtype.kind != "f":
            return Verdict(False, f"dtype {got.dtype}, expected a float dtype",
                           self._lines(expected, got))
        flat = got.values.reshape(-1)
        for index, value in enumerate(flat):
            name = self.names[index] if len(self.names) == flat.size else f"entry {index}"
            if not np.isfinite(value):
                return Verdict(False, f"the error of {name} is {value}",
                               self._lines(expected, got))
            if not 0 <= value < self.threshold:
                why = "negative" if value < 0 else f"not below {self.threshold:g}"
                return Verdict(False, f"the error of {name} is {value:.3g}: {why}",
                               self._lines(expected, got))
        return PASS

    def matches(self, wrong: Any, got: Output) -> bool:
        return ArrayResult().matches(wrong, got)


class Result(Protocol):
    """What a check's ``result`` does: :class:`ArrayResult`, :class:`IntResult`,
    :class:`BelowResult`, and :class:`.scored.ScoreResult` for results judged by a requirement."""

    def tolerance(self) -> str:
        """What "correct" means, for the feedback's "Correct means ..." line."""

    def judge(self, expected: Any, got: Output) -> Verdict:
        """The verdict on the student's output ``got`` against the reference's ``expected``."""

    def matches(self, wrong: Any, got: Output) -> bool:
        """Whether ``got`` is what a classic mistake (``wrong``, a diagnoser's value) returns."""
