import os
import sys

# The API reference (api.rst) imports the package from this clone, with
# Django set up from the minimal settings beside this file.
DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(DOCS), DOCS]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_settings")

import django  # noqa: E402

django.setup()

import channels_test  # noqa: E402

project = "channels_test"
author = "The channels_test authors"
copyright = "2026, the channels_test authors"
release = channels_test.__version__
version = release

extensions = ["sphinx.ext.autodoc"]
templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"

# The reference documents each name once, where users import it from; the
# other pages link to it with :class: and :func:.
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autoclass_content = "both"
