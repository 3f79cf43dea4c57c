"""Differences between Django versions, handled in channels_test.compat."""

import json
import os
import subprocess
import sys
import warnings

from django.test import SimpleTestCase

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
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
        self.assertEqual((child.returncode, child.stderr), (0, ""))
        self.assertEqual(child.stdout.strip(), LOCMEM)

    def test_other_warnings_still_show(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with compat.setting_deprecations_silenced():
                warnings.warn("The FOO setting is deprecated.", DeprecationWarning)
                warnings.warn("Something else is deprecated.", DeprecationWarning)
        self.assertEqual([str(warning.message) for warning in caught], ["Something else is deprecated."])
