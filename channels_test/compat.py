"""Differences between the Django versions channels_test supports (4.2 to 6.x).

One small function per difference, so the rest of the package reads the
same on every version. Django is imported inside the functions: importing
this module costs nothing.
"""

from __future__ import annotations

import inspect
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = [
    "setting_deprecations_silenced",
    "pre_setup_is_classmethod",
    "pre_setup_ran_eagerly",
    "receiver_is_connected",
]


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

    ``test`` is a test case instance or class.
    """
    test_class = test if isinstance(test, type) else type(test)
    return bool(getattr(test_class, "_pre_setup_ran_eagerly", False))


def receiver_is_connected(signal: Any, receiver: Callable, sender: Any = None) -> bool:
    """Return True if ``receiver`` is connected to ``signal`` for ``sender`` (cheap: no locking).

    Each entry of ``Signal.receivers`` starts with its lookup key on every
    supported version (4.2 stores ``(key, ref)``, 5.0+ ``(key, ref, sender_ref,
    is_async)``); the key is ``(id of the receiver, id of the sender)``, with
    bound methods keyed by ``(id(self), id(function))``.
    """
    key = (_make_id(receiver), _make_id(sender))
    for entry in signal.receivers:
        if entry[0] == key:
            return True
    return False


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
