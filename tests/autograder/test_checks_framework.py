"""The checks' framework on a toy check: strictness, partial credit, smallest failing case, hints,
visible and hidden modes, captured output, records."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import sys
import warnings

import IPython
import IPython.display
import numpy as np
import pytest

from autograder.checks import (
    ArrayResult,
    BelowResult,
    Case,
    Check,
    Diagnoser,
    IntResult,
    get_check,
    message,
    partial_credit,
    pick,
    records,
    register,
)
from autograder.checks.compare import ResultError, describe, from_exception
from autograder.checks.core import student_namespace
from autograder.checks.hints import HINTS


def _double_case(n: int, rng: np.random.Generator | None = None) -> Case:
    x = np.arange(n, dtype=float) if rng is None else np.round(rng.normal(size=n), 2)
    return Case((x,), f"x ({n},)", n)


TOY = Check(
    name="check_toy_double", function="double(x)", reference=lambda x: 2 * x,
    draw=lambda rng: _double_case(int(rng.integers(1, 30)), rng),
    fixed=(_double_case(3), _double_case(5)), result=ArrayResult(),
    diagnosers=[Diagnoser("output_too_small", lambda x: 2 * x[:-1]),
                Diagnoser("stride_ignored", lambda x: 2 * x if x.size > 1 else None)],
    n_random=10,
)


def _set(y, index, value):
    y = y.copy()
    y[index] = value
    return y


@pytest.mark.parametrize(("fn", "problem"), [
    (lambda x: list(2 * x), "returned a list; return a numpy.ndarray (np.array(result))"),
    (lambda x: np.matrix(2 * x), "returned a numpy.matrix, a subclass of numpy.ndarray"),
    (lambda x: (2 * x).astype(np.float32), "dtype float32, expected float64"),
    (lambda x: (2 * x).astype(int), "dtype int64, expected float64"),
    (lambda x: _set(2 * x, -1, np.nan), "contains NaN or infinity (first at index"),
    (lambda x: _set(2 * x, 0, np.inf), "contains NaN or infinity (first at index (0,))"),
    (lambda x: (2 * x)[None], "shape (1, 3), expected (3,)"),
    (lambda x: (2 * x)[:-1], "shape (2,), expected (3,)"),
    (lambda x: None, "returned None instead of a numpy.ndarray"),
    (lambda x: 2 * x + 1, "3 of 3 entries are wrong"),
    (lambda x: 1 / 0, "raised ZeroDivisionError: division by zero"),
    (lambda x: "text", "returned a str; return a numpy.ndarray"),
])
def test_strictness_names_the_problem_of_the_smallest_failing_case(fn, problem):
    ev = TOY.evaluate(fn)
    assert ev.passed == 0
    assert problem in ev.verdicts[0].problem


def test_a_correct_result_within_the_tolerance_passes():
    ev = TOY.evaluate(lambda x: 2 * x + 1e-12)
    assert ev.passed == 2 and not ev.failing


def test_wrong_values_show_entries_and_the_largest_error(capsys):
    with pytest.raises(AssertionError):
        TOY(lambda x: _set(2 * x, 1, 100.0))
    out = capsys.readouterr().out
    assert "Smallest failing case: double(x) with x (3,)" in out
    assert "at (1,): expected 2, got 100" in out
    assert "max error:    98" in out
    assert "1e-09 + 1e-06 * |expected|" in out  # the tolerance is stated


def test_int_results_must_be_ints():
    check = Check("check_toy_size", "size(n)", lambda n: n + 1,
                  lambda rng: Case((int(rng.integers(1, 9)),), "n", 1),
                  (Case((4,), "n=4", 4),), IntResult())
    assert check.evaluate(lambda n: n + 1).passed == 1
    assert check.evaluate(lambda n: np.int64(n + 1)).passed == 1
    assert "returned a float (5.0)" in check.evaluate(lambda n: n + 1.0).verdicts[0].problem
    assert "returned a bool" in check.evaluate(lambda n: True).verdicts[0].problem
    assert "returned 4, expected 5" in check.evaluate(lambda n: n).verdicts[0].problem


@pytest.mark.parametrize(("points", "passed", "total", "earned"), [
    (3, 12, 12, 3.0), (3, 11, 12, 2.5), (3, 6, 12, 1.5), (3, 1, 12, 0.0), (3, 0, 12, 0.0),
    (4, 9, 12, 3.0), (2.5, 11, 12, 2.0), (2.5, 12, 12, 2.5), (1, 15, 16, 0.5),
])
def test_partial_credit_rounds_down_to_half_points(points, passed, total, earned):
    assert partial_credit(points, passed, total) == earned


def test_partial_credit_is_full_only_when_every_case_passes():
    for total in range(1, 20):
        for passed in range(total):
            for points in (0.5, 1, 2, 3, 4.5, 10):
                earned = partial_credit(points, passed, total)
                assert 0 <= earned < points and math.isclose(earned * 2, round(earned * 2))


def test_random_cases_are_reproducible_and_smallest_first():
    cases = TOY.cases(seed=4)
    assert [c.label for c in cases] == [c.label for c in TOY.cases(seed=4)]
    assert [c.size for c in cases] == sorted(c.size for c in cases)
    assert [c.label for c in cases] != [c.label for c in TOY.cases(seed=5)]
    assert TOY.cases(None) == list(TOY.fixed)


def test_the_report_names_the_smallest_failing_case(capsys):
    def fails_from_ten(x):
        return 2 * x if x.size < 10 else 3 * x

    ev = TOY.evaluate(fails_from_ten, seed=3)
    sizes = [c.size for c in ev.cases]
    smallest = min(s for s in sizes if s >= 10)
    assert ev.cases[ev.failing[0]].size == smallest
    earned = TOY(fails_from_ten, seed=3, points=4)
    assert earned == partial_credit(4, sum(s < 10 for s in sizes), len(sizes))
    assert f"Smallest failing case: double(x) with x ({smallest},)" in capsys.readouterr().out


def test_the_smallest_failing_case_is_shown_when_the_fixed_cases_are_not_in_size_order(capsys):
    # A lab's worked example comes first among its fixed cases, whatever its size.
    check = dataclasses.replace(TOY, fixed=(_double_case(7), _double_case(3), _double_case(5)))
    with pytest.raises(AssertionError) as info:
        check(lambda x: 3 * x)
    out = capsys.readouterr().out
    assert "Smallest failing case: double(x) with x (3,)" in out
    assert "Also failing: x (7,); x (5,)" in out
    assert "smallest: x (3,)" in str(info.value)


def test_the_smallest_failing_case_is_the_first_of_equal_sizes():
    check = dataclasses.replace(TOY, fixed=(Case((np.ones(4),), "first", 4),
                                            Case((np.zeros(4),), "second", 4)))
    ev = check.evaluate(lambda x: x + 3)
    assert ev.failing == [0, 1] and ev.smallest_failing == 0
    assert check.evaluate(lambda x: 2 * x).smallest_failing is None


def _padded(n: int) -> np.ndarray:
    """An n by n image inside a border of zeros two entries wide."""
    return np.pad(np.arange(1.0, n * n + 1).reshape(n, n), 2)


PADDED = Check(name="check_toy_pad", function="pad(x)", reference=_padded,
               draw=lambda rng: Case((int(rng.integers(4, 8)),), "n", 6),
               fixed=(Case((6,), "n=6", 6),), result=ArrayResult())


@pytest.mark.parametrize("kind", ["dtype", "type", "nan"])
def test_a_summary_that_hides_the_difference_shows_where_the_arrays_differ(kind):
    expected = _padded(6)
    got = expected.copy()
    got[3, 4], got[5, 6] = -7.0, np.nan if kind == "nan" else 99.0
    returned = {"dtype": got.astype(np.float32), "type": got.tolist(), "nan": got}[kind]
    lines = PADDED.evaluate(lambda n: returned).verdicts[0].lines
    summary = {line.split(":", 1)[0]: line.split(":", 1)[1] for line in lines[:2]}
    # The summaries print only the zero border: alike for the different arrays.
    assert summary["expected"].split() == summary["got"].split()
    first = tuple(int(i) for i in np.argwhere(~np.isclose(got, expected))[0])
    assert first == (3, 4)
    text = "\n".join(lines)
    assert (f"differs at:   2 of {expected.size} entries, the first at index {first}: "
            f"expected {expected[first]:g}, got {got[first]:g}") in text
    window = (slice(2, 5), slice(3, 6))  # one entry either side of (3, 4)
    shown = {name: [float(v) for v in re.findall(r"-?\d+\.?\d*", part)]
             for name, part in re.findall(r"^(expected|got)\[2:5, 3:6\]:((?:.|\n(?= ))*)",
                                          text, re.MULTILINE)}
    assert shown == {"expected": expected[window].ravel().tolist(),
                     "got": got[window].ravel().tolist()}


def test_a_summary_printed_whole_or_of_another_shape_adds_no_difference_line():
    small = TOY.evaluate(lambda x: (2 * x + 1).astype(np.float32)).verdicts[0].lines
    assert not any(line.startswith("differs at") for line in small)
    reshaped = PADDED.evaluate(lambda n: _padded(n)[:-1]).verdicts[0].lines
    assert not any(line.startswith("differs at") for line in reshaped)
    right = PADDED.evaluate(lambda n: _padded(n).astype(np.float32)).verdicts[0]
    assert right.problem.endswith("its values are right")
    assert not any(line.startswith("differs at") for line in right.lines)


def test_the_hint_is_the_mistake_matching_most_failing_cases(capsys):
    ev = TOY.evaluate(lambda x: 2 * x[:-1], seed=1)
    assert ev.hint == "output_too_small" and ev.hint_matches == len(ev.failing)
    TOY(lambda x: 2 * x[:-1], seed=1, points=2)
    assert "Hint: " + HINTS["output_too_small"] in capsys.readouterr().out


def test_the_smallest_failing_case_shows_its_small_inputs(capsys):
    """A student redoes the case by hand: its arrays are printed under the parameter names of
    ``function``, as long as they are small (the toy's fixed case x (3,) is [0, 1, 2])."""
    with pytest.raises(AssertionError):  # the visible test: fixed cases x (3,) and x (5,)
        TOY(lambda x: 2 * x + 1)
    out = capsys.readouterr().out
    assert "Smallest failing case: double(x) with x (3,)\n  x = [0, 1, 2]\n" in out
    # a hidden test's cases are the same for every student of the release: not printed
    TOY(lambda x: 2 * x + 1, seed=1, points=2)
    hidden = capsys.readouterr().out
    assert "Smallest failing case: double(x)" in hidden and "  x = [" not in hidden
    big = Case((np.arange(40.0),), "x (40,)", 40)
    assert message.input_lines(big, "double(x)") == []
    assert message.input_lines(_double_case(3), "double(x, y)") == []  # names do not match


def test_a_mistake_that_equals_the_right_answer_is_no_hint():
    # "stride_ignored" here computes the right values; a list of them fails on its type only.
    ev = TOY.evaluate(lambda x: list(2 * x), seed=1)
    assert ev.hint is None


def test_exceptions_get_their_hints():
    def unwritten(x):
        raise NotImplementedError()

    assert TOY.evaluate(unwritten).hint == "NotImplementedError"
    assert TOY.evaluate(lambda x: x[[10]]).hint == "IndexError"


def test_visible_mode_raises_a_short_assertion_chained_to_the_students_error(capsys):
    assert TOY(lambda x: 2 * x) is None
    assert "check_toy_double: all 2 cases pass." in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"fails 2 of 2 cases") as info:
        TOY(lambda x: x / 0 if x.size < 0 else x[None][3])
    assert isinstance(info.value.__cause__, IndexError)


