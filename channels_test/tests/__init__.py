"""Channels 1.0's name for :mod:`channels_test.test`; importing it warns.

``from channels_test.tests import ChannelTestCase`` keeps working; write
``from channels_test.test import ...`` instead.
"""

from ..deprecation import warn_deprecated

warn_deprecated(
    "The package channels_test.tests is deprecated; import from channels_test.test instead.",
    stacklevel=2,
)

from ..test import *  # noqa: E402,F401,F403
from ..test import __all__  # noqa: E402,F401
