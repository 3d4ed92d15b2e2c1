"""Receptive fields: which input pixels one unit of a stack of convolutions and poolings sees.

A unit's receptive field is the square of input pixels its value depends on; its size after a
stack of layers comes from :func:`convnb.receptive_field`. Not every pixel in that square counts
as much: the number of paths from a pixel up to the unit (the taps that reach it) is what its
weight is multiplied by, and with dilation some pixels are reached by none. Those counts are the
gradient of the unit with respect to the input when every weight is one, so they are computed by
running the stack backwards with :func:`convnb.conv_transpose2d` and all-ones kernels.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np

from ..arithmetic import receptive_field as field_size
from ..transposed import conv_transpose2d
from . import _draw as draw
from ._core import Frame, PresetExplorer, choice_axis, step_axis

#: Preset stacks, in the text box's syntax: "kind k s d" per layer (kernel, stride, dilation).
PRESETS = {
    "dilations 1, 2, 4, 8 (3x3)": "conv 3 1 1; conv 3 1 2; conv 3 1 4; conv 3 1 8",
    "three 3x3, stride 1": "conv 3 1 1; conv 3 1 1; conv 3 1 1",
    "dilations 1, 3, 9 (3x3): one path each": "conv 3 1 1; conv 3 1 3; conv 3 1 9",
    "dilations 2, 2, 2 (gaps)": "conv 3 1 2; conv 3 1 2; conv 3 1 2",
    "VGG-like with pooling": "conv 3 1 1; conv 3 1 1; pool 2 2 1; conv 3 1 1; conv 3 1 1; "
                             "pool 2 2 1",
    "LeNet-ish": "conv 5 1 1; pool 2 2 1; conv 5 1 1; pool 2 2 1; conv 5 1 1",
}
OWN = "your own stack (text box)"
MAX_LAYERS, MAX_SIZE = 8, 96
_LAYER = re.compile(r"^(conv|pool)?\s*(\d+)(?:[\s,]+(\d+))?(?:[\s,]+(\d+))?$")


def parse(text: str) -> list[tuple[str, int, int, int]]:
    """``"conv 3 1 1; pool 2 2"`` -> ``[("conv", 3, 1, 1), ("pool", 2, 2, 1)]`` (stride and
    dilation default to 1, the kind to conv). ``ValueError`` saying which layer is wrong."""
    parts = [part.strip() for part in text.split(";")]
    if len(parts) > 1 and not parts[-1]:  # "conv 3 1 1;": a closing semicolon is no layer
        parts.pop()
    layers = []
    for n, part in enumerate(parts):
        match = _LAYER.match(part.lower())
        if not match:
            raise ValueError(f"layer {n + 1} ({part!r}) must read 'conv k s d' or 'pool k s d' "
                             "(kernel, stride, dilation: positive integers)")
        kind, k, s, d = match.groups()
        layer = (kind or "conv", int(k), int(s or 1), int(d or 1))
        if min(layer[1:]) < 1:
            raise ValueError(f"layer {n + 1} ({part!r}): kernel, stride and dilation must be at "
                             "least 1")
        layers.append(layer)
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers, got {len(layers)}")
    size = field_size([layer[1:] for layer in layers])[0]
    if size > MAX_SIZE:
        raise ValueError(f"the receptive field is {size} pixels wide; this picture draws at most "
                         f"{MAX_SIZE}")
    return layers


def counts(layers: Sequence[tuple[str, int, int, int]], top: int) -> list[np.ndarray]:
    """For the middle unit of layer ``top`` (1-based) of a stack with no padding, the number of
    paths from each unit of every layer below it up to that unit, along one axis.

    The input is as wide as the whole stack's receptive field, so the last layer has one unit.
    Returns ``[c_0, ..., c_top]``, ``c_m`` of shape (units of layer m,); ``c_0`` is the input.
    """
    size = field_size([layer[1:] for layer in layers])[0]
    units = [size]
    for _, k, s, d in layers:
        units.append((units[-1] - d * (k - 1) - 1) // s + 1)
    c = np.zeros(units[top])
    c[(units[top] - 1) // 2] = 1.0
    result = [c]
    for m in range(top, 0, -1):  # back through layer m: the gradient of a conv of ones
        _, k, s, d = layers[m - 1]
        below = conv_transpose2d(result[0][None, None, None], np.ones((1, 1, 1, k)),
                                 stride=(1, s), dilation=(1, d))[0, 0, 0]
        result.insert(0, np.pad(below, (0, units[m - 1] - below.size)))
    return result


def _blues(t: np.ndarray) -> np.ndarray:
    """Light to dark blue for t in [0, 1], as (..., 3) floats."""
    light, dark = np.array([0.87, 0.92, 0.97]), np.array([0.03, 0.19, 0.42])
    return light + t[..., None] * (dark - light)


def colours(c: np.ndarray) -> np.ndarray:
    """RGB (..., 3) for path counts: light blue for the fewest, dark for the most (mid blue when
    all are equal), pink for none."""
    reached = c[c > 0]
    lo, hi = (reached.min(), reached.max()) if reached.size else (1.0, 1.0)
    t = (c - lo) / (hi - lo) if hi > lo else np.full(c.shape, 0.5)
    rgb = _blues(0.15 + 0.85 * np.clip(t, 0.0, 1.0))
    return np.where((c > 0)[..., None], rgb, np.array([0.99, 0.88, 0.87]))


def heat_map(c0: np.ndarray, span: tuple[int, int], scale: int) -> str:
    """The input as an image: each pixel coloured by its path count (outer product of the
    one-axis counts), white outside the field ``span`` = (first, last) index, the field
    outlined; ``scale`` CSS pixels per input pixel.

    Shapes: c0 (n,), the counts of one axis
    """
    n = c0.size
    grid = np.outer(c0, c0)
    rgb = np.ones((n, n, 3))
    lo, hi = span
    rgb[lo:hi + 1, lo:hi + 1] = colours(grid[lo:hi + 1, lo:hi + 1])
    data = draw.png_data(np.round(rgb * 255).astype(np.uint8))
    side, field = n * scale, (hi - lo + 1) * scale
    body = (f"<image href='{data}' x='0' y='18' width='{side}' height='{side}' "
            "style='image-rendering:pixelated'/>"
            + draw.outline(0, 18, side, side, "#999", 1)
            + draw.outline(lo * scale, 18 + lo * scale, field, field, draw.CURRENT, 2)
            + draw.label(0, 12, f"input {n} x {n}: taps reaching each pixel"))
    return draw.svg(max(side, 270) + 2, side + 20, body, "the input, each pixel coloured by the "
                    "number of paths from it to the unit")


def stack_picture(layers: Sequence[tuple[str, int, int, int]], top: int,
                  cs: list[np.ndarray]) -> str:
    """One axis of the stack, input at the bottom: every unit drawn at the centre of its own
    field, the chosen unit's paths down to the input drawn and its units coloured by count.

    Shapes: cs as :func:`counts` returns it, ``cs[m]`` (units of layer m,) for m <= top
    """
    fields = [field_size([layer[1:] for layer in layers[:m]]) for m in range(len(layers) + 1)]
    n = fields[-1][0]
    cell, row, left = max(4, min(18, 460 // n)), 34, 124
    height = 26 + row * len(layers) + cell

    def place(m: int, t: int) -> tuple[float, float]:
        size, jump = fields[m]
        return left + (t * jump + (size - 1) / 2 + 0.5) * cell, height - row * m - cell / 2

    parts = [draw.label(0, 12, "one row of units per layer, the unit's paths down to the input")]
    lines: list[str] = []
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for m in range(len(layers) + 1):
        y = place(m, 0)[1]
        name = "input" if m == 0 else "{} k={} s={} d={}".format(*layers[m - 1])
        parts.append(draw.label(left - 8, y + 4, name, anchor="end"))
        units = n if m == 0 else (n - fields[m][0]) // fields[m][1] + 1
        c = cs[m] if m <= top else np.zeros(units)
        coloured = colours(c)
        reached = np.flatnonzero(c)  # the field's ends are always reached: pink between them
        first, last = (reached[0], reached[-1]) if reached.size else (units, -1)
        for t in range(units):
            x, _ = place(m, t)
            style = ("#fff" if not first <= t <= last else draw.hex_colour(coloured[t]),
                     "#bbb" if m > top else "#777")
            groups.setdefault(style, []).append((x - cell / 2 + 1, y - cell / 2 + 1))
            if 0 < m <= top and c[t] > 0:
                _, k, s, d = layers[m - 1]
                for u in range(k):
                    x2, y2 = place(m - 1, t * s + u * d)
                    lines.append(f"M{x:g} {y + cell / 2 - 1:g}l{x2 - x:g} {y2 - y - cell + 2:g}")
    shapes = [draw.boxes(corners, cell - 2, fill=fill, stroke=stroke)
              for (fill, stroke), corners in groups.items()]
    x, y = place(top, (cs[top].size - 1) // 2)
    parts.append(draw.outline(x - cell / 2, y - cell / 2, cell, cell, draw.CURRENT, 2))
    edges = f"<path d='{''.join(lines)}' stroke='{draw.INPUT}' fill='none'/>" if lines else ""
    # at least as wide as the title above the rows
    return draw.svg(max(left + n * cell + 4, 400), height + 2, edges + "".join(shapes + parts),
                    "the stack along one axis, with the paths from the chosen unit down to the "
                    "input")


def describe(layers: Sequence[tuple[str, int, int, int]], top: int) -> list[str]:
    """The receptive-field size as text, with the recurrence's numbers filled in."""
    arith = [layer[1:] for layer in layers[:top]]
    size, jump = field_size(arith)
    terms, j = [], 1
    for k, s, d in arith:
        terms.append(f"{d}*({k}-1)*{j}")
        j *= s
    sizes = f"1 + {' + '.join(terms)}" if terms else "1 (a pixel sees itself)"
    return [f"layers counted: {top} of {len(layers)}, (k, s, d) = "
            + (", ".join(str(layer) for layer in arith) or "none"),
            f"receptive field: {size} x {size} input pixels, neighbouring units {jump} apart",
            f"size = 1 + sum of dilation*(k-1)*jump = {sizes} = {size}"]


