"""The SQLite layer's files are private: messages carry cookies, so no other user may read them."""

from __future__ import annotations

import logging
import os
import stat

from django.core.exceptions import ImproperlyConfigured

__all__ = ["create_private_file", "make_files_private", "narrow"]

logger = logging.getLogger(__package__)

# closing any descriptor of a SQLite file drops every POSIX lock the process
# holds on it, including those of its open connections.


def create_private_file(path: str) -> None:
    """Create ``path`` with mode 0600 if missing; refuse a link, or a file another user owns."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: {error}. Set 'path' in the "
            "layer CONFIG to a file you own, or pick another 'prefix'."
        ) from error
    else:
        os.close(descriptor)  # just made, so nothing else here has it open
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: it is not a plain file "
            "(a symbolic link?). Set 'path' in the layer CONFIG to a file you own, or pick "
            "another 'prefix'."
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ImproperlyConfigured(
            f"The SQLite channel layer file {path!r} belongs to another user (uid "
            f"{info.st_uid}); refusing to share messages through it. Set 'path' in the "
            "layer CONFIG to a file you own, or pick another 'prefix'."
        )


def make_files_private(path: str) -> None:
    """Create ``path`` with mode 0600 if missing; keep it and its -wal/-shm files private.

    Messages carry cookies, so no other user may read these files. An
    existing file that others can read or write is narrowed to its owner's
    bits (with a warning); one that cannot be (another user's) is refused.
    SQLite gives the -wal and -shm files it creates the database file's mode.
    """
    if path in ("", ":memory:") or path.startswith("file:"):
        return  # not a plain file name: SQLite decides
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: {error}. "
            "Set 'path' in the layer CONFIG to a file you can write."
        ) from error
    else:
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask took away
        finally:
            os.close(descriptor)  # just made, so nothing else here has it open
    for name in (path, path + "-wal", path + "-shm"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue  # no -wal or -shm file yet: SQLite makes it like the database file
        except OSError as error:
            raise ImproperlyConfigured(
                f"Cannot open the SQLite channel layer file {name!r}: {error}. "
                "Set 'path' in the layer CONFIG to a file you can write."
            ) from error
        narrow(name, info)


def narrow(name: str, info: os.stat_result) -> None:
    """Take every permission for others off the file ``name``, logging that it had them."""
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    wanted = mode & 0o700
    try:
        os.chmod(name, wanted)
    except OSError as error:
        raise ImproperlyConfigured(
            f"The SQLite channel layer file {name!r} has mode {mode:04o}, so other users "
            f"could read the messages in it (they carry cookies), and it cannot be made "
            f"private ({error}; its owner is uid {info.st_uid}). Run 'chmod 600' on it as "
            "its owner, or set 'path' in the layer CONFIG to a file you own."
        ) from error
    logger.warning(
        "The SQLite channel layer file %r had mode %04o, which let other users read "
        "the messages in it; it now has mode %04o.",
        name,
        mode,
        wanted,
    )
