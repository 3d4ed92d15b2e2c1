"""lab07_fast_conv's wrong solutions for the lab test suite (``tests/lab_table.py``): classic
mistakes of im2col and of the FFT against each check, and wrong students for nbgrader, each made
by editing the notebook's solution as a student would."""

from __future__ import annotations

from lab_suite import edited_solution

LAB = "lab07_fast_conv"


def _wrong(name: str, **edits: list[tuple[str, str]]):
    """The solution's ``name`` with ``edits``: {solution cell: [(solution text, the student's
    text), ...]}."""
    return edited_solution(LAB, name, edits)


IM2COL = "return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, -1)"
PATCHES_UVC = IM2COL.replace("1, 4, 5, 0", "4, 5, 1, 0")
GEMM = "out = w.reshape(F, -1) @ im2col(x, KH, KW)"
BACK = "return out.reshape(F, N, H - KH + 1, W - KW + 1).transpose(1, 0, 2, 3)"
STRAIGHT = "return out.reshape(N, F, H - KH + 1, W - KW + 1)"
SPECTRUM = "spectrum = xp.fft.rfft(x, L) * xp.conj(xp.fft.rfft(w, L))"
INVERSE = "return xp.fft.irfft(spectrum, L)[:L - K + 1]"
KERNELS = "K = xp.conj(xp.fft.rfft2(w, s=(H, W)))"
CROP = "return out[:, :, :H - KH + 1, :W - KW + 1]"
# The patches made in conv2d_im2col itself, not by im2col (whose course version stands in).
OWN_PATCHES_UVC = (
    "cols = np.array([x[n, c, i + u, j + v] for u in range(KH) for v in range(KW)\n"
    "                     for c in range(C) for n in range(N) for i in range(H - KH + 1)\n"
    "                     for j in range(W - KW + 1)]).reshape(KH * KW * C, -1)\n"
    "    out = w.reshape(F, -1) @ cols")

