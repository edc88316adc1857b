"""Restarting `hotreload up` into new code: same command, same process, same listening socket.

A save that cannot apply in place (`reload.restart_needed`, policy ``auto``) ends the run the
way a signal does (uvicorn shuts down gracefully), then the process runs its own command again
with `os.execv`. The listening socket outlives both: a duplicate of its descriptor is made
inheritable and named in ``HOTRELOAD_LISTEN_FD``; the new run listens on it instead of binding.
Connections that arrive meanwhile wait in the socket's backlog: none is refused.

A restart whose start-up fails (the new code raises at import) does not exit: it keeps the
socket and waits for the next save of a project file, then runs its command again. A save made
after the exec, while that start-up ran, counts too: the exec's moment is handed over in
``HOTRELOAD_RESTART_SINCE``, and the failed run compares the files' modification times with it
(no watcher runs while a restart's start-up goes well: it is on the save-to-response path).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotreload.errors import ServerError
from hotreload.events import EventLog, ServerRestarting
from hotreload.saveverdicts import RestartNeeded
from hotreload.verdicts import RestartReason

LISTEN_FD = "HOTRELOAD_LISTEN_FD"  # the inherited listening socket's descriptor
RESTARTED = "HOTRELOAD_RESTARTED"  # set in a run that a restart began
# The exec's moment (wall ns, the clock file times are taken from): a save at or after it may
# be newer than what the restarted run imported.
SINCE = "HOTRELOAD_RESTART_SINCE"
# Folders never searched for saves: no project source lives there (as the import tracking says).
_SKIPPED = frozenset({"site-packages", "dist-packages", "__pycache__", "node_modules"})


@dataclass(frozen=True)
class Cause:
    """What asked for the restart, as `server.restarting` says it."""

    module: str | None
    path: str | None
    reason: RestartReason
    message: str


class Restarter:
    """Collects the first restart asked for and stops the serving loop for it.

    The reloading thread calls `request`; the main thread, once serving returned, reads `cause`
    and calls `exec_again`.
    """

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self.cause: Cause | None = None
        self._stop: Callable[[], None] = lambda: None
        self._lock = threading.Lock()

    def attach(self, stop: Callable[[], None]) -> None:
        """How to end serving (uvicorn's graceful shutdown), called once a restart is asked."""
        with self._lock:
            self._stop = stop
            if self.cause is not None:
                stop()

    def request(self, module: str | None, path: Path, restart: RestartNeeded) -> None:
        """Restart for this cause (the first one asked wins); any thread."""
        with self._lock:
            if self.cause is not None:
                return
            self.cause = Cause(module, str(path), restart.reason, restart.message)
            self.events.emit(ServerRestarting, **vars(self.cause))
            self._stop()


def is_restart() -> bool:
    """Whether this run was begun by a restart (the previous run set the variable)."""
    return os.environ.get(RESTARTED) == "1"


def inherited_socket() -> socket.socket | None:
    """The listening socket a restart handed over, if any (the variable is consumed: a child
    process of the app must not believe it owns the socket)."""
    value = os.environ.pop(LISTEN_FD, None)
    if value is None:
        return None
    try:
        sock = socket.socket(fileno=int(value))
    except (ValueError, OSError):
        return None  # not ours to use: bind as usual
    os.set_inheritable(sock.fileno(), False)
    return sock


def exec_again(argv: Sequence[str], sock: socket.socket) -> None:
    """Run ``python -m hotreload *argv`` in this process, handing ``sock`` over. Never returns:
    raises ServerError if the exec itself failed."""
    descriptor = sock.fileno()
    os.set_inheritable(descriptor, True)
    os.environ[LISTEN_FD] = str(descriptor)
    os.environ[RESTARTED] = "1"
    os.environ[SINCE] = str(_file_clock_ns())
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, "-m", "hotreload", *argv]
    try:
        os.execv(sys.executable, command)
    except OSError as e:
        raise ServerError(
            f"cannot restart: running {' '.join(command)} failed: {e.strerror or e}; "
            "start `hotreload up` again by hand"
        ) from e


def _file_clock_ns() -> int:
    """Now, on the clock the kernel stamps file times with (the coarse one on Linux: the
    precise clock can be ahead of a file saved after it was read)."""
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", None)
    return time.clock_gettime_ns(coarse) if coarse is not None else time.time_ns()


def restart_since() -> int | None:
    """The moment the restart that began this run exec'd (None if unknown)."""
    try:
        return int(os.environ.get(SINCE, ""))
    except ValueError:
        return None


class SaveWatch:
    """Whether a project `.py` file or the manifest was saved since a restart exec'd this run,
    for a restarted run whose start-up failed: `wait` returns at once if one was, else at the
    next save. Nothing is watched until `wait`: the files' modification times (checked once
    the watcher is live, so no save falls between) say what happened before it."""

    def __init__(self, root: Path, manifest: Path, since_ns: int | None = None) -> None:
        self.root = root
        self.manifest = manifest
        self.since_ns = since_ns
        self.saved = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SaveWatch:
        """Begin watching (`wait` does it if not done before)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="hotreload-saves", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        import watchfiles

        def relevant(change: watchfiles.Change, path: str) -> bool:
            return path.endswith(".py") or Path(path) == self.manifest

        changes = watchfiles.watch(
            self.root,
            watch_filter=relevant,
            stop_event=self._stop,
            rust_timeout=200,
            debounce=50,
            yield_on_timeout=True,  # the first yield says the watch is live
        )
        checked = False
        for found in changes:
            if found or (not checked and self.saved_since()):
                self.saved.set()
            checked = True

    def saved_since(self) -> bool:
        """Whether a project `.py` file or the manifest changed at or after ``since_ns``."""
        if self.since_ns is None:
            return False
        if _newer(self.manifest, self.since_ns):
            return True
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED]
            if "pyvenv.cfg" in files:  # a virtual environment: installed code
                dirs[:] = []
                continue
            for name in files:
                if name.endswith(".py") and _newer(Path(folder, name), self.since_ns):
                    return True
        return False

    def wait(self) -> None:
        """Block until a save (the main thread: a signal's KeyboardInterrupt ends it)."""
        self.start()
        while not self.saved.wait(0.2):
            pass

    def close(self) -> None:
        self._stop.set()


def _newer(path: Path, since_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= since_ns
    except OSError:
        return False
