"""Run only by tests_pytest/test_live_server.py, in a pytest of its own.

A live test that records its server's pids and fails, a passing one, and
one that asks for two fixtures that cannot go together.
"""

import json
import os

import pytest


@pytest.fixture(scope="module")
def channels_live_server_options():
    return {"worker_processes": 2}


def test_fails_on_purpose(channels_live_server):
    with open(os.environ["LIVE_RECORD"], "w") as record:
        json.dump({"pids": [process.pid for process in channels_live_server.processes]}, record)
    pytest.fail("this live test fails on purpose; its children must still end")


def test_passes(channels_live_server):
    assert channels_live_server.processes[0].is_alive()


def test_both_live_and_captive(channels_live_server, captive_layers):
    pass
