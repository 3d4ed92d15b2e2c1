"""The kernel playground (chapter 02): a small kernel slid over a real photograph.

The student picks a preset kernel (a blur, an edge detector, sharpen, emboss) or types one cell by
cell, picks what lies outside the image (zeros, a mirror, the image repeated) and correlation or
convolution, and sees the input, the kernel's numbers and the output side by side, with the
output's range of values as text.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from ..filters import (
    box_blur,
    convolve2d,
    correlate2d,
    gaussian_kernel,
    laplacian,
    sharpen,
    sobel,
)
from ._core import Explorer, Frame, choice_axis
from ._draw import figure, grid_svg, png_img, signed_fill, small_image

KERNELS = (
    ("box blur 5x5", "box"),
    ("Gaussian blur 5x5, sigma 1", "gaussian"),
    ("Laplacian", "laplacian"),
    ("Sobel x (vertical edges)", "sobel_x"),
    ("Sobel y (horizontal edges)", "sobel_y"),
    ("sharpen", "sharpen"),
    ("emboss", "emboss"),
    ("your kernel (typed below)", "typed"),
)
BOUNDARIES = (
    ("fill (zeros)", "fill"),
    ("symm (mirror)", "symm"),
    ("wrap (repeat)", "wrap"),
)
OUTSIDE = {"fill": "zeros outside the image", "symm": "the image mirrored at its edges",
           "wrap": "the image repeated (it wraps round)"}
OPERATIONS = (("correlation", "correlation"), ("convolution", "convolution"))
CELLS = [f"k{r}{c}" for r in range(5) for c in range(5)]  # the typed 5x5 grid, row by row
SHOWN_WIDTH = 192  # CSS pixels for each picture, whatever its size in pixels


def emboss() -> np.ndarray:
    """A relief effect: the difference across the main diagonal added to the pixel itself, so a
    flat region keeps its brightness and edges look lit from the top left.

    Shapes: -> (3, 3)
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def preset_kernel(name: str) -> np.ndarray:
    """The kernel of a preset (every one but ``"typed"``).

    Shapes: -> (KH, KW)
    """
    makers = {"box": lambda: box_blur(5), "gaussian": lambda: gaussian_kernel(5, 1.0),
              "laplacian": laplacian, "sobel_x": lambda: sobel(1), "sobel_y": lambda: sobel(0),
              "sharpen": sharpen, "emboss": emboss}
    return makers[name]()


def typed_kernel(typed_size: int, cells: dict[str, float]) -> np.ndarray:
    """The typed kernel: the whole 5x5 grid of cells, or its centre 3x3.

    Shapes: -> (typed_size, typed_size)
    """
    grid = np.array([float(cells[name]) for name in CELLS]).reshape(5, 5)
    margin = (5 - typed_size) // 2
    return grid[margin:5 - margin, margin:5 - margin]


def _short(value: float) -> str:
    """A kernel entry in at most four or five characters: 0.098 -> .098, -0.125 -> -.13."""
    text = f"{value:.2g}" if abs(value) < 1 else f"{value:.3g}"
    return text.replace("0.", ".", 1) if text.lstrip("-").startswith("0.") else text


def _display_range(kernel: np.ndarray, out: np.ndarray) -> tuple[float, float, str]:
    """Grey levels for the output: a kernel that sums to zero (an edge detector) answers with
    signed values, drawn around mid grey; any other is drawn with black at 0 or below, white at 1
    or above, so a kernel that keeps brightness shows a picture like the input."""
    lo, hi = float(out.min()), float(out.max())
    if abs(float(kernel.sum())) < 1e-9 and lo < 0 < hi:
        m = max(-lo, hi)
        return -m, m, f"shown: black {-m:.3g}, mid grey 0, white {m:.3g}"
    lo, hi = min(lo, 0.0), max(hi, 1.0)
    return lo, hi, f"shown: black {lo:.3g}, white {hi:.3g}"


