"""Differences between Django versions, and every private internal we rely on.

One small function per difference, so the rest of the package reads the
same on every version. The package touches private attributes of Django,
unittest and redis-py only here, each where no public API does the job;
each function says why, and the releases whose source it was checked
against (Django 4.2, 5.2, 6.0 and 6.1; Python 3.10, 3.11 and 3.13;
redis-py 8.1). When a release changes one, this module is the one place
to fix. Django is imported inside the functions: importing this module
costs nothing.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "setting_deprecations_silenced",
    "pre_setup_is_classmethod",
    "pre_setup_ran_eagerly",
    "receiver_is_connected",
    "PerTestSetupHook",
    "test_has_failed",
    "test_is_skipped",
    "settings_in_layers",
    "set_session_key",
    "redis_connection_socket",
]


class PerTestSetupHook:
    """Mixin for Django test cases: :meth:`_around_test_setup` wraps each test, fixtures included.

    Why private: the captive layers must be in place before Django's
    per-test set-up (``_pre_setup``: fixtures, whose saves may send messages
    through bindings) and gone after its tear-down. No public hook runs that
    early: ``setUp`` and ``run()`` run after ``_pre_setup``. Django runs
    ``_pre_setup``, the test and ``_post_teardown`` from
    ``SimpleTestCase._setup_and_call(result, debug=False)``, an instance
    method with that signature in Django 4.2, 5.2, 6.0 and 6.1, called by
    ``__call__`` and by ``debug()``.
    """

    def _setup_and_call(self, result: Any, debug: bool = False) -> None:
        parent = super()._setup_and_call  # type: ignore[misc]
        self._around_test_setup(result, debug, lambda: parent(result, debug))

    def _around_test_setup(self, result: Any, debug: bool, proceed: Callable[[], None]) -> None:
        """Run ``proceed()`` (Django's set-up, the test, its tear-down); override to wrap it.

        An override calls ``super()._around_test_setup(result, debug, proceed)``
        or, to fail the test before it starts, reports with
        ``result.addError(test, sys.exc_info())`` (or raises when ``debug``).
        """
        proceed()


def pre_setup_is_classmethod() -> bool:
    """Return True where ``TransactionTestCase._pre_setup`` is a classmethod (Django 5.2+).

    Django 4.2 runs ``_pre_setup`` (fixtures, ``available_apps``) on the test
    instance before each test. Django 5.2 made it a classmethod and, for a
    ``TransactionTestCase`` that is not a ``TestCase``, runs it for the first
    test from ``setUpClass``. Per-test state therefore cannot live in
    ``_pre_setup``; the test toolkit hooks ``_setup_and_call`` (an instance
    method on every supported version) and asks :func:`pre_setup_ran_eagerly`
    whether the first test's set-up already ran.
    """
    from django.test import TransactionTestCase

    return isinstance(inspect.getattr_static(TransactionTestCase, "_pre_setup"), classmethod)


def pre_setup_ran_eagerly(test: Any) -> bool:
    """Return True if the next test's ``_pre_setup`` already ran in ``setUpClass`` (Django 5.2+).

    ``test`` is a test case instance or class. Why private: Django 5.2 runs
    the first test's ``_pre_setup`` from ``setUpClass`` and records it only
    in the class attribute ``_pre_setup_ran_eagerly`` (5.2, 6.0, 6.1; absent
    in 4.2, hence the default).
    """
    test_class = test if isinstance(test, type) else type(test)
    return bool(getattr(test_class, "_pre_setup_ran_eagerly", False))


def receiver_is_connected(signal: Any, receiver: Callable, sender: Any = None) -> bool:
    """Return True if ``receiver`` is connected to ``signal`` for ``sender`` (cheap: no locking).

    Why private: the public way to ask, ``signal.disconnect()``, clears the
    signal's receiver cache on every call, and the test clients ask before
    each message they run. Each entry of ``Signal.receivers`` starts with its
    lookup key: Django 4.2 stores ``(key, ref)``, 5.2 ``(key, ref, is_async)``,
    6.0 and 6.1 ``(key, ref, sender_ref, is_async)``; the key is ``(id of the
    receiver, id of the sender)``, with bound methods keyed by ``(id(self),
    id(function))``.
    """
    key = _lookup_key(receiver, sender)
    for entry in signal.receivers:
        if entry[0] == key:
            return True
    return False


@functools.lru_cache(maxsize=64)
def _lookup_key(receiver: Callable, sender: Any) -> tuple:
    return (_make_id(receiver), _make_id(sender))


def _make_id(target: Any) -> Any:
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


@contextmanager
def setting_deprecations_silenced() -> Iterator[None]:
    """Silence Django's warnings about deprecated settings while copying settings.

    Django 6.1 deprecates the ``EMAIL_*`` settings for ``MAILERS`` and warns
    on every read or assignment of one, including the ``EMAIL_BACKEND`` its
    own test runner sets; older releases warn likewise for ``USE_L10N`` or
    ``DEFAULT_FILE_STORAGE``. The live server reads the test process's
    settings and sets them again in its children: any such warning would be
    about Django's doing or repeat one the user's process already showed.
    """
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning):
            warnings.filterwarnings(
                "ignore", message=r"The \w+ (transitional )?setting is deprecated", category=category
            )
        yield


def test_has_failed(test: Any) -> bool:
    """Return True if the running test ``test`` already failed or erred (for use in a clean-up).

    Why private: a clean-up gets no result object, and unittest keeps the
    running test's outcome only in ``test._outcome``. Its ``success`` flag
    does not answer from a clean-up: each clean-up runs as a part of its own,
    with the flag reset. So: Python 3.10 collects the part's errors in
    ``_outcome.errors`` as ``(test, exc_info)``, ``exc_info`` None for a
    success, until the test ends; Python 3.11 to 3.13 report each at once to
    ``_outcome.result``, whose ``errors`` and ``failures`` (on a
    ``unittest.TestResult``, as Django's results are) list the test or its
    sub-tests. Outside a run (``_outcome`` is None) the answer is False.
    """
    outcome = getattr(test, "_outcome", None)
    if outcome is None:
        return False
    if not outcome.success:
        return True
    collected = getattr(outcome, "errors", None)
    if collected is not None:  # Python 3.10
        return any(exc_info is not None for _, exc_info in collected)
    result = getattr(outcome, "result", None)
    reported = [*getattr(result, "errors", ()), *getattr(result, "failures", ())]
    return any(getattr(case, "test_case", case) is test for case, _ in reported)


def test_is_skipped(test: Any) -> bool:
    """Return True if the test case instance ``test`` will be skipped (its class or its method).

    Why private: unittest names the method a test case instance runs only
    in ``_testMethodName`` and marks skips with ``__unittest_skip__``, as
    Django's ``_setup_and_call`` reads them (Python 3.10 to 3.13; Django
    4.2, 5.2, 6.0, 6.1).
    """
    method = getattr(test, test._testMethodName, None)
    return bool(getattr(type(test), "__unittest_skip__", False) or getattr(method, "__unittest_skip__", False))


def settings_in_layers() -> tuple[Any, set[str]]:
    """Return ``(base, names)``: the settings object under every override, and the names overridden.

    ``names`` holds every setting an ``override_settings``/``modify_settings``
    layer set or deleted. ``base`` is the ``Settings`` object of the settings
    module, or ``global_settings`` under ``settings.configure()``. Why
    private: Django has no public way to tell an override from the settings
    module. ``settings._wrapped`` is the innermost holder; each override is a
    ``UserSettingsHolder`` whose own ``__dict__`` holds what it set, whose
    ``_deleted`` names what it deleted and whose ``default_settings`` is the
    layer below (Django 4.2, 5.2, 6.0, 6.1).
    """
    from django.conf import UserSettingsHolder, settings

    settings.INSTALLED_APPS  # noqa: B018  (configure the settings if nothing has yet)
    holder = settings._wrapped
    names: set[str] = set()
    while isinstance(holder, UserSettingsHolder):
        names.update(name for name in vars(holder) if name.isupper())
        names.update(holder._deleted)
        holder = holder.default_settings
    return holder, names


def set_session_key(session: Any, session_key: str) -> None:
    """Make ``session`` (a ``SessionBase``) use ``session_key``, even after it loaded.

    Why private: ``session_key`` is read-only, and a store that finds no
    session under the key it was given forgets the key when it loads (and
    saves under a new one). A channel session's key is derived from the
    reply channel, so it must stick. ``_session_key`` is the property with a
    setter (validating the key) in Django 4.2, 5.2, 6.0 and 6.1.
    """
    session._session_key = session_key


def redis_connection_socket(connection: Any) -> Any:
    """Return the socket of a connected redis-py ``Connection`` (for ``select``/``poll``).

    Why private: redis-py has no public accessor for the socket; its public
    ``can_read(timeout=0)`` answers the same question but reads into the
    parser's buffer. ``Connection._sock`` is the connected socket (None when
    disconnected) in redis-py 8.1, the release the suite runs on; earlier
    releases named it so too.
    """
    return connection._sock