@pytest.fixture
def emitted(monkeypatch) -> list:
    """The records hidden checks display, caught where they are shown (IPython's display): a
    test that replaced records.emit itself would be flagged, as a student who did would be."""
    shown: list = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw: shown.append(data[records.MIME]))
    return shown


def test_hidden_mode_never_raises_and_returns_a_python_float(emitted, capsys):
    for fn, expected in ((lambda x: 2 * x, 3.0), (lambda x: 1 / 0, 0.0), (lambda x: None, 0.0)):
        earned = TOY(fn, seed=2, points=3)
        assert type(earned) is float and earned == expected
    assert [r["check"] for r in emitted] == ["check_toy_double"] * 3
    assert "seed" not in capsys.readouterr().out  # the seed is never shown


def test_the_students_input_is_a_copy():
    def destructive(x):
        x[:] = 0
        return 2 * x

    ev = TOY.evaluate(destructive)
    assert ev.passed == 0 and TOY.fixed[0].args[0][1] == 1.0


def _noisy(x):
    print("debug", x.size)
    print("to stderr", file=sys.stderr)
    warnings.warn("a student's warning", stacklevel=1)
    np.log(np.zeros(1))  # RuntimeWarning: divide by zero
    logging.getLogger("student").error("logged")
    os.write(2, b"raw fd 2\n")
    os.write(1, b"raw fd 1\n")
    print("dunder", file=sys.__stderr__)
    return 2 * x


