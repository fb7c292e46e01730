"""Sphinx configuration: API reference from the numpydoc docstrings and a gallery.

Build the HTML without running the examples, failing on any warning (what
``tests/test_docs.py`` does)::

    sphinx-build -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html
"""

import re
from importlib import metadata
from pathlib import Path

import seqknn

project = "seqknn"
author = "seqknn developers"
release = seqknn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "sg_execution_times.rst", "*/sg_execution_times.rst"]

# API reference: docs/_templates/autosummary/class.rst gives each class a page with
# its public methods, inherited ones included, each with its full docstring.
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# "fit()" rather than "V2VSLSClassifier.fit()" in a page's table of contents,
# which is too narrow for the long form.
toc_object_entries_show_parents = "hide"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    # The timing pages load their table scripts from a CDN; the docs are offline.
    "write_computation_times": False,
}

# Math without the network: MathJax 3 served from _static/mathjax, copied from
# the sphinx-mathjax-offline package (a docs dependency) instead of a CDN.
try:
    _mathjax = metadata.distribution("sphinx-mathjax-offline")
except metadata.PackageNotFoundError as exc:
    raise ImportError(
        "the docs need sphinx-mathjax-offline: pip install '.[docs]'"
    ) from exc
_mathjax_static = Path(_mathjax.locate_file("sphinx-mathjax-offline/static"))
html_static_path = [str(_mathjax_static)]
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "pydata_sphinx_theme"
html_title = f"seqknn {release}"
html_theme_options = {
    # Seven top-level pages (short titles in index.rst) do not fit in one row
    # at 1280 px: show the first five and put the others in the "More" menu, so
    # that the header never wraps onto the page title.
    "header_links_before_dropdown": 5,
    "navbar_align": "left",
}

# Inherited methods of scikit-learn and imbalanced-learn (score,
# set_score_request, get_metadata_routing, ...) refer with :ref: and :term: to
# labels and glossary terms of those projects' documentation, which do not exist
# here: keep the link text as plain text instead of an undefined-label warning.
_REF = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _strip_foreign_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    # A seqknn method without a docstring shows the one it overrides.
    if module.split(".")[0] == "seqknn" and getattr(obj, "__doc__", None):
        return
    for i, line in enumerate(lines):
        lines[i] = _REF.sub(lambda m: m.group(1).strip(), line)


def setup(app):
    # Before numpydoc (priority 500) rewrites the docstring.
    app.connect("autodoc-process-docstring", _strip_foreign_refs, priority=400)
