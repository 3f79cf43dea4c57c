"""``manage.py runserver``: Daphne with the interface application plus worker threads.

The development server of the 1.x model: one process runs Daphne serving
:mod:`channels_test.interface` and (unless ``--noworker``) a group of worker
threads, so it works with the in-memory channel layer; with
``channels_test.delay`` installed, the delay server runs in a thread too. Put
``"channels_test"`` above ``"django.contrib.staticfiles"`` (and ``"daphne"``)
in ``INSTALLED_APPS``: Django runs the ``runserver`` of the first app that
has one.
"""

from __future__ import annotations

import threading
from typing import Any

from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from daphne.server import Server
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError
from django.core.management.commands.runserver import Command as DjangoRunserverCommand

from channels_test.channel import DEFAULT_CHANNEL_LAYER


class Command(DaphneRunserverCommand):
    help = (
        "Start the development server: Daphne serving the channel-layer interface, plus "
        "worker threads running the consumers (unless --noworker)."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--layer",
            default=DEFAULT_CHANNEL_LAYER,
            help="CHANNEL_LAYERS alias to serve (default: %(default)r).",
        )
        parser.add_argument(
            "--noworker",
            action="store_false",
            dest="run_worker",
            help="Run no workers (nor the delay server) in this process; run 'manage.py "
            "runworker' (and 'rundelay') separately.",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=4,
            help="Worker threads to run in this process (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["threads"] < 1:
            raise CommandError(f"--threads must be at least 1, not {options['threads']}.")
        self.http_timeout = options.get("http_timeout")
        self.websocket_handshake_timeout = options.get("websocket_handshake_timeout", 5)
        self.websocket_max_message_size = options.get("websocket_max_message_size") or getattr(
            settings, "DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE", 1024 * 1024
        )
        self.websocket_max_frame_size = options.get("websocket_max_frame_size") or getattr(
            settings, "DAPHNE_WEBSOCKET_MAX_FRAME_SIZE", 1024 * 1024
        )
        DjangoRunserverCommand.handle(self, *args, **options)

    def inner_run(self, *args: Any, **options: Any) -> None:
        self.server_cls = self.announcing_server_class()
        background = []
        if options["run_worker"]:
            background.append(self.start_workers(options))
            if apps.is_installed("channels_test.delay"):
                background.append(self.start_delay_server(options))
        try:
            super().inner_run(*args, **options)
        finally:
            for runner in background:
                runner.stop()

    def get_application(self, options: dict) -> Any:
        """Return the interface application for ``--layer``."""
        from channels_test.interface import get_interface_application

        return get_interface_application(options["layer"])

    def start_workers(self, options: dict) -> Any:
        """Start ``--threads`` workers on the served layer in a background thread."""
        from channels_test.asgi import channel_layers
        from channels_test.worker import WorkerGroup

        try:
            wrapper = channel_layers[options["layer"]]
            router = wrapper.router
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        from channels_test.staticfiles import add_default_routes

        add_default_routes(router, serve_static=self.serves_static(options))
        group = WorkerGroup(wrapper, n_threads=options["threads"], signal_handlers=False)
        threading.Thread(target=group.run, name="channels-runserver-workers", daemon=True).start()
        self.stdout.write(
            f"Worker threads: {options['threads']}, on channel layer {options['layer']!r} "
            f"({wrapper.channel_layer!r}), channels: {', '.join(sorted(router.channels))}"
        )
        return group

    def start_delay_server(self, options: dict) -> Any:
        """Start the delay server (``channels_test.delay``) on the served layer in a thread."""
        from channels_test.asgi import channel_layers
        from channels_test.delay.worker import Worker

        worker = Worker(channel_layers[options["layer"]], signal_handlers=False)
        threading.Thread(target=worker.run, name="channels-runserver-delay", daemon=True).start()
        self.stdout.write(f"Delay server: on channel layer {options['layer']!r}, listening on asgi.delay")
        return worker

    @staticmethod
    def serves_static(options: dict) -> bool:
        """Serve static files when staticfiles is installed and DEBUG (or --insecure) is on."""
        if not apps.is_installed("django.contrib.staticfiles"):
            return False
        if not options.get("use_static_handler", True):
            return False
        return settings.DEBUG or options.get("insecure_serving", False)

    def announcing_server_class(self) -> type:
        """Return a Daphne Server class that prints where it listens once ready."""
        command = self

        class AnnouncingServer(Server):
            def __init__(self, *args: Any, **kwargs: Any):
                kwargs.setdefault("ready_callable", self.announce)
                super().__init__(*args, **kwargs)

            def announce(self) -> None:
                for host, port in self.listening_addresses:
                    command.stdout.write(f"Listening on {host}:{port}")
                command.stdout.flush()

        return AnnouncingServer