MISTAKES = {
    "im2col transposed": ("check_im2col_strided", _wrong(
        "im2col", im2col=[(IM2COL, IM2COL + ".T")]), "im2col_transposed"),
    "im2col lists patches (u, v, c)": ("check_im2col_strided", _wrong(
        "im2col", im2col=[(IM2COL, PATCHES_UVC)]), "im2col_patch_order"),
    "im2col lists columns (i, j, n)": ("check_im2col_strided", _wrong(
        "im2col", im2col=[(IM2COL, IM2COL.replace("0, 2, 3)", "2, 3, 0)"))]),
        "im2col_column_order"),
    "im2col reshapes the view as it is": ("check_im2col_strided", _wrong(
        "im2col", im2col=[(IM2COL, "return windows.reshape(C * KH * KW, -1)")]),
        "im2col_reshape_without_transpose"),
    "conv2d_im2col reshapes straight": ("check_conv2d_im2col", _wrong(
        "conv2d_im2col", conv2d_im2col=[(BACK, STRAIGHT)]), "conv_output_reshape"),
    "conv2d_im2col lists kernels (u, v, c)": ("check_conv2d_im2col", _wrong(
        "conv2d_im2col", conv2d_im2col=[
            (GEMM, "out = w.transpose(0, 2, 3, 1).reshape(F, -1) @ im2col(x, KH, KW)")]),
        "im2col_patch_order"),
    "conv2d_im2col makes its own patches (u, v, c)": ("check_conv2d_im2col", _wrong(
        "conv2d_im2col", conv2d_im2col=[(GEMM, OWN_PATCHES_UVC)]), "im2col_patch_order"),
    "correlate1d_fft without the conjugate": ("check_correlate1d_fft", _wrong(
        "correlate1d_fft", correlate1d_fft=[
            (SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w, L)")]), "fft_convolution"),
    "correlate1d_fft flips and keeps the start": ("check_correlate1d_fft", _wrong(
        "correlate1d_fft", correlate1d_fft=[
            (SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w[::-1], L)")]),
        "fft_wrong_crop"),
    "correlate1d_fft keeps the end": ("check_correlate1d_fft", _wrong(
        "correlate1d_fft", correlate1d_fft=[
            (INVERSE, "return xp.fft.irfft(spectrum, L)[K - 1:]")]), "fft_wrong_crop"),
    "correlate1d_fft transforms at the output length": ("check_correlate1d_fft", _wrong(
        "correlate1d_fft", correlate1d_fft=[
            (SPECTRUM, SPECTRUM.replace("L)", "L - K + 1)")),
            (INVERSE, INVERSE.replace(", L)", ", L - K + 1)"))]), "fft_size_too_small"),
    "correlate1d_fft inverts without n": ("check_correlate1d_fft", _wrong(
        "correlate1d_fft", correlate1d_fft=[
            (INVERSE, "return xp.fft.irfft(spectrum)[:L - K + 1]")]), "fft_irfft_length"),
    "conv2d_fft without the conjugate": ("check_conv2d_fft", _wrong(
        "conv2d_fft", conv2d_fft=[(KERNELS, "K = xp.fft.rfft2(w, s=(H, W))")]),
        "fft_convolution"),
    "conv2d_fft transforms at the output size": ("check_conv2d_fft", _wrong(
        "conv2d_fft", conv2d_fft=[
            ("X = xp.fft.rfft2(x, s=(H, W))", "X = xp.fft.rfft2(x, s=(H - KH + 1, W - KW + 1))"),
            (KERNELS, "K = xp.conj(xp.fft.rfft2(w, s=(H - KH + 1, W - KW + 1)))"),
            ("s=(H, W))\n", "s=(H - KH + 1, W - KW + 1))\n")]), "fft_size_too_small"),
    "conv2d_fft keeps the bottom-right corner": ("check_conv2d_fft", _wrong(
        "conv2d_fft", conv2d_fft=[(CROP, "return out[:, :, KH - 1:, KW - 1:]")]),
        "fft_wrong_crop"),
    "conv2d_fft inverts without s": ("check_conv2d_fft", _wrong(
        "conv2d_fft", conv2d_fft=[("X, K), s=(H, W))", "X, K))")]), "fft_irfft_length"),
}

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show}). Other test cells keep full marks.
STUDENTS = {
    # Patches listed (u, v, c) while w.reshape(F, -1) lists kernels (c, u, v).
    "patch_order": (
        {"im2col": [(IM2COL, PATCHES_UVC)]},
        {"hidden_im2col": "im2col_patch_order"}),  # conv2d_im2col keeps its points
    # The spectra multiplied as they are: a convolution.
    "no_conjugate": (
        {"correlate1d_fft": [(SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w, L)")],
         "conv2d_fft": [(KERNELS, "K = xp.fft.rfft2(w, s=(H, W))")]},
        {"hidden_correlate1d_fft": "fft_convolution", "hidden_conv2d_fft": "fft_convolution"}),
    # The last L - K + 1 outputs kept (wrapped around), and the product reshaped straight.
    "crop_and_reshape": (
        {"correlate1d_fft": [(INVERSE, "return xp.fft.irfft(spectrum, L)[K - 1:]")],
         "conv2d_im2col": [(BACK, STRAIGHT)]},
        {"hidden_correlate1d_fft": "fft_wrong_crop",
         "hidden_conv2d_im2col": "conv_output_reshape"}),
    # Transforms as long as the output (the input is cut), and an inverse without its length.
    "too_short": (
        {"conv2d_fft": [("s=(H, W))\n    K", "s=(H - KH + 1, W - KW + 1))\n    K"),
                        (KERNELS, "K = xp.conj(xp.fft.rfft2(w, s=(H - KH + 1, W - KW + 1)))"),
                        ("X, K), s=(H, W))", "X, K), s=(H - KH + 1, W - KW + 1))")],
         "correlate1d_fft": [(INVERSE, "return xp.fft.irfft(spectrum)[:L - K + 1]")]},
        {"hidden_conv2d_fft": "fft_size_too_small",
         "hidden_correlate1d_fft": "fft_irfft_length"}),
}

# The layers built on the smaller pieces, by check (None: the solution's cell), for
# lab_cases.assert_judged_on_its_own.
FFT_BY_ROWS = """\
def conv2d_fft(x, w):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out = np.zeros((N, F, H - KH + 1, W - KW + 1))
    for n, f, c, u, i in np.ndindex(N, F, C, KH, H - KH + 1):
        out[n, f, i] += correlate1d_fft(x[n, c, i + u], w[f, c, u])
    return out
"""
BUILDS_ON = {"check_conv2d_im2col": [None], "check_conv2d_fft": [FFT_BY_ROWS]}

CASES = {"students": STUDENTS, "mistakes": MISTAKES}
