"""Run only by tests_pytest/test_captive_layers.py, in a pytest of its own."""

import pytest

from channels_test import Channel

pytestmark = pytest.mark.fail_on_unread_messages


def test_leaves_a_message(captive_layers):
    Channel("forgotten").send({"n": 1})


def test_reads_everything(captive_layers):
    Channel("read").send({"n": 1})
    captive_layers.assert_message("read", n=1)


def test_fails_and_leaves_a_message(captive_layers):
    Channel("forgotten").send({"n": 2})
    pytest.fail("fails on purpose")
