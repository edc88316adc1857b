"""Linux: the kernel's own file events (inotify, through `inotify_simple`), read as they come.

The kernel says when a file written in place is closed (`IN_CLOSE_WRITE`) and when a finished
file is renamed over a module (`IN_MOVED_TO`): at either moment the file is whole, and can be
read at once, where a watcher that only hears "modified" must wait a quiet period to be sure the
writer is done. Events are read when they arrive (the thread sleeps in `poll` meanwhile: no
step, no CPU at idle), and a directory is added to the one inotify instance without starting the
watch afresh.

The binding is `inotify_simple`'s (a maintained library, not one of ours). It finds the C library
with `ctypes.util.find_library("c")`, which runs `ldconfig -p` in a child process, about 10 ms
of every start-up: the interpreter is linked with the C library, so its own symbols are handed to
`inotify_simple` first (`_use_the_interpreters_libc`). And it imports `ctypes.util` for that
function, which imports `subprocess`, `tempfile`, `random` and `shutil` (with bz2, lzma and
zlib): about 5 ms more of every start-up, and 1 MB, for a function never called. So
`ctypes.util` is stood for while `inotify_simple` is imported (`_ctypes_util_on_first_use`), and
is imported only if something is ever asked of it.
"""

from __future__ import annotations

import ctypes
import importlib
import math
import os
import select
import sys
import threading
import types
from collections.abc import Iterator, KeysView
from contextlib import contextmanager
from typing import Any, Literal

from hotreload.records import record


class _OnFirstUse(types.ModuleType):
    """Stands for a module not imported yet: whatever is asked of it (`find_library`, which
    `inotify_simple` binds as it is imported, is asked for when called) is the real module's,
    imported then, which takes the stand-in's place in `sys.modules`."""

    def find_library(self, name: str) -> str | None:
        found: str | None = self._real().find_library(name)
        return found

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # what the import system asks of a module (`__path__`)
            raise AttributeError(name)
        return getattr(self._real(), name)

    def _real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return importlib.import_module(self.__name__)


@contextmanager
def _ctypes_util_on_first_use() -> Iterator[None]:
    """Within the block `ctypes.util` is a stand-in (`_OnFirstUse`), where it is not imported
    yet; afterwards it is not there, and the next import of it imports the real module. Another
    thread that imports it meanwhile gets the stand-in, whose public names are the real
    module's."""
    if "ctypes.util" in sys.modules:
        yield
        return
    stand_in = _OnFirstUse("ctypes.util")
    # Also as the package's attribute, as an import leaves a submodule: another thread's
    # `import ctypes.util` finds the stand-in in `sys.modules`, which binds no attribute, and
    # its `ctypes.util.find_library` must not fail.
    package = vars(ctypes)
    sys.modules["ctypes.util"] = stand_in
    package.setdefault("util", stand_in)
    try:
        yield
    finally:
        if sys.modules.get("ctypes.util") is stand_in:
            del sys.modules["ctypes.util"]
        if package.get("util") is stand_in:
            del package["util"]


with _ctypes_util_on_first_use():
    import inotify_simple
    from inotify_simple import flags

ChangeKind = Literal["whole", "moving", "gone", "directory_gone", "overflow"]

_FILE_EVENTS = (
    flags.CLOSE_WRITE
    | flags.MOVED_TO
    | flags.MOVED_FROM
    | flags.DELETE
    | flags.CREATE
    | flags.MODIFY
)
_SELF_EVENTS = flags.DELETE_SELF | flags.MOVE_SELF
MASK = _FILE_EVENTS | _SELF_EVENTS | flags.ONLYDIR
_SELECT_LIMIT = 1024  # FD_SETSIZE: `select` takes descriptors below it only


@record
class Change:
    """One thing the kernel said: ``path`` is a file, or a directory for the directory kinds.

    ``whole``: closed after writing, or renamed into place (read it now); ``moving``: being
    written (wait for it to close); ``gone``: deleted or renamed away; ``directory_gone``: a
    watched directory went (its watch is over); ``overflow``: the kernel dropped events.
    """

    kind: ChangeKind
    path: str


