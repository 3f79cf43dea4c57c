"""Child processes of the live server: start, await readiness, report failures, stop.

Each child is a fresh interpreter (``python -m channels_test.test._child``)
started with :mod:`subprocess`, never a fork of the test process: it
rebuilds Django from the settings it is given, so it behaves the same under
every multiprocessing start method and never inherits the test process's
open connections, threads or locks. Children report on a pipe and write
their output to a file; every child still running when the test process
exits (or gets SIGTERM) is stopped.

Why one module of some 460 lines: starting, watching and stopping a child,
and carrying its failure back, are one protocol between the test process and
``_child``; splitting it would spread that protocol over files.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

__all__ = [
    "LiveProcess",
    "DaphneProcess",
    "WorkerProcess",
    "LiveServerError",
    "wait_until_ready",
    "terminate_all",
]

# Every child started and not yet stopped: the safety net's list.
_running: set[LiveProcess] = set()
# Reentrant: the SIGTERM handler takes it too, in the main thread, which may hold it already.
_running_lock = threading.RLock()
# Directories the live servers made, by the pid of the process that made them:
# the safety net removes what is left of them, after the children are gone.
_directories: dict[str, int] = {}


class LiveServerError(RuntimeError):
    """A live-server process failed to start, died, or could not be stopped."""


class LiveProcess:
    """One child process running ``entry`` (a dotted path in ``_child``) with ``config``.

    ``config`` is pickled to a file in ``directory``; the child's stdout and
    stderr go to ``<slug>.log`` there. Subclasses name the entry point and
    add their own settings with :meth:`child_config`.
    """

    entry = ""
    label = "live-server process"
    output_tail_lines = 40
    output_tail_chars = 6000

    def __init__(self, config: dict, *, directory: str, slug: str):
        self.base_config = config
        self.directory = directory
        self.slug = slug
        self.popen: subprocess.Popen | None = None
        self.ready_info: dict | None = None
        self.error_text: str | None = None
        self.failure_reported = False
        self.owner_pid = os.getpid()
        self._ready_fd: int | None = None
        self._pending = b""
        self._pipe_open = False
        self._terminated = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.slug} pid={self.pid}>"

    # -- what the child runs ----------------------------------------------

    def child_config(self) -> dict:
        """Return the pickled configuration the child starts from."""
        return dict(self.base_config, entry=self.entry)

    def command(self, config_path: str, ready_fd: int) -> list[str]:
        """Return the command line that starts the child."""
        return [sys.executable, "-m", "channels_test.test._child", config_path, str(ready_fd)]

    # -- life cycle -------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def output_path(self) -> str:
        return os.path.join(self.directory, f"{self.slug}.log")

    def describe(self) -> str:
        return f"{self.label} (pid {self.pid})" if self.pid else self.label

    def start(self) -> None:
        """Start the child (again, if it ran before); return without waiting for it."""
        self._reset()
        config_path = os.path.join(self.directory, f"{self.slug}.config")
        write_config(config_path, self.child_config())
        read_fd, write_fd = os.pipe()
        try:
            with open(self.output_path, "ab") as output:
                popen = subprocess.Popen(
                    self.command(config_path, write_fd),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    env=child_environment(),
                    start_new_session=True,  # Ctrl-C reaches the test process only; it stops us
                    close_fds=True,
                )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        with _running_lock:
            self.popen = popen
            self.owner_pid = os.getpid()
            _running.add(self)
        os.set_blocking(read_fd, False)
        self._ready_fd, self._pipe_open = read_fd, True
        install_safety_net()

    def _reset(self) -> None:
        self._close_pipe()
        self.popen = None
        self.ready_info = None
        self.error_text = None
        self.failure_reported = False
        self._pending = b""
        self._terminated = False

    def fileno(self) -> int:
        if self._ready_fd is None:
            raise ValueError(f"{self.describe()} has not been started.")
        return self._ready_fd

    def read_reports(self) -> None:
        """Read what the child has written to its pipe so far; never blocks."""
        if not self._pipe_open:
            return
        assert self._ready_fd is not None  # open pipe: start() set it, _close_pipe() clears both
        while True:
            try:
                chunk = os.read(self._ready_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._pipe_open = False
                return
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                self._handle_report(line)

    def _handle_report(self, line: bytes) -> None:
        try:
            report = json.loads(line)
        except ValueError:
            return
        if "ready" in report:
            self.ready_info = report["ready"]
        if "error" in report:
            self.error_text = report["error"]

    @property
    def pipe_open(self) -> bool:
        return self._pipe_open

    def is_alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def terminate(self) -> None:
        """Send SIGTERM to the child's process group without waiting; :meth:`stop` waits for it."""
        popen = self.popen
        if popen is not None and not self._terminated and popen.poll() is None:
            signal_group(popen.pid, signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = 5.0) -> None:
        """End the child: SIGTERM to its process group, SIGKILL after ``timeout`` seconds.

        A child :meth:`terminate` signalled already is not signalled again.
        """
        popen = self.popen
        if popen is None:
            return
        try:
            if popen.poll() is None:
                self.terminate()
                try:
                    popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    signal_group(popen.pid, signal.SIGKILL)
                    popen.wait(timeout)
            else:
                # The child is gone; anything it started in its group goes too.
                signal_group(popen.pid, signal.SIGKILL)
        finally:
            with _running_lock:
                _running.discard(self)
            self._close_pipe()

    def _close_pipe(self) -> None:
        if self._ready_fd is not None:
            os.close(self._ready_fd)
            self._ready_fd = None
        self._pipe_open = False

    # -- reporting --------------------------------------------------------

    def exit_description(self) -> str:
        code = self.popen.poll() if self.popen is not None else None
        if code is None:
            return "is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with code {code}"

    def output_tail(self) -> str:
        """Return the last lines of the child's output (without the traceback it reported)."""
        try:
            with open(self.output_path, "rb") as output:
                output.seek(0, os.SEEK_END)
                size = output.tell()
                output.seek(max(0, size - 8 * self.output_tail_chars))
                text = output.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if self.error_text and text.rstrip().endswith(self.error_text.rstrip()):
            text = text.rstrip()[: -len(self.error_text.rstrip())]
        lines = text.rstrip().splitlines()[-self.output_tail_lines :]
        return "\n".join(lines)[-self.output_tail_chars :]

    def failure(self, what: str) -> LiveServerError:
        """Return an error saying ``what`` happened, with the child's traceback and output."""
        self.read_reports()
        parts = [f"The {self.describe()} {what}."]
        if self.error_text:
            parts.append(f"Its traceback:\n{self.error_text.rstrip()}")
        tail = self.output_tail()
        if tail:
            parts.append(f"Its last output ({self.output_path}):\n{tail}")
        elif not self.error_text:
            parts.append("It wrote no output.")
        return LiveServerError("\n\n".join(parts))


