"""Build nbgrader source notebooks from their text form (the format is in ``labs/README.md``).

    python -m autograder.build                    # every labs/text/*.py
    python -m autograder.build lab01_correlation  # one lab
    python -m autograder.build --check            # exit 1 if a notebook is out of date

``labs/text/<lab>.py`` becomes ``labs/source/<lab>/<lab>.ipynb``. A cell starts at a line
``# %% [markdown] id=NAME ROLE points=N``; everything after ``# %%`` is optional. Roles:
``locked`` (read-only instructions or code), ``solution`` (the student's answer, with
``### BEGIN SOLUTION`` / ``### END SOLUTION``), ``tests`` (an autograded test cell; its points
are those of the hidden check call it ends with). Markdown lines start with ``#``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .calls import check_calls, last_expression_is_call
from .checks import get_check

ROLES = ("locked", "solution", "tests")
ID = re.compile(r"[A-Za-z0-9_-]{1,64}$")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class BuildError(ValueError):
    """A lab text file that does not describe a valid nbgrader notebook."""


@dataclass
class Cell:
    markdown: bool
    id: str | None
    role: str | None
    points: float | None
    lines: list[str]
    line: int  # of the header, for error messages

    @property
    def source(self) -> str:
        text = "\n".join(self.lines)
        return text.strip("\n")


def _header(rest: str, where: str) -> Cell:
    markdown, cell_id, role, points = False, None, None, None
    for token in rest.split():
        key, _, value = token.partition("=")
        if token == "[markdown]":
            markdown = True
        elif key == "id" and ID.match(value):
            cell_id = value
        elif key == "points":
            try:
                points = float(value)
            except ValueError:
                raise BuildError(f"{where}: points must be a number, got {value!r}") from None
        elif token in ROLES and role is None:
            role = token
        else:
            raise BuildError(f"{where}: cannot read {token!r} in the cell header (expected "
                             f"[markdown], id=NAME, one of {ROLES}, points=N)")
    if role and not cell_id:
        raise BuildError(f"{where}: a {role} cell needs an id=NAME")
    return Cell(markdown, cell_id, role, points, [], 0)


def parse(text: str, name: str = "<lab>") -> list[Cell]:
    """The cells of a lab text file; lines before the first ``# %%`` are a comment for editors."""
    cells: list[Cell] = []
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{number}"
        if line.startswith("# %%"):
            cells.append(_header(line[4:], where))
            cells[-1].line = number
        elif not cells:
            continue
        elif cells[-1].markdown:
            if line and line != "#" and not line.startswith("# "):
                raise BuildError(f"{where}: markdown lines start with '# ' (got {line[:30]!r})")
            cells[-1].lines.append(line[2:])
        else:
            cells[-1].lines.append(line)
    return cells


def _nbgrader(cell: Cell, where: str) -> dict | None:
    """The nbgrader metadata of a cell, after checking that its role and content agree."""
    if cell.role is None:
        return None
    src = cell.source
    grade = cell.role == "tests" or (cell.role == "solution" and cell.points is not None)
    meta = {"grade": grade, "grade_id": cell.id, "locked": cell.role != "solution",
            "schema_version": 3, "solution": cell.role == "solution", "task": False}
    if cell.role == "solution" and not cell.markdown and not (
            "### BEGIN SOLUTION" in src and "### END SOLUTION" in src):
        raise BuildError(f"{where}: a code solution cell needs ### BEGIN/END SOLUTION")
    if cell.role == "tests":
        meta["points"] = _test_points(cell, where)
    elif grade:
        meta["points"] = cell.points
    return meta


def _test_points(cell: Cell, where: str) -> float:
    src = cell.source
    if cell.markdown:
        raise BuildError(f"{where}: a tests cell holds code")
    lines = src.splitlines()
    begin = next((n for n, line in enumerate(lines, 1) if "### BEGIN HIDDEN TESTS" in line), 0)
    end = next((n for n, line in enumerate(lines, 1) if "### END HIDDEN TESTS" in line), 0)
    scored = [c for c in check_calls(src) if c.points is not None]
    if not scored:
        if cell.points is None:
            raise BuildError(f"{where}: a tests cell without a check call needs points=N")
        return cell.points
    if len(scored) > 1 or not last_expression_is_call(src):
        raise BuildError(f"{where}: a tests cell ends with exactly one scored check call")
    call = scored[0]
    if call.seed is None or not begin < call.line < end:
        raise BuildError(f"{where}: {call.name}(..., seed=..., points=...) belongs between "
                         "### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS")
    if cell.points is not None and cell.points != call.points:
        raise BuildError(f"{where}: points={cell.points:g} but the check gives {call.points:g}")
    return call.points


