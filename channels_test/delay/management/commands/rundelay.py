"""``manage.py rundelay``: the delay server, sending ``asgi.delay`` messages when due."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError

from channels_test.channel import DEFAULT_CHANNEL_LAYER


class Command(BaseCommand):
    help = (
        "Run the delay server: store messages sent to 'asgi.delay' and send each to its "
        "channel when due, until SIGTERM or Ctrl-C. Several may run on one database."
    )
    leave_locale_alone = True

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--layer",
            default=DEFAULT_CHANNEL_LAYER,
            help="CHANNEL_LAYERS alias to listen and send on (default: %(default)r).",
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=1.0,
            help="Seconds between checks of the database for due messages (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from channels_test.asgi import channel_layers
        from channels_test.delay.worker import Worker

        alias, sleep = options["layer"], options["sleep"]
        if not sleep > 0:
            raise CommandError(f"--sleep must be a number of seconds above 0, not {sleep}.")
        try:
            wrapper = channel_layers[alias]
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if wrapper.local_only():
            raise CommandError(
                f"Channel layer {alias!r} is in-memory ({type(wrapper.channel_layer).__name__}): "
                "a delay server in its own process cannot share it. Use the SQLite layer "
                "(channels_test.layers.sqlite.SQLiteChannelLayer) on one machine or the Redis "
                "layer across machines, or run 'manage.py runserver', which runs the delay "
                "server in its own process."
            )
        self.show_log(options["verbosity"])
        self.stdout.write(
            f"Running the delay server on channel layer {alias!r} ({wrapper.channel_layer!r}), "
            f"checking for due messages every {sleep:g} s"
        )
        self.stdout.flush()
        worker = Worker(channel_layer=wrapper, database_sleep_duration=sleep)

        def ready() -> None:
            self.stdout.write("Delay server ready.")
            self.stdout.flush()

        # Per-instance override of the worker's ready() hook, which mypy cannot express.
        worker.ready = ready  # type: ignore[method-assign]
        worker.run()
        self.stdout.write("Delay server stopped.")

    def show_log(self, verbosity: int) -> None:
        """Write the delay server's log to stderr: INFO at -v 1, DEBUG from -v 2, as 1.x did.

        The ``channels_test.delay`` logger then stops propagating (each line
        is written once); with -v 0 it is left as ``LOGGING`` configures it.
        """
        if verbosity < 1:
            return
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("channels_test.delay")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
        logger.propagate = False