class DaphneProcess(LiveProcess):
    """Daphne serving the interface application on ``host``:``port`` (0: any free port)."""

    entry = "channels_test.test._child.run_daphne"
    label = "Daphne process"
    #: Extra keyword arguments for ``daphne.server.Server``.
    server_options: dict = {}

    def __init__(self, config: dict, *, directory: str, host: str, port: int, application: str):
        super().__init__(config, directory=directory, slug="daphne")
        self.host = host
        self.port = port
        self.application = application

    def child_config(self) -> dict:
        return dict(
            super().child_config(),
            bind_host=bind_address(self.host),
            port=self.port,
            application=self.application,
            server_options=dict(self.server_options),
        )

    @property
    def listening_port(self) -> int:
        if not self.ready_info:
            raise LiveServerError(f"The {self.describe()} is not listening yet.")
        return self.ready_info["port"]


class WorkerProcess(LiveProcess):
    """A worker process running ``threads`` workers on the live channel layer.

    With ``delay_check_interval`` (a number of seconds), the delay server
    (``channels_test.delay``) runs in a thread of this process too, checking
    for due messages that often; the process reports ready once it listens.
    """

    entry = "channels_test.test._child.run_worker"

    def __init__(
        self,
        config: dict,
        *,
        directory: str,
        index: int,
        alias: str,
        threads: int,
        serve_static: bool,
        delay_check_interval: float | None = None,
    ):
        super().__init__(config, directory=directory, slug=f"worker-{index}")
        self.label = f"worker process {index}"
        self.alias = alias
        self.threads = threads
        self.serve_static = serve_static
        self.delay_check_interval = delay_check_interval

    def child_config(self) -> dict:
        config = dict(super().child_config(), alias=self.alias, threads=self.threads, serve_static=self.serve_static)
        if self.delay_check_interval is not None:
            config["delay"] = {"alias": self.alias, "check_interval": self.delay_check_interval}
        return config


