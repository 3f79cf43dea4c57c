"""A worker-process entry point that ignores SIGTERM (tests/test_live_server.py).

Only SIGKILL ends it: what the live server sends a child still running
``shutdown_timeout`` seconds after SIGTERM.
"""

import signal

from channels_test.test._child import run_worker


def run_worker_ignoring_sigterm(config, reporter):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run_worker(config, reporter)
