"""Redis for tests: the shared server (skipping, naming it, when it is down) and servers of a test's own.

The shared server is at ``CHANNELS_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``); :class:`RedisServer` starts ``redis-server``
processes on free loopback ports, each stopped by its pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from channels_test.layers.redis import RedisChannelLayer

REDIS_URL = os.environ.get("CHANNELS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


_reachable: dict[str, str | None] = {}


def require_redis(url: str = REDIS_URL) -> None:
    """Skip the current test, naming the server, if Redis at ``url`` does not answer."""
    if url not in _reachable:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
            _reachable[url] = None
        except redis.RedisError as error:
            _reachable[url] = f"needs a Redis server at {url} ({error}); set CHANNELS_TEST_REDIS_URL"
    if _reachable[url] is not None:
        raise unittest.SkipTest(_reachable[url])


class IsolatedRedisLayer(RedisChannelLayer):
    """The Redis layer under a prefix no other test process uses (skips without Redis).

    The prefix holds this run's token and the process id, so the workers of
    a ``--parallel`` run (forked after this module was imported) differ too.
    """

    run = uuid.uuid4().hex[:10]

    def __init__(self, *, prefix: str = "layer", **config):
        require_redis()
        config.setdefault("hosts", [REDIS_URL])
        super().__init__(prefix=f"test{self.run}-{os.getpid()}-{prefix}", **config)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent() -> None:
    """In a child about to start: be killed when the thread that started it ends (Linux).

    Clean-ups stop the servers; this covers a test process that is killed
    before its clean-ups run.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class RedisServer:
    """A ``redis-server`` process of the test's own on a loopback port, without persistence.

    ``args`` go to ``redis-server`` after ours (``"--requirepass", "secret"``);
    ``password`` is what the start-up check authenticates with.
    """

    def __init__(self, port: int | None = None, *, args: tuple = (), password: str | None = None):
        self.port = port or free_port()
        self.args = tuple(args)
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise unittest.SkipTest("needs the redis-server program on PATH to start test servers")
        # A replica writes the data it syncs to its directory: keep that out of the tree.
        directory = tempfile.gettempdir()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
                "--dbfilename",
                f"channels-test-{self.port}.rdb",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, password=self.password)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"redis-server on port {self.port} exited with {self.process.returncode}: "
                    f"{self.process.stderr.read().decode(errors='replace')}"
                )
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"redis-server (pid {self.process.pid}) did not answer on port {self.port} within {timeout} s."
                    ) from None
                time.sleep(0.02)
            finally:
                client.connection_pool.disconnect()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process is not None:
            self.process.stderr.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(tempfile.gettempdir(), f"channels-test-{self.port}.rdb"))

    def restart(self) -> None:
        self.stop()
        self.start()
