"""Worker-process entry points whose delay server breaks on purpose (tests/test_delay_servers.py).

A live server's child imports its entry by dotted path, so a test's
``worker_process_class`` can name one of these.
"""

from channels_test.delay.worker import Worker
from channels_test.test._child import run_worker

BROKEN = "the delay server broke on purpose"


def run_worker_whose_delay_server_fails_to_start(config, reporter):
    """Run the worker process with a delay server that raises before it listens."""

    def run(self):
        raise RuntimeError(BROKEN)

    Worker.run = run
    run_worker(config, reporter)


def run_worker_whose_delay_server_fails_on_request(config, reporter):
    """Run the worker process with a delay server that raises on a request ``{"break": True}``."""
    handle = Worker.handle

    def handle_or_break(self, content):
        if isinstance(content, dict) and content.get("break"):
            raise RuntimeError(BROKEN)
        handle(self, content)

    Worker.handle = handle_or_break
    run_worker(config, reporter)
