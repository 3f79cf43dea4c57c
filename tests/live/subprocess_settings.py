"""Settings for test runs started by tests/test_live_server.py in a subprocess.

The suite's settings, with test databases of their own (named by
``LIVE_DB_NAME``) so the subprocess never touches the running suite's.
``LIVE_START_METHOD`` sets the multiprocessing start method ``--parallel`` uses.
"""

import multiprocessing
import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import DATABASES

DATABASES = {
    alias: {**config, "TEST": {**config.get("TEST", {}), "NAME": os.environ["LIVE_DB_NAME"]}}
    for alias, config in DATABASES.items()
}

if os.environ.get("LIVE_START_METHOD"):
    multiprocessing.set_start_method(os.environ["LIVE_START_METHOD"], force=True)
