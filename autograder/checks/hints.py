"""Every hint the checks can give, in one place, so the wording stays consistent across labs.

A hint names the mistake the student's output matches and says how to fix it, pointing to the
book where it helps. Keys are used by the diagnosers in each lab's module; add new ones here.
"""

from __future__ import annotations

HINTS: dict[str, str] = {
    # Flipping: convolution versus cross-correlation (book: 02_convolution).
    "not_flipped": (
        "your result is the cross-correlation. Convolution turns the kernel half a turn before "
        "sliding it: w[::-1] in 1-D, w[::-1, ::-1] in 2-D (chapter Convolution, convolution "
        "versus correlation)."
    ),
    "flipped": (
        "your result is the convolution: the kernel was flipped. Cross-correlation slides the "
        "kernel as it is, out[i] = sum_k w[k] * x[i + k] (chapter Convolution, convolution "
        "versus correlation)."
    ),
    "flipped_one_axis": (
        "the kernel was flipped along one axis only. Turning it half a turn flips both: "
        "w[::-1, ::-1]."
    ),
    "transposed_kernel": (
        "w.T transposes the kernel (a reflection across its diagonal); convolution turns it half "
        "a turn instead: w[::-1, ::-1]."
    ),
    # Output size (book: 03_padding_stride, convolution arithmetic).
    "output_too_small": (
        "the output is one entry short along an axis. A kernel of size K fits at L - K + 1 "
        "positions: the + 1 counts the first placement."
    ),
    "output_too_large": (
        "the output is one entry too long along an axis: the last placement must still lie "
        "inside the input, so there are L - K + 1 of them."
    ),
    "full_mode": (
        "the output has the size of 'full' mode (L + K - 1: every partial overlap). This function "
        "keeps only the 'valid' placements, where the kernel lies inside the input (L - K + 1). "
        "np.convolve and np.correlate need mode='valid'."
    ),
    "same_mode": (
        "the output has the size of the input ('same' mode). This function keeps only the "
        "'valid' placements, where the kernel lies inside the input (L - K + 1)."
    ),
    "stride_ignored": (
        "your values are those of stride 1. With stride s the kernel jumps s positions between "
        "outputs: out[i, j] uses x[i*s : i*s + KH, j*s : j*s + KW], and "
        "H_out = (H - KH) // s + 1 (chapter Padding and stride)."
    ),
    "size_stride_ignored": (
        "the stride is missing: the kernel jumps s positions at a time, so divide the free room "
        "by s: o = (i + 2p - k) // s + 1 (chapter Padding and stride, convolution arithmetic)."
    ),
    "size_pad_once": (
        "padding p is added on both sides of the input, so the padded size is i + 2p, not i + p."
    ),
    "size_pad_ignored": (
        "the padding is missing: the kernel slides over the padded input, of size i + 2p."
    ),
    "size_ceil": (
        "that is rounded up. A last placement that would stick out of the padded input does not "
        "count: round down, o = (i + 2p - k) // s + 1."
    ),
    "size_true_division": (
        "/ is true division and gives a float (rounded the wrong way when it does not divide "
        "evenly); // is floor division and keeps an int."
    ),
    "size_off_by_one": (
        "the result is off by one: (i + 2p - k) // s counts the jumps between placements; the "
        "number of placements is one more."
    ),
    # Padding (book: 03_padding_stride, boundaries).
    "pad_axes_swapped": (
        "the row and column padding are swapped: p = (p_rows, p_cols) adds p_rows rows above "
        "and below, p_cols columns left and right."
    ),
    "pad_numpy_pair": (
        "np.pad(x, (a, b)) pads a before and b after on every axis. For p_rows above and below "
        "and p_cols left and right write np.pad(x, ((p_rows, p_rows), (p_cols, p_cols)), ...)."
    ),
    "pad_one_side": (
        "the padding was added on one side only; it goes on both sides of each axis (above and "
        "below, left and right)."
    ),
    "pad_zeros_instead": (
        "the border is all zeros, but this mode copies pixels of the image into it: 'reflect' "
        "mirrors the image about its edge pixel, 'replicate' repeats the edge pixel."
    ),
    "pad_reflect_replicate_swapped": (
        "'reflect' and 'replicate' are swapped. For a row a b c d padded by 2: reflect gives "
        "c b | a b c d | c b (mirrored, the edge pixel not repeated); replicate gives "
        "a a | a b c d | d d."
    ),
    "pad_symmetric": (
        "that is np.pad's 'symmetric' mode, which repeats the edge pixel (b a | a b c d | d c). "
        "'reflect' mirrors about the edge pixel without repeating it (c b | a b c d | c b)."
    ),
    "pad_not_zero": (
        "mode 'zeros' fills the border with 0, but yours holds copies of the image."
    ),
    # Exceptions raised by the student's function.
    "NotImplementedError": (
        "the function is not written yet: replace `raise NotImplementedError()`."
    ),
    "IndexError": (
        "an index ran past the end of an array: check the output size and the loop bounds "
        "(a kernel of size K fits at L - K + 1 positions)."
    ),
}


def hint(key: str) -> str:
    """The hint text for ``key`` (a ``KeyError`` names an unknown key: a bug in a lab module)."""
    return HINTS[key]
