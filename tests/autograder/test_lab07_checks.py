"""lab07's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
of im2col and of the FFT lose points and get their hint, and the GPU cell runs on a stand-in for
CuPy (and skips without one)."""

from __future__ import annotations

import contextlib
import io
import sys
import types

import numpy as np
import pytest
from device_double import DeviceArray, xp
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook

from autograder.checks import lab07

NB = lab_notebook("lab07_fast_conv")
CELLS = {c.id: c for c in NB.cells}
SOLUTIONS = [c.id for c in NB.cells if c.metadata.get("nbgrader", {}).get("solution")]
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab07, name) for name in lab07.__all__}
STUDENT = {"check_im2col_strided": "im2col", "check_conv2d_im2col": "conv2d_im2col",
           "check_correlate1d_fft": "correlate1d_fft", "check_conv2d_fft": "conv2d_fft"}


def _code(cell_id: str, edits: tuple[tuple[str, str], ...] = ()) -> str:
    code = "\n".join(line for line in CELLS[cell_id].source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    for old, new in edits:
        assert code.count(old) == 1, (cell_id, old)
        code = code.replace(old, new)
    return code


def _namespace(edits: dict[str, tuple[tuple[str, str], ...]] | None = None) -> dict:
    namespace: dict = {}
    for cell_id in ("setup", "given", *SOLUTIONS):
        exec(_code(cell_id, (edits or {}).get(cell_id, ())), namespace)  # noqa: S102
    return namespace


SOL = _namespace()


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 15
    assert "**Total: 15 points.**" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    for seed in (None, HIDDEN[name].seed, 0, 1, 2, 3, 4, 5):
        ev = CHECKS[name].evaluate(SOL[STUDENT[name]], seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


def test_the_given_loops_are_the_reference():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2))
    np.testing.assert_allclose(SOL["conv2d_loops"](x, w), lab07.conv2d(x, w), atol=1e-12)


def test_the_hidden_fft_cases_have_odd_and_even_lengths():
    lengths = {len(case.args[0]) % 2 for case in lab07.check_correlate1d_fft.cases(1703)}
    widths = {case.args[0].shape[3] % 2 for case in lab07.check_conv2d_fft.cases(1704)}
    assert lengths == widths == {0, 1}


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    call = HIDDEN[name]
    assert CHECKS[name](unwritten, seed=call.seed, points=call.points) == 0
    assert "not written yet" in capsys.readouterr().out


IM2COL = "return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, -1)"
GEMM = "out = w.reshape(F, -1) @ im2col(x, KH, KW)"
BACK = "return out.reshape(F, N, H - KH + 1, W - KW + 1).transpose(1, 0, 2, 3)"
SPECTRUM = "spectrum = xp.fft.rfft(x, L) * xp.conj(xp.fft.rfft(w, L))"
INVERSE = "return xp.fft.irfft(spectrum, L)[:L - K + 1]"
KERNELS = "K = xp.conj(xp.fft.rfft2(w, s=(H, W)))"
CROP = "return out[:, :, :H - KH + 1, :W - KW + 1]"

