"""lab07_fast_conv's own tests, beside the shared suite: the given loops are the checks'
reference, the FFT's hidden cases have odd and even lengths, a complex result is refused, the
GPU cell runs on a stand-in for CuPy (and skips without one), and the graded notebooks say why."""

from __future__ import annotations

import contextlib
import io
import sys
import types

import numpy as np
import pytest
from device_double import DeviceArray, xp
from lab_cases import assert_judged_on_its_own
from lab_cases.lab07 import BUILDS_ON
from lab_suite import grade_id, graded_course, hidden_calls, notebook, solution
from lab_table import lab

from autograder.checks import lab07
from convnb.backend import gpu_available

LAB = lab("lab07")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(LAB, tmp_path_factory)


def test_the_given_loops_are_the_checks_reference():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2))
    loops = solution(LAB)["conv2d_loops"](x, w)
    for check in (lab07.check_conv2d_im2col, lab07.check_conv2d_fft):
        np.testing.assert_allclose(loops, check.reference(x, w), atol=1e-12)


def test_the_hidden_fft_cases_have_odd_and_even_lengths():
    calls = hidden_calls(LAB)
    lengths = {len(case.args[0]) % 2 for case in
               lab07.check_correlate1d_fft.cases(calls["check_correlate1d_fft"].seed)}
    widths = {case.args[0].shape[3] % 2 for case in
              lab07.check_conv2d_fft.cases(calls["check_conv2d_fft"].seed)}
    assert lengths == widths == {0, 1}


def test_a_complex_result_is_refused_by_its_dtype():
    fn = solution(LAB, {"correlate1d_fft": [
        ("spectrum = xp.fft.rfft(x, L) * xp.conj(xp.fft.rfft(w, L))",
         "spectrum = xp.fft.fft(x, L) * xp.conj(xp.fft.fft(w, L))"),
        ("return xp.fft.irfft(spectrum, L)[:L - K + 1]",
         "return xp.fft.ifft(spectrum, L)[:L - K + 1]")]})["correlate1d_fft"]
    ev = lab07.check_correlate1d_fft.evaluate(fn, hidden_calls(LAB)["check_correlate1d_fft"].seed)
    assert ev.passed == 0
    assert ev.verdicts[0].problem == "dtype complex128, expected float64"


# --- The GPU cell, on the device-array double -------------------------------------------------

def _fake_cupy() -> types.ModuleType:
    """CuPy's few names the GPU cell uses, on the device-array double."""
    cupy = types.ModuleType("cupy")
    cupy.asarray = xp.asarray
    device = types.SimpleNamespace(synchronize=lambda: None)
    cupy.cuda = types.SimpleNamespace(Device=lambda: device)
    return cupy


def _run_gpu_cell(solved: dict, gpu: bool, monkeypatch) -> str:
    """What the notebook's ``gpu`` cell prints after the solution ``solved`` (not changed)."""
    namespace = dict(solved, gpu_available=lambda: gpu)
    if gpu:
        monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    rng = np.random.default_rng(0)
    namespace["layers"] = {"small": (rng.normal(size=(2, 2, 9, 8)),
                                     rng.normal(size=(3, 2, 3, 3)))}
    cell = next(c for c in notebook(LAB).cells if grade_id(c) == "gpu")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(cell.source, namespace)  # noqa: S102 - the instructor's own notebook
    return out.getvalue()


def test_the_gpu_cell_skips_without_a_gpu(monkeypatch):
    assert "the GPU timings are skipped" in _run_gpu_cell(solution(LAB), False, monkeypatch)


def test_the_gpu_cell_times_device_arrays_and_explains_host_only_code(monkeypatch):
    printed = _run_gpu_cell(solution(LAB), True, monkeypatch)
    for label in ("im2col + matmul", "FFT", "convnb.conv2d"):
        assert [line for line in printed.splitlines() if label in line and "ms" in line], printed
    host_only = solution(LAB, {"conv2d_fft": [("xp = get_array_module(x)", "xp = np")]})
    printed = _run_gpu_cell(host_only, True, monkeypatch)
    assert "FFT              could not run on the GPU" in printed, printed
    assert isinstance(solution(LAB)["conv2d_fft"](DeviceArray(np.ones((1, 1, 3, 3))),
                                                  DeviceArray(np.ones((1, 1, 2, 2)))), DeviceArray)


# --- The graded notebooks ---------------------------------------------------------------------

def test_the_graded_solution_runs_the_gpu_cell(course):
    printed = "".join(o.get("text", "") for o in course.cell("solution", "gpu").outputs)
    if gpu_available():
        assert "on the GPU:" in printed and "could not run" not in printed, printed
    else:
        assert "GPU timings are skipped" in printed, printed


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])
