"""How the plugin is found and what it registers."""

import os
import subprocess
import sys
from importlib.metadata import entry_points

import channels_test.pytest_plugin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_installing_channels_test_registers_the_plugin(pytestconfig):
    (entry,) = [entry for entry in entry_points(group="pytest11") if entry.name == "channels_test"]
    assert entry.value == "channels_test.pytest_plugin"
    assert pytestconfig.pluginmanager.get_plugin("channels_test") is channels_test.pytest_plugin


def test_the_markers_are_registered(pytestconfig):
    # pytest.ini turns on --strict-markers, so an unregistered marker would fail collection.
    assert pytestconfig.option.strict_markers
    markers = pytestconfig.getini("markers")
    assert any(line.startswith("channel_aliases(*aliases):") for line in markers)
    assert any(line.startswith("fail_on_unread_messages:") for line in markers)


def test_importing_the_toolkit_never_imports_pytest():
    code = (
        "import sys, channels_test, channels_test.test, channels_test.test.live\n"
        "assert 'pytest' not in sys.modules, sorted(m for m in sys.modules if 'pytest' in m)\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr


def list_fixtures(*options):
    process = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "-p", "no:cacheprovider", "--fixtures", __file__],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout


def test_the_plugin_can_be_turned_off():
    assert "captive_layers" in list_fixtures()
    assert "captive_layers" not in list_fixtures("-p", "no:channels_test")


def test_the_plugin_loads_without_pytest_django(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    (tmp_path / "test_plain.py").write_text(
        "import pytest\n\n@pytest.mark.channel_aliases('default')\ndef test_plain():\n    pass\n"
    )
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "1 passed" in process.stdout


def test_pytest_here_collects_the_plugin_tests_only():
    # The suite in tests/ is Django's runner's (runtests.py); pytest.ini keeps pytest out of it.
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    collected = [line for line in process.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("tests_pytest/test_") for line in collected), collected
