"""A console logger for the development commands, as Channels 1.x's ``channels.log`` had.

``setup_logger(name, verbosity)`` returns logger ``name`` writing through
:data:`handler` (stderr) at INFO, or DEBUG for ``verbosity > 1``, and sends
Daphne's own loggers to the same handler.
"""

from __future__ import annotations

import logging

__all__ = ["handler", "setup_logger"]

handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter(fmt="%(asctime)s - %(levelname)s - %(module)s - %(message)s"))

DAPHNE_LOGGERS = ("daphne.ws_protocol", "daphne.http_protocol", "daphne.server")


def setup_logger(name: str, verbosity: int = 1) -> logging.Logger:
    """Return logger ``name`` writing to :data:`handler`; DEBUG above verbosity 1, else INFO."""
    level = logging.DEBUG if verbosity > 1 else logging.INFO
    logger = logging.getLogger(name)
    logger.setLevel(level)
    if handler not in logger.handlers:
        logger.addHandler(handler)
    logger.propagate = False
    for daphne_name in DAPHNE_LOGGERS:
        daphne_logger = logging.getLogger(daphne_name)
        daphne_logger.setLevel(level)
        if handler not in daphne_logger.handlers:
            daphne_logger.addHandler(handler)
    return logger
