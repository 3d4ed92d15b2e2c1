"""Launch buttons only when the book names its repository, and never one that cannot open a
MyST-markdown chapter (book/_ext/run_this_page.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "run_this_page", REPO / "book" / "_ext" / "run_this_page.py")
run_this_page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_this_page)

BUTTONS = {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
           "jupyterhub_url": "https://hub.example.edu", "colab_url": "https://colab.example",
           "thebe": False}


def _configure(repository_url: str | None) -> dict:
    options = {"launch_buttons": dict(BUTTONS)}
    if repository_url is not None:
        options["repository_url"] = repository_url
    config = SimpleNamespace(html_theme_options=options)
    run_this_page._launch_only_with_a_repository(None, config)
    return config.html_theme_options


def test_no_repository_means_no_launch_buttons():
    for url in (None, "", "https://github.com/executablebooks/jupyter-book"):
        options = _configure(url)
        assert not any(options["launch_buttons"].get(key) for key in
                       ("binderhub_url", "jupyterhub_url", "colab_url")), url
        assert options["repository_url"] == ""


def test_a_repository_turns_binder_and_jupyterhub_on():
    options = _configure("https://github.com/example/convnb-course")
    buttons = options["launch_buttons"]
    assert buttons["binderhub_url"] == BUTTONS["binderhub_url"]
    assert buttons["jupyterhub_url"] == BUTTONS["jupyterhub_url"]
    # The theme's own Colab button would open the markdown source, which Colab cannot read.
    assert "colab_url" not in buttons
    assert options["repository_url"] == "https://github.com/example/convnb-course"


def test_colab_opens_the_executed_notebook_on_the_published_branch():
    link = run_this_page.colab_link("https://github.com/example/convnb-course",
                                    "https://colab.research.google.com/", "gh-pages")
    assert link("book/02_convolution") == (
        "https://colab.research.google.com/github/example/convnb-course/blob/gh-pages/"
        "_sources/book/02_convolution.ipynb")
    # `make book` writes that notebook where the link expects it, relative to the site's root.
    assert run_this_page.colab_link("https://gitlab.com/a/b", "https://colab", "pages") is None


def test_colab_needs_its_branch_and_a_repository():
    app = SimpleNamespace()
    config = SimpleNamespace(html_theme_options={
        "repository_url": "https://github.com/example/c",
        "launch_buttons": {"colab_url": "https://colab.research.google.com"}})
    run_this_page._launch_only_with_a_repository(app, config)
    assert app.colab_notebooks is None  # no colab_pages_branch: no button
    config.html_theme_options["launch_buttons"] = {
        "colab_url": "https://colab.research.google.com", "colab_pages_branch": "gh-pages"}
    run_this_page._launch_only_with_a_repository(app, config)
    assert app.colab_notebooks("book/intro").endswith("/blob/gh-pages/_sources/book/intro.ipynb")
    config.html_theme_options = {"launch_buttons": {
        "colab_url": "https://colab.research.google.com", "colab_pages_branch": "gh-pages"}}
    run_this_page._launch_only_with_a_repository(app, config)
    assert app.colab_notebooks is None  # no repository: no launch button at all
