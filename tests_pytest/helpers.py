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
    run_id = f"{os.getpid()}-inner"
    environment = dict(os.environ, CHANNELS_TEST_RUN_ID=run_id, LIVE_RECORD=str(record), **env)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", os.path.join(HERE, "inner", name)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        drop_test_database(run_id)  # an interrupted run leaves its own behind
    return process, json.loads(record.read_text()) if record.exists() else None


def drop_test_database(run_id):
    """Remove the test database tests_pytest/settings.py names for ``run_id``, if it is there."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = os.path.join(os.path.dirname(database["TEST"]["NAME"]), f"channels_test_pytest_{run_id}.sqlite3")
        if os.path.exists(path):
            os.remove(path)
        return
    import psycopg

    with psycopg.connect(host=database["HOST"], user=database["USER"], dbname="postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "test_channels_test_pytest_{run_id}"')


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
