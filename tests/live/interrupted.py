"""A live test that interrupts its own run (``LIVE_SIGNAL``): its children must still end.

``LIVE_SIGNAL=FAIL`` makes the test fail instead, and the run end normally.

SIGINT is sent twice (Ctrl-C pressed twice: an abort, not Django's graceful stop);
SIGKILL leaves the children to notice on their own that the test process is gone.

Run only by tests/test_live_server.py, in a subprocess; it records the
children's pids in the file ``LIVE_RECORD``.
"""

import json
import os
import signal
import sys
import time

from django.test import tag

from channels_test.test.live import ChannelLiveServerTestCase
from tests.support.live import live_settings

NOT_INTERRUPTED = "{signal} did not end the run within 30 s"


@tag("live")
@live_settings
class InterruptedTests(ChannelLiveServerTestCase):
    def test_interrupt_the_run(self):
        with open(os.environ["LIVE_RECORD"], "w") as record:
            json.dump(
                {
                    "pids": [process.pid for process in self._live_processes],
                    "directory": type(self)._live_server_of_class().directory,
                },
                record,
            )
        if os.environ["LIVE_SIGNAL"] == "FAIL":
            self.fail("this live test fails on purpose; its children must still end")
        signum = getattr(signal, os.environ["LIVE_SIGNAL"])
        # Django's runner takes a first Ctrl-C as "stop after this test"; the
        # second one (like a user pressing it twice) raises KeyboardInterrupt.
        # Python runs a signal's handler as soon as os.kill() returns, so the
        # second Ctrl-C finds the first one handled.
        for _ in range(2 if signum == signal.SIGINT else 1):
            os.kill(os.getpid(), signum)
        # The signal ends the run from here; wait for that, but not for ever.
        # If it does not, this test passes: the run's success is what the
        # outer test reports, with this line in the output.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
        print(NOT_INTERRUPTED.format(signal=os.environ["LIVE_SIGNAL"]), file=sys.stderr, flush=True)
