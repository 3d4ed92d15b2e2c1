"""What the checks detect while a student's function runs (issue 12, item 3): forbidden calls,
decided from what the function calls at run time; calls hidden from the tracer; objects that fake
an array or equality; replaced NumPy functions, builtins and checks; constant answers. Each
scores the item 0, is named with its evidence in the report and the grading record, and the
grader's rescoring reaches the same 0 and flags it (here on the checks directly, and once through
``python -m autograder grade``; the labs' cheating notebooks are in ``tests/autograder/labs/``).

What calls are not the student's: the check's own (stand-ins, references), NumPy's internal
ones, the course's objects the check hands over, and every lab's solution, given code included.
"""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lab_suite import hidden_calls, solution, written_by_student
from lab_table import LABS, lab
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader_course import lab_course, solved, submit

import convnb
from autograder.checks import MIME, Check, compare, core, lab01, lab02, lab04, lab07, records
from autograder.checks.detect import COURSE_RULES, CallTracer, fake_result
from autograder.course import Course
from autograder.rescore import rescore_notebook

REPO = Path(__file__).resolve().parents[2]
SEED = 7


def _correlate1d(x, w):
    """Right, by hand."""
    return np.array([np.dot(x[i:i + len(w)], w) for i in range(len(x) - len(w) + 1)])


def _evidence(run) -> str:
    return " | ".join(d.evidence for d in run.detected)


# --- Forbidden calls, from what the function calls -----------------------------------------------

def test_a_hand_written_function_that_just_calls_convnb_scores_zero_with_the_flag(capsys):
    def conv_forward_loops(x, w, b, stride=1, pad=0):
        return convnb.conv2d(x, w, b, stride=stride, padding=pad)

    call = hidden_calls(lab("lab02"))["check_conv_forward_loops"]
    run = lab02.check_conv_forward_loops.evaluate(conv_forward_loops, call.seed)
    assert not run.failing  # right answers: only the detection takes the points
    assert lab02.check_conv_forward_loops(conv_forward_loops, seed=call.seed,
                                          points=call.points) == 0
    out = capsys.readouterr().out
    assert "all 12 random cases pass: 0 of 7 points" in out
    assert ("Flagged for the instructor, and scored 0:\n  * conv_forward_loops called "
            "convnb.conv.conv2d (12 times), which the lab's rules forbid") in out


def test_a_forbidden_function_kept_in_a_default_argument_is_still_flagged():
    def conv_forward_loops(x, w, b, stride=1, pad=0, _conv=convnb.conv2d):
        return _conv(x, w, b, stride=stride, padding=pad)

    call = hidden_calls(lab("lab02"))["check_conv_forward_loops"]
    run = lab02.check_conv_forward_loops.evaluate(conv_forward_loops, call.seed)
    assert not run.failing and "convnb.conv.conv2d" in _evidence(run)
    assert lab02.check_conv_forward_loops(conv_forward_loops, seed=call.seed,
                                          points=call.points) == 0


def test_code_compiled_under_a_librarys_file_name_is_still_the_students():
    namespace = {"__name__": "__main__", "convnb": convnb}
    source = ("def conv_forward_loops(x, w, b, stride=1, pad=0):\n"
              "    return convnb.conv2d(x, w, b, stride=stride, padding=pad)\n")
    exec(compile(source, os.__file__, "exec"), namespace)  # noqa: S102 - a student's disguise
    call = hidden_calls(lab("lab02"))["check_conv_forward_loops"]
    run = lab02.check_conv_forward_loops.evaluate(namespace["conv_forward_loops"], call.seed)
    assert "convnb.conv.conv2d" in _evidence(run)


def test_the_visible_test_fails_on_a_forbidden_call_and_says_why():
    with pytest.raises(AssertionError, match=r"correlate1d\(x, w\): a lambda in test_the_"
                                             r".* called numpy.convolve \(3 times\)"):
        lab01.check_correlate1d(lambda x, w: np.convolve(x, w[::-1], "valid"))