def test_printing_logging_and_warning_solutions_get_full_marks_and_nothing_on_stderr(capfd):
    handler = logging.StreamHandler(sys.stderr)  # bound to stderr before the check runs
    logging.getLogger("student").addHandler(handler)
    try:
        earned = TOY(_noisy, seed=1, points=5)
    finally:
        logging.getLogger("student").removeHandler(handler)
    out, err = capfd.readouterr()
    assert earned == 5.0
    assert err == ""
    assert "note: your function printed" in out and "warning(s)" in out
    assert "debug" not in out.replace("(first: 'debug", "")


def test_records_round_trip_and_replay_agrees():
    def half_right(x):
        return 2 * x if x.size % 2 else list(2 * x)

    ev = TOY.evaluate(half_right, seed=6)
    record = json.loads(json.dumps(records.make_record(TOY.name, 6, 3, ev.outputs)))
    name, seed, points, outputs, detected = records.read_record(record)
    assert (name, seed, points, detected) == (TOY.name, 6, 3, [])
    assert TOY.replay(6, outputs) == (ev.passed, len(ev.cases))
    assert TOY.replay(6, outputs[:-2])[0] <= ev.passed  # missing outputs fail
    assert [o.kind for o in outputs] == [o.kind for o in ev.outputs]


@pytest.mark.parametrize("damage", [
    lambda r: r.update(version=0),
    lambda r: r.update(outputs="nope"),
    lambda r: r["outputs"][0].update(npy="not base64!"),
    lambda r: r["outputs"][0].update(shape=[99]),
    lambda r: r["outputs"][0].pop("kind"),
])
def test_damaged_records_are_refused(damage):
    record = records.make_record(TOY.name, 1, 2, [describe(np.arange(3.0))])
    damage(record)
    with pytest.raises(records.RecordError):
        records.read_record(record)


