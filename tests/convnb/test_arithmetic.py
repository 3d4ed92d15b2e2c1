"""Convolution arithmetic: the lectures' numbers and the formulas against brute-force counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convnb


def count_placements(i: int, k: int, s: int, p: int, d: int) -> int:
    """Count kernel placements by walking the padded input: an oracle free of the formula."""
    span = d * (k - 1) + 1
    return sum(1 for start in range(0, i + 2 * p, s) if start + span <= i + 2 * p)


@given(st.integers(1, 30), st.integers(1, 7), st.integers(1, 5), st.integers(0, 4),
       st.integers(1, 4))
def test_conv_output_size_counts_kernel_placements(i, k, s, p, d):
    placements = count_placements(i, k, s, p, d)
    if placements == 0:
        with pytest.raises(ValueError, match="conv_output_size: the kernel spans"):
            convnb.conv_output_size(i, k, s, p, d)
    else:
        assert convnb.conv_output_size(i, k, s, p, d) == placements


def test_lecture_83_to_75_to_14_to_6():
    assert convnb.conv_output_size(83, 9) == 75          # (83 - 9) + 1
    assert convnb.pool_output_size(75, 10, 5) == 14      # (75 - 10) / 5 + 1
    assert convnb.conv_output_size(14, 9) == 6           # (14 - 9) + 1


def test_lecture_dilated_stack_receptive_fields_3_7_15_31():
    stack = [(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)]
    sizes = [convnb.receptive_field(stack[: n + 1])[0] for n in range(4)]
    assert sizes == [3, 7, 15, 31]


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)),
                min_size=1, max_size=4))
def test_receptive_field_matches_the_input_pixels_one_output_depends_on(layers):
    # Push a single unit back through the stack as a set of 1-D positions: the oracle.
    positions = {0}
    for k, s, d in reversed(layers):
        positions = {q * s + u * d for q in positions for u in range(k)}
    size, jump = convnb.receptive_field(layers)
    assert size == max(positions) - min(positions) + 1
    assert jump == int(np.prod([s for _, s, _ in layers]))


def test_receptive_field_accepts_pairs_and_reports_jump():
    assert convnb.receptive_field([(3, 2), (3, 2)]) == (7, 4)


def test_pool_output_size_ceil_mode_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    for i in range(2, 12):
        for k in range(1, 4):
            for s in range(1, 4):
                for p in range(0, k // 2 + 1):
                    if k > i + 2 * p:
                        continue
                    out = torch.nn.functional.max_pool2d(torch.zeros(1, 1, i, i), k, s, p,
                                                         ceil_mode=True)
                    assert convnb.pool_output_size(i, k, s, p, ceil_mode=True) == out.shape[-1]


def test_conv_transpose_output_size_inverts_conv_output_size():
    for i in range(1, 9):
        for k in range(1, 4):
            for s in range(1, 4):
                for p in range(0, 2):
                    for op in range(s):
                        try:
                            o = convnb.conv_transpose_output_size(i, k, s, p, output_padding=op)
                        except ValueError:
                            continue
                        assert convnb.conv_output_size(o, k, s, p) == i


def test_parameter_counts():
    assert convnb.conv_params(3, 64, 3, 3) == 64 * 3 * 9 + 64
    assert convnb.conv_params(32, 32, 3, 3, groups=32, bias=False) == 32 * 9
    # 200x200 image, 40K hidden units, 10x10 filters: 4M locally connected weights (lecture 001)
    assert convnb.locally_connected_params(200, 200, 1, 1, 10, 10) == 4_000_000
    assert convnb.linear_params(200 * 200, 40_000, bias=False) == 1_600_000_000
    assert convnb.depthwise_separable_params(32, 64, 3) == 32 * 9 + 32 * 64


@pytest.mark.parametrize("call, message", [
    (lambda: convnb.conv_output_size(0, 3), r"conv_output_size: i must be a positive int, got 0"),
    (lambda: convnb.conv_output_size(5, 3, s=0), r"conv_output_size: s must be a positive int"),
    (lambda: convnb.conv_output_size(5, 3, p=-1), r"conv_output_size: p must be an int of at"),
    (lambda: convnb.conv_output_size(2, 3), r"the output would be empty"),
    (lambda: convnb.pool_output_size(6, 2, 2, 2), r"pool_output_size: padding must be at most"),
    (lambda: convnb.conv_transpose_output_size(3, 3, 2, output_padding=2),
     r"output_padding must be smaller than the stride or the dilation"),
    (lambda: convnb.receptive_field([(3,)]), r"receptive_field: layer 0 must be"),
    (lambda: convnb.receptive_field([(3, 0)]), r"receptive_field: layers\[0\].s must be"),
    (lambda: convnb.conv_params(3, 4, 3, 3, groups=2), r"conv_params: groups \(2\) must divide"),
])
def test_bad_arithmetic_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_integers_are_sizes_too():
    # A shape's entries are NumPy integers; the formula must take them as they come.
    import numpy as np

    from convnb import conv_output_size

    i, k, s, p = np.int64(7), np.int64(3), np.int64(2), np.int64(1)
    assert conv_output_size(i, k, s, p) == (7 + 2 * 1 - 3) // 2 + 1
    with pytest.raises(ValueError, match="conv_output_size: k must be a positive int"):
        conv_output_size(7, np.int64(0))
