"""The labs send students to chapters by file name (`02_convolution`): every name they use must
be a chapter of the book's table of contents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POINTER = re.compile(r"`(\d\d_[a-z_]+)`")


def _toc_files() -> set[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = {toc["root"]}
    for part in toc.get("parts", []):
        files |= {chapter["file"] for chapter in part["chapters"]}
    return files


@pytest.mark.parametrize("lab", sorted(p.stem for p in (REPO / "labs" / "text").glob("*.py")))
def test_every_chapter_a_lab_points_to_exists(lab: str):
    text = (REPO / "labs" / "text" / f"{lab}.py").read_text(encoding="utf-8")
    names = set(POINTER.findall(text))
    assert names, f"{lab} points to no chapter"
    missing = {name for name in names
               if not (REPO / "book" / f"{name}.md").is_file()
               or f"book/{name}" not in _toc_files()}
    assert not missing, f"{lab} points to chapters the book does not have: {sorted(missing)}"