@functools.lru_cache(maxsize=256)  # the presets' frames do not change when the text box does
def render_stack(text: str, top: int) -> Frame:
    """The frame for the stack written in ``text`` with ``top`` layers counted (0: the input
    pixel alone; a count past the stack's depth shows the whole stack)."""
    try:
        layers = parse(text)
    except ValueError as error:
        message = f"cannot draw this stack: {error}"
        return Frame(draw.figure(text=message), message, {"layers": None})
    past, top = top > len(layers), min(top, len(layers))
    cs = counts(layers, top)
    lines = describe(layers, top)
    if past:
        lines[0] += " (the slider goes further for the stacks that have more layers)"
    c0 = cs[0]
    reached = np.flatnonzero(c0)
    lo, hi = int(reached[0]), int(reached[-1])
    grid = np.outer(c0, c0)
    weighted = int(np.count_nonzero(grid))
    inside = (hi - lo + 1) ** 2
    lines.append(f"pixels that carry weight: {weighted} of {inside}; taps reaching one pixel: "
                 f"{int(grid[grid > 0].min())} to {int(grid.max())}")
    text_out = "\n".join(lines)
    scale = max(3, min(12, 256 // c0.size))
    pictures = [stack_picture(layers, top, cs), heat_map(c0, (lo, hi), scale)]
    data = {"layers": layers, "top": top, "size": hi - lo + 1, "taps": grid,
            "field": (lo, hi), "counts": cs}
    return Frame(draw.figure(*(("", p) for p in pictures), text=text_out), text_out, data)


_FEW, _MANY, _NONE = colours(np.array([1.0, 4.0, 0.0]))
LEGEND = draw.legend([
    (draw.swatch(draw.hex_colour(_FEW)), "the fewest taps reach this unit or pixel"),
    (draw.swatch(draw.hex_colour(_MANY)), "the most taps (darker: more)"),
    (draw.swatch(draw.hex_colour(_NONE)), "no tap: inside the field, but no weight"),
    (draw.swatch("#fff"), "outside the field")])


def receptive_field(layers: str | Sequence[Sequence[int]] = PRESETS["dilations 1, 2, 4, 8 (3x3)"]
                    ) -> PresetExplorer:
    """Which input pixels one unit of a stack of layers sees, layer by layer.

    The student sees the stack along one axis (input at the bottom, each unit at the centre of
    its own field, the paths from the chosen unit down to the input) and the input as a square
    coloured by how many taps reach each pixel, with the receptive-field size as text. The
    *stack* menu holds presets and the *layers* slider (and Play) counts 0, 1, ... layers; both
    work in the web book. Under "your own stack", with a running kernel, a text box edits the
    stack: one ``conv k s d`` or ``pool k s d`` per layer (kernel, stride, dilation), separated
    by ``;``; it starts from the last preset chosen. ``layers`` is its first text, or a sequence
    of ``(k, s, d)`` triples; when it is a preset, that preset is shown first.
    """
    if not isinstance(layers, str):
        try:  # whole numbers only: int(3.5) would quietly draw a kernel of 3
            whole = all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                        for layer in layers for v in layer)
        except TypeError:
            whole = False
        if not whole:
            raise TypeError("receptive_field: layers must be a text such as 'conv 3 1 1; "
                            f"conv 3 1 2' or a sequence of (k, s, d) triples of ints, got "
                            f"{layers!r}")
        layers = "; ".join("conv " + " ".join(str(int(v)) for v in layer) for layer in layers)
    try:
        parse(layers)
    except ValueError as error:
        raise ValueError(f"receptive_field: {error}") from None
    box = widgets.Text(value=layers, description="layers", continuous_update=False,
                       placeholder="conv 3 1 1; pool 2 2 1",
                       layout=widgets.Layout(width="560px"))
    names = list(PRESETS) + [OWN]

    def text_of(name: str, state: dict) -> str:
        return PRESETS.get(name, state["layers"])

    def depth(text: str) -> int:
        try:
            return len(parse(text))
        except ValueError:
            return 1

    def render(stack: str, top: int, layers: str) -> Frame:
        return render_stack(text_of(stack, {"layers": layers}), top)

    stack_axis = choice_axis("stack", "stack", [(name, name) for name in names])
    stack_axis.control.layout.width = "380px"  # room for the longest name
    count = step_axis("top", "layers",
                      lambda state: max(depth(text_of(name, state)) for name in names) + 1)
    presets = [{"layers": PRESETS[name]} if name in PRESETS else None for name in names]
    summaries = [f"This stack: {PRESETS[name]}. To edit it, choose &quot;{OWN}&quot; (needs a "
                 "running kernel)." if name in PRESETS else "" for name in names]
    return PresetExplorer("Receptive fields", render, [stack_axis, count], {"layers": box},
                          presets, summaries, box, extra=[widgets.HTML(LEGEND)])
