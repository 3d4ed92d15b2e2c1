""""Run this page": every chapter offers itself as a notebook, and launch buttons only when the
book knows where its repository is.

* The theme copies a MyST notebook's executed ``.ipynb`` into ``_sources/`` (and offers it in the
  download menu) only when a launch service is configured. Here every executed page gets it.
* Launch buttons (Binder, JupyterHub) need the repository's address. Jupyter Book fills in its own
  repository when ``_config.yml`` names none, which would make every button open a page of
  another project; so without ``repository.url`` in ``_config.yml`` the buttons are left out.
* Colab opens only ``.ipynb`` files from GitHub, and the chapters are MyST markdown, so a Colab
  button would open nothing: it is never offered (Binder and JupyterHub read the markdown through
  jupytext, which the course's environment installs).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

JUPYTER_BOOK_DEFAULT = "https://github.com/executablebooks/jupyter-book"


def _launch_only_with_a_repository(app: Sphinx, config) -> None:
    options = config.html_theme_options
    url = (options.get("repository_url") or "").rstrip("/")
    buttons = dict(options.get("launch_buttons") or {})
    buttons.pop("colab_url", None)
    if not url or url == JUPYTER_BOOK_DEFAULT:
        buttons = {key: value for key, value in buttons.items()
                   if key not in ("binderhub_url", "jupyterhub_url", "jupyterlite_url")}
        options["repository_url"] = ""
    options["launch_buttons"] = buttons


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
