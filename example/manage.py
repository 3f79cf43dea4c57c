#!/usr/bin/env python
"""Django's command-line utility for the chat example."""

import os
import sys


def main():
    # Works from any directory: the project packages live beside this file.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    if sys.argv[1:2] == ["test"]:
        # Test discovery starts in the current directory; start it here, not
        # in the repository around this example (which has tests of its own).
        os.chdir(here)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