def _use_the_interpreters_libc() -> None:
    """Give `inotify_simple` the C library this interpreter runs with, before its first `INotify`
    looks it up by name (it keeps the handle in its module's `_libc`, filled only while None).
    Where a later release has no such attribute, nothing is set and it looks the library up."""
    if getattr(inotify_simple, "_libc", ...) is None:
        inotify_simple._libc = ctypes.CDLL(None, use_errno=True)


class KernelWatch:
    """One inotify instance watching directories (not recursively); `wake` ends a `wait`."""

    def __init__(self) -> None:
        _use_the_interpreters_libc()
        self._inotify = inotify_simple.INotify()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._poll = select.poll()
        self._poll.register(self._inotify.fileno(), select.POLLIN)
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
    def watched(self) -> KeysView[str]:
        """The directories watched now: a live view, asked about each wanted directory at every
        wake-up (a copy each time made that quadratic in the directories)."""
        return self._watches.keys()

    def wait(self, timeout_s: float | None) -> list[Change]:
        """What happened, once something did (or after ``timeout_s``; None: no limit).

        The wait is timed to the microsecond (`select`): `poll` counts whole milliseconds, and
        rounds a burst's last 0.2 ms of quiet up to a full one. `poll` only where a descriptor
        is past what `select` can take (a process with over a thousand files open)."""
        fds = (self._inotify.fileno(), self._wake_read)
        if max(fds) < _SELECT_LIMIT:
            ready = set(select.select(fds, (), (), _seconds(timeout_s))[0])
        else:
            timeout_ms = None if timeout_s is None else max(0, math.ceil(timeout_s * 1000))
            ready = {fd for fd, _ in self._poll.poll(timeout_ms)}
        if self._wake_read in ready:
            os.read(self._wake_read, 4096)
        if self._inotify.fileno() not in ready:
            return []
        return [c for event in self._inotify.read(timeout=0) if (c := self._change(event))]

    def _change(self, event: inotify_simple.Event) -> Change | None:
        mask = event.mask
        if mask & flags.Q_OVERFLOW:
            return Change("overflow", "")
        directory = self._directories.get(event.wd)
        if directory is None:
            return None
        if mask & (_SELF_EVENTS | flags.IGNORED):
            self._forget(event.wd)
            return Change("directory_gone", directory)
        path = os.path.join(directory, event.name)
        if mask & (flags.CLOSE_WRITE | flags.MOVED_TO):
            return Change("whole", path)
        if mask & (flags.DELETE | flags.MOVED_FROM):
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

    def close(self, *, leave_to_exit: bool = False) -> None:
        """Stop watching. ``leave_to_exit``: the process ends soon after (`hotreload up`
        stopping); the kernel's teardown of the instance is then done while it ends, not here
        (`_leave_to_exit`)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if leave_to_exit:
                self._leave_to_exit()
            self._inotify.close()
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _leave_to_exit(self) -> None:
        """When an instance's last descriptor closes with watches left, the kernel waits there
        for one of its grace periods before it returns: 3 to 17 ms on this project's machine, at
        every stop. A watch removed by itself is torn down in the background instead. So every
        watch is removed now, and a copy of the descriptor is kept open, for the process's exit
        to close once that is over: the stop does not wait, and neither does the exit."""
        for wd in list(self._directories):
            try:
                self._inotify.rm_watch(wd)
            except OSError:  # its directory went meanwhile: the kernel removed the watch
                pass
        # One kept at most (each counts against the user's inotify instances): one left
        # earlier had its watches torn down long since, and closes at once.
        while _LEFT_TO_EXIT:
            os.close(_LEFT_TO_EXIT.pop())
        _LEFT_TO_EXIT.append(os.dup(self._inotify.fileno()))


# The descriptor of the instance last closed by `close(leave_to_exit=True)`, which the process's
# exit closes.
_LEFT_TO_EXIT: list[int] = []


def _seconds(timeout_s: float | None) -> float | None:
    return None if timeout_s is None else max(0.0, timeout_s)


def available() -> bool:
    """Whether this system has inotify (Linux) and `inotify_simple` is installed."""
    try:
        KernelWatch().close()
    except (ImportError, OSError, AttributeError):
        return False
    return True
