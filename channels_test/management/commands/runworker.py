"""``manage.py runworker``: run consumers for messages on a shared channel layer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError

from channels_test.channel import DEFAULT_CHANNEL_LAYER


class Command(BaseCommand):
    help = (
        "Run a worker: take messages off a channel layer and run the consumers its "
        "routing names, until SIGTERM or Ctrl-C (the message in hand is finished first)."
    )
    leave_locale_alone = True

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--layer",
            default=DEFAULT_CHANNEL_LAYER,
            help="CHANNEL_LAYERS alias to consume from (default: %(default)r).",
        )
        parser.add_argument(
            "--only-channels",
            action="append",
            dest="only_channels",
            default=[],
            metavar="GLOB",
            help="Listen only on channels matching this glob, e.g. 'websocket.*' (repeatable).",
        )
        parser.add_argument(
            "--exclude-channels",
            action="append",
            dest="exclude_channels",
            default=[],
            metavar="GLOB",
            help="Do not listen on channels matching this glob (repeatable).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Worker threads in this process (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from channels_test.asgi import channel_layers
        from channels_test.signals import worker_process_ready
        from channels_test.worker import WorkerGroup

        alias, threads = options["layer"], options["threads"]
        if threads < 1:
            raise CommandError(f"--threads must be at least 1, not {threads}.")
        try:
            wrapper = channel_layers[alias]
            router = wrapper.router
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if wrapper.local_only():
            raise CommandError(
                f"Channel layer {alias!r} is in-memory ({type(wrapper.channel_layer).__name__}): "
                "a worker in its own process cannot share it with the interface server. Use "
                "the SQLite layer (channels_test.layers.sqlite.SQLiteChannelLayer) on one "
                "machine or the Redis layer across machines, or run 'manage.py runserver', "
                "which runs the server and workers in one process."
            )
        from channels_test.staticfiles import add_default_routes

        add_default_routes(router, serve_static=settings.DEBUG)
        group = WorkerGroup(
            wrapper,
            n_threads=threads,
            only_channels=options["only_channels"],
            exclude_channels=options["exclude_channels"],
        )
        channels = group.apply_channel_filters(sorted(router.channels))
        if not channels:
            raise CommandError(
                f"No channels to listen on: routing of {alias!r} has {sorted(router.channels)}, "
                f"and --only-channels {options['only_channels']} / --exclude-channels "
                f"{options['exclude_channels']} left none."
            )
        self.stdout.write(
            f"Running {threads} worker thread{'s' if threads != 1 else ''} on channel layer "
            f"{alias!r} ({wrapper.channel_layer!r})\nListening on channels: {', '.join(channels)}"
        )
        self.stdout.flush()

        def ready(sender: Any, **kwargs: Any) -> None:
            self.stdout.write("Worker ready.")
            self.stdout.flush()

        worker_process_ready.connect(ready, weak=False)
        try:
            group.run()
        finally:
            worker_process_ready.disconnect(ready)
        self.stdout.write("Worker stopped.")
