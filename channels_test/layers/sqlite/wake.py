"""Wake-up sockets: how a send to the SQLite layer wakes receivers blocked in other processes.

Each thread that blocks in ``receive`` binds a Unix datagram socket in
``<path>.wake/`` (a directory only its owner may enter) and links it, by a
symbolic link, into one subdirectory per channel it waits on
(``<path>.wake/k<hash of the channel>/``). A send pokes the sockets linked
under its channel after its commit, so it wakes only the receivers that can
take its message: a receiver woken for another channel's message would only
look, find nothing, and take a core from the one that can. A group send,
whose members the sender does not know, pokes every socket. A socket whose
process died is removed by the next send that pokes it. A poke only says
"look again": another receiver may have taken the message first.

A socket an event loop watches (the layer's ``watch``) has a name ending in
``WATCHED_SUFFIX``, which tells a sender that the socket is read for as
long as it stays linked: a message for a process-local channel may then
travel in the datagram itself (see ``direct``). Every reader of a socket
hands such datagrams on (:func:`drain` collects them); none swallows them.

A worker's thread, idle in a blocking receive, may offer to be handed its
next message (the layer's ``take_hand_offs``): it makes an entry named
after its socket in ``<path>.wake/offers/``. A sender to a channel the
socket is linked under claims the offer by removing that entry (a removal
succeeds for one sender only) and sends the message in the datagram, which
is not stored. Without an offer to claim, the message is stored and the
sockets poked as before.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import select
import socket
import stat
import time

__all__ = [
    "DATAGRAM_LIMIT",
    "HAND_OFF",
    "KEY_PREFIX",
    "MESSAGE",
    "POKE",
    "WATCHED_SUFFIX",
    "WakeDirectory",
    "WakeSockets",
    "drain",
    "key_directory",
    "private_directory",
    "unlink",
]

#: Subdirectories of channels start with this; socket names start with a process id.
KEY_PREFIX = "k"
# A key directory's listing is reused only if listed this long after it last
# changed (nanoseconds): longer than a tick of the file system's clock, on a
# file system with fractions of seconds in its times or without.
_SETTLED_NS = 50_000_000
_SETTLED_COARSE_NS = 2_000_000_000
# The longest socket path every system takes (sun_path: 104 bytes on macOS
# and the BSDs, 108 on Linux); a link longer than this could not be poked.
_MAX_SOCKET_PATH = 104

#: The datagram that says "look again".
POKE = b"!"
#: The first byte of a datagram carrying a message (see ``direct``).
MESSAGE = b"m"
#: The first byte of a datagram handing a message to a worker that offered to take one.
HAND_OFF = b"h"
#: The subdirectory of the offers to take a message handed over.
OFFERS = "offers"
#: The largest datagram sent, and the buffer every read uses, so none is cut
#: short. Well under what a socket queues: Linux holds up to
#: ``net.unix.max_dgram_qlen`` datagrams (10 by default) per socket, charged
#: to the sender's send buffer (about 208 KiB by default), so ten of these
#: fit. Where a system takes less in one datagram (macOS: 2 KiB by default),
#: the send fails and the message is stored in the file instead.
DATAGRAM_LIMIT = 16384
#: The end of the name of a socket an event loop watches.
WATCHED_SUFFIX = "-w"


def key_directory(key: str) -> str:
    """Return the name of the subdirectory of receivers waiting on ``key`` (a channel).

    64 bits of hash: a message sent directly to the one socket linked under
    a key must not reach another key's receiver through a clash of hashes.
    """
    return KEY_PREFIX + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class WakeSockets:
    """One thread's sockets: the one it waits on (bound in the directory) and the one it pokes from.

    ``watched``: an event loop reads the socket for as long as it is linked
    (its name says so, see ``WATCHED_SUFFIX``). ``links`` maps each key the thread waits on to the link of its socket
    in that key's subdirectory. ``caught_up`` is the layer's to set: True
    once it took everything waiting on ``keys`` (so any later message pokes
    the socket), False whenever the links change.
    """

    def __init__(self, *, watched: bool = False) -> None:
        self.watched = watched
        self.wake_socket: socket.socket | None = None
        self.wake_path: str | None = None
        self.wake_name: str | None = None
        self.poke_socket: socket.socket | None = None
        self.keys: frozenset = frozenset()
        self.links: dict[str, str] = {}
        self.caught_up = False
        self.offer_path: str | None = None  # the thread's offer, once made (see WakeDirectory.offer)
        self.offered = False  # the offer is up, or was claimed and its datagram not read yet
        self.claimed = False  # withdrawn too late: a sender had claimed it, and its datagram is not read yet

    def unlink_all(self) -> None:
        """Remove the socket's links: no send reaches it any more (the socket stays bound)."""
        for link in self.links.values():
            unlink(link)
            remove_if_empty(os.path.dirname(link))
        self.keys, self.links, self.caught_up = frozenset(), {}, False

    def close(self) -> None:
        self.unlink_all()
        if self.wake_path is not None:
            if self.offered and self.offer_path is not None:
                unlink(self.offer_path)
            unlink(self.wake_path)
        for open_socket in (self.wake_socket, self.poke_socket):
            if open_socket is not None:
                open_socket.close()
        self.wake_socket = self.poke_socket = self.wake_path = self.wake_name = None