def test_records_never_unpickle():
    import base64
    import io
    import pickle

    payload = base64.b64encode(pickle.dumps([1, 2])).decode()
    record = records.make_record(TOY.name, 1, 2, [describe(np.arange(3.0))])
    record["outputs"][0]["npy"] = payload
    with pytest.raises(records.RecordError):
        records.read_record(record)
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()]), allow_pickle=True)
    record["outputs"][0]["npy"] = base64.b64encode(buffer.getvalue()).decode()
    with pytest.raises(records.RecordError):
        records.read_record(record)


def test_the_registry_finds_lab_checks_by_name():
    assert get_check("check_correlate1d").function == "correlate1d(x, w)"
    with pytest.raises(KeyError, match="no check is named"):
        get_check("check_nothing")
    with pytest.raises(ValueError, match="two checks"):
        register(Check("check_correlate1d", "f", TOY.reference, TOY.draw, (), ArrayResult()))
    with pytest.raises(ValueError, match="starts with 'check_'"):
        register(Check("toy", "f", TOY.reference, TOY.draw, (), ArrayResult()))
    with pytest.raises(ValueError, match="not in autograder.checks.hints"):
        Check("check_x", "f", TOY.reference, TOY.draw, (), ArrayResult(),
              [Diagnoser("no_such_hint", TOY.reference)])


def test_pick_judges_one_part_and_refuses_what_is_not_the_tuple():
    call = pick(1, ("dx", "dw", "db"))
    assert call(lambda a: (a, 2 * a, 3 * a), 1.5) == 3.0
    for returned, problem in [(np.zeros(3), "returned a numpy.ndarray; return the tuple (dx, dw, "
                                            "db)"),
                              ((1, 2), "returned a tuple of 2 items; return the tuple"),
                              ((1, None, 3), "dw is None (in the tuple (dx, dw, db))")]:
        with pytest.raises(ResultError) as caught:
            call(lambda returned=returned: returned)
        out = from_exception(caught.value)
        verdict = ArrayResult().judge(np.zeros(3), out)
        assert verdict.problem.startswith(problem) and "raised" not in verdict.problem


