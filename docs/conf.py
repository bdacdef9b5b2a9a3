"""Sphinx configuration of the butterflyvi documentation."""

from importlib.metadata import version as _version

project = "butterflyvi"
author = "butterflyvi developers"
copyright = "2026, butterflyvi developers"
release = _version("butterflyvi")

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "description"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
myst_enable_extensions = ["colon_fence", "dollarmath"]
nb_execution_mode = "off"  # tutorials are executed by the test suite and stored with outputs
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = "butterflyvi"
html_static_path = ["_static"]
suppress_warnings = ["myst.header"]
