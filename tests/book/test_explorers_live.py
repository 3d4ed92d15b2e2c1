"""An explorer in a real JupyterLab with a running kernel: moving a control that only a kernel can
follow (a live control) recomputes the picture with convnb. The server runs on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser import ARTIFACTS, chromium, local_only, visible_frame

# explorer -> the menu entry that shows its live controls (None: they are always shown)
EXPLORERS = {"conv_arithmetic": "your own settings", "pooling": None}
# True once the frame an explorer shows (the one visible child of its stacks) is not `before`.
SHOWN_CHANGED = """([explorer, before]) => [...explorer.querySelectorAll(
    '.convnb-frames .widget-html-content')].some(e => e.offsetParent !== null
                                                  && e.innerHTML !== before)"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A JupyterLab server on 127.0.0.1 serving a scratch folder: (base URL, token, folder)."""
    pytest.importorskip("jupyterlab", reason="live explorer test: needs JupyterLab (labs extra)")
    root = tmp_path_factory.mktemp("lab")
    home = tmp_path_factory.mktemp("lab-home")
    token = secrets.token_hex(16)
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         "--ServerApp.port=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Port 0: the server asks the system for a free port itself and writes it into its runtime
    # file (a far shorter window for another process to take it than picking one here).
    info = home / "runtime" / f"jpserver-{server.pid}.json"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                url = f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start within 90 s (exit status: "
                                f"{server.poll()})")
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _operate_live(control) -> None:
    """Moves a slider one step, picks another menu entry, or types a number into a box."""
    handle = control.locator(".noUi-handle")
    if handle.count():
        handle.first.focus()
        handle.first.press("ArrowRight")
        return
    menu = control.locator("select")
    if menu.count():
        options = menu.first.locator("option").count()
        current = menu.first.evaluate("e => e.selectedIndex")
        menu.first.select_option(index=(current + 1) % options)
        return
    box = control.locator("input").first
    if box.count():
        box.fill("2")
        box.press("Enter")


@pytest.mark.parametrize("name", sorted(EXPLORERS))
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
        # ?reset: a fresh workspace, so no notebook of an earlier test opens beside this one.
        page.goto(f"{url}/lab/tree/{name}.ipynb?reset&token={token}")
        cell = page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first
        cell.wait_for(timeout=90_000)
        # Run the cell once the kernel has started (the status bar says "Idle").
        page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=90_000)
        cell.click()
        page.keyboard.press("Shift+Enter")
        explorer = page.locator(".convnb-explorer:visible").first
        try:
            explorer.wait_for(timeout=90_000)
        finally:
            page.screenshot(path=ARTIFACTS / f"jupyterlab-{name}-ran.png")
        if EXPLORERS[name]:
            explorer.locator(".convnb-axis select").first.select_option(label=EXPLORERS[name])
            page.wait_for_timeout(500)
        before = visible_frame(explorer)
        live = explorer.locator(".convnb-live")
        assert live.count(), f"{name} has no live control"
        changed = False
        for i in range(live.count()):  # the first live control that changes the frames
            _operate_live(live.nth(i))
            try:
                page.wait_for_function(SHOWN_CHANGED, arg=[explorer.element_handle(), before],
                                       timeout=10_000)
            except Exception:  # noqa: BLE001 (Playwright's timeout): try the next control
                continue
            changed = True
            break
        page.screenshot(path=ARTIFACTS / f"jupyterlab-{name}.png")
        assert changed, f"{name}: no live control changed the picture shown"
        assert not refused, f"JupyterLab asked other hosts for {refused}"
