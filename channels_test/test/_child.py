"""The program a live-server child process runs: Daphne or a worker (with the delay server in the first).

:class:`~channels_test.test.live.ChannelLiveServerTestCase` starts each child
as ``python -m channels_test.test._child CONFIG_FILE READY_FD``. ``CONFIG_FILE``
is a pickle written by the test process: the settings module, the settings
it overrides (the test database names and the live channel layer among
them) and what the child should run. The child rebuilds Django from that
alone, so it behaves the same whatever the multiprocessing start method.

The child reports to the test process on the pipe ``READY_FD``, one JSON
object a line: ``{"ready": {...}}`` once it serves, or ``{"error": traceback}``
if it cannot start. Its stdout and stderr go to a file the test process shows
when the child fails. It exits by itself if the test process goes away.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from .. import compat

__all__ = ["main", "run_daphne", "run_worker", "setup_django", "RefusedChannelLayer"]

PARENT_POLL_INTERVAL = 0.5


class Reporter:
    """Write status lines to the test process over the ready pipe."""

    def __init__(self, fd: int):
        self.stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()

    def send(self, **status: Any) -> None:
        with self.lock:
            try:
                self.stream.write(json.dumps(status) + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the test process stopped listening; it no longer needs us


def setup_django(config: dict) -> None:
    """Configure Django as the test process has it: settings module plus its overrides."""
    sys.path[:0] = [entry for entry in config.get("sys_path", []) if entry not in sys.path]
    from django.conf import settings

    module = config["settings_module"]
    overrides = config["overrides"]
    if module:
        os.environ["DJANGO_SETTINGS_MODULE"] = module
        with compat.setting_deprecations_silenced():
            for name, value in overrides.items():
                setattr(settings, name, value)
        for name in config["deleted"]:
            if hasattr(settings, name):
                delattr(settings, name)
    else:
        settings.configure(**overrides)

    import django

    django.setup()
    _show_errors_in_output()
    if config.get("sqlite_synchronous"):
        from django.db import connections

        from ._livesetup import set_sqlite_synchronous

        set_sqlite_synchronous(connections, config["sqlite_synchronous"])


def _show_errors_in_output() -> None:
    """Send warnings and errors of the serving code to stderr (the captured output)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("channels_test", "django.channels", "daphne", "django.request"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)


