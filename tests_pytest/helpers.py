"""Helpers of the plugin's tests: a pytest run of its own, waiting for processes to end."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_inner(name, tmp_path, **env):
    """Run tests_pytest/inner/<name> in a pytest of its own; return (process, its record or None).

    The inner run gets a run id of its own, hence test databases of its own;
    its tests may write JSON to the file named by LIVE_RECORD.
    """
    record = tmp_path / "record.json"
    environment = dict(os.environ, CHANNELS_TEST_RUN_ID=f"{os.getpid()}-inner", LIVE_RECORD=str(record), **env)
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", os.path.join(HERE, "inner", name)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=180,
    )
    return process, json.loads(record.read_text()) if record.exists() else None


def wait_gone(pids, timeout=10):
    """Return the pids still running after ``timeout`` s (none, if all ended)."""
    deadline = time.monotonic() + timeout
    while True:
        running = [pid for pid in pids if os.path.exists(f"/proc/{pid}") and not zombie(pid)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