def test_below_result_wants_small_errors():
    result = BelowResult(1e-6, ("dx", "dw", "db"))
    reference = np.array([1e-10, 2e-10, 0.0])
    assert result.judge(reference, describe(np.array([3e-9, 0.0, 1e-7]))).passed
    for got, problem in [(np.array([0.0, 0.5, 0.0]), "the error of dw is 0.5: not below 1e-06"),
                         (np.array([0.0, 0.0, -1.0]), "the error of db is -1: negative"),
                         (np.array([np.nan, 0.0, 0.0]), "the error of dx is nan"),
                         (np.zeros(2), "shape (2,), expected (3,)"),
                         ([0.0, 0.0, 0.0], "returned a list"),
                         (np.zeros(3, dtype=int), "dtype int64, expected a float dtype")]:
        verdict = result.judge(reference, describe(got))
        assert not verdict.passed and verdict.problem.startswith(problem), verdict.problem


def test_a_fallback_hint_explains_what_no_diagnoser_does():
    check = Check(name="check_toy_keeps", function="toy(x)", reference=lambda x: x,
                  draw=lambda rng: Case((rng.normal(size=3),), "x (3,)", 3),
                  fixed=(Case((np.ones(3),), "x (3,)", 3),), result=ArrayResult(),
                  call=lambda fn, x: (fn(x), x)[1], fallback_hint="grad_mutates_x")

    def scales(x):
        x *= 2

    run = check.evaluate(scales, 1)
    assert run.passed == 0 and run.hint == "grad_mutates_x" and run.hint_matches == len(run.cases)
    assert check.evaluate(lambda x: None, 1).hint is None  # right: nothing to explain

    def broken(x):
        raise ValueError("no")

    assert check.evaluate(broken, 1).hint is None  # an exception is not that mistake


# --- A type-only failure says the values were right ---------------------------------------------

@pytest.mark.parametrize(("fn", "problem"), [
    (lambda x: list(2 * x),
     "returned a list; return a numpy.ndarray (np.array(result)); its values are right"),
    (lambda x: tuple(2 * x),
     "returned a tuple; return a numpy.ndarray (np.array(result)); its values are right"),
    (lambda x: (2 * x).astype(np.float32), "dtype float32, expected float64; its values are right"),
    (lambda x: (2 * x).astype(int), "dtype int64, expected float64; its values are right"),
])
def test_a_type_only_failure_says_the_values_are_right(fn, problem):
    ev = TOY.evaluate(fn)
    assert ev.passed == 0 and [v.problem for v in ev.verdicts] == [problem] * len(ev.cases)


@pytest.mark.parametrize("fn", [lambda x: list(2 * x + 1), lambda x: (2 * x + 1).astype(np.float32),
                                lambda x: list(2 * x[:-1])])
def test_wrong_values_of_the_wrong_type_are_not_called_right(fn):
    assert "right" not in TOY.evaluate(fn).verdicts[0].problem


def test_values_right_only_to_a_lower_precision_say_so():
    expected = np.array([0.1, 1 / 3, 2.5])
    verdict = ArrayResult().judge(expected, describe(expected.astype(np.float16)))
    assert verdict.problem == "dtype float16, expected float64; its values are right to float16 " \
                              "precision"
    assert "right" not in ArrayResult().judge(
        expected, describe((expected + 0.01).astype(np.float16))).problem


def test_an_int_check_and_an_error_check_say_so_too():
    assert IntResult().judge(5, describe(5.0)).problem.endswith("; its value is right")
    assert "right" not in IntResult().judge(5, describe(5.5)).problem
    result = BelowResult(1e-6, ("dx", "dw", "db"))
    assert result.judge(np.zeros(3), describe([1e-10, 0.0, 2e-9])).problem == (
        "returned a list; return a numpy.ndarray; its values are right (each below 1e-06)")
    assert "right" not in result.judge(np.zeros(3), describe([1e-10, 0.5, 0.0])).problem


# --- Stand-ins: each graded function judged on its own ------------------------------------------

STUDENT = """
def double(x):                 # the student's own, wrong
    return 3 * x

def helper(x):                 # a helper in another cell, calling it too
    return double(x)

def quadruple(x):
    return double(helper(x))

def quadruple_inline(x):
    return 4 * x

def quadruple_then_fail(x):
    double(x)
    raise ValueError("after the call")

class Quadrupler:
    def __init__(self, x):
        self.value = double(double(x))

kept = []

def quadruple_keeping(x):
    kept.append(double)        # the course's double, kept for later
    return double(double(x))
"""