class WakeDirectory:
    """The ``<path>.wake`` directory of one layer file.

    ``usable`` turns False for good (in this layer object) once sockets
    cannot be used there: no Unix sockets, too long a path, or a directory
    another user could enter; receivers then poll instead.
    """

    def __init__(self, path: str):
        self.path = path
        self.usable = hasattr(socket, "AF_UNIX") and hasattr(os, "getuid")
        # Key directory -> (its modification time, when listed, its links): see _links.
        self._listings: dict[str, tuple[int, int, list[tuple[str, str]]]] = {}

    def listen(self, sockets: WakeSockets, keys: frozenset) -> socket.socket | None:
        """Return the thread's wake-up socket, bound and linked under each of ``keys``, or None to poll.

        Call it before looking for a message: a send that commits after it
        returns finds the links and pokes the socket.
        """
        if not self.usable:
            return None
        if sockets.wake_socket is None and not self._bind(sockets):
            return None
        if sockets.keys != keys and not self._link(sockets, keys):
            return None
        return sockets.wake_socket

    def _bind(self, sockets: WakeSockets) -> bool:
        name = f"{os.getpid()}-{secrets.token_hex(6)}{WATCHED_SUFFIX if sockets.watched else ''}"
        path = os.path.join(self.path, name)
        longest = os.path.join(self.path, key_directory(""), name)
        wake_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if len(os.fsencode(longest)) > _MAX_SOCKET_PATH:
                raise OSError(f"{longest!r} is too long for a socket path")
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            if not private_directory(self.path):
                raise OSError(f"{self.path!r} is not a private directory")
            wake_socket.bind(path)
            wake_socket.setblocking(False)
        except OSError:
            # Too long a path, a shared directory, no permission: poll instead.
            wake_socket.close()
            self.usable = False
            return False
        sockets.wake_socket, sockets.wake_path, sockets.wake_name = wake_socket, path, name
        return True

    def _link(self, sockets: WakeSockets, keys: frozenset) -> bool:
        """Link the thread's socket under each of ``keys`` and under no other key."""
        sockets.caught_up = False
        for key in sockets.keys - keys:
            link = sockets.links.pop(key)
            if link not in sockets.links.values():  # not another key's too (one hash for both)
                unlink(link)
                remove_if_empty(os.path.dirname(link))
        name = sockets.wake_name
        assert name is not None  # _bind() named the socket
        for key in keys - sockets.keys:
            directory = os.path.join(self.path, key_directory(key))
            link = os.path.join(directory, name)
            while True:
                try:
                    os.makedirs(directory, mode=0o700, exist_ok=True)
                    os.symlink(os.path.join(os.pardir, name), link)
                    break
                except FileExistsError:
                    break  # two keys with one hash: linked already
                except FileNotFoundError:
                    continue  # a sender removed the emptied directory meanwhile: make it again
                except OSError:
                    sockets.close()
                    self.usable = False
                    return False
            sockets.links[key] = link
        sockets.keys = keys
        return True

    def poke(self, sockets: WakeSockets, key: str) -> None:
        """Poke the receivers waiting on ``key`` (call after a commit); remove dead ones."""
        if not self.usable:
            return
        directory = os.path.join(self.path, key_directory(key))
        links = self._links(directory)
        if not links:
            return  # no receiver waits on it
        poke_socket = self._poke_socket(sockets)
        if poke_socket is None:
            return
        for name, link in links:
            self._send(poke_socket, POKE, directory, name, link)  # not sent: queue full, so poked already

    def deliver(self, sockets: WakeSockets, key: str, datagram: bytes) -> bool:
        """Send ``datagram`` (a message) to the receiver watching ``key``; False if it was not sent.

        Sent only where one socket is linked under the key and an event loop
        watches it (so reads it); not where none is, several are (a blocking
        receive's socket is read only while it waits), the socket's queue is
        full, the system refuses the datagram, or the directory is not
        private. The caller then stores the message.
        """
        if not self.usable:
            return False
        directory = os.path.join(self.path, key_directory(key))
        links = self._links(directory)
        if len(links) != 1 or not links[0][0].endswith(WATCHED_SUFFIX):
            return False
        poke_socket = self._poke_socket(sockets)
        if poke_socket is None:
            return False
        name, link = links[0]
        return self._send(poke_socket, datagram, directory, name, link)

    def offer(self, sockets: WakeSockets) -> None:
        """Offer to take the next message for one of the thread's keys in a datagram (see ``hand_off``).

        Call it while the thread waits on its socket, having found nothing
        waiting. The offer stays until a sender claims it or :meth:`withdraw`
        removes it.
        """
        if sockets.offered or sockets.wake_name is None:
            return
        directory = os.path.join(self.path, OFFERS)
        offer = os.path.join(directory, sockets.wake_name)
        target = os.path.join(os.pardir, sockets.wake_name)
        try:
            os.symlink(target, offer)
        except FileNotFoundError:
            try:
                os.mkdir(directory, 0o700)
                os.symlink(target, offer)
            except OSError:
                return  # made meanwhile, or not possible: no offer this time
        except FileExistsError:
            pass  # an earlier offer still stands
        except OSError:
            return
        sockets.offer_path, sockets.offered = offer, True

    def withdraw(self, sockets: WakeSockets) -> None:
        """Remove the thread's offer; if a sender had claimed it, set ``sockets.claimed`` (its datagram is coming)."""
        if not sockets.offered:
            return
        sockets.offered = False
        assert sockets.offer_path is not None  # offer() made it
        try:
            os.unlink(sockets.offer_path)
        except FileNotFoundError:
            sockets.claimed = True
        except OSError:
            pass

    def hand_off(self, sockets: WakeSockets, key: str, datagram: bytes) -> bool:
        """Hand ``datagram`` (a message) to a receiver waiting on ``key`` that offered to take one.

        Returns False, having sent nothing, where none offered; and where the
        one whose offer this claimed has died, or its queue is full (the
        caller then stores the message and pokes the receivers, that one
        among them, which makes a new offer once it looks again).
        """
        if not self.usable:
            return False
        directory = os.path.join(self.path, key_directory(key))
        links = self._links(directory)
        if not links:
            return False
        offers = os.path.join(self.path, OFFERS)
        for name, link in links:
            if name.endswith(WATCHED_SUFFIX):
                continue  # an event loop's: it takes no hand-offs
            try:
                os.unlink(os.path.join(offers, name))
            except OSError:
                continue  # no offer: busy, or claimed by another sender
            poke_socket = self._poke_socket(sockets)
            return poke_socket is not None and self._send(poke_socket, datagram, directory, name, link)
        return False

    def _send(self, poke_socket: socket.socket, datagram: bytes, directory: str, name: str, link: str) -> bool:
        """Send ``datagram`` through ``link``; on failure return False, removing a dead receiver's link."""
        try:
            poke_socket.sendto(datagram, link)
            return True
        except (ConnectionRefusedError, FileNotFoundError) as error:
            # Its process died (the socket is left), or its socket is gone.
            unlink(link)
            if error.errno == errno.ECONNREFUSED:
                unlink(os.path.join(self.path, name))
            remove_if_empty(directory)
            return False
        except OSError:
            return False  # queue full (EAGAIN), no buffer space (ENOBUFS), too large (EMSGSIZE)

    def _links(self, directory: str) -> list[tuple[str, str]]:
        """Return ``(name, path)`` of each link in a key's ``directory`` (none if it does not exist).

        The listing is kept while the directory's modification time stays
        the same, which a stat tells in one call where a listing takes four.
        It is trusted only if listed a while after that time: a change made
        within one tick of the file system's clock could leave the time as
        it was. A tick is at most 10 ms where times have fractions of a
        second, and up to 2 s where they have none.
        """
        try:
            modified = os.stat(directory).st_mtime_ns
        except OSError:
            return []
        known = self._listings.get(directory)
        if known is not None and known[0] == modified:
            settled = _SETTLED_NS if modified % 1_000_000_000 else _SETTLED_COARSE_NS
            if known[1] > modified + settled:
                return known[2]
        listed_at = time.time_ns()
        try:
            links = [(name, os.path.join(directory, name)) for name in os.listdir(directory)]
        except OSError:
            return []
        self._listings[directory] = (modified, listed_at, links)
        return links

    def poke_all(self, sockets: WakeSockets) -> None:
        """Poke every blocked receiver's socket (call after a commit); remove dead ones."""
        if not self.usable:
            return
        try:
            names = os.listdir(self.path)
        except OSError:
            return  # no receiver has blocked yet
        poke_socket = self._poke_socket(sockets) if names else None
        if poke_socket is None:
            return
        for name in names:
            if not name[:1].isdigit():
                continue  # a key's subdirectory or the offers: sockets are named after their process
            path = os.path.join(self.path, name)
            try:
                poke_socket.sendto(POKE, path)
            except ConnectionRefusedError:
                unlink(path)  # its process has died
            except OSError:
                pass  # already poked (queue full), or gone

    def _poke_socket(self, sockets: WakeSockets) -> socket.socket | None:
        """Return the thread's socket to poke from, or None if the directory is not private."""
        if sockets.poke_socket is None:
            private = private_directory(self.path)
            if not private:
                if private is False:
                    self.usable = False  # another user could read our pokes
                return None
            sockets.poke_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sockets.poke_socket.setblocking(False)
        return sockets.poke_socket

    @staticmethod
    def wait(wake_socket: socket.socket, timeout: float, messages: list[bytes]) -> int:
        """Wait up to ``timeout`` seconds for a datagram, then read every one waiting (see :func:`drain`)."""
        select.select([wake_socket], [], [], timeout)
        return drain(wake_socket, messages)


def drain(wake_socket: socket.socket, messages: list[bytes]) -> int:
    """Read every datagram waiting on ``wake_socket``; return how many there were.

    Pokes are swallowed; every other datagram (a message, or something
    malformed) is appended to ``messages`` for the layer to take in. Never
    blocks; a later datagram makes the socket readable again.
    """
    count = 0
    while True:
        try:
            datagram = wake_socket.recv(DATAGRAM_LIMIT)
        except OSError:
            return count
        count += 1
        if datagram != POKE:
            messages.append(datagram)


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_if_empty(directory: str) -> None:
    """Remove a key's subdirectory once no receiver waits on it (a receiver re-makes it)."""
    try:
        os.rmdir(directory)
    except OSError:
        pass  # not empty, or gone


def private_directory(path: str) -> bool | None:
    """Return True if ``path`` is a directory only this user can enter (None: it is gone)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077