def watch_parent(parent_pid: int) -> None:
    """End this process soon after the test process ends, however it ended."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_INTERVAL)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, name="watch-test-process", daemon=True).start()


def run_daphne(config: dict, reporter: Reporter) -> None:
    """Serve the interface application with Daphne until terminated."""
    import daphne.server  # noqa: F401  (installs the asyncio reactor before anything else)
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from django.utils.module_loading import import_string

    application = import_string(config["application"])
    endpoints = build_endpoint_description_strings(host=config["bind_host"], port=config["port"])
    server: Server

    def ready() -> None:
        host, port = server.listening_addresses[0]
        reporter.send(ready={"host": host, "port": port})

    server = Server(
        application=application,
        endpoints=endpoints,
        signal_handlers=False,
        verbosity=0,
        ready_callable=ready,
        **config.get("server_options", {}),
    )
    server.run()
    if not server.listening_addresses:
        raise RuntimeError(
            f"Daphne could not listen on {config['bind_host']}:{config['port']} (see the "
            "log above): another program may hold that port; leave the test case's port "
            "at 0 to let the system pick a free one."
        )


def run_worker(config: dict, reporter: Reporter) -> None:
    """Run a worker group on the live channel layer until terminated.

    With ``delay`` in ``config`` (the first worker process, when the live
    server runs the delay server), the delay server runs in a thread of this
    process too, and the process reports ready once both listen.
    """
    from channels_test.asgi import channel_layers
    from channels_test.signals import worker_process_ready
    from channels_test.staticfiles import add_default_routes
    from channels_test.worker import WorkerGroup

    wrapper = channel_layers[config["alias"]]
    # Django's views behind the routing, with static files under STATIC_URL
    # as StaticLiveServerTestCase serves them (serve_static).
    add_default_routes(wrapper.router, serve_static=bool(config.get("serve_static")))
    delay = config.get("delay")
    delay_thread: DelayThread | None = None
    if delay is not None:
        delay_thread = DelayThread(channel_layers[delay["alias"]], delay["check_interval"], reporter)
        delay_thread.start()
    ready_info = {"threads": config["threads"], "delay": delay_thread is not None}

    def ready(sender: Any, **kwargs: Any) -> None:
        reporter.send(ready=ready_info)

    worker_process_ready.connect(ready, weak=False)
    group = WorkerGroup(wrapper, n_threads=config["threads"], signal_handlers=False)
    if delay_thread is not None:
        delay_thread.wait_ready(config.get("startup_timeout", 30.0))
    group.run()


class DelayThread(threading.Thread):
    """The delay server (``channels_test.delay``) in a daemon thread of a worker process.

    :meth:`wait_ready` returns once it listens, or raises if it failed
    first. If it fails later, it ends the whole process with its traceback,
    so that the live server reports the worker process as dead and restarts
    it (and with it the delay server) before the next test.
    """

    def __init__(self, layer: Any, check_interval: float, reporter: Reporter):
        super().__init__(name="channels-live-delay", daemon=True)
        self.layer = layer
        self.check_interval = check_interval
        self.reporter = reporter
        self.listening = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from channels_test.delay.worker import Worker

            worker = Worker(self.layer, signal_handlers=False, database_sleep_duration=self.check_interval)
            # Worker.ready() is a hook replaced on the instance; mypy flags any method assignment.
            worker.ready = self.listening.set  # type: ignore[method-assign]
            worker.run()
            raise RuntimeError("The delay server stopped; it should run as long as its process.")
        except BaseException as error:
            if not self.listening.is_set():
                self.error = error
                self.listening.set()  # wait_ready() raises it in the main thread
                return
            text = traceback.format_exc()
            sys.stderr.write(text)
            sys.stderr.flush()
            self.reporter.send(error=text)
            os._exit(1)

    def wait_ready(self, timeout: float) -> None:
        """Return once the delay server listens; raise if it failed first, or after ``timeout`` s."""
        if not self.listening.wait(timeout):
            raise RuntimeError(f"The delay server did not start listening within {timeout:g} s.")
        if self.error is not None:
            raise RuntimeError("The delay server failed to start.") from self.error


class RefusedChannelLayer:
    """Stand in for a channel layer the live server does not serve; any use raises."""

    extensions: list[str] = []

    def __init__(self, *, alias: str, live_alias: str, **config: Any):
        self._alias = alias
        self._live_alias = live_alias

    def __getattr__(self, name: str) -> Any:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"Channel layer {self._alias!r} is not available under ChannelLiveServerTestCase: "
            f"its Daphne and workers serve only {self._live_alias!r}, and {self._alias!r} "
            "would reach a layer they cannot see (or your real one). Use "
            f"{self._live_alias!r}, or set channel_layer_alias on the test case."
        )

    def __repr__(self) -> str:
        return f"<RefusedChannelLayer {self._alias!r} (live: {self._live_alias!r})>"


def main(argv: list[str]) -> int:
    """Run the child described by ``argv``: ``CONFIG_FILE READY_FD``."""
    config_path, ready_fd = argv[0], int(argv[1])
    reporter = Reporter(ready_fd)
    try:
        with open(config_path, "rb") as config_file:
            config = pickle.load(config_file)
        watch_parent(config["parent_pid"])
        setup_django(config)
        from django.utils.module_loading import import_string

        entry: Callable[[dict, Reporter], None] = import_string(config["entry"])
        entry(config, reporter)
    except BaseException:
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        reporter.send(error=text)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
