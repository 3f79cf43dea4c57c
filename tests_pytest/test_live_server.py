"""The channels_live_server fixture: Daphne and workers shared by this module's tests."""

import shutil
import time
import urllib.request

import pytest
from django.contrib.auth.models import User
from websocket import create_connection

from channels_test import Channel, Group, channel_layers
from channels_test.test.live import LiveServer, LiveServerError
from tests_pytest import consumers
from tests_pytest.helpers import run_inner, wait_gone

seen = {}  # what earlier tests of this module saw, for the later ones


def connect(server, path="/ws/"):
    return create_connection(server.ws_url + path, timeout=10)


def test_urls_point_at_daphne(channels_live_server):
    assert isinstance(channels_live_server, LiveServer)
    port = channels_live_server.listening_port
    assert channels_live_server.url == f"http://localhost:{port}"
    assert channels_live_server.ws_url == f"ws://localhost:{port}"
    seen["pids"] = [process.pid for process in channels_live_server.processes]
    # Daphne and one worker, which runs the delay server (channels_test.delay is installed).
    assert [process.label for process in channels_live_server.processes] == ["Daphne process", "worker process 1"]
    assert channels_live_server.processes[1].ready_info["delay"] is True


def test_the_processes_are_shared_by_the_module(channels_live_server):
    assert [process.pid for process in channels_live_server.processes] == seen["pids"]
    assert all(process.is_alive() for process in channels_live_server.processes)


def test_http_reaches_views_and_the_test_database(channels_live_server):
    # No django_db mark: live tests get the transactional database.
    User.objects.create(username="made-in-the-test")
    with urllib.request.urlopen(channels_live_server.url + "/usernames/", timeout=10) as response:
        assert response.read().decode() == "made-in-the-test"


def test_the_database_is_emptied_after_each_test(channels_live_server):
    assert not User.objects.exists()


@pytest.mark.django_db(databases=["default"])
def test_a_test_s_own_django_db_mark_becomes_transactional(request, channels_live_server):
    assert request.node.get_closest_marker("django_db").kwargs == {"databases": ["default"], "transaction": True}
    User.objects.create(username="committed")
    with urllib.request.urlopen(channels_live_server.url + "/usernames/", timeout=10) as response:
        assert response.read().decode() == "committed"


def test_websocket_echo(channels_live_server):
    ws = connect(channels_live_server)
    try:
        ws.send("hi")
        assert ws.recv() == "echo: hi"
    finally:
        ws.close()


def test_group_send_in_the_test_reaches_live_sockets(channels_live_server):
    ws = connect(channels_live_server)
    try:
        ws.send("joined")  # the reply proves the connect consumer ran
        assert ws.recv() == "echo: joined"
        Group(consumers.ROOM).send({"text": "from the test"}, immediately=True)
        assert ws.recv() == "from the test"
    finally:
        ws.close()


def test_the_workers_answer_on_the_shared_layer(channels_live_server):
    assert channel_layers["default"] is channels_live_server.layer
    Channel("inspect").send({"reply_to": "inspected"})
    answer = channels_live_server.get_next_message("inspected", require=True)
    assert answer["pid"] in seen["pids"]


def test_get_next_message_require_says_what_it_waited_for(channels_live_server):
    with pytest.raises(AssertionError, match=r"Expected a message on channel 'nothing' within 0.1 s; none came"):
        channels_live_server.get_next_message("nothing", require=True, timeout=0.1)


def test_the_delay_server_delivers_delayed_messages(channels_live_server):
    Channel("asgi.delay").send({"channel": "inspect", "content": {"reply_to": "inspected"}, "delay": 100})
    assert channels_live_server.get_next_message("inspected", require=True, timeout=10)["pid"] in seen["pids"]


def test_layer_flushed_before_each_test_1_leave_a_message(channels_live_server):
    Channel("left.behind").send({"n": 1})


def test_layer_flushed_before_each_test_2_nothing_left(channels_live_server):
    assert channels_live_server.get_next_message("left.behind", timeout=0) is None


def test_worker_death_is_reported_then_the_worker_restarted(channels_live_server):
    worker = channels_live_server.processes[1]
    old_pid = worker.pid
    ws = connect(channels_live_server)
    ws.send("exit 7")
    ws.close()
    deadline = time.monotonic() + 10
    while worker.is_alive():
        assert time.monotonic() < deadline, "the worker did not exit within 10 s"
        time.sleep(0.02)
    with pytest.raises(LiveServerError, match=rf"The worker process 1 \(pid {old_pid}\) exited with code 7"):
        channels_live_server.check_processes()
    channels_live_server.prepare_test()  # what the next test's set-up does
    assert worker.is_alive() and worker.pid != old_pid
    seen["pids"] = [process.pid for process in channels_live_server.processes]


def test_options_come_from_the_options_fixture():
    with pytest.raises(TypeError, match=r"unknown live server option\(s\) 'workers'"):
        LiveServer(workers=2)


def test_a_failing_module_leaves_no_process(tmp_path):
    process, record = run_inner("live_failing.py", tmp_path)
    output = process.stdout + process.stderr
    assert process.returncode == 1, output
    assert "1 failed, 1 passed, 1 error" in output, output
    assert "this live test fails on purpose" in output
    assert "cannot use both channels_live_server and captive_layers" in output
    assert len(record["pids"]) == 3, record  # Daphne and two workers (the options fixture)
    assert wait_gone(record["pids"]) == []


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_an_interrupted_run_leaves_no_process(tmp_path, signal_name):
    process, record = run_inner("live_interrupted.py", tmp_path, LIVE_SIGNAL=signal_name)
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    assert record is not None and len(record["pids"]) == 2, output  # Daphne and a worker
    assert wait_gone(record["pids"]) == [], output
    shutil.rmtree(record["directory"], ignore_errors=True)  # SIGTERM ends the run before its clean-up
