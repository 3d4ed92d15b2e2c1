"""The explorers' drawing helpers (convnb/widgets/_draw.py), read back with an XML parser and
Pillow: what a grid, a PNG and a frame's layout claim to show is what they hold."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import numpy as np

from convnb.widgets._draw import figure, grey_fills, grid_svg, png_img, signed_fill

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> dict[tuple[float, float], tuple[str, str]]:
    """Every ``<text>`` of a grid: (x, y) -> (text, colour of its group)."""
    found = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        for t in group.iter(f"{SVG}text"):
            found[float(t.get("x")), float(t.get("y"))] = (t.text, group.get("fill"))
    return found


def test_grid_writes_each_label_in_its_cell_white_on_dark_fills():
    labels = [["1", "", "3"], ["-4", "5", "6"]]
    svg = grid_svg(labels, cell=20, fills=[(0, 0, 2, 3, "#000000"), (0, 1, 2, 2, "#ffd43b")],
                   marks=[(1, 1, 1, 2, "#e8590c")], title="a <grid>")
    root = ET.fromstring(svg)  # well-formed XML, title escaped
    assert root.find(f"{SVG}title").text == "a <grid>"
    assert (root.get("width"), root.get("height")) == (str(3 * 20 + 4), str(2 * 20 + 4))
    written = texts(svg)
    assert sorted(text for text, _ in written.values()) == sorted(["1", "3", "-4", "5", "6"])
    by_text = {text: (x, y, colour) for (x, y), (text, colour) in written.items()}
    for r, row in enumerate(labels):
        for c, text in enumerate(row):
            if text:
                x, y, colour = by_text[text]
                assert 2 + c * 20 < x < 2 + (c + 1) * 20 and 2 + r * 20 < y < 2 + (r + 1) * 20
                # column 0 stays black under the yellow painted over columns 1 and 2
                assert colour == ("#fff" if c == 0 else "#000"), text
    frames = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#e8590c"]
    assert len(frames) == 1 and frames[0].get("d") == "M22 22h40v20h-40z"


def test_grid_paints_fills_in_order():
    svg = grid_svg([["a", "b"]], fills=[(0, 0, 1, 2, "#111111"), (0, 1, 1, 1, "#eeeeee"),
                                        (0, 0, 1, 1, "#111111")])
    painted = [p.get("fill") for p in ET.fromstring(svg).iter(f"{SVG}path")
               if p.get("fill") not in (None, "none")]
    assert painted == ["#111111", "#eeeeee", "#111111"]  # the last rectangle is on top
    colours = {text: colour for text, colour in texts(svg).values()}
    assert colours == {"a": "#fff", "b": "#000"}  # a on dark, b on the light cell over dark


def test_png_decodes_to_the_grey_levels():
    from PIL import Image

    image = np.array([[-1.0, 0.0, 0.5], [1.0, 2.0, np.float32(0.25)]])
    tag = png_img(image, 0.0, 1.0, "alt <text>", 60)
    data = tag.split("base64,")[1].split("'")[0]
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    np.testing.assert_array_equal(decoded, [[0, 0, 128], [255, 255, 64]])
    assert "alt='alt &lt;text&gt;'" in tag and "width='60'" in tag


def test_ink_is_white_at_zero_and_black_at_the_top():
    fills = grey_fills(np.array([[0.0, 8.0], [16.0, 32.0]]), 0.0, 16.0)
    assert fills == [(0, 1, 1, 1, "#808080"), (1, 0, 1, 1, "#000000"), (1, 1, 1, 1, "#000000")]


def test_signed_colours():
    assert signed_fill(0.0, 1.0) == "#ffffff"
    assert signed_fill(2.0, 2.0) == "#ff6969" and signed_fill(-2.0, 2.0) == "#6969ff"
    assert signed_fill(1.0, 0.0) == "#ffffff"


def test_figure_escapes_its_text_and_captions():
    page = figure(("x < y", "<svg></svg>"), ("", "<img>"), text="a & b\n<c>")
    assert "<figcaption style='text-align:center'>x &lt; y</figcaption>" in page
    assert page.count("<figcaption") == 1 and "<svg></svg>" in page
    assert page.endswith(
        "<pre style='margin:.3em 0;white-space:pre-wrap'>a &amp; b\n&lt;c&gt;</pre>")
