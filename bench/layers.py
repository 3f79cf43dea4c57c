"""Channel layer benchmarks: print figures, assert nothing.

    python bench/layers.py                  # every backend available here
    python bench/layers.py --backend sqlite # one backend

A backend joins with one entry in BACKENDS: a name -> function returning a
fresh layer (or raising ``Unavailable`` saying what is missing). Backends
with ``cross_process=True`` also get the cross-process figures.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


BENCH_DIR = "CHANNELS_TEST_BENCH_DIR"


class Unavailable(Exception):
    """The backend cannot run here; the message says what is missing."""


def make_inmemory(**config):
    from channels_test.layers.inmemory import InMemoryChannelLayer

    return InMemoryChannelLayer(**config)


def make_sqlite(**config):
    from channels_test.layers.sqlite import SQLiteChannelLayer

    # main() makes the directory; "spawn" children inherit it through the environment.
    config.setdefault("path", os.path.join(os.environ[BENCH_DIR], "layer.sqlite3"))
    return SQLiteChannelLayer(**config)


def make_redis(**config):
    from channels_test.layers.redis import RedisChannelLayer, RedisUnavailable

    # One prefix per run (from the run's directory), so runs never flush each other.
    url = os.environ.get("CHANNELS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = "bench-" + os.path.basename(os.environ[BENCH_DIR]).replace("_", "-")
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, **config)
    try:
        layer.receive(["bench.ping"])
    except RedisUnavailable as error:
        raise Unavailable(f"no Redis server at {url}; set CHANNELS_TEST_REDIS_URL") from error
    return layer


@dataclass
class Backend:
    make: Callable  # (**config) -> layer; must be importable by a "spawn" child
    cross_process: bool = False
    scale: int = 1  # divide iteration counts by this (slow backends)
    group_sizes: tuple = (1000,)  # members of the groups send_group is timed on


BACKENDS: dict[str, Backend] = {
    "in-memory": Backend(make_inmemory),
    "sqlite": Backend(make_sqlite, cross_process=True, scale=10),
    "redis": Backend(make_redis, cross_process=True, scale=10, group_sizes=(100, 1000)),
}


# -- single-process figures -------------------------------------------------------------


def pairs_per_second(layer, count: int) -> float:
    """Return send+receive pairs per second on one channel."""
    channels = ("bench.pair",)
    message = {"text": "hello", "n": 1}
    started = time.perf_counter()
    for _ in range(count):
        layer.send("bench.pair", message)
        layer.receive(channels)
    return count / (time.perf_counter() - started)


def receive_microseconds(layer, n_channels: int, count: int) -> float:
    """Return µs per receive over ``n_channels`` channels, one message waiting on the last.

    The names are one tuple passed on every call, as a worker does.
    """
    channels = tuple(f"bench.many.{index}" for index in range(n_channels))
    target = channels[-1]
    message = {"n": 1}
    spent = 0.0
    for _ in range(count):
        layer.send(target, message)
        started = time.perf_counter()
        channel, _ = layer.receive(channels)
        spent += time.perf_counter() - started
        assert channel == target, f"expected a message on {target!r}, found {channel!r}"
    return spent / count * 1e6


def send_group_microseconds(layer, members: int, count: int) -> float:
    """Return µs per send_group to a group of ``members`` channels."""
    for index in range(members):
        layer.group_add("bench.group", f"bench.member.{index}")
    message = {"text": "to everybody"}
    spent = 0.0
    for _ in range(count):
        started = time.perf_counter()
        layer.send_group("bench.group", message)
        spent += time.perf_counter() - started
        layer.flush()
        for index in range(members):
            layer.group_add("bench.group", f"bench.member.{index}")
    return spent / count * 1e6


# -- cross-process figures (run the sender in a "spawn" child) -----------------------------


def paced_sender(name: str, count: int, interval: float) -> None:
    layer = BACKENDS[name].make(capacity=100000)
    for _ in range(count):
        layer.send("bench.latency", {"sent": time.monotonic()})
        time.sleep(interval)


def flat_out_sender(name: str, count: int) -> None:
    layer = BACKENDS[name].make(capacity=100000)
    message = {"text": "hello"}
    for _ in range(count):
        layer.send("bench.throughput", message)


def run_child(target, *args):
    process = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    process.start()
    return process


def receive_all(layer, channel: str, count: int, timeout: float = 120) -> list:
    received, deadline = [], time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        name, message = layer.receive([channel], block=True)
        if name is not None:
            received.append((time.monotonic(), message))
    if len(received) < count:
        raise RuntimeError(f"received {len(received)} of {count} messages within {timeout} s")
    return received


def cross_process_latency(name: str, count: int) -> tuple[float, float]:
    """Return p50, p95 send->receive latency in ms, messages sent every 2 ms by another process."""
    layer = BACKENDS[name].make(blocking_timeout=5)
    layer.flush()
    child = run_child(paced_sender, name, count, 0.002)
    try:
        received = receive_all(layer, "bench.latency", count)
    finally:
        child.join(30)
        child.kill()
    latencies = sorted((arrived - message["sent"]) * 1000 for arrived, message in received)
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95)]


def cross_process_pairs(name: str, count: int) -> float:
    """Return messages/s sent by one process and received by another, flat out."""
    layer = BACKENDS[name].make(blocking_timeout=5)
    layer.flush()
    child = run_child(flat_out_sender, name, count)
    try:
        received = receive_all(layer, "bench.throughput", count)
    finally:
        child.join(30)
        child.kill()
    # From the first message received, so the child's start-up does not count.
    return (count - 1) / (received[-1][0] - received[0][0])


def quiet_sender(name: str, count: int, quiet: float) -> None:
    layer = BACKENDS[name].make(capacity=100000)
    for _ in range(count):
        time.sleep(quiet)
        layer.send("bench.quiet", {"sent": time.monotonic()})


def after_quiet_latency(name: str, count: int = 3, quiet: float = 3.0) -> float:
    """Return the worst latency (ms) of a message sent after ``quiet`` seconds of silence."""
    layer = BACKENDS[name].make(blocking_timeout=quiet + 5)
    layer.flush()
    child = run_child(quiet_sender, name, count, quiet)
    try:
        received = receive_all(layer, "bench.quiet", count)
    finally:
        child.join(30)
        child.kill()
    return max((arrived - message["sent"]) * 1000 for arrived, message in received)


def idle_cpu_percent(name: str, seconds: float = 3.0) -> float:
    """Return the CPU (% of one core) a blocking receive uses while nothing arrives."""
    layer = BACKENDS[name].make(blocking_timeout=seconds)
    layer.flush()
    started_wall, started_cpu = time.monotonic(), time.process_time()
    layer.receive(["bench.idle"], block=True)
    return 100 * (time.process_time() - started_cpu) / (time.monotonic() - started_wall)


# -- the stored form: the layers' codec against marshal -------------------------------------

# An http.request as the interface sends it, and a small message as a consumer sends it.
CODEC_MESSAGES = {
    "http.request": {
        "reply_channel": "http.response!hT3kq9Lx02Bm",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/chat/lobby/",
        "query_string": b"page=2",
        "root_path": "",
        "headers": [
            [b"host", b"example.com"],
            [b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64)"],
            [b"accept", b"text/html,application/xhtml+xml"],
            [b"cookie", b"sessionid=0123456789abcdefghijklmnopqrstuv; csrftoken=abc"],
        ],
        "body": b"",
        "client": ["127.0.0.1", 54321],
        "server": ["127.0.0.1", 8000],
    },
    "small": {"text": "hello", "n": 1},
}


def best_microseconds(action: Callable, count: int, repeats: int = 7) -> float:
    """Return µs per call of ``action``: the best of ``repeats`` runs of ``count`` calls.

    The best run is the one other work on the machine disturbed least.
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def bench_codec() -> None:
    import marshal

    from channels_test.layers.base import (
        decode_message,
        encode_message,
        validate_message,
    )

    codecs = {
        "marshal (earlier versions)": (lambda message: marshal.dumps(message, 4), marshal.loads),
        "msgpack (the layers' own)": (encode_message, decode_message),
    }
    print("stored form, µs per message, best of 7 runs (encode / decode, size):")
    for label, message in CODEC_MESSAGES.items():
        checked = best_microseconds(functools.partial(validate_message, message), 20000)
        print(f"  {label}: validate {checked:.2f} µs")
        for name, (encode, decode) in codecs.items():
            data = encode(message)
            encoded = best_microseconds(functools.partial(encode, message), 20000)
            decoded = best_microseconds(functools.partial(decode, data), 20000)
            print(f"    {name:<27} {encoded:>5.2f} / {decoded:>5.2f} µs, {len(data)} bytes")


