"""Feedback HTML that needs nothing outside its folder: MathJax beside the page, not from a CDN.

nbgrader's feedback template loads MathJax 2 from cdnjs.cloudflare.com (its ``{{ mathjax() }}``
ignores nbconvert's ``mathjax_url``). :class:`SelfContainedHTML`, the exporter of nbgrader's
``GenerateFeedback`` (``c.GenerateFeedback.exporter_class`` in ``labs/nbgrader_config.py``),
renders the page with that template, then:

* replaces the CDN script and its MathJax 2 configuration with MathJax 3's single-file build
  ``tex-svg-full.js`` (every TeX extension, formulas drawn as SVG: no font or extension is
  fetched), written beside the page as ``mathjax/tex-svg-full.js``;
* drops the Bootstrap icon font's ``@font-face`` rule (its files are not there; no page uses it).

A student's feedback folder then opens offline, from a zip or an LMS download, and asks no
server for anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nbconvert.exporters import HTMLExporter
from traitlets import Unicode

REPOSITORY = Path(__file__).resolve().parents[1]
MATHJAX_FILE = "tex-svg-full.js"
BESIDE = f"mathjax/{MATHJAX_FILE}"
"""Where the page loads MathJax from, relative to itself."""

_MATHJAX_2 = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
                        re.DOTALL)
_ICON_FONT = re.compile(r"@font-face\{font-family:'Glyphicons Halflings';[^}]*\}")

# The delimiters of nbconvert's MathJax 2 configuration, in MathJax 3's words.
_MATHJAX_3 = f"""<!-- MathJax 3 from the file beside this page: formulas render offline -->
<script>
window.MathJax = {{
  tex: {{
    inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
    displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "ams"
  }},
  options: {{enableMenu: false}},
  svg: {{fontCache: "global"}}
}};
</script>
<script src="{BESIDE}"></script>"""


class SelfContainedHTML(HTMLExporter):
    """nbconvert's HTML exporter (with nbgrader's feedback template, as ``GenerateFeedback``
    configures it) whose page loads MathJax from ``mathjax/`` beside it."""

    mathjax_source = Unicode(
        str(REPOSITORY / "book" / "_vendor" / "node_modules" / "mathjax" / "es5" / MATHJAX_FILE),
        help="MathJax 3's tex-svg-full.js, copied into each feedback folder (the book's npm "
             "install, `make` or `npm ci` in book/_vendor, puts it at the default path).",
    ).tag(config=True)

    def _mathjax(self) -> bytes:
        path = Path(self.mathjax_source)
        if not path.is_file():
            raise FileNotFoundError(
                f"SelfContainedHTML: no MathJax at {path} (c.SelfContainedHTML.mathjax_source); "
                "install the book's JavaScript once: `make vendor` in the clone (or `npm ci` in "
                "book/_vendor)")
        return path.read_bytes()

    def from_notebook_node(self, nb: Any, resources: dict | None = None,
                           **kw: Any) -> tuple[str, dict]:
        output, resources = super().from_notebook_node(nb, resources, **kw)
        output, found = _MATHJAX_2.subn(lambda _: _MATHJAX_3, output, count=1)
        if not found:
            raise ValueError("SelfContainedHTML: the feedback template's MathJax block "
                             "('<!-- Load mathjax -->' ... '<!-- End of mathjax configuration "
                             "-->') was not found; expected nbconvert's base/mathjax.html.j2")
        output = _ICON_FONT.sub("", output)
        resources.setdefault("outputs", {})[BESIDE] = self._mathjax()
        return output, resources
