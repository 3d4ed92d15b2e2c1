""""Run this page": every chapter offers itself as a notebook, and launch buttons only when the
book knows where its repository is.

* The theme copies a MyST notebook's executed ``.ipynb`` into ``_sources/`` (and offers it in the
  download menu) only when a launch service is configured. Here every executed page gets it.
* Launch buttons (Binder, JupyterHub) need the repository's address. Jupyter Book fills in its own
  repository when ``_config.yml`` names none, which would make every button open a page of
  another project; so without ``repository.url`` in ``_config.yml`` the buttons are left out.
* Colab opens only ``.ipynb`` files from GitHub, and the chapters are MyST markdown, so the
  theme's Colab button (which points at the ``.md``) would open nothing. The executed notebooks
  this extension copies into ``_sources/`` are in the repository when the site is published on
  a GitHub branch (``ghp-import`` onto ``gh-pages``, Jupyter Book's way): with
  ``launch_buttons.colab_url`` and ``launch_buttons.colab_pages_branch`` set, the Colab button
  opens that notebook. Binder and JupyterHub read the markdown through jupytext, which the
  course's environment installs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from sphinx.application import Sphinx

JUPYTER_BOOK_DEFAULT = "https://github.com/executablebooks/jupyter-book"


def _launch_only_with_a_repository(app: Sphinx, config) -> None:
    options = config.html_theme_options
    url = (options.get("repository_url") or "").rstrip("/")
    buttons = dict(options.get("launch_buttons") or {})
    colab = buttons.pop("colab_url", None), buttons.pop("colab_pages_branch", None)
    if not url or url == JUPYTER_BOOK_DEFAULT:
        buttons = {key: value for key, value in buttons.items()
                   if key not in ("binderhub_url", "jupyterhub_url", "jupyterlite_url")}
        options["repository_url"] = ""
        colab = None, None
    options["launch_buttons"] = buttons
    if app is not None:
        app.colab_notebooks = colab_link(url, *colab) if all(colab) else None


def colab_link(repository_url: str, colab_url: str, branch: str):
    """A function of a page's name giving the Colab address of its executed notebook on the
    published branch, or None when the repository is not on GitHub."""
    parts = urlsplit(repository_url)
    owner_repo = parts.path.strip("/").removesuffix(".git")
    if parts.netloc != "github.com" or owner_repo.count("/") != 1:
        return None
    base = f"{colab_url.rstrip('/')}/github/{owner_repo}/blob/{branch}/_sources"
    return lambda pagename: f"{base}/{pagename}.ipynb"


def _add_colab(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    link = getattr(app, "colab_notebooks", None)
    if link is None or not context.get("ipynb_source"):
        return
    button = {"type": "link", "text": "Colab", "tooltip": "Launch on Colab",
              "icon": "_static/images/logo_colab.png", "url": link(pagename)}
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"]
    if groups:
        groups[0]["buttons"].append(button)
    else:
        context.setdefault("header_buttons", []).append(
            {"type": "group", "tooltip": "Launch interactive content", "icon": "fas fa-rocket",
             "buttons": [button], "label": "launch-buttons"})


def _offer_the_notebook(app: Sphinx, pagename: str, templatename: str, context: dict,
                        doctree) -> None:
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _launch_only_with_a_repository, priority=900)
    app.connect("html-page-context", _offer_the_notebook, priority=500)
    app.connect("html-page-context", _add_colab, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