@pytest.mark.parametrize(("fn", "called"), [
    # What the function calls, however its text hides it.
    (lambda x, w: getattr(__import__("con" + "vnb"), "correlate" + "2d")(x[None], w[None],
                                                                         "valid")[0],
     "<lambda> called convnb.filters.correlate2d"),
    (lambda x, w: list(map(convnb.correlate2d, [x[None]], [w[None]], ["valid"]))[0][0],
     "<lambda> called convnb.filters.correlate2d"),
    # Through NumPy: a polynomial product is a convolution.
    (lambda x, w: np.polymul(x[::-1], w)[len(w) - 1:len(x)][::-1],
     "<lambda> called numpy.polymul"),
    (lambda x, w: __import__("scipy.signal").signal.correlate(x, w, "valid"),
     "<lambda> called scipy.signal._signaltools.correlate"),
])
def test_forbidden_calls_are_found_at_run_time(fn, called):
    run = lab01.check_correlate1d.evaluate(fn, SEED)
    assert not run.failing and called in _evidence(run)
    assert {d.kind for d in run.detected} == {"forbidden"}


def test_pytorch_is_forbidden_where_it_computes_the_answer():
    torch = pytest.importorskip("torch", reason="PyTorch (the test extra) shows a call it computes")

    def correlate1d(x, w):
        return torch.nn.functional.conv1d(torch.tensor(x)[None, None],
                                          torch.tensor(w)[None, None])[0, 0].numpy()

    run = lab01.check_correlate1d.evaluate(correlate1d, SEED)
    assert "correlate1d called torch.conv1d (12 times)" in _evidence(run)


def test_what_the_rules_allow_is_not_flagged():
    """lab01's rules do not forbid NumPy's window views; lab07's allow sliding_window_view (whose
    own call of as_strided is NumPy's, not the student's) and convnb.get_array_module."""
    run = lab01.check_correlate1d.evaluate(
        lambda x, w: np.lib.stride_tricks.sliding_window_view(x, len(w)) @ w, SEED)
    assert not run.failing and not run.detected
    im2col = solution(lab("lab07"))["im2col"]
    assert not lab07.check_im2col_strided.evaluate(im2col, SEED).detected
    swv = lab02.check_im2col.evaluate(lambda *args: np.lib.stride_tricks.as_strided(
        np.zeros(1), (1,), (8,)), SEED)
    assert " called numpy.lib.stride_tricks.as_strided" in _evidence(swv)


def test_the_checks_own_calls_do_not_count():
    """convolve1d calling correlate1d runs the course's correlate1d (a stand-in, built on
    convnb); numerical_gradient calling f runs the course's function (built on convnb)."""
    def convolve1d(x, w):
        return correlate1d(x, w[::-1])  # noqa: F821 - the stand-in, put in this namespace

    run = lab01.check_convolve1d.evaluate(convolve1d, SEED)
    assert not run.failing and run.stood_in == ["correlate1d"] and not run.detected
    gradient = solution(lab("lab04"))["numerical_gradient"]
    assert not lab04.check_numerical_gradient.evaluate(gradient, SEED).detected


def test_what_the_check_hands_over_may_be_called_but_not_what_it_keeps_inside():
    """f(x) is the function to differentiate; f.grad is the answer the check keeps."""
    run = lab04.check_numerical_gradient.evaluate(lambda f, x, dout: f.grad(x, dout), SEED)
    assert not run.failing
    assert "a lambda in test_what_the_check_hands_over_may_be_called_but_not_what_it_keeps_" \
        "inside called autograder.checks.lab04." in _evidence(run)


@pytest.mark.parametrize(("lab_", "name"), [pytest.param(lab_, name, id=f"{lab_.key}-{name}")
                                            for lab_ in LABS for name in written_by_student(lab_)])
def test_no_solution_is_flagged(lab_, name):
    """Every lab's solution, given code included (lab04's conv_forward takes windows with
    sliding_window_view; lab05's layers derive from the given Layer), on the visible and the
    hidden cases."""
    call = hidden_calls(lab_)[name]
    for seed in (None, call.seed):
        run = lab_.checks[name].evaluate(solution(lab_)[call.argument], seed)
        assert not run.detected, _evidence(run)


