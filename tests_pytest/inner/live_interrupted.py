"""Run only by tests_pytest/test_live_server.py, in a pytest of its own.

The live test records its server's pids, then sends the pytest process the
signal named in LIVE_SIGNAL (twice for SIGINT, as a user pressing Ctrl-C
again) and waits to be stopped.
"""

import json
import os
import signal
import time


def test_interrupt_the_run(channels_live_server):
    with open(os.environ["LIVE_RECORD"], "w") as record:
        json.dump(
            {
                "pids": [process.pid for process in channels_live_server.processes],
                "directory": channels_live_server.directory,
            },
            record,
        )
    signum = getattr(signal, os.environ["LIVE_SIGNAL"])
    os.kill(os.getpid(), signum)
    time.sleep(30)
