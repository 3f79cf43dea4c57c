"""Signals sent around consumers and workers.

``consumer_started`` and ``consumer_finished`` bracket every consumer call
(like Django's ``request_started``/``request_finished``), so old database
connections are closed between messages exactly as between requests.
"""

from django.db import close_old_connections
from django.dispatch import Signal

# Sent with environ={} before a consumer runs.
consumer_started = Signal()
# Sent after a consumer returns or raises.
consumer_finished = Signal()
# Sent by each Worker once it listens, with sender=the worker.
worker_ready = Signal()
# Sent once per worker process when all of its workers listen.
worker_process_ready = Signal()

consumer_started.connect(close_old_connections)
consumer_finished.connect(close_old_connections)
