"""How the feedback prints an expected array against the student's: summaries of large arrays,
and the place where they differ when a summary hides it."""

from __future__ import annotations

import numpy as np

SHOWN_WHOLE = 30
"""Arrays of more entries are summarised: their first and last rows and columns only."""


def show(a: np.ndarray, indent: int = 14) -> str:
    """``a`` as NumPy prints it, 4 decimals, its lines after the first indented by ``indent``."""
    return np.array2string(np.asarray(a), precision=4, suppress_small=True, threshold=SHOWN_WHOLE,
                           edgeitems=2, max_line_width=88).replace("\n", "\n" + " " * indent)


def side_by_side(expected: np.ndarray, got: np.ndarray | None, rtol: float = 0.0,
                 atol: float = 0.0) -> tuple[str, ...]:
    """``expected:`` and ``got:`` (the student's values, if recorded), each summarised, and
    where they differ when the summaries hide it (:func:`first_difference`)."""
    lines = [f"expected:     {show(expected)}"]
    if got is not None:
        lines.append(f"got:          {show(got)}")
        lines += first_difference(np.asarray(expected), got, rtol, atol)
    return tuple(lines)


def _window(index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[tuple, str]:
    """The entries around ``index``: its own position on the leading axes, one entry either
    side on the last two; and that selection written as a student would index it."""
    where, text = [], []
    for axis, (i, n) in enumerate(zip(index, shape, strict=True)):
        if axis < len(shape) - 2:
            where.append(i)
            text.append(str(i))
        else:
            lo, hi = max(0, i - 1), min(n, i + 2)
            where.append(slice(lo, hi))
            text.append(f"{lo}:{hi}")
    return tuple(where), ", ".join(text)


def first_difference(expected: np.ndarray, got: np.ndarray, rtol: float,
                     atol: float) -> list[str]:
    """Where a summary too long to print whole (its middle elided) hides the difference: the
    first entry of ``got`` not within ``atol + rtol * |expected|`` of ``expected``, with the
    entries around it in both. Nothing when the whole arrays were printed, the shapes differ
    or every entry is close."""
    if (got.shape != expected.shape or expected.size <= SHOWN_WHOLE
            or expected.dtype.kind not in "biuf" or got.dtype.kind not in "biuf"):
        return []
    far = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not far.any():
        return []
    at = tuple(int(i) for i in np.argwhere(far)[0])
    where, text = _window(at, expected.shape)
    shown = distinct(float(expected[at]), float(got[at]))
    width = len(f"expected[{text}]: ")
    return [f"differs at:   {int(far.sum())} of {far.size} entries, the first at index {at}: "
            f"expected {shown[0]}, got {shown[1]}",
            f"{f'expected[{text}]:':<{width}}{show(expected[where], width)}",
            f"{f'got[{text}]:':<{width}}{show(got[where], width)}"]


def distinct(expected: float, got: float) -> tuple[str, str]:
    """Both numbers with 6 significant digits, or more where 6 would print them alike."""
    for digits in (6, 10, 14):
        shown = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown
