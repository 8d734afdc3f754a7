"""Sphinx configuration: the API reference (numpydoc docstrings) and the examples gallery.

    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

CI builds it with warnings as errors; the gallery runs every examples/plot_*.py.
"""

from __future__ import annotations

import warnings

import matplotlib

import gensample

matplotlib.use("Agg")
# numpydoc reports a docstring it cannot parse as a Python warning, not a Sphinx one: an error
# here too, so that -W holds for the docstrings as well.
warnings.filterwarnings("error", category=UserWarning, module="numpydoc")

project = "gensample"
author = "the gensample developers"
copyright = "2026, the gensample developers"  # noqa: A001 (Sphinx's name)
release = version = gensample.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # scikit-learn's metadata-routing setters, inherited by the drop-ins: its docs' cross-references
    "exclude-members": "set_fit_request, set_score_request",
}
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"gensample {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