def bind_address(host: str) -> str:
    """Return the address to listen on for ``host`` ('localhost' -> the IPv4 loopback)."""
    return "127.0.0.1" if host == "localhost" else host


def wait_until_ready(processes: Iterable[LiveProcess], timeout: float) -> None:
    """Wait until every process reported ready; raise LiveServerError on failure or timeout."""
    pending = list(processes)
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for process in pending:
            selector.register(process, selectors.EVENT_READ)
        while pending:
            for process in list(pending):
                process.read_reports()
                if process.ready_info is not None:
                    pending.remove(process)
                    selector.unregister(process)
                elif process.error_text is not None or not process.pipe_open or not process.is_alive():
                    raise _startup_failure(process)
            remaining = deadline - time.monotonic()
            if not pending:
                return
            if remaining <= 0:
                names = ", ".join(process.describe() for process in pending)
                raise pending[0].failure(
                    f"did not report ready within {timeout:g} s (startup_timeout); still waiting for: {names}"
                )
            selector.select(min(remaining, 0.2))


def _startup_failure(process: LiveProcess) -> LiveServerError:
    process.failure_reported = True
    # Give a dying child a moment, so its exit code and last words are in.
    if process.popen is not None:
        try:
            process.popen.wait(2)
        except subprocess.TimeoutExpired:
            pass
    return process.failure(f"failed to start ({process.exit_description()})")


def write_config(path: str, config: dict) -> None:
    """Pickle ``config`` to ``path``, naming the entry that cannot be pickled."""
    try:
        data = pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        raise LiveServerError(_unpicklable(config, error)) from error
    with open(path, "wb") as config_file:
        config_file.write(data)


def _unpicklable(config: dict, error: Exception) -> str:
    for name, value in config.get("overrides", {}).items():
        try:
            pickle.dumps(value)
        except Exception as value_error:
            return (
                f"The setting {name} cannot be passed to the live-server processes "
                f"({value_error}): they rebuild settings from the settings module plus the "
                f"test's overrides, so {name} must be picklable. Its value: {value!r:.300}"
            )
    return f"The live-server configuration cannot be passed to the child processes: {error}"


def child_environment() -> dict:
    """Return the environment for a child: ours, with our import path and unbuffered output."""
    env = dict(os.environ)
    paths = [entry or os.getcwd() for entry in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group led by ``pid``; ignore it if already gone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def terminate_all(processes: Iterable[LiveProcess]) -> None:
    """Send SIGTERM to every child in ``processes`` that runs, so that they end together.

    Each one's :meth:`~LiveProcess.stop` then only waits for it (and kills
    it if it takes too long).
    """
    for process in processes:
        try:
            process.terminate()
        except Exception:  # noqa: BLE001  (its stop() tries again, and reports)
            pass


def stop_all_running(timeout: float = 2.0) -> None:
    """Stop every child this process started that still runs (at exit, on SIGTERM)."""
    with _running_lock:
        # A forked copy of the test process must not stop its parent's children.
        processes = [process for process in _running if process.owner_pid == os.getpid()]
    terminate_all(processes)
    for process in processes:
        try:
            process.stop(timeout)
        except Exception:  # noqa: BLE001  (best effort while exiting)
            pass
    with _running_lock:
        directories = [path for path, pid in _directories.items() if pid == os.getpid()]
    for path in directories:
        forget_directory(path)
        shutil.rmtree(path, ignore_errors=True)


def remove_at_exit(path: str) -> None:
    """Have the safety net remove the directory ``path`` if the process ends before its owner does."""
    with _running_lock:
        _directories[path] = os.getpid()


def forget_directory(path: str) -> None:
    """Undo :func:`remove_at_exit` (the owner removed ``path`` itself)."""
    with _running_lock:
        _directories.pop(path, None)


_net_installed = False


def install_safety_net() -> None:
    """Stop children at interpreter exit and on SIGTERM (installed once)."""
    global _net_installed
    if _net_installed:
        return
    _net_installed = True
    atexit.register(stop_all_running)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_IGN, None):
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        stop_all_running()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