def kernel_playground(image: str = "camera", size: int = 72, typed_size: int = 3) -> Explorer:
    """Slide a preset or typed kernel over a real photograph.

    The student sees the input (``image``, a scikit-image picture in grey averaged down to
    ``size`` x ``size`` pixels), the kernel's numbers (red positive, blue negative) and the
    output in ``"same"`` mode, with its smallest and largest value. Controls: the kernel (box and
    Gaussian blur, Laplacian, Sobel x and y, sharpen, emboss, or one typed cell by cell), the
    boundary (what ``correlate2d`` reads outside the image: zeros, a mirror, the image repeated)
    and correlation or convolution; these work in the web book. The typed kernel (a 3x3 or 5x5
    grid of numbers, starting as the identity) needs a running kernel.

    Shapes: frame data ``image`` (size, size), ``kernel`` (KH, KW), ``out`` (size, size)
    """
    fn = "kernel_playground"
    picture = small_image(fn, image, size)
    if typed_size not in (3, 5) or isinstance(typed_size, bool | float):
        raise ValueError(f"{fn}: typed_size must be 3 or 5, got {typed_size!r}")
    labels = dict((value, label) for label, value in KERNELS)
    img_in = png_img(picture, 0.0, 1.0, f"input: {image}, {size} x {size} pixels", SHOWN_WIDTH)
    cache: dict[tuple[str, str, str], Frame] = {}

    def draw(kernel_name: str, kernel: np.ndarray, boundary: str, operation: str) -> Frame:
        apply = correlate2d if operation == "correlation" else convolve2d
        out = apply(picture, kernel, mode="same", boundary=boundary)
        lo, hi, legend = _display_range(kernel, out)
        KH, KW = kernel.shape
        symmetric = np.array_equal(kernel, kernel[::-1, ::-1])
        text = (f"{labels[kernel_name]}, {KH}x{KW}, {operation}\n"
                f"boundary {boundary}: {OUTSIDE[boundary]}\n"
                f"output {out.shape[0]} x {out.shape[1]} (mode same), values "
                f"{out.min():.3g} to {out.max():.3g}\n{legend}\n"
                + ("a half turn leaves this kernel as it is: correlation = convolution"
                   if symmetric else "a half turn changes this kernel: correlation and "
                   "convolution differ"))
        scale = float(np.abs(kernel).max())
        svg = grid_svg([[_short(v) for v in row] for row in kernel], cell=40,
                       fills=[(r, c, 1, 1, signed_fill(v, scale))
                              for (r, c), v in np.ndenumerate(kernel) if v != 0],
                       title=f"kernel {labels[kernel_name]}")
        img_out = png_img(out, lo, hi, f"output of the {operation}", SHOWN_WIDTH)
        html_text = figure((f"kernel {KH}x{KW} (red +, blue -)", svg),
                           (f"output of the {operation}", img_out), text=text)
        return Frame(html_text, text, {"image": picture, "kernel": kernel, "out": out})

    def render(kernel: str, boundary: str, operation: str, typed_size: int,
               **cells: float) -> Frame:
        if kernel == "typed":
            return draw(kernel, typed_kernel(typed_size, cells), boundary, operation)
        key = (kernel, boundary, operation)  # presets do not depend on the typed cells
        if key not in cache:
            cache[key] = draw(kernel, preset_kernel(kernel), boundary, operation)
        return cache[key]

    axes = [choice_axis("kernel", "kernel", KERNELS),
            choice_axis("boundary", "boundary", BOUNDARIES, buttons=True),
            choice_axis("operation", "operation", OPERATIONS, buttons=True)]
    box_layout = widgets.Layout(width="56px")  # one layout shared: every widget is saved
    boxes = {name: widgets.FloatText(value=1.0 if name == "k22" else 0.0, layout=box_layout)
             for name in CELLS}
    size_control = widgets.Dropdown(options=[("3x3", 3), ("5x5", 5)], value=typed_size,
                                    description="typed size")

    def enable(_change: Any = None) -> None:
        for name, box in boxes.items():  # a 3x3 kernel uses the centre of the grid
            box.disabled = size_control.value == 3 and not ("1" <= name[1] <= "3"
                                                            and "1" <= name[2] <= "3")

    enable()
    size_control.observe(enable, names="value")
    grid = widgets.GridBox(list(boxes.values()),
                           layout=widgets.Layout(grid_template_columns="repeat(5, 60px)"))
    typed_note = widgets.HTML(
        "<small>Your own kernel: choose <i>your kernel (typed below)</i> in the kernel menu, then "
        "type numbers in this grid. Typing needs a running Jupyter kernel: in the web book these "
        "boxes do nothing.</small>")
    live: dict[str, widgets.ValueWidget] = {"typed_size": size_control, **boxes}
    explorer = Explorer("Kernel playground: filter a photograph", render, axes, live=live,
                        layout=[axis.widget for axis in axes])
    # The input is the same in every frame: shown once beside the frames, not saved in each;
    # the typed kernel, a live extra, comes below them.
    shown_input = widgets.HTML(figure((f"input ({image}, {size} x {size})", img_in)))
    children = list(explorer.children)
    at = children.index(explorer.stack)
    children[at:at + 1] = [widgets.HBox([shown_input, explorer.stack]), typed_note, size_control,
                           grid]
    explorer.children = tuple(children)
    return explorer


__all__ = ["emboss", "kernel_playground", "preset_kernel", "typed_kernel"]
