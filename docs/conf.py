"""Sphinx configuration: API reference from the numpydoc docstrings and a gallery."""

import seqknn

project = "seqknn"
author = "seqknn developers"
release = seqknn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
}
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build"]
