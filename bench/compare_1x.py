"""Run one in-memory layer workload on Channels 1.x's stack and on ours, side by side.

Channels 1.1.8 used asgiref 1.1.2's ``asgiref.inmemory.ChannelLayer``. That
needs its own virtualenv (never add it to this project's dependencies)::

    python3 -m venv /tmp/venv1x
    /tmp/venv1x/bin/pip install asgiref==1.1.2
    python bench/compare_1x.py --python-1x /tmp/venv1x/bin/python

(or set CHANNELS_TEST_PYTHON_1X). Each side runs in its own process; this
script only prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CAPACITY = 100000  # high enough that no workload fills a channel


def make_layer(kind: str):
    """Build the in-memory layer of ``kind`` ("ours" or "1x")."""
    if kind == "1x":
        from asgiref.inmemory import ChannelLayer

        return ChannelLayer(capacity=CAPACITY)
    sys.path.insert(0, os.path.dirname(HERE))
    from channels_test.layers.inmemory import InMemoryChannelLayer

    return InMemoryChannelLayer(capacity=CAPACITY)


def pairs_per_second(layer, count: int = 100000) -> float:
    channels = ("bench.pair",)
    message = {"text": "hello", "n": 1}
    started = time.perf_counter()
    for _ in range(count):
        layer.send("bench.pair", message)
        layer.receive(channels)
    return count / (time.perf_counter() - started)


def receive_microseconds(layer, n_channels: int, count: int = 5000) -> float:
    channels = tuple(f"bench.many.{index}" for index in range(n_channels))
    spent = 0.0
    for _ in range(count):
        layer.send(channels[-1], {"n": 1})
        started = time.perf_counter()
        layer.receive(channels)
        spent += time.perf_counter() - started
    return spent / count * 1e6


def send_group_microseconds(layer, members: int = 1000, count: int = 50) -> float:
    for index in range(members):
        layer.group_add("bench.group", f"bench.member.{index}")
    spent = 0.0
    for _ in range(count):
        started = time.perf_counter()
        layer.send_group("bench.group", {"text": "to everybody"})
        spent += time.perf_counter() - started
        for index in range(members):
            layer.receive((f"bench.member.{index}",))
    return spent / count * 1e6


def workload(kind: str) -> dict:
    """Run every measurement on a fresh layer of ``kind``; return name -> figure."""
    layer = make_layer(kind)
    return {
        "Python": sys.version.split()[0],
        "send+receive, one channel (pairs/s)": pairs_per_second(layer),
        "receive over 1 channel (µs)": receive_microseconds(layer, 1),
        "receive over 1,000 channels (µs)": receive_microseconds(layer, 1000),
        "send_group to 1,000 members (µs)": send_group_microseconds(layer),
    }


def run_side(python: str, kind: str) -> dict:
    """Run the workload with ``python`` in a child process and return its figures."""
    result = subprocess.run(
        [python, os.path.abspath(__file__), "--child", kind],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"The {kind} run with {python} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python-1x", default=os.environ.get("CHANNELS_TEST_PYTHON_1X"),
        help="python of a virtualenv with asgiref==1.1.2 (default: $CHANNELS_TEST_PYTHON_1X)",
    )
    parser.add_argument("--child", choices=["ours", "1x"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(workload(options.child)))
        return
    ours = run_side(sys.executable, "ours")
    if options.python_1x:
        old = run_side(options.python_1x, "1x")
    else:
        print("No 1.x python given (--python-1x or CHANNELS_TEST_PYTHON_1X); see --help.\n")
        old = {}
    print(f"{'in-memory layer':38} {'Channels 1.x':>14} {'channels_test':>14}")
    for name, figure in ours.items():
        before = old.get(name, "-")
        if isinstance(figure, float):
            before, figure = (f"{before:,.1f}" if name in old else "-"), f"{figure:,.1f}"
        print(f"{name:38} {before:>14} {figure:>14}")


if __name__ == "__main__":
    main()
