"""Differences between Django versions, handled in channels_test.compat."""

import json
import os
import subprocess
import sys
import unittest
import warnings

from django.test import SimpleTestCase, override_settings

from channels_test import compat
from channels_test.test._livesetup import settings_overrides

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SettingDeprecationsTests(SimpleTestCase):
    """Copying settings to the live server's children warns about nothing (Django 6.1: EMAIL_*)."""

    def test_reading_the_runners_settings_warns_about_nothing(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module, overrides, deleted = settings_overrides()
        self.assertEqual(overrides["EMAIL_BACKEND"], LOCMEM)  # set by the test runner
        self.assertEqual([str(warning.message) for warning in caught], [])

    def test_a_child_sets_them_without_a_warning(self):
        config = {
            "settings_module": os.environ["DJANGO_SETTINGS_MODULE"],
            "overrides": {"EMAIL_BACKEND": LOCMEM},
            "deleted": [],
            "sys_path": [ROOT],
        }
        code = (
            "import json, sys\n"
            "from channels_test.test._child import setup_django\n"
            "setup_django(json.loads(sys.argv[1]))\n"
            "from django.conf import settings\n"
            "print(settings._wrapped.EMAIL_BACKEND)\n"
        )
        child = subprocess.run(
            [sys.executable, "-W", "error", "-c", code, json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        self.assertEqual((child.returncode, child.stderr), (0, ""))
        self.assertEqual(child.stdout.strip(), LOCMEM)

    def test_other_warnings_still_show(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with compat.setting_deprecations_silenced():
                warnings.warn("The FOO setting is deprecated.", DeprecationWarning, stacklevel=1)
                warnings.warn("Something else is deprecated.", DeprecationWarning, stacklevel=1)
        self.assertEqual([str(warning.message) for warning in caught], ["Something else is deprecated."])


class PrivateInternalsTests(SimpleTestCase):
    """Each private internal compat reaches still means what compat says, on this Django and Python."""

    def test_test_has_failed_reads_the_running_outcome(self):
        seen = []

        class Case(unittest.TestCase):
            def test_fails(self):
                self.addCleanup(lambda: seen.append(compat.test_has_failed(self)))
                self.fail("on purpose")

            def test_passes(self):
                self.addCleanup(lambda: seen.append(compat.test_has_failed(self)))

        unittest.TestSuite([Case("test_fails"), Case("test_passes")]).run(unittest.TestResult())
        self.assertEqual(seen, [True, False])
        self.assertFalse(compat.test_has_failed(Case("test_passes")))  # not running

    def test_test_is_skipped_sees_class_and_method_skips(self):
        class Case(unittest.TestCase):
            @unittest.skip("method")
            def test_skipped(self):
                pass

            def test_runs(self):
                pass

        Skipped = unittest.skip("class")(type("Skipped", (Case,), {}))
        self.assertEqual(
            [
                compat.test_is_skipped(Case("test_skipped")),
                compat.test_is_skipped(Case("test_runs")),
                compat.test_is_skipped(Skipped("test_runs")),
            ],
            [True, False, True],
        )

    def test_settings_in_layers_names_overridden_and_deleted_settings(self):
        from django.conf import settings

        base, before = compat.settings_in_layers()
        with override_settings(LIVE_MARKER="x"), override_settings():
            del settings.USE_TZ
            layered_base, names = compat.settings_in_layers()
        self.assertIs(layered_base, base)
        self.assertEqual(names - before, {"LIVE_MARKER", "USE_TZ"})

    def test_set_session_key_sticks_after_a_load_that_found_nothing(self):
        from django.contrib.sessions.backends.cache import SessionStore

        session = SessionStore(session_key="chnunknownkeyunknownkeyunknown12")
        session.keys()  # a store that finds nothing under the key forgets it
        compat.set_session_key(session, "chnunknownkeyunknownkeyunknown12")
        self.assertEqual(session.session_key, "chnunknownkeyunknownkeyunknown12")

    def test_per_test_setup_hook_wraps_fixtures_setup_and_test(self):
        calls = []

        class Case(compat.PerTestSetupHook, SimpleTestCase):
            def _around_test_setup(self, result, debug, proceed):
                calls.append("before")
                super()._around_test_setup(result, debug, proceed)
                calls.append("after")

            def setUp(self):
                calls.append("setUp")

            def test_it(self):
                calls.append("test")

        # Django's per-test set-up (fixtures); a classmethod on 5.2+, called on the instance.
        Case._pre_setup = classmethod(lambda cls: calls.append("pre_setup"))
        Case("test_it")(unittest.TestResult())
        self.assertEqual(calls, ["before", "pre_setup", "setUp", "test", "after"])
        calls.clear()
        Case("test_it").debug()
        self.assertEqual(calls, ["before", "pre_setup", "setUp", "test", "after"])

    def test_redis_connection_socket_is_the_connected_socket(self):
        import socket

        from redis import Connection

        from tests.support.redis import require_redis

        require_redis()
        connection = Connection(host="127.0.0.1", port=6379)
        self.assertIsNone(compat.redis_connection_socket(connection))
        connection.connect()
        self.addCleanup(connection.disconnect)
        self.assertIsInstance(compat.redis_connection_socket(connection), socket.socket)
