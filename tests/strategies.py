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