# --- Calls hidden from the tracer ---------------------------------------------------------------

def _reference(x, w):
    return convnb.correlate2d(x[None], w[None], "valid")[0]


def test_taking_the_tracer_away_is_flagged():
    def correlate1d(x, w):
        sys.setprofile(None)
        return _reference(x, w)

    run = lab01.check_correlate1d.evaluate(correlate1d, SEED)
    assert "correlate1d called sys.setprofile, which takes the checks' call tracer away" in \
        _evidence(run)
    assert "the function took the checks' call tracer away" in _evidence(run)
    assert sys.getprofile() is None


def test_threads_of_threading_are_traced_and_others_flagged():
    def threaded(x, w):
        out = []
        thread = threading.Thread(target=lambda: out.append(_reference(x, w)))
        thread.start()
        thread.join()
        return out[0]

    run = lab01.check_correlate1d.evaluate(threaded, SEED)
    assert "called convnb.filters.correlate2d" in _evidence(run)
    assert "start_new_thread" not in _evidence(run)

    def raw(x, w):
        import _thread
        done = threading.Event()
        out = []
        _thread.start_new_thread(lambda: (out.append(_reference(x, w)), done.set()), ())
        done.wait()
        return out[0]

    assert ("raw called _thread.start_new_thread, which starts a thread the call tracer does "
            "not follow") in _evidence(lab01.check_correlate1d.evaluate(raw, SEED))


def test_another_process_is_flagged():
    def correlate1d(x, w):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        return _correlate1d(x, w)

    run = lab01.check_correlate1d.evaluate(correlate1d, SEED)
    assert "correlate1d called _posixsubprocess.fork_exec, which starts another process" in \
        _evidence(run)


# --- Objects that fake an array or equality -----------------------------------------------------

class Equal:
    """Equal to anything; an array of the reference when NumPy asks."""

    def __init__(self, values):
        self.values = values

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return self.values


class Ufunc:
    def __init__(self, values):
        self.values = values

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True


class PosingAsArray:
    """isinstance(obj, np.ndarray) is True: __class__ lies."""

    def __init__(self, values):
        self.values = values

    @property
    def __class__(self):
        return np.ndarray


class Subclass(np.ndarray):
    pass


class Int:
    def __int__(self):
        return 3

    def __index__(self):
        return 3

    def __eq__(self, other):
        return True


@pytest.mark.parametrize(("make", "what"), [
    (Equal, "defines __array__, __eq__"),
    (Ufunc, "defines __array_ufunc__"),
    (PosingAsArray, "defines __class__"),
    (lambda values: values.view(Subclass), "subclasses numpy.ndarray"),
])
def test_fake_arrays_are_refused_by_the_comparison_and_flagged(make, what):
    run = lab01.check_correlate1d.evaluate(lambda x, w: make(_correlate1d(x, w)), SEED)
    assert run.passed == 0, "the strict comparison lets it pass"
    assert [d.kind for d in run.detected] == ["fake"]
    assert f"of a class of the student's own that {what}" in _evidence(run)


def test_a_fake_int_is_refused_and_flagged():
    run = lab01.check_output_size.evaluate(lambda i, k, s, p: Int(), SEED)
    assert run.passed == 0 and "defines __eq__, __int__, __index__" in _evidence(run)


def test_numpys_own_subclasses_are_refused_without_a_flag():
    run = lab01.check_correlate1d.evaluate(lambda x, w: np.matrix(_correlate1d(x, w)), SEED)
    assert run.passed == 0 and not run.detected
    assert fake_result("f", np.float64(1.0)) is None and fake_result("f", [1.0]) is None


# --- Replaced functions -------------------------------------------------------------------------

def _right_size(i, k, s, p):
    return (i + 2 * p - k) // s + 1


