"""Real Daphne, runworker and runserver processes for the interface and command tests.

Each child runs the project in :mod:`tests.interface_settings`; its output is
read by a thread so a test can wait for a line, with a timeout, and show the
whole output when something goes wrong. Every child is ended by its pid.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTUP_TIMEOUT = 30.0
#: What the project's ``/slow/`` view prints (to stderr) when it starts.
SLOW_VIEW_STARTED = "The slow view started."


class Child:
    """A child process whose combined output is collected line by line."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: stop() ends what it starts too
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, name=f"read-{name}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def output(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = STARTUP_TIMEOUT, start: int = 0) -> re.Match:
        """Return the match of the first output line (from line ``start``) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            unread = start
            while True:
                for line in self.lines[unread:]:
                    match = regex.search(line)
                    if match:
                        return match
                unread = len(self.lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._more_coming()):
                    break
                self.changed.wait(min(remaining, 0.2))
        state = "still running" if self.process.poll() is None else f"exited with {self.process.returncode}"
        raise AssertionError(
            f"{self.name} (pid {self.pid}, {state}) did not print a line matching {pattern!r} "
            f"within {timeout:g} s. Its output:\n{self.output() or '(none)'}"
        )

    def _more_coming(self) -> bool:
        return self.process.stdout is not None and not self.process.stdout.closed and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signum)

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the child's process group (the child and what it started)."""
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit; return its exit code (AssertionError on timeout)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} (pid {self.pid}) did not exit within {timeout:g} s. Its output:\n{self.output()}"
            ) from None

    def stop(self, timeout: float = 5.0) -> None:
        """End the child and its process group: SIGTERM, then SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout)
        self.signal_group(signal.SIGKILL)  # anything it started and left behind (runserver's reloader child)
        if self.process.stdout is not None:
            self.process.stdout.close()


def project_env(layer_path: str | None, **settings: str) -> dict[str, str]:
    """Return the environment of a child running the test project on ``layer_path``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHANNELS_INTERFACE_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = "tests.interface_settings"
    env["PYTHONUNBUFFERED"] = "1"
    if layer_path:
        env["CHANNELS_INTERFACE_TEST_LAYER"] = layer_path
    for name, value in settings.items():
        env[f"CHANNELS_INTERFACE_TEST_{name.upper()}"] = value
    return env


def start_daphne(
    env: dict[str, str], cleanup: Callable, application: str = "tests.interface_asgi:application"
) -> tuple[Child, int]:
    """Start ``daphne`` on a free loopback port; return it and the port once it listens."""
    argv = [sys.executable, "-m", "daphne", "-e", "tcp:port=0:interface=127.0.0.1", application]
    child = Child("daphne", argv, env)
    cleanup(child.stop)
    match = child.wait_for(r"Listening on TCP address 127\.0\.0\.1:(\d+)")
    return child, int(match.group(1))


def start_worker(env: dict[str, str], cleanup: Callable, *options: str) -> Child:
    """Start ``manage.py runworker`` with ``options``; return it once its workers listen."""
    argv = [sys.executable, "-m", "django", "runworker", *options]
    child = Child("runworker", argv, env)
    cleanup(child.stop)
    child.wait_for(r"^Worker ready\.")
    return child


def start_runserver(env: dict[str, str], cleanup: Callable, *options: str, reload: bool = False) -> tuple[Child, int]:
    """Start ``manage.py runserver 127.0.0.1:0`` (with ``--noreload`` unless ``reload``); return it and its port."""
    argv = [sys.executable, "-m", "django", "runserver", "127.0.0.1:0", *options]
    if not reload:
        argv.append("--noreload")
    child = Child("runserver", argv, env)
    cleanup(child.stop)
    match = child.wait_for(r"^Listening on 127\.0\.0\.1:(\d+)")
    return child, int(match.group(1))


def start_uvicorn(env: dict[str, str], cleanup: Callable) -> tuple[Child, int]:
    """Start ``uvicorn`` (another ASGI 3 server) on a free loopback port; return it and the port."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--ws",
        "wsproto",
        "tests.interface_asgi:application",
    ]
    child = Child("uvicorn", argv, env)
    cleanup(child.stop)
    match = child.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
    return child, int(match.group(1))


# -- processes, seen from outside (Linux /proc) -----------------------------------------


def gone(pid: int) -> bool:
    """Return True if no process ``pid`` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float = 10) -> bool:
    """Return True once every process in ``pids`` is gone, False if some remain after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def descendants(pid: int) -> list[int]:
    """Return the pids of every process below ``pid`` (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
