#!/usr/bin/env python
"""Run the test suite.

    python runtests.py                      # everything
    python runtests.py --fast               # no live-server or browser tests
    python runtests.py tests.test_layers    # one module (any Django test label)

Other options go to Django's test command (--parallel, -v 2, -k ...).
"""

import os
import sys


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    args = sys.argv[1:]
    if "--fast" in args:
        args.remove("--fast")
        args += ["--exclude-tag", "live", "--exclude-tag", "browser"]
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], "test", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