QUAD = Check(
    name="check_toy_quadruple", function="quadruple(x)", reference=lambda x: 4 * x,
    draw=lambda rng: _double_case(int(rng.integers(1, 30)), rng),
    fixed=(_double_case(3), _double_case(5)), result=ArrayResult(), n_random=6,
    stand_ins={"double": lambda x: 2 * x},
)


def _student(drop: tuple[str, ...] = ()) -> dict:
    namespace = {"np": np}
    exec(STUDENT, namespace)  # noqa: S102 - a student's cells, as a notebook holds them
    for name in drop:
        del namespace[name]
    return namespace


def test_a_stand_in_replaces_the_students_function_for_every_lookup_during_the_call(capsys):
    namespace = _student()
    own = namespace["double"]
    ev = QUAD.evaluate(namespace["quadruple"], seed=3)
    assert not ev.failing and ev.stood_in == ["double"]
    assert namespace["double"] is own  # put back afterwards
    assert dataclasses.replace(QUAD, stand_ins={}).evaluate(namespace["quadruple"], 3).failing
    assert QUAD(namespace["quadruple"], seed=3, points=2) == 2.0
    assert "(Checked with the course's double standing in for yours" in capsys.readouterr().out


def test_a_stand_in_is_put_in_where_the_name_is_missing_and_taken_out_after():
    namespace = _student(drop=("double",))
    assert not QUAD.evaluate(namespace["quadruple"], seed=3).failing
    assert "double" not in namespace


def test_the_students_name_comes_back_when_the_function_raises():
    namespace = _student()
    own = namespace["double"]
    ev = QUAD.evaluate(namespace["quadruple_then_fail"], seed=3)
    assert ev.passed == 0 and "after the call" in ev.verdicts[0].problem
    assert ev.stood_in == ["double"] and namespace["double"] is own


def test_a_class_is_judged_with_the_stand_ins_in_its_methods():
    namespace = _student()
    check = dataclasses.replace(QUAD, call=lambda cls, x: cls(x).value)
    ev = check.evaluate(namespace["Quadrupler"], seed=3)
    assert not ev.failing and ev.stood_in == ["double"]
    assert student_namespace(namespace["Quadrupler"]) is namespace
    assert student_namespace(np.negative) is None and student_namespace(object()) is None


def test_only_the_stand_ins_called_are_named(capsys):
    namespace = _student()
    ev = QUAD.evaluate(namespace["quadruple_inline"], seed=3)
    assert not ev.failing and ev.stood_in == []
    QUAD(namespace["quadruple_inline"], seed=3, points=2)
    assert "standing in" not in capsys.readouterr().out


def test_the_grader_replays_outputs_made_with_the_stand_ins(emitted):
    namespace = _student()
    QUAD(namespace["quadruple"], seed=4, points=2)
    record = records.read_record(json.loads(json.dumps(emitted[0])))
    assert record.detected == [] and QUAD.replay(record.seed, record.outputs) == (
        QUAD.n_random, QUAD.n_random)


def test_a_stand_in_kept_by_the_student_refuses_to_run_later():
    namespace = _student()
    assert not QUAD.evaluate(namespace["quadruple_keeping"], seed=3).failing
    with pytest.raises(RuntimeError, match="stands in for yours only while a check runs"):
        namespace["kept"][0](np.ones(2))


def test_a_hint_counts_every_failing_case_any_of_its_diagnosers_explains():
    # "modeswap" pads reflect as edge and replicate as reflect: two diagnosers of one hint. With
    # pads of width 1, numpy's 'symmetric' equals 'edge', so pad_symmetric explains both reflect
    # cases, as many as either diagnoser of the swap alone; the swap's hint explains all three.
    import dataclasses

    from autograder.checks.lab01 import _case_pad, check_pad2d

    x = np.arange(12.0).reshape(3, 4)
    cases = (_case_pad(x, 1, "reflect"), _case_pad(x, (1, 0), "reflect"),
             _case_pad(x, 1, "replicate"))
    swapped = {"zeros": "constant", "reflect": "edge", "replicate": "reflect"}

    def modeswap(x, p, mode):
        r, c = (p, p) if isinstance(p, int) else p
        return np.pad(x, ((r, r), (c, c)), mode=swapped[mode])

    run = dataclasses.replace(check_pad2d, fixed=cases).evaluate(modeswap)
    assert run.failing == [0, 1, 2]
    assert (run.hint, run.hint_matches) == ("pad_reflect_replicate_swapped", 3)
