"""convnb.conv_algos.measured: ``algo="auto"`` by timing, as cuDNN's benchmark mode. Which
algorithm it takes is checked by slowing all but one of them down (a sleep in every call); what
the convolutions then compute, against the loops."""

from __future__ import annotations

import contextlib
import functools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import PADDING_MODES, conv2d_cases, transposed_cases

import convnb
from convnb.conv import conv_geometry
from convnb.conv_algos import ALGORITHMS, choose, measured, set_benchmark

PASSES = ("forward", "input_grad", "weight_grad")


@contextlib.contextmanager
def benchmark_mode():
    measured.fastest.cache_clear()
    set_benchmark(True)
    try:
        yield
    finally:
        set_benchmark(False)
        measured.fastest.cache_clear()


def slow_all_but(monkeypatch, keep: str, seconds: float = 0.02) -> None:
    """Every algorithm's passes but ``keep``'s sleep ``seconds`` first."""
    def sleepy(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            time.sleep(seconds)
            return fn(*args, **kwargs)
        return call

    for name, module in ALGORITHMS.items():
        if name != keep:
            for pass_ in PASSES:
                monkeypatch.setattr(module, pass_, sleepy(getattr(module, pass_)))


def geometry(x, w, padding=1, stride=1):
    return conv_geometry("conv2d", x, w, None, stride, padding, 1, 1, "zeros")


@pytest.mark.parametrize("keep", ["fft", "direct", "im2col"])
def test_benchmark_mode_takes_the_algorithm_that_is_fastest_here(monkeypatch, keep):
    """Normally the FFT is the slowest on a 3 x 3 layer; made the fastest, it is the one taken,
    for the forward pass and for the gradients, and conv2d's results are still right."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 8, 8)), rng.standard_normal((5, 4, 3, 3))
    dout = rng.standard_normal((2, 5, 8, 8))
    slow_all_but(monkeypatch, keep)
    g = geometry(x, w)
    with benchmark_mode():
        assert choose.choose_algo(g, x.dtype, "numpy") == keep
        assert choose.choose_algo(g, x.dtype, "numpy", backward=True) == keep
        np.testing.assert_allclose(convnb.conv2d(x, w, padding=1),
                                   convnb.conv2d_naive(x, w, padding=1), rtol=1e-9, atol=1e-9)
        for mine, loops in zip(convnb.conv2d_backward(dout, x, w, padding=1),
                               convnb.conv2d_backward_naive(dout, x, w, padding=1), strict=True):
            np.testing.assert_allclose(mine, loops, rtol=1e-9, atol=1e-9)
    # switched off, "auto" is the rule again
    assert choose.choose_algo(g, x.dtype, "numpy") == choose.rule(g, threads=choose.blas_threads())


@settings(max_examples=25, deadline=None)
@given(case=conv2d_cases(padding_modes=PADDING_MODES))
def test_benchmark_mode_computes_what_the_loops_do(case):
    x, w, b, kw = (case[k] for k in ("x", "w", "b", "kwargs"))
    dout = np.random.default_rng(2).standard_normal(convnb.conv2d_naive(x, w, b, **kw).shape)
    with benchmark_mode():
        out = convnb.conv2d(x, w, b, **kw)
        grads = convnb.conv2d_backward(dout, x, w, **kw)
        weight_grads = convnb.conv.conv2d_weight_backward(dout, x, w, **kw)
    loops = convnb.conv2d_backward_naive(dout, x, w, **kw)
    np.testing.assert_allclose(out, convnb.conv2d_naive(x, w, b, **kw), rtol=1e-9, atol=1e-9)
    for mine, theirs in zip((*grads, *weight_grads), (*loops, *loops[1:]), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(case=transposed_cases())
def test_benchmark_mode_computes_transposed_convolutions_as_the_loops_do(case):
    x, w, b, dout, kw = (case[k] for k in ("x", "w", "b", "dout", "kwargs"))
    with benchmark_mode():
        out = convnb.conv_transpose2d(x, w, b, **kw)
        grads = convnb.conv_transpose2d_backward(dout, x, w, **kw)
    np.testing.assert_allclose(out, convnb.conv_transpose2d_naive(x, w, b, **kw), rtol=1e-9,
                               atol=1e-9)
    for mine, loops in zip(grads, convnb.conv_transpose2d_backward_naive(dout, x, w, **kw),
                           strict=True):
        np.testing.assert_allclose(mine, loops, rtol=1e-9, atol=1e-9)


def test_each_caller_has_the_passes_it_runs_timed(monkeypatch):
    """conv2d times the forward pass, its backward both gradients (or dw alone), the transposed
    convolution the convolution's input_grad, and its backward the forward pass and, apart,
    weight_grad (each chosen on its own: for the same geometry, conv2d's timings serve)."""
    timed = []
    real = measured.measure
    monkeypatch.setattr(measured, "measure",
                        lambda g, dtype, passes: timed.append(passes) or real(g, dtype, passes))
    x, w = np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3))
    dout = np.ones((1, 3, 6, 6))
    with benchmark_mode():
        convnb.conv2d(x, w, padding=1)
        convnb.conv2d_backward(dout, x, w, padding=1)
        convnb.conv.conv2d_weight_backward(dout, x, w, padding=1)
        convnb.conv_transpose2d(dout, w, padding=1)
        convnb.conv_transpose2d_backward(x, dout, w, padding=1)  # both timed above
        convnb.conv_transpose2d_backward(np.ones((1, 2, 7, 7)), np.ones((1, 3, 7, 7)), w,
                                         padding=1)
    assert timed == [("forward",), ("weight_grad", "input_grad"), ("weight_grad",),
                     ("input_grad",), ("forward",), ("weight_grad",)]


