# The package's metadata lives in pyproject.toml; this shim keeps
# `python setup.py ...` and tools that call it working.
from setuptools import setup

setup()
