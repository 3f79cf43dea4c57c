"""A worker's loop, run again and again for a test to SIGTERM in its waits (tests/test_commands.py).

``python -m tests.live.signal_storm worker|delay COUNT`` runs, COUNT times
in the main thread, the loop of a ``runworker`` worker or of the delay
server, with the signal handlers ``runworker`` and ``rundelay`` install.
Their layer is down, so each loop waits between retries, and the retries
wait 0 s: a signal most often lands in a wait's bookkeeping. The process prints ``running`` once a loop runs and
``stopped`` once it returned; the test sends SIGTERM in between, and
SIGUSR1 to have the stack of a loop that did not stop printed.
"""

import faulthandler
import logging
import signal
import sys

import django


class DownLayer:
    """A layer that cannot be reached: the worker waits ``outage_retry_interval`` between tries."""

    class router:
        channels = {"storm"}

    def receive(self, channels, block=True):
        raise ConnectionError("the storm layer is down")


def make_loop(kind: str):
    if kind == "worker":
        from channels_test.worker import Worker

        worker = Worker(DownLayer())
    else:
        from channels_test.delay.worker import Worker as DelayWorker

        class StormDelayWorker(DelayWorker):
            idle_wait = 0

            def check_due(self):
                self._next_check = float("inf")

        worker = StormDelayWorker(channel_layer=DownLayer())
    worker.outage_retry_interval = 0
    worker.ready = lambda: print("running", flush=True)
    return worker


if __name__ == "__main__":
    faulthandler.register(signal.SIGUSR1)
    django.setup()
    quiet = logging.getLogger("channels_test")
    quiet.addHandler(logging.NullHandler())  # the handlers still log: one error per worker loop
    quiet.propagate = False
    kind, count = sys.argv[1], int(sys.argv[2])
    for _ in range(count):
        make_loop(kind).run()
        print("stopped", flush=True)
