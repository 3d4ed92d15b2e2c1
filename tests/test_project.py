"""The project's own wiring: environment.yml against pyproject.toml, and the book's build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "book" / "_vendor" / "public" / "vendor"
# The conda environment serves the book and the labs; tests and benchmarks install with pip.
ENVIRONMENT_EXTRAS = ("book", "labs")


def _requirement_key(text: str) -> tuple[str, str, str]:
    req = Requirement(text)
    return canonicalize_name(req.name), str(req.specifier), str(req.marker or "")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))


def _environment_pip() -> list[str]:
    return next(d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict))


def test_environment_yml_installs_what_pyproject_declares():
    project = _pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in ENVIRONMENT_EXTRAS:
        declared += project["optional-dependencies"][extra]

    deps = _environment()["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    listed = pip_sections[0]

    expected = sorted(_requirement_key(r) for r in declared)
    got = sorted(_requirement_key(r) for r in listed)
    assert got == expected, (
        "environment.yml's pip section must list pyproject.toml's dependencies plus the extras "
        f"{ENVIRONMENT_EXTRAS}, with the same versions.\n"
        f"only in pyproject.toml: {sorted(set(expected) - set(got))}\n"
        f"only in environment.yml: {sorted(set(got) - set(expected))}"
    )


def test_environment_yml_python_satisfies_requires_python():
    deps = _environment()["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pythons) == 1, f"environment.yml must pin python once, found {pythons}"
    version = pythons[0].split("=", 1)[1].lstrip("=")
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains(version), f"python={version} does not satisfy {requires}"
    assert "pip" in deps


def test_torch_is_only_an_optional_dependency():
    project = _pyproject()["project"]
    assert not any(_requirement_key(r)[0] == "torch" for r in project["dependencies"])
    assert not any(_requirement_key(r)[0] == "torch" for r in _environment_pip())





def test_the_books_lenet_numbers_are_the_readmes():
    """Chapter 8 quotes the README's LeNet-5 epoch table (threads, PyTorch s, convnb s, ratio);
    a benchmark rerun that updates one must update the other."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d) \| ([\d.]+) s \| ([\d.]+) s \| ([\d.]+) \|$", readme, re.M)
    chapter = (REPO / "book" / "08_fast_convolution.md").read_text(encoding="utf-8")
    rows = re.search(r'"rows": (\[.*?\]),', chapter).group(1)
    quoted = re.findall(r"\((\d), ([\d.]+), ([\d.]+), ([\d.]+)\)", rows)
    assert len(table) == 2 and quoted == table
