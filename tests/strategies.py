"""Hypothesis strategies shared by the tests: valid geometries and arrays drawn for them."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def arrays(rng_seed: int, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """Standard normal numbers of ``shape`` (no ties almost surely), reproducible from a seed."""
    return np.random.default_rng(rng_seed).standard_normal(shape).astype(dtype)


@st.composite
def conv2d_cases(draw, max_batch: int = 2, max_size: int = 9, padding_modes=("zeros",)):
    """A valid conv2d problem: dict with x, w, b and the keyword arguments.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,)
    """
    groups = draw(st.integers(1, 3))
    C = groups * draw(st.integers(1, 2))
    F = groups * draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(padding_modes))
    H = draw(st.integers(1, max_size))
    W = draw(st.integers(1, max_size))
    padding_kind = draw(st.sampled_from(["int", "pair", "valid", "same", "full"]))
    if padding_kind == "same":
        sh = sw = 1
        pads = (dh * (KH - 1), dw * (KW - 1))
        padding = "same"
    elif padding_kind == "full":
        pads = (2 * dh * (KH - 1), 2 * dw * (KW - 1))
        padding = "full"
    elif padding_kind == "valid":
        pads, padding = (0, 0), "valid"
    else:
        ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        padding = ph if padding_kind == "int" else (ph, pw)
        if padding_kind == "int":
            pw = ph
        pads = (2 * ph, 2 * pw)
    # Grow the input until the dilated kernel fits and the padding mode accepts the padding.
    need_h = dh * (KH - 1) + 1 - pads[0]
    need_w = dw * (KW - 1) + 1 - pads[1]
    if mode != "zeros":
        need_h = max(need_h, pads[0] // 2 + 1 + (pads[0] % 2))
        need_w = max(need_w, pads[1] // 2 + 1 + (pads[1] % 2))
    H, W = max(H, need_h, 1), max(W, need_w, 1)
    N = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((N, C, H, W)),
        "w": rng.standard_normal((F, C // groups, KH, KW)),
        "b": rng.standard_normal(F),
        "kwargs": {"stride": (sh, sw), "padding": padding, "dilation": (dh, dw),
                   "groups": groups, "padding_mode": mode},
    }


@st.composite
def transposed_cases(draw, max_batch: int = 2, max_size: int = 5):
    """A valid conv_transpose2d problem: dict with x, w, b, dout and the keyword arguments.

    Shapes: x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW), b (C_out,),
    dout (N, C_out, H_out, W_out)
    """
    groups = draw(st.integers(1, 3))
    C_in, C_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    N, H, W = draw(st.integers(1, max_batch)), draw(st.integers(1, max_size)), draw(
        st.integers(1, max_size))
    K, stride, dilation, pads, out_pads = [], [], [], [], []
    for size in (H, W):
        k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        op = draw(st.integers(0, max(s, d) - 1))
        # The output (size-1)*s - 2p + d*(k-1) + op + 1 must not be empty.
        p = draw(st.integers(0, min(3, ((size - 1) * s + d * (k - 1) + op) // 2)))
        for values, v in ((K, k), (stride, s), (dilation, d), (pads, p), (out_pads, op)):
            values.append(v)
    kwargs = {"stride": tuple(stride), "padding": tuple(pads), "output_padding": tuple(out_pads),
              "groups": groups, "dilation": tuple(dilation)}
    if draw(st.booleans()) and len(set(stride)) == len(set(pads)) == len(set(dilation)) == 1:
        kwargs.update(stride=stride[0], padding=pads[0], dilation=dilation[0])  # plain ints
    H_out, W_out = (
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        for i, k, s, p, d, op in zip((H, W), K, stride, pads, dilation, out_pads, strict=True)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {
        "x": rng.standard_normal((N, C_in, H, W)),
        "w": rng.standard_normal((C_in, C_out // groups, *K)),
        "b": rng.standard_normal(C_out),
        "dout": rng.standard_normal((N, C_out, H_out, W_out)),
        "kwargs": kwargs,
    }