def _check_names(cell: Cell, where: str) -> None:
    if cell.markdown:
        return
    for call in check_calls(cell.source):
        try:
            get_check(call.name)
        except KeyError as exc:
            raise BuildError(f"{where}: {exc.args[0]}") from None
        if call.points is not None and cell.role != "tests":
            raise BuildError(f"{where}: a scored check call belongs in a tests cell")


def to_notebook(cells: list[Cell], name: str = "<lab>") -> nbformat.NotebookNode:
    """The nbgrader source notebook; raises :class:`BuildError` on an inconsistent lab."""
    out, seen, total = [], set(), 0.0
    for index, cell in enumerate(cells):
        where = f"{name}:{cell.line}"
        cell_id = cell.id or f"cell-{index}"
        if cell_id in seen:
            raise BuildError(f"{where}: id {cell_id!r} is used twice")
        seen.add(cell_id)
        _check_names(cell, where)
        meta = _nbgrader(cell, where)
        total += meta["points"] if meta and meta["grade"] else 0.0
        new = nbformat.v4.new_markdown_cell if cell.markdown else nbformat.v4.new_code_cell
        out.append(new(cell.source, id=cell_id, metadata={"nbgrader": meta} if meta else {}))
    first = next((c for c in cells if c.markdown), None)
    if first is None or f"{total:g} points" not in first.source:
        raise BuildError(f"{name}: the first markdown cell must state the total, "
                         f"'{total:g} points'")
    return nbformat.v4.new_notebook(cells=out, metadata={
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


CHAPTER = re.compile(r"\(`(\d\d_[a-z_]+)`\)")
BOOK_ADDRESS = "https://<the book's address>"
"""Where a lab's text needs the book's address (the install line for Colab): the build writes
the address instead once ``_config.yml`` gives it."""


def book_url(labs: Path) -> str | None:
    """The address where the course's book is published: ``html: baseurl:`` in the
    ``_config.yml`` beside ``labs/``, or None while it names none."""
    config = labs.resolve().parent / "_config.yml"
    if not config.is_file():
        return None
    import yaml

    url = ((yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("html") or {}).get(
        "baseurl")
    return url.rstrip("/") if url else None


def link_chapters(source: str, book: str | None) -> str:
    """Turns a lab's reading pointers, a chapter's file name in backticks and parentheses
    (`` (`02_convolution`) ``), into links to that chapter in the book published at ``book``."""
    if not book:
        return source
    return CHAPTER.sub(lambda m: f"([`{m[1]}`]({book}/book/{m[1]}.html))", source)


def render(text_path: Path, book: str | None = None) -> str:
    """The notebook text that ``text_path`` builds (what is written and committed); with the
    book's address ``book``, its chapter pointers become links and :data:`BOOK_ADDRESS` the
    address."""
    text = text_path.read_text(encoding="utf-8")
    cells = parse(text, text_path.name)
    for cell in cells:
        if cell.markdown:
            cell.lines[:] = [link_chapters(line, book).replace(BOOK_ADDRESS, book or BOOK_ADDRESS)
                             for line in cell.lines]
    nb = to_notebook(cells, text_path.name)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def notebook_path(text_path: Path, labs: Path) -> Path:
    lab = text_path.stem
    return labs / "source" / lab / f"{lab}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.build",
                                     description="Build labs/source/<lab>/<lab>.ipynb from "
                                                 "labs/text/<lab>.py.")
    parser.add_argument("labs", nargs="*", help="lab names (default: every labs/text/*.py)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook differs from its text")
    parser.add_argument("--root", type=Path, default=Path("labs"), help="the labs folder")
    args = parser.parse_args(argv)
    texts = ([args.root / "text" / f"{lab}.py" for lab in args.labs] if args.labs
             else sorted((args.root / "text").glob("*.py")))
    stale, book = [], book_url(args.root)
    for text_path in texts:
        target, content = notebook_path(text_path, args.root), render(text_path, book)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == content:
            continue
        stale.append(target)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            print(f"wrote {target}")
    if args.check and stale:
        print("out of date (run python -m autograder.build): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