# -- report ----------------------------------------------------------------------------------


def bench_backend(name: str) -> None:
    backend = BACKENDS[name]
    try:
        layer = backend.make(capacity=100000)
    except Unavailable as error:
        print(f"{name}: skipped ({error})")
        return
    layer.flush()
    scale = backend.scale
    print(f"{name}:")
    print(f"  send+receive, one channel:     {pairs_per_second(layer, 200000 // scale):>10,.0f} pairs/s")
    one = receive_microseconds(layer, 1, 20000 // scale)
    many = receive_microseconds(layer, 1000, 20000 // scale)
    print(f"  receive over 1 channel:        {one:>10.1f} µs")
    print(f"  receive over 1,000 channels:   {many:>10.1f} µs ({many / one:.1f}x)")
    for members in backend.group_sizes:
        group = send_group_microseconds(layer, members, max(5, 100 // scale))
        print(f"  send_group to {members:,} members:{' ' * (6 - len(f'{members:,}'))}  {group:>10.1f} µs")
    layer.flush()
    if backend.cross_process:
        p50, p95 = cross_process_latency(name, 1000)
        print(f"  cross-process latency:         {p50:>10.2f} ms p50, {p95:.2f} ms p95")
        print(f"  cross-process send->receive:   {cross_process_pairs(name, 20000):>10,.0f} msgs/s")
        print(f"  idle blocking receive:         {idle_cpu_percent(name):>10.1f} % of a core")
        print(f"  latency after 3 s of quiet:    {after_quiet_latency(name):>10.2f} ms (worst of 3)")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=sorted(BACKENDS))
    options = parser.parse_args()
    print(machine())
    bench_codec()
    os.environ[BENCH_DIR] = tempfile.mkdtemp(prefix="channels_test_bench_")
    try:
        for name in options.backend or BACKENDS:
            bench_backend(name)
    finally:
        shutil.rmtree(os.environ[BENCH_DIR], ignore_errors=True)


if __name__ == "__main__":
    main()