@pytest.mark.parametrize(("owner", "name", "label"), [
    (np, "isclose", "numpy.isclose"),
    (np, "array", "numpy.array"),
    (builtins, "isinstance", "builtins.isinstance"),
    (sys, "setprofile", "sys.setprofile"),
    (records, "emit", "autograder.checks.records.emit"),
    (compare, "describe", "autograder.checks.compare.describe"),
    (core, "describe", "autograder.checks.core.describe"),
    (Check, "judge", "autograder.checks.core.Check.judge"),
    (compare.IntResult, "judge", "autograder.checks.compare.IntResult.judge"),
])
def test_a_replaced_function_is_named_and_scores_zero(monkeypatch, owner, name, label):
    original = getattr(owner, name)

    def impostor(*args, **kwargs):
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, impostor)
    run = lab01.check_output_size.evaluate(_right_size, SEED)
    assert f"{label} was replaced by {__name__}." in _evidence(run)
    # an impostor called inside the traced call (core.describe) and calling the checks' own
    # function from there is also a forbidden call; every other one is named as replaced only
    assert "patched" in {d.kind for d in run.detected} <= {"patched", "forbidden"}
    monkeypatch.undo()
    assert not lab01.check_output_size.evaluate(_right_size, SEED).detected


def test_a_replaced_code_object_and_a_check_changed_in_place_are_named(monkeypatch):
    monkeypatch.setattr(compare.values_note, "__code__",
                        (lambda expected, got, rtol, atol: "").__code__)
    assert "autograder.checks.compare.values_note had its code replaced" in _evidence(
        lab01.check_pad2d.evaluate(lambda *args: None, SEED))
    monkeypatch.undo()
    monkeypatch.setitem(vars(lab01.check_output_size), "reference", lambda *args: 0)
    assert "check_output_size.reference was replaced" in _evidence(
        lab01.check_output_size.evaluate(_right_size, SEED))


def test_a_patch_made_by_the_function_itself_is_named():
    def output_size(i, k, s, p):
        np.isclose = lambda *args, **kwargs: True
        return _right_size(i, k, s, p)

    original = np.isclose
    try:
        run = lab01.check_output_size.evaluate(output_size, SEED)
    finally:
        np.isclose = original
    assert "numpy.isclose was replaced by" in _evidence(run)


def test_a_patch_made_before_the_checks_were_imported_is_named():
    code = ("import numpy as np\nnp.isclose = lambda *a, **k: True\n"
            "from autograder.checks import lab01\n"
            "run = lab01.check_output_size.evaluate(lambda i, k, s, p: (i + 2*p - k)//s + 1, 3)\n"
            "print([d.evidence for d in run.detected])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "numpy.isclose was replaced by __main__.<lambda> before the checks were imported" in out


# --- Constant answers -----------------------------------------------------------------------------

def test_the_same_output_for_every_random_case_is_flagged():
    run = lab01.check_output_size.evaluate(lambda i, k, s, p: 3, SEED)
    assert 0 < run.passed < len(run.cases)  # a few cases happen to be 3
    assert [d.kind for d in run.detected] == ["constant"]
    assert "returned the same value in all 16 random cases (3), whose right answers differ" in \
        _evidence(run)
    assert not lab01.check_output_size.evaluate(lambda i, k, s, p: 3, None).detected  # fixed
    assert not lab01.check_output_size.evaluate(lambda *args: 1 / 0, SEED).detected  # errors


# --- The record, and the grader's rescoring ------------------------------------------------------

def _convolving(x, w):
    return np.convolve(x, w[::-1], "valid")


def _rescored(tmp_path: Path, record: dict, claimed: float):
    meta = {"nbgrader": {"grade": True, "grade_id": "hidden", "locked": True, "points": 3,
                         "schema_version": 3, "solution": False, "task": False}}
    source = new_code_cell("### BEGIN HIDDEN TESTS\ncheck_correlate1d(correlate1d, seed=7, "
                           "points=3)\n### END HIDDEN TESTS", metadata=meta)
    graded = nbformat.from_dict(json.loads(json.dumps(source)))
    graded.outputs = [new_output("display_data", data={MIME: record, "text/plain": "[r]"}),
                      new_output("execute_result", data={"text/plain": repr(claimed)},
                                 execution_count=1)]
    for name, cell in (("source", source), ("graded", graded)):
        nbformat.write(new_notebook(cells=[cell]), tmp_path / f"{name}.ipynb")
    return rescore_notebook(tmp_path / "source.ipynb", tmp_path / "graded.ipynb")["hidden"]


def test_the_grader_reaches_the_same_zero_from_the_record(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data[MIME]))
    assert lab01.check_correlate1d(_convolving, seed=7, points=3) == 0
    record = json.loads(json.dumps(shown[0]))
    assert [d["kind"] for d in record["detected"]] == ["forbidden"]
    r = _rescored(tmp_path, record, 0.0)
    assert (r.points, r.kernel_points) == (0.0, 0.0)
    assert r.note == ("scored 0, flagged by the check: _convolving called numpy.convolve (12 "
                      "times), which the lab's rules forbid")
    # The same outputs with the detection taken out of the record: judged on the outputs, and
    # the cell's score (the check's 0) disagrees, so the instructor still sees it.
    r = _rescored(tmp_path, record | {"detected": []}, 0.0)
    assert r.points == 3 and "the cell claimed 0 points but the grader gives 3" in r.note
    # A record without the list of detections is not one this checks wrote.
    r = _rescored(tmp_path, {k: v for k, v in record.items() if k != "detected"}, 3.0)
    assert r.points == 0 and "no list of detections" in r.note


