"""The live server: real Daphne and worker processes, for browser and end-to-end tests.

:class:`LiveServer` starts one Daphne process serving the interface
application and ``worker_processes`` worker processes (with
``channels_test.delay`` installed, the first of them runs the delay server
too, in a thread), all against the test databases and a channel layer the
test process shares.
:class:`ChannelLiveServerTestCase` runs one per test class; the pytest
plugin's ``channels_live_server`` fixture one per test module. Children are
fresh interpreters started with :mod:`subprocess` (see
:mod:`channels_test.test._processes`), so nothing depends on the
multiprocessing start method.

Why one module of some 560 lines: the reusable :class:`LiveServer` and the
test case that runs one per class share every step (start, check, flush,
stop) and read best side by side; the process plumbing is in ``_processes``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import TransactionTestCase, modify_settings
from django.utils.functional import classproperty

from .. import compat
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
    LiveProcess,
    LiveServerError,
    WorkerProcess,
    forget_directory,
    remove_at_exit,
    terminate_all,
    wait_until_ready,
)
from .assertions import ChannelAssertionsMixin

__all__ = [
    "ChannelLiveServerTestCase",
    "LiveServer",
    "DaphneProcess",
    "WorkerProcess",
    "LiveProcess",
    "LiveServerError",
]


class LiveServer:
    """Daphne and worker processes serving the project; this process shares their layer.

    Build it with keyword options (the class attributes below, which are
    their defaults), then :meth:`start` it; :meth:`stop` ends every child
    and undoes what :meth:`start` changed (ALLOWED_HOSTS, the layer of
    ``channel_layer_alias`` in this process, SQLite's sync setting), also
    after a start that failed half-way. Between tests, :meth:`prepare_test`
    restarts children that died and flushes the layer, and
    :meth:`check_processes` reports a child that died during the test.

    With ``channels_test.delay`` installed, the delay server runs too, as a
    thread of the first worker process, so messages sent to ``asgi.delay``
    arrive.

    ``databases`` names the database aliases the tests use: each must be
    one another process can open (no in-memory SQLite). ``owner`` names
    where the options were set, for error messages.
    """

    #: Host name in the URLs; 'localhost' listens on 127.0.0.1.
    host = "localhost"
    #: Port Daphne listens on; 0 lets the system pick a free one.
    port = 0
    #: Host added to ALLOWED_HOSTS while the server runs (None: ``host``).
    allowed_host: str | None = None
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
    #: Process classes; swap them to change how children run.
    daphne_process_class: type[DaphneProcess] = DaphneProcess
    worker_process_class: type[WorkerProcess] = WorkerProcess

    #: The options a LiveServer takes (and ChannelLiveServerTestCase passes on).
    OPTIONS = (
        "host",
        "port",
        "allowed_host",
        "worker_processes",
        "worker_threads",
        "serve_static",
        "sqlite_synchronous",
        "startup_timeout",
        "shutdown_timeout",
        "receive_timeout",
        "channel_layer_alias",
        "application",
        "delay_server",
        "delay_check_interval",
        "daphne_process_class",
        "worker_process_class",
    )

    def __init__(self, *, databases: Iterable[str] | None = None, owner: str = "LiveServer", **options: Any):
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise TypeError(
                f"{owner}: unknown live server option(s) {', '.join(map(repr, unknown))}; "
                f"the options are {', '.join(self.OPTIONS)}."
            )
        for name, value in options.items():
            setattr(self, name, value)
        self.databases = [DEFAULT_DB_ALIAS] if databases is None else list(databases)
        self.owner = owner
        self.processes: list[LiveProcess] = []
        self.directory: str | None = None
        self._daphne: DaphneProcess | None = None
        self._layer: Any = None
        self._layer_entries: dict[str, Any] = {}
        self._cleanups = contextlib.ExitStack()
        self._started = False

    def __repr__(self) -> str:
        where = self.url if self._daphne is not None else "not running"
        return f"<{type(self).__name__} {where}>"

    # -- URLs -------------------------------------------------------------

    @property
    def listening_port(self) -> int:
        """The port Daphne listens on (LiveServerError before it is ready)."""
        if self._daphne is None:
            raise LiveServerError(f"The live server of {self.owner} is not running: start() it first.")
        return self._daphne.listening_port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.listening_port}"

    @property
    def url(self) -> str:
        """``http://host:port`` of Daphne."""
        return f"http://{self.netloc}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port`` of Daphne."""
        return f"ws://{self.netloc}"

    @property
    def daphne(self) -> DaphneProcess:
        """The Daphne process, once it listens."""
        self.listening_port  # noqa: B018  (raises if not running)
        assert self._daphne is not None  # listening_port raised otherwise
        return self._daphne

    @property
    def layer(self) -> Any:
        """The live channel layer's wrapper, shared with the children."""
        return self._layer

    # -- start and stop ---------------------------------------------------

    def start(self) -> None:
        """Start Daphne and the workers and wait until all are ready.

        Raise LiveServerError (with the child's traceback) if one fails to
        start, ImproperlyConfigured for settings the children cannot use.
        Whatever was started is stopped by :meth:`stop`, also then.
        """
        if self._started:
            raise LiveServerError(f"The live server of {self.owner} was started already; stop() it first.")
        self.check_options()
        self._started = True
        self.processes = []
        allowed_hosts = modify_settings(ALLOWED_HOSTS={"append": self.allowed_host or self.host})
        allowed_hosts.enable()
        self._cleanups.callback(allowed_hosts.disable)
        databases = test_databases(alias for alias in connections if alias in self.databases)
        if self.sqlite_synchronous is not None:
            self._cleanups.callback(set_sqlite_synchronous(connections, self.sqlite_synchronous))
        self.directory = tempfile.mkdtemp(prefix="channels-live-")
        self._cleanups.callback(shutil.rmtree, self.directory, ignore_errors=True)
        self._cleanups.callback(forget_directory, self.directory)
        remove_at_exit(self.directory)
        spec = live_layer_spec(self.channel_layer_alias, self.directory)
        self._install_layer(spec)
        self._start_processes(self._child_config(spec, databases))

    def stop(self) -> None:
        """End every child and undo :meth:`start`.

        Every child gets SIGTERM first; then each is waited for, and one still
        running after ``shutdown_timeout`` seconds gets SIGKILL. Safe to call
        more than once, and after a failed start.
        """
        try:
            self._cleanups.close()
        finally:
            self._daphne = None
            self._started = False

    def check_options(self) -> None:
        """Raise ImproperlyConfigured for a worker count, port or delay_server that cannot work."""
        for name in ("worker_processes", "worker_threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ImproperlyConfigured(f"{self.owner}.{name} must be an int >= 1, not {value!r}.")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ImproperlyConfigured(
                f"{self.owner}.port must be 0 (any free port) or a port number, not {self.port!r}."
            )
        self.runs_delay_server()

    def _install_layer(self, spec: LayerSpec) -> None:
        """Make the live layer this process's layer for the alias; refuse the other aliases."""
        from ..asgi import channel_layers

        wrapper = spec.make_wrapper()
        self._layer = wrapper
        self._cleanups.callback(_flush_and_close, wrapper)
        self._layer_entries = {spec.alias: wrapper}
        for alias in channel_layers.configs:
            if alias != spec.alias:
                self._layer_entries[alias] = _refused_wrapper(alias, spec.alias)
        for alias, entry in self._layer_entries.items():
            previous = channel_layers.set(alias, entry)
            self._cleanups.callback(channel_layers.set, alias, previous)
        _flush_quietly(wrapper)

    def _child_config(self, spec: LayerSpec, databases: dict) -> dict:
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
            "sqlite_synchronous": self.sqlite_synchronous,
            "startup_timeout": self.startup_timeout,
        }

    def _start_processes(self, config: dict) -> None:
        """Start Daphne and the workers (each one's stop registered at once), then await them."""
        directory = self.directory
        assert directory is not None  # made by start() before it starts the processes
        # The first worker process runs the delay server too, in a thread.
        delay_check_interval = self.delay_check_interval if self.runs_delay_server() else None
        try:
            daphne = self.daphne_process_class(
                config, directory=directory, host=self.host, port=self.port, application=self.application
            )
            daphne.start()
            self._cleanups.callback(daphne.stop, self.shutdown_timeout)
            self.processes.append(daphne)
            for index in range(1, self.worker_processes + 1):
                worker = self.worker_process_class(
                    config,
                    directory=directory,
                    index=index,
                    alias=self.channel_layer_alias,
                    threads=self.worker_threads,
                    serve_static=self.serve_static,
                    delay_check_interval=delay_check_interval if index == 1 else None,
                )
                worker.start()
                self._cleanups.callback(worker.stop, self.shutdown_timeout)
                self.processes.append(worker)
        finally:
            # Registered after the children's stops, so it runs before them: every
            # child gets SIGTERM first, and the children end together.
            self._cleanups.callback(terminate_all, self.processes)
        wait_until_ready(self.processes, self.startup_timeout)
        self._daphne = daphne
        # A restarted Daphne must come back on the same port: the URLs are out.
        daphne.port = daphne.listening_port

    def runs_delay_server(self) -> bool:
        """Return True if the delay server runs (``delay_server``, or None: if its app is installed)."""
        installed = apps.is_installed("channels_test.delay")
        if self.delay_server is None:
            return installed
        if self.delay_server and not installed:
            if "channels_test.delay" in settings.INSTALLED_APPS:
                # Django's available_apps hides the app from this test class.
                raise ImproperlyConfigured(
                    f"{self.owner}.delay_server is True, but the test class's available_apps leaves "
                    "out 'channels_test.delay': add it there, so its table is also emptied "
                    "after each test, or leave delay_server at None."
                )
            raise ImproperlyConfigured(
                f"{self.owner}.delay_server is True, but 'channels_test.delay' is not in "
                "INSTALLED_APPS: add it (and migrate), or leave delay_server at None."
            )
        return bool(self.delay_server)

    # -- between tests ----------------------------------------------------

    def prepare_test(self) -> None:
        """Restart children that died, re-install and flush the live layer.

        Raise LiveServerError for a child that died after the last
        :meth:`check_processes` (it is restarted; the error belongs to the
        previous test).
        """
        from ..asgi import channel_layers

        dead = [process for process in self.processes if not process.is_alive()]
        unreported = [
            process.failure(f"{process.exit_description()} after an earlier test")
            for process in dead
            if not process.failure_reported
        ]
        for process in dead:
            process.stop(self.shutdown_timeout)
            process.start()
        if dead:
            wait_until_ready(dead, self.startup_timeout)
        for alias, entry in self._layer_entries.items():
            if channel_layers.backends.get(alias) is not entry:
                channel_layers.set(alias, entry)
        _flush_quietly(self._layer)
        if unreported:
            raise LiveServerError(
                "\n\n".join(str(error) for error in unreported)
                + "\n\n(It was restarted for this test; the error belongs to the previous one.)"
            )

    def check_processes(self) -> None:
        """Raise LiveServerError if a child died since the last check (it is restarted before the next test)."""
        failures = []
        for process in self.processes:
            if not process.is_alive() and not process.failure_reported:
                process.failure_reported = True
                failures.append(process.failure(f"{process.exit_description()} during this test"))
        if failures:
            raise LiveServerError(
                "\n\n".join(str(error) for error in failures) + "\n\n(It is restarted before the next test.)"
            )

    # -- helpers for tests ------------------------------------------------

    def output(self) -> str:
        """Return the last lines each live process wrote (consumer tracebacks show up here)."""
        return "\n\n".join(
            f"{process.describe()}, {process.output_path}:\n{process.output_tail() or '(no output)'}"
            for process in self.processes
        )

    def get_next_message(
        self, channel: Any, alias: str | None = None, require: bool = False, *, timeout: float | None = None
    ) -> Any:
        """Return the next message on ``channel`` of the live layer, waiting up to ``timeout`` s.

        ``channel`` is a name or a :class:`~channels_test.Channel`. ``timeout``
        defaults to ``receive_timeout`` (live workers answer asynchronously);
        return None if nothing came in time, or with ``require=True`` fail the
        test naming the channel, the wait and where messages are waiting.
        The wait blocks on the layer, so a message is taken as soon as it
        comes; without one it may last past ``timeout`` by up to one blocking
        receive of the layer (its ``blocking_timeout``, 1 s by default).
        ``timeout=0`` looks once without waiting.
        """
        from ..asgi import channel_layers
        from ..message import Message
        from .base import channel_name, describe_waiting

        wrapper = channel_layers[alias or self.channel_layer_alias]
        name = channel_name(channel)
        wait = self.receive_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        block = wait > 0
        while True:
            # A blocking receive returns as soon as a message comes, or
            # after the layer's own short wait (blocking_timeout) with none.
            received, content = wrapper.receive([name], block=block)
            if received is not None:
                return Message(content, received, wrapper)
            if time.monotonic() >= deadline:
                break
        if require:
            raise AssertionError(
                f"Expected a message on channel {name!r} within {wait:g} s; none came ({describe_waiting(wrapper)})."
            )
        return None


