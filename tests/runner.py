"""The suite's test runner: Django's, plus a closing count line.

It prints ``N passed, N failed, N skipped`` last. Under ``CI=true`` a skipped
test fails the run, since CI has every system part a test needs.
"""

import os

from django.test.runner import DiscoverRunner


class CountingRunner(DiscoverRunner):
    def build_suite(self, test_labels=None, *args, **kwargs):
        # Without labels, the suite is tests/: discovering from the repository
        # root would import channels_test.tests, the deprecated 1.0 package,
        # whose warning is an error in CI's -W error::DeprecationWarning leg.
        return super().build_suite(test_labels or ["tests"], *args, **kwargs)

    def suite_result(self, suite, result, **kwargs):
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        passed = result.testsRun - failed - skipped
        print(f"{passed} passed, {failed} failed, {skipped} skipped")
        if skipped and os.environ.get("CI") == "true":
            for test, reason in result.skipped:
                print(f"skipped under CI: {test}: {reason}")
            return failed + skipped
        return failed
