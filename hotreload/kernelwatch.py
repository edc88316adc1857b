"""Linux: the kernel's own file events (inotify), read as they come.

The kernel says when a file written in place is closed (`IN_CLOSE_WRITE`) and when a finished
file is renamed over a module (`IN_MOVED_TO`): at either moment the file is whole, and can be
read at once, where a watcher that only hears "modified" must wait a quiet period to be sure the
writer is done. Events are read when they arrive (the thread sleeps in `poll` meanwhile: no
step, no CPU at idle), and a directory is added to the one inotify instance without starting the
watch afresh.

The three calls of <sys/inotify.h> are made through ctypes on the C library the interpreter
runs with (`_Inotify`), not through `inotify_simple`: that package looks the library up with
`ctypes.util.find_library`, which imports subprocess, tempfile, shutil and random and runs
`ldconfig -p` at every start, about 10 ms and 2 MB of a start-up (issue 19).
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import select
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal["whole", "moving", "gone", "directory_gone", "overflow"]

# <sys/inotify.h>: the kernel's ABI, the same on every Linux architecture.
IN_MODIFY = 0x2
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000

_FILE_EVENTS = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_MODIFY
_SELF_EVENTS = IN_DELETE_SELF | IN_MOVE_SELF
MASK = _FILE_EVENTS | _SELF_EVENTS | IN_ONLYDIR

# struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len] (NUL-padded)
_EVENT = struct.Struct("iIII")
_READ_SIZE = 64 * 1024  # many events a read; at least one (header + NAME_MAX + 1)


@dataclass(frozen=True)
class Event:
    """One inotify event: the watch it concerns, what happened, the file's name in the folder."""

    wd: int
    mask: int
    name: str


class _Inotify:
    """An inotify instance (close-on-exec, non-blocking): the C library's calls, in ctypes."""

    def __init__(self) -> None:
        # The interpreter's own symbols include the C library's (glibc, musl): no lookup.
        self._libc: Any = ctypes.CDLL(None, use_errno=True)
        self.fd: int = self._call(self._libc.inotify_init1, os.O_CLOEXEC | os.O_NONBLOCK)

    def _call(self, function: Any, *args: Any, path: str | None = None) -> int:
        while True:
            result: int = function(*args)
            if result != -1:
                return result
            error = ctypes.get_errno()
            if error != errno.EINTR:
                # OSError picks the subclass by errno: FileNotFoundError, NotADirectoryError
                raise OSError(error, os.strerror(error), path)

    def add_watch(self, path: str, mask: int) -> int:
        return self._call(self._libc.inotify_add_watch, self.fd, os.fsencode(path), mask, path=path)

    def read(self) -> Iterator[Event]:
        """The events ready now (none if none: the descriptor never blocks)."""
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = os.fsdecode(data[offset : offset + length].rstrip(b"\0"))
                offset += length
                yield Event(wd, mask, name)

    def close(self) -> None:
        os.close(self.fd)


@dataclass(frozen=True)
class Change:
    """One thing the kernel said: ``path`` is a file, or a directory for the directory kinds.

    ``whole``: closed after writing, or renamed into place (read it now); ``moving``: being
    written (wait for it to close); ``gone``: deleted or renamed away; ``directory_gone``: a
    watched directory went (its watch is over); ``overflow``: the kernel dropped events.
    """

    kind: ChangeKind
    path: str


class KernelWatch:
    """One inotify instance watching directories (not recursively); `wake` ends a `wait`."""

    def __init__(self) -> None:
        self._inotify = _Inotify()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._poll = select.poll()
        self._poll.register(self._inotify.fd, select.POLLIN)
        self._poll.register(self._wake_read, select.POLLIN)
        self._directories: dict[int, str] = {}  # watch descriptor -> directory
        self._watches: dict[str, int] = {}
        self._lock = threading.Lock()  # `wake` (any thread) never writes to a closed pipe
        self._closed = False

    def watch(self, directory: str) -> bool:
        """Watch a directory's files; False if it is not there (or not a directory)."""
        if directory in self._watches:
            return True
        try:
            wd = self._inotify.add_watch(directory, MASK)
        except (FileNotFoundError, NotADirectoryError):
            return False
        self._directories[wd] = directory
        self._watches[directory] = wd
        return True

    @property
    def watched(self) -> set[str]:
        return set(self._watches)

    def wait(self, timeout_s: float | None) -> list[Change]:
        """What happened, once something did (or after ``timeout_s``; None: no limit)."""
        timeout_ms = None if timeout_s is None else max(0, math.ceil(timeout_s * 1000))
        ready = {fd for fd, _ in self._poll.poll(timeout_ms)}
        if self._wake_read in ready:
            os.read(self._wake_read, 4096)
        if self._inotify.fd not in ready:
            return []
        return [c for event in self._inotify.read() if (c := self._change(event))]

    def _change(self, event: Event) -> Change | None:
        mask = event.mask
        if mask & IN_Q_OVERFLOW:
            return Change("overflow", "")
        directory = self._directories.get(event.wd)
        if directory is None:
            return None
        if mask & (_SELF_EVENTS | IN_IGNORED):
            self._forget(event.wd)
            return Change("directory_gone", directory)
        path = os.path.join(directory, event.name)
        if mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
            return Change("whole", path)
        if mask & (IN_DELETE | IN_MOVED_FROM):
            return Change("gone", path)
        return Change("moving", path)

    def _forget(self, wd: int) -> None:
        directory = self._directories.pop(wd, None)
        if directory is not None:
            self._watches.pop(directory, None)

    def wake(self) -> None:
        """End a `wait` in progress (from another thread)."""
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._wake_write, b"x")
            except BlockingIOError:  # the pipe is full: a wake-up is pending anyway
                pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._inotify.close()
            os.close(self._wake_read)
            os.close(self._wake_write)


def available() -> bool:
    """Whether this system has inotify (Linux) and its C library the calls."""
    try:
        KernelWatch().close()
    except (ImportError, OSError, AttributeError):
        return False
    return True