class ChannelLiveServerTestCase(ChannelAssertionsMixin, compat.PerTestSetupHook, TransactionTestCase):
    """A TransactionTestCase with a live Daphne and workers, started once per class.

    ``live_server_url`` (``http://localhost:<port>``) and ``live_server_ws_url``
    (``ws://...``) point at Daphne. With ``channels_test.delay`` installed,
    the first worker process runs the delay server too, so messages sent to
    ``asgi.delay`` arrive. The test process shares the live channel layer:
    ``Group(...).send(...)`` in a test reaches sockets connected to the live
    server. The layer is flushed before each test and the database after it.
    A child that fails to start, or dies during a test, makes the test error
    with the child's traceback and last output.

    The class attributes below are :class:`LiveServer`'s options.
    """

    host = LiveServer.host
    port = LiveServer.port
    worker_processes = LiveServer.worker_processes
    worker_threads = LiveServer.worker_threads
    serve_static = LiveServer.serve_static
    sqlite_synchronous = LiveServer.sqlite_synchronous
    startup_timeout = LiveServer.startup_timeout
    shutdown_timeout = LiveServer.shutdown_timeout
    receive_timeout = LiveServer.receive_timeout
    channel_layer_alias = LiveServer.channel_layer_alias
    application = LiveServer.application
    delay_server = LiveServer.delay_server
    delay_check_interval = LiveServer.delay_check_interval
    daphne_process_class = LiveServer.daphne_process_class
    worker_process_class = LiveServer.worker_process_class
    #: The class of the live server each test class starts.
    live_server_class = LiveServer

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
        server = cls._live_server_of_class()
        if server._daphne is None:
            raise AttributeError(
                f"{cls.__name__} has no live server yet: its URLs are known once setUpClass() "
                "has started it (call super().setUpClass() first)."
            )
        return server.netloc

    @classmethod
    def _live_server_of_class(cls) -> LiveServer:
        server = cls.__dict__.get("_live_server")
        if server is None:
            raise AttributeError(
                f"{cls.__name__} has no live server yet: setUpClass() starts it (call super().setUpClass() first)."
            )
        return server

    @classproperty
    def _live_processes(cls) -> list[LiveProcess]:
        return cls._live_server_of_class().processes

    @classproperty
    def _live_daphne(cls) -> DaphneProcess:
        return cls._live_server_of_class().daphne

    # -- class set-up -----------------------------------------------------

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        options = {name: getattr(cls, name) for name in LiveServer.OPTIONS}
        server = cls.live_server_class(
            databases=[alias for alias in connections if alias in cls.databases], owner=cls.__name__, **options
        )
        cls._live_server = server
        cls.addClassCleanup(server.stop)
        server.start()

    # -- each test --------------------------------------------------------

    def _around_test_setup(self, result: Any, debug: bool, proceed: Any) -> None:
        if not compat.test_is_skipped(self):
            try:
                self._prepare_live_test()
            except Exception:
                if debug:
                    raise
                result.addError(self, sys.exc_info())
                return
            self.addCleanup(self._check_live_processes)
        super()._around_test_setup(result, debug, proceed)

    def _prepare_live_test(self) -> None:
        """Restart children that died, re-install and flush the live layer."""
        type(self)._live_server_of_class().prepare_test()

    def _check_live_processes(self) -> None:
        """Raise LiveServerError if a child died during the test."""
        type(self)._live_server_of_class().check_processes()

    # -- helpers for tests ------------------------------------------------

    def live_server_output(self) -> str:
        """Return the last lines each live process wrote (consumer tracebacks show up here)."""
        return type(self)._live_server_of_class().output()

    def get_next_message(
        self, channel: Any, alias: str | None = None, require: bool = False, *, timeout: float | None = None
    ) -> Any:
        """Return the next message on ``channel`` of the live layer, waiting up to ``timeout`` s.

        ``timeout`` defaults to ``receive_timeout``; see :meth:`LiveServer.get_next_message`.
        """
        wait = self.receive_timeout if timeout is None else timeout
        return type(self)._live_server_of_class().get_next_message(channel, alias, require, timeout=wait)

    def _assertion_alias(self, alias: str | None) -> str:
        return self.channel_layer_alias if alias is None else alias


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
