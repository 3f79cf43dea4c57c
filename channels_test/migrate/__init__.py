"""Rewrite a Channels 1.x project for channels_test: ``python -m channels_test.migrate PATH``.

See docs/migrating.rst. The rewriting needs LibCST: ``pip install channels_test[migrate]``.
"""