def test_each_shape_dtype_direction_and_thread_count_is_timed_once(monkeypatch):
    calls = []
    real = measured.measure
    monkeypatch.setattr(measured, "measure", lambda *a, **k: calls.append(a) or real(*a, **k))
    x, w = np.ones((1, 2, 6, 6), np.float32), np.ones((3, 2, 3, 3), np.float32)
    with benchmark_mode():
        convnb.conv2d(x, w, padding=1)
        convnb.conv2d(x + 1, w, padding=1)  # the same shapes: no new timing
        assert len(calls) == 1
        convnb.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
        convnb.conv2d_backward(np.ones((1, 3, 6, 6), np.float32), x, w, padding=1)
        convnb.conv2d(np.ones((1, 2, 7, 7), np.float32), w, padding=1)
        assert len(calls) == 4
        threads = choose.blas_threads()
        monkeypatch.setattr(choose, "blas_threads", lambda: threads + 1)
        convnb.conv2d(x, w, padding=1)  # the same shapes on another number of threads
        assert len(calls) == 5
        assert measured.fastest.cache_info().currsize == 5
        # a dtype given as a type or a name is the same key
        g = geometry(x, w)
        assert choose.choose_algo(g, np.float32, "numpy") == choose.choose_algo(
            g, "float32", "numpy")
        assert len(calls) == 5


def test_measure_times_every_candidate():
    x, w = np.ones((2, 3, 9, 9)), np.ones((4, 3, 3, 3))
    assert measured.candidates(geometry(x, w)) == ("direct", "im2col", "fft", "flat", "winograd")
    assert measured.candidates(geometry(x, w), np.float16) == ("direct", "im2col", "fft", "flat")
    assert measured.candidates(geometry(x, w, stride=2)) == ("direct", "im2col", "fft")
    assert measured.candidates(geometry(x, np.ones((4, 3, 5, 5)))) == (
        "direct", "im2col", "fft", "flat")
    # flat's own code for a strided layer is its dx over the stride's phases: 4 x 4 at stride 2,
    # with 8 channels and filters
    x8, w8 = np.ones((2, 8, 8, 8)), np.ones((8, 8, 4, 4))
    strided = geometry(x8, w8, stride=2, padding=1)
    assert measured.candidates(strided) == ("direct", "im2col", "fft")
    assert measured.candidates(strided, np.float32, ("input_grad",)) == (
        "direct", "im2col", "fft", "flat")
    assert set(measured.measure(strided, np.float32, ("weight_grad", "input_grad"))) == {
        "direct", "im2col", "fft", "flat"}
    for passes in (("forward",), ("weight_grad", "input_grad"), ("input_grad",)):
        seconds = measured.measure(geometry(x, w), np.float32, passes)
        assert set(seconds) == set(measured.candidates(geometry(x, w)))
        assert all(0 < s < 1 for s in seconds.values())


def test_an_algorithm_out_of_memory_is_left_out(monkeypatch):
    def no_memory(*args):
        raise MemoryError("Unable to allocate 64 GiB")

    monkeypatch.setattr(ALGORITHMS["fft"], "forward", no_memory)
    x, w = np.ones((2, 3, 9, 9)), np.ones((4, 3, 3, 3))
    seconds = measured.measure(geometry(x, w), np.float64)
    assert "fft" not in seconds and set(seconds) == {"direct", "im2col", "flat", "winograd"}


def test_arrays_on_a_gpu_keep_the_gpu_rule():
    x, w = np.ones((2, 3, 9, 9)), np.ones((4, 3, 3, 3))
    g = geometry(x, w)
    with benchmark_mode():
        assert choose.choose_algo(g, np.float32, "cupy") == choose.gpu_rule(g)
        assert measured.fastest.cache_info().currsize == 0


def test_benchmark_mode_is_off_by_default_and_takes_a_bool():
    assert measured.benchmark_enabled() is False
    with pytest.raises(TypeError, match=r"^set_benchmark: enabled must be True or False, "
                                        r"got 'yes'$"):
        set_benchmark("yes")
    assert measured.benchmark_enabled() is False