def test_the_tracer_restores_the_profile_function_it_found():
    def previous(frame, event, arg):
        return None

    sys.setprofile(previous)
    try:
        with CallTracer(COURSE_RULES):
            np.sum(np.ones(2))
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)


# --- Through the pipeline: grade's report, the gradebook, the student's feedback -----------------

LAB01 = "lab01_correlation"
CHEAT = ("import convnb\n\ndef correlate2d(x, w, stride=1):\n"
         "    return convnb.correlate2d(x, w, 'valid')[::stride, ::stride]")
FLAG = ("lab01_correlation/hidden_correlate2d: scored 0, flagged by the check: correlate2d "
        "called convnb.filters.correlate2d (12 times), which the lab's rules forbid")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """lab01 graded by ``python -m autograder grade`` (sandboxed kernels): the solution, and a
    student whose correlate2d calls convnb."""
    labs = lab_course(tmp_path_factory.mktemp("detect"), LAB01)
    for student, edits in {"solution": {}, "cheater": {"correlate2d": CHEAT}}.items():
        submit(labs, LAB01, student, solved(labs, LAB01, edits))
    tmp = labs.parent / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs), "grade",
                           LAB01, "--jobs", "2", "--no-progress"], cwd=REPO,
                          env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return labs


def test_grade_flags_the_detection_for_the_instructor(graded):
    status = json.loads((graded / "reports" / f"{LAB01}_status.json").read_text())
    assert status["cheater"]["flags"] == [FLAG]
    assert status["solution"]["flags"] == []
    report = (graded / "reports" / f"{LAB01}.md").read_text()
    assert f"* cheater: {FLAG}" in report.split("## Flagged for review")[1]
    with Course.open(graded, "test").gradebook() as gb:
        grade = gb.find_grade("hidden_correlate2d", LAB01, LAB01, "cheater")
        assert grade.auto_score == 0 and grade.needs_manual_grade  # formgrader lists it
        assert gb.find_submission(LAB01, "cheater").score == 20 - 4
        assert gb.find_submission(LAB01, "solution").score == 20


def test_the_students_feedback_says_what_was_detected(graded):
    page = (graded / "feedback" / "cheater" / LAB01 / f"{LAB01}.html").read_text()
    assert "Flagged for the instructor, and scored 0:" in page
    assert "correlate2d called convnb.filters.correlate2d" in page
