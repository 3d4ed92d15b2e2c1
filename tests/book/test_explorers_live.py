"""An explorer in a real JupyterLab with a running kernel: moving a control that only a kernel can
follow (a live control) recomputes the picture with convnb. The server runs on 127.0.0.1 only."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser import chromium, local_only, visible_frame
from conftest import ARTIFACTS

EXPLORERS = ["conv_arithmetic", "kernel_playground"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A JupyterLab server on 127.0.0.1 serving a scratch folder: (base URL, token, folder)."""
    pytest.importorskip("jupyterlab", reason="live explorer test: needs JupyterLab (labs extra)")
    root = tmp_path_factory.mktemp("lab")
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start within 90 s")
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.parametrize("name", EXPLORERS)
def test_a_live_control_recomputes_in_jupyterlab(jupyterlab, name: str):
    url, token, root = jupyterlab
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import convnb.widgets\n\n"
                                                f"convnb.widgets.{name}()")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, root / f"{name}.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        refused = local_only(page, url)
        page.goto(f"{url}/lab/tree/{name}.ipynb?token={token}")
        cell = page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first
        cell.wait_for(timeout=90_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               ".jp-Toolbar-kernelStatus", timeout=90_000)
        cell.click()
        page.keyboard.press("Shift+Enter")
        explorer = page.locator(".convnb-explorer").first
        explorer.wait_for(timeout=90_000)
        before = visible_frame(explorer)
        frames_before = explorer.locator(".convnb-frames").inner_html()
        live = explorer.locator(".convnb-live")
        assert live.count(), f"{name} has no live control"
        handle = live.locator(".noUi-handle")
        if handle.count():
            handle.first.focus()
            handle.first.press("ArrowRight")
        else:  # a number box or a menu
            box = live.locator("input, select").first
            if box.evaluate("e => e.tagName") == "SELECT":
                box.select_option(index=1)
            else:
                box.fill("2")
                box.press("Enter")
        page.wait_for_function(
            "([el, before]) => el.querySelector('.convnb-frames').innerHTML !== before",
            arg=[explorer.element_handle(), frames_before],
            timeout=30_000)
        after = visible_frame(explorer)
        page.screenshot(path=ARTIFACTS / f"jupyterlab-{name}.png")
        assert after != before, f"{name}: the live control changed nothing"
        assert not refused, f"JupyterLab asked other hosts for {refused}"
