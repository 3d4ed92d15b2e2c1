"""The built book, made once per test session, and a local web server for the browser tests."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ARTIFACTS

from convnb.train import reproducible_environ

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "book" / "_vendor" / "public" / "vendor"
LABS = sorted(p.name for p in (REPO / "labs" / "source").iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds a copy of the book with the real `jupyter-book build`, failing on any warning,
    after making the labs' student notebooks with `python -m autograder release` and the
    students' package with `python -m autograder.student_wheel` as `make book` does. Returns
    the site's folder.

    While working on the tests, ``CONVNB_BUILT_BOOK=path/to/_build/html`` reuses a site built
    before instead (CI never sets it)."""
    reuse = os.environ.get("CONVNB_BUILT_BOOK")
    if reuse:
        return Path(reuse)
    if not (VENDOR / "mathjax" / "tex-mml-chtml.js").is_file():
        pytest.fail(f"{VENDOR} is missing: run `make vendor` (make test and make book do)")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    if not jupyter_book.exists():
        pytest.fail(f"no {jupyter_book}: install the book extra (pip install -e '.[book]')")

    source = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "book", source / "book", ignore=shutil.ignore_patterns(
        "node_modules", "_build", "_downloads", ".ipynb_checkpoints", "__pycache__"))
    # The fast-convolution chapter shows the GPU measurements committed as data.
    shutil.copytree(REPO / "bench" / "results", source / "bench" / "results")
    (source / "labs").mkdir()
    shutil.copy2(REPO / "labs" / "nbgrader_config.py", source / "labs")
    shutil.copytree(REPO / "labs" / "source", source / "labs" / "source")
    subprocess.run([sys.executable, "-m", "autograder", "--course", str(source / "labs"),
                    "release", *LABS], check=True, capture_output=True, cwd=source)
    subprocess.run([sys.executable, "-m", "autograder.student_wheel",
                    str(source / "book" / "_downloads" / "package")], check=True,
                   capture_output=True)
    # Matplotlib announces on stderr that it builds its font cache; a chapter's stderr fails
    # the build, so let that happen here first.
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=True)
    # On the BLAS kernels `make book` uses, so that chapter 9's training is the shipped one.
    start = time.perf_counter()
    result = subprocess.run(
        [str(jupyter_book), "build", str(source), "--all", "-W", "--keep-going"],
        capture_output=True, text=True, timeout=900, env=reproducible_environ(os.environ))
    seconds = time.perf_counter() - start
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "book-build.log").write_text(
        f"jupyter-book build: {seconds:.0f} s, exit {result.returncode}\n"
        + result.stdout + result.stderr, encoding="utf-8")
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, f"jupyter-book build failed:\n{log}"
    return source / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="session")
def book_url(built_book: Path) -> Iterator[str]:
    """The built book served on 127.0.0.1 (a free port) for as long as the session runs."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
