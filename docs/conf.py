import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "channels_test"
author = "The channels_test developers"
copyright = "2026, The channels_test developers"
release = "0.1.0"

extensions = []
templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
