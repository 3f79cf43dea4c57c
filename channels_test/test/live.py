"""``ChannelLiveServerTestCase``: real Daphne and worker processes for browser tests.

At class set-up the test case starts one Daphne process serving the
interface application, ``worker_processes`` worker processes and, with
``channels_test.delay`` installed, the delay server, all
against the test database and a channel layer the test process shares.
Children are fresh interpreters started with :mod:`subprocess` (see
:mod:`channels_test.test._processes`), so nothing depends on the
multiprocessing start method.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import TransactionTestCase, modify_settings
from django.utils.functional import classproperty

from ..channel import DEFAULT_CHANNEL_LAYER
from ._livesetup import (
    LayerSpec,
    live_layer_spec,
    set_sqlite_synchronous,
    settings_overrides,
    test_databases,
)
from ._processes import (
    DaphneProcess,
    DelayProcess,
    LiveProcess,
    LiveServerError,
    WorkerProcess,
    wait_until_ready,
)

__all__ = [
    "ChannelLiveServerTestCase",
    "DaphneProcess",
    "WorkerProcess",
    "DelayProcess",
    "LiveProcess",
    "LiveServerError",
]


class ChannelLiveServerTestCase(TransactionTestCase):
    """A TransactionTestCase with a live Daphne and workers, started once per class.

    ``live_server_url`` (``http://localhost:<port>``) and ``live_server_ws_url``
    (``ws://...``) point at Daphne. With ``channels_test.delay`` installed,
    the delay server runs too, so messages sent to ``asgi.delay`` arrive. The test process shares the live channel
    layer: ``Group(...).send(...)`` in a test reaches sockets connected to
    the live server. The layer is flushed before each test and the database
    after it. A child that fails to start, or dies during a test, makes the
    test error with the child's traceback and last output.
    """

    #: Host name in the URLs; 'localhost' listens on 127.0.0.1.
    host = "localhost"
    #: Port Daphne listens on; 0 lets the system pick a free one.
    port = 0
    #: Number of worker processes, and of worker threads in each.
    worker_processes = 1
    worker_threads = 1
    #: Serve files under STATIC_URL with the static files finders.
    serve_static = True
    #: PRAGMA synchronous for SQLite test databases, here and in the workers:
    #: "OFF" skips the fsync at each commit; None keeps SQLite's own (FULL).
    sqlite_synchronous: str | None = "OFF"
    #: Seconds to wait for every child to report ready.
    startup_timeout = 30.0
    #: Seconds a child gets to exit after SIGTERM before SIGKILL.
    shutdown_timeout = 5.0
    #: Seconds get_next_message() waits for a message by default.
    receive_timeout = 5.0
    #: The CHANNEL_LAYERS alias the live server serves (the only one usable).
    channel_layer_alias = DEFAULT_CHANNEL_LAYER
    #: Dotted path of the ASGI application Daphne serves.
    application = "channels_test.interface.application"
    #: Run the delay server too: None runs it when ``channels_test.delay`` is installed.
    delay_server: bool | None = None
    #: Seconds between the delay server's checks for due messages (``rundelay --sleep``).
    delay_check_interval = 0.25
    #: Process classes; swap them in a subclass to change how children run.
    daphne_process_class = DaphneProcess
    worker_process_class = WorkerProcess
    delay_process_class = DelayProcess

    # -- URLs -------------------------------------------------------------

    @classproperty
    def live_server_url(cls) -> str:
        return f"http://{cls._live_netloc()}"

    @classproperty
    def live_server_ws_url(cls) -> str:
        return f"ws://{cls._live_netloc()}"

    @classproperty
    def allowed_host(cls) -> str:
        return cls.host

    @classmethod
    def _live_netloc(cls) -> str:
        host = f"[{cls.host}]" if ":" in cls.host else cls.host
        return f"{host}:{cls._live_port()}"

    @classmethod
    def _live_port(cls) -> int:
        daphne = cls.__dict__.get("_live_daphne")
        if daphne is None:
            raise AttributeError(
                f"{cls.__name__} has no live server yet: its URLs are known once setUpClass() "
                "has started it (call super().setUpClass() first)."
            )
        return daphne.listening_port

    # -- class set-up -----------------------------------------------------

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._check_options()
        allowed_hosts = modify_settings(ALLOWED_HOSTS={"append": cls.allowed_host})
        allowed_hosts.enable()  # (enterClassContext would need Python 3.11)
        cls.addClassCleanup(allowed_hosts.disable)
        databases = test_databases(alias for alias in connections if alias in cls.databases)
        if cls.sqlite_synchronous is not None:
            cls.addClassCleanup(set_sqlite_synchronous(connections, cls.sqlite_synchronous))
        cls._live_directory = tempfile.mkdtemp(prefix="channels-live-")
        cls.addClassCleanup(shutil.rmtree, cls._live_directory, ignore_errors=True)
        spec = live_layer_spec(cls.channel_layer_alias, cls._live_directory)
        cls._install_live_layer(spec)
        cls._start_live_processes(cls._child_config(spec, databases))

    @classmethod
    def _check_options(cls) -> None:
        for name in ("worker_processes", "worker_threads"):
            value = getattr(cls, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ImproperlyConfigured(f"{cls.__name__}.{name} must be an int >= 1, not {value!r}.")
        if not isinstance(cls.port, int) or not 0 <= cls.port <= 65535:
            raise ImproperlyConfigured(
                f"{cls.__name__}.port must be 0 (any free port) or a port number, not {cls.port!r}."
            )

    @classmethod
    def _install_live_layer(cls, spec: LayerSpec) -> None:
        """Make the live layer this process's layer for the alias; refuse the other aliases."""
        from ..asgi import channel_layers

        wrapper = spec.make_wrapper()
        cls._live_layer = wrapper
        cls.addClassCleanup(_flush_and_close, wrapper)
        cls._live_layer_entries = {spec.alias: wrapper}
        for alias in channel_layers.configs:
            if alias != spec.alias:
                cls._live_layer_entries[alias] = _refused_wrapper(alias, spec.alias)
        for alias, entry in cls._live_layer_entries.items():
            previous = channel_layers.set(alias, entry)
            cls.addClassCleanup(channel_layers.set, alias, previous)
        _flush_quietly(wrapper)

    @classmethod
    def _child_config(cls, spec: LayerSpec, databases: dict) -> dict:
        from ..asgi import channel_layers

        module, overrides, deleted = settings_overrides()
        overrides["DATABASES"] = databases
        overrides["CHANNEL_LAYERS"] = spec.children_setting(channel_layers.configs)
        return {
            "settings_module": module,
            "overrides": overrides,
            "deleted": deleted,
            "sys_path": list(sys.path),
            "parent_pid": os.getpid(),
            "sqlite_synchronous": cls.sqlite_synchronous,
        }

    @classmethod
    def _start_live_processes(cls, config: dict) -> None:
        """Start Daphne and the workers (each stopped by a class cleanup), then await them."""
        directory = cls._live_directory
        daphne = cls.daphne_process_class(
            config, directory=directory, host=cls.host, port=cls.port, application=cls.application
        )
        daphne.start()
        cls.addClassCleanup(daphne.stop, cls.shutdown_timeout)
        processes: list[LiveProcess] = [daphne]
        for index in range(1, cls.worker_processes + 1):
            worker = cls.worker_process_class(
                config,
                directory=directory,
                index=index,
                alias=cls.channel_layer_alias,
                threads=cls.worker_threads,
                serve_static=cls.serve_static,
            )
            worker.start()
            cls.addClassCleanup(worker.stop, cls.shutdown_timeout)
            processes.append(worker)
        if cls._runs_delay_server():
            delay = cls.delay_process_class(
                config, directory=directory, alias=cls.channel_layer_alias,
                check_interval=cls.delay_check_interval,
            )
            delay.start()
            cls.addClassCleanup(delay.stop, cls.shutdown_timeout)
            processes.append(delay)
        cls._live_processes = processes
        wait_until_ready(processes, cls.startup_timeout)
        cls._live_daphne = daphne
        # A restarted Daphne must come back on the same port: the URLs are out.
        daphne.port = daphne.listening_port

    @classmethod
    def _runs_delay_server(cls) -> bool:
        installed = apps.is_installed("channels_test.delay")
        if cls.delay_server is None:
            return installed
        if cls.delay_server and not installed:
            raise ImproperlyConfigured(
                f"{cls.__name__}.delay_server is True, but 'channels_test.delay' is not in "
                "INSTALLED_APPS: add it (and migrate), or leave delay_server at None."
            )
        return bool(cls.delay_server)

    # -- each test --------------------------------------------------------

    def _setup_and_call(self, result: Any, debug: bool = False) -> None:
        if not _is_skipped(self):
            try:
                self._prepare_live_test()
            except Exception:
                if debug:
                    raise
                result.addError(self, sys.exc_info())
                return
            self.addCleanup(self._check_live_processes)
        super()._setup_and_call(result, debug)

    def _prepare_live_test(self) -> None:
        """Restart children that died, re-install and flush the live layer."""
        cls = type(self)
        from ..asgi import channel_layers

        dead = [process for process in cls._live_processes if not process.is_alive()]
        unreported = [
            process.failure(f"{process.exit_description()} after an earlier test")
            for process in dead
            if not process.failure_reported
        ]
        for process in dead:
            process.stop(cls.shutdown_timeout)
            process.start()
        if dead:
            wait_until_ready(dead, cls.startup_timeout)
        for alias, entry in cls._live_layer_entries.items():
            if channel_layers.backends.get(alias) is not entry:
                channel_layers.set(alias, entry)
        _flush_quietly(cls._live_layer)
        if unreported:
            raise LiveServerError(
                "\n\n".join(str(error) for error in unreported)
                + "\n\n(It was restarted for this test; the error belongs to the previous one.)"
            )

    def _check_live_processes(self) -> None:
        """Raise LiveServerError if a child died during the test."""
        failures = []
        for process in type(self)._live_processes:
            if not process.is_alive() and not process.failure_reported:
                process.failure_reported = True
                failures.append(process.failure(f"{process.exit_description()} during this test"))
        if failures:
            raise LiveServerError(
                "\n\n".join(str(error) for error in failures)
                + "\n\n(It is restarted before the next test.)"
            )

    # -- helpers for tests ------------------------------------------------

    def live_server_output(self) -> str:
        """Return the last lines each live process wrote (consumer tracebacks show up here)."""
        return "\n\n".join(
            f"{process.describe()}, {process.output_path}:\n{process.output_tail() or '(no output)'}"
            for process in type(self)._live_processes
        )

    def get_next_message(
        self, channel: Any, alias: str | None = None, require: bool = False, *, timeout: float | None = None
    ) -> Any:
        """Return the next message on ``channel`` of the live layer, waiting up to ``timeout`` s.

        ``channel`` is a name or a :class:`~channels_test.Channel`. ``timeout``
        defaults to ``receive_timeout`` (live workers answer asynchronously);
        return None if nothing came in time, or with ``require=True`` fail the
        test naming the channel, the wait and where messages are waiting.
        """
        from ..asgi import channel_layers
        from ..message import Message
        from .base import channel_name, describe_waiting

        wrapper = channel_layers[alias or self.channel_layer_alias]
        name = channel_name(channel)
        wait = self.receive_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            received, content = wrapper.receive([name], block=False)
            if received is not None:
                return Message(content, received, wrapper)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        if require:
            raise AssertionError(
                f"Expected a message on channel {name!r} within {wait:g} s; none came "
                f"({describe_waiting(wrapper)})."
            )
        return None


def _is_skipped(test: Any) -> bool:
    method = getattr(test, test._testMethodName, None)
    return getattr(type(test), "__unittest_skip__", False) or getattr(method, "__unittest_skip__", False)


def _flush_quietly(wrapper: Any) -> None:
    """Flush the live layer if it can be flushed (the 'flush' extension)."""
    if "flush" in getattr(wrapper, "extensions", ()):
        wrapper.flush()


def _flush_and_close(wrapper: Any) -> None:
    """Leave no data behind in the live layer, and close this process's handle on it."""
    try:
        _flush_quietly(wrapper)
    finally:
        close = getattr(wrapper.channel_layer, "close", None)
        if close is not None:
            close()


def _refused_wrapper(alias: str, live_alias: str) -> Any:
    from ..asgi import ChannelLayerWrapper
    from ._child import RefusedChannelLayer

    return ChannelLayerWrapper(RefusedChannelLayer(alias=alias, live_alias=live_alias), alias, [])

