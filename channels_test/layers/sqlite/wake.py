"""Wake-up sockets: how a send to the SQLite layer wakes receivers blocked in other processes.

Each thread that blocks in ``receive`` binds a Unix datagram socket in
``<path>.wake/`` (a directory only its owner may enter), and every send pokes
the sockets there after its commit; a socket whose process died is removed
by the next send. A poke only says "look again": the receiver still checks
``PRAGMA data_version`` before taking anything.
"""

from __future__ import annotations

import os
import secrets
import select
import socket
import stat
import threading

__all__ = ["WakeDirectory", "WakeSockets", "private_directory", "unlink"]


class WakeSockets:
    """One thread's sockets: the one it waits on (bound in the directory) and the one it pokes from."""

    def __init__(self) -> None:
        self.wake_socket: socket.socket | None = None
        self.wake_path: str | None = None
        self.poke_socket: socket.socket | None = None

    def close(self) -> None:
        for open_socket in (self.wake_socket, self.poke_socket):
            if open_socket is not None:
                open_socket.close()
        if self.wake_path is not None:
            unlink(self.wake_path)
        self.wake_socket = self.poke_socket = self.wake_path = None


class WakeDirectory:
    """The ``<path>.wake`` directory of one layer file.

    ``usable`` turns False for good (in this layer object) once sockets
    cannot be used there: no Unix sockets, too long a path, or a directory
    another user could enter; receivers then poll instead.
    """

    def __init__(self, path: str):
        self.path = path
        self.usable = hasattr(socket, "AF_UNIX") and hasattr(os, "getuid")

    def listen(self, sockets: WakeSockets) -> socket.socket | None:
        """Return the thread's bound wake-up socket (binding it first), or None to poll instead."""
        if sockets.wake_socket is not None or not self.usable:
            return sockets.wake_socket
        name = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"
        path = os.path.join(self.path, name)
        wake_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            if not private_directory(self.path):
                raise OSError(f"{self.path!r} is not a private directory")
            wake_socket.bind(path)
            wake_socket.setblocking(False)
        except OSError:
            # Too long a path, a shared directory, no permission: poll instead.
            wake_socket.close()
            self.usable = False
            return None
        sockets.wake_socket, sockets.wake_path = wake_socket, path
        return wake_socket

    def poke_all(self, sockets: WakeSockets) -> None:
        """Poke every blocked receiver's socket (call after a commit); remove dead ones."""
        if not self.usable:
            return
        try:
            names = os.listdir(self.path)
        except OSError:
            return  # no receiver has blocked yet
        if not names:
            return
        if sockets.poke_socket is None:
            private = private_directory(self.path)
            if not private:
                if private is False:
                    self.usable = False  # another user could read our pokes
                return
            sockets.poke_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sockets.poke_socket.setblocking(False)
        for name in names:
            path = os.path.join(self.path, name)
            try:
                sockets.poke_socket.sendto(b"!", path)
            except ConnectionRefusedError:
                unlink(path)  # its process has died
            except OSError:
                pass  # already poked (queue full), or gone

    @staticmethod
    def wait(wake_socket: socket.socket, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a poke, then swallow every poke waiting."""
        select.select([wake_socket], [], [], timeout)
        while True:
            try:
                wake_socket.recv(64)
            except OSError:
                return


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def private_directory(path: str) -> bool | None:
    """Return True if ``path`` is a directory only this user can enter (None: it is gone)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077