MISTAKES = {
    "im2col transposed": ("check_im2col_strided", {"im2col": (
        (IM2COL, IM2COL + ".T"),)}, "im2col_transposed"),
    "im2col lists patches (u, v, c)": ("check_im2col_strided", {"im2col": (
        (IM2COL, IM2COL.replace("1, 4, 5, 0", "4, 5, 1, 0")),)}, "im2col_patch_order"),
    "im2col lists columns (i, j, n)": ("check_im2col_strided", {"im2col": (
        (IM2COL, IM2COL.replace("0, 2, 3)", "2, 3, 0)")),)}, "im2col_column_order"),
    "im2col reshapes the view as it is": ("check_im2col_strided", {"im2col": (
        (IM2COL, "return windows.reshape(C * KH * KW, -1)"),)},
        "im2col_reshape_without_transpose"),
    "conv2d_im2col reshapes straight": ("check_conv2d_im2col", {"conv2d_im2col": (
        (BACK, "return out.reshape(N, F, H - KH + 1, W - KW + 1)"),)}, "conv_output_reshape"),
    "conv2d_im2col lists kernels (u, v, c)": ("check_conv2d_im2col", {"conv2d_im2col": (
        (GEMM, "out = w.transpose(0, 2, 3, 1).reshape(F, -1) @ im2col(x, KH, KW)"),)},
        "im2col_patch_order"),
    "conv2d_im2col on patches (u, v, c)": ("check_conv2d_im2col", {"im2col": (
        (IM2COL, IM2COL.replace("1, 4, 5, 0", "4, 5, 1, 0")),)}, "im2col_patch_order"),
    "correlate1d_fft without the conjugate": ("check_correlate1d_fft", {"correlate1d_fft": (
        (SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w, L)"),)}, "fft_convolution"),
    "correlate1d_fft flips and keeps the start": ("check_correlate1d_fft", {"correlate1d_fft": (
        (SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w[::-1], L)"),)},
        "fft_wrong_crop"),
    "correlate1d_fft keeps the end": ("check_correlate1d_fft", {"correlate1d_fft": (
        (INVERSE, "return xp.fft.irfft(spectrum, L)[K - 1:]"),)}, "fft_wrong_crop"),
    "correlate1d_fft transforms at the output length": ("check_correlate1d_fft", {
        "correlate1d_fft": ((SPECTRUM, SPECTRUM.replace("L)", "L - K + 1)")),
                            (INVERSE, INVERSE.replace(", L)", ", L - K + 1)")))},
        "fft_size_too_small"),
    "correlate1d_fft inverts without n": ("check_correlate1d_fft", {"correlate1d_fft": (
        (INVERSE, "return xp.fft.irfft(spectrum)[:L - K + 1]"),)}, "fft_irfft_length"),
    "conv2d_fft without the conjugate": ("check_conv2d_fft", {"conv2d_fft": (
        (KERNELS, "K = xp.fft.rfft2(w, s=(H, W))"),)}, "fft_convolution"),
    "conv2d_fft transforms at the output size": ("check_conv2d_fft", {"conv2d_fft": (
        ("X = xp.fft.rfft2(x, s=(H, W))", "X = xp.fft.rfft2(x, s=(H - KH + 1, W - KW + 1))"),
        (KERNELS, "K = xp.conj(xp.fft.rfft2(w, s=(H - KH + 1, W - KW + 1)))"),
        ("s=(H, W))\n", "s=(H - KH + 1, W - KW + 1))\n"))}, "fft_size_too_small"),
    "conv2d_fft keeps the bottom-right corner": ("check_conv2d_fft", {"conv2d_fft": (
        (CROP, "return out[:, :, KH - 1:, KW - 1:]"),)}, "fft_wrong_crop"),
    "conv2d_fft inverts without s": ("check_conv2d_fft", {"conv2d_fft": (
        ('X, K), s=(H, W))', 'X, K))'),)}, "fft_irfft_length"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, edits, hint = MISTAKES[mistake]
    fn = _namespace(edits)[STUDENT[name]]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, edits, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(_namespace(edits)[STUDENT[name]], None).failing


def test_a_complex_result_is_refused_by_its_dtype():
    fn = _namespace({"correlate1d_fft": (
        (SPECTRUM, "spectrum = xp.fft.fft(x, L) * xp.conj(xp.fft.fft(w, L))"),
        (INVERSE, "return xp.fft.ifft(spectrum, L)[:L - K + 1]"))})["correlate1d_fft"]
    ev = lab07.check_correlate1d_fft.evaluate(fn, 1703)
    assert ev.passed == 0
    assert ev.verdicts[0].problem == "dtype complex128, expected float64"


def _fake_cupy() -> types.ModuleType:
    """CuPy's few names the GPU cell uses, on the device-array double."""
    cupy = types.ModuleType("cupy")
    cupy.asarray = xp.asarray
    device = types.SimpleNamespace(synchronize=lambda: None)
    cupy.cuda = types.SimpleNamespace(Device=lambda: device)
    return cupy


def _run_gpu_cell(namespace: dict, gpu: bool, monkeypatch) -> str:
    namespace["gpu_available"] = lambda: gpu
    if gpu:
        monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    rng = np.random.default_rng(0)
    namespace["layers"] = {"small": (rng.normal(size=(2, 2, 9, 8)),
                                     rng.normal(size=(3, 2, 3, 3)))}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(CELLS["gpu"].source, namespace)  # noqa: S102
    return out.getvalue()


def test_the_gpu_cell_skips_without_a_gpu(monkeypatch):
    assert "the GPU timings are skipped" in _run_gpu_cell(_namespace(), False, monkeypatch)


def test_the_gpu_cell_times_device_arrays_and_explains_host_only_code(monkeypatch):
    printed = _run_gpu_cell(_namespace(), True, monkeypatch)
    for label in ("im2col + matmul", "FFT", "convnb.conv2d"):
        assert [line for line in printed.splitlines() if label in line and "ms" in line], printed
    host_only = _namespace({"conv2d_fft": (("xp = get_array_module(x)", "xp = np"),)})
    printed = _run_gpu_cell(host_only, True, monkeypatch)
    assert "FFT              could not run on the GPU" in printed, printed
    assert isinstance(SOL["conv2d_fft"](DeviceArray(np.ones((1, 1, 3, 3))),
                                        DeviceArray(np.ones((1, 1, 2, 2)))), DeviceArray)
