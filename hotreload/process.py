"""The process of `hotreload up`: Ctrl+C and SIGTERM stop it, and while it reloads, code that
starts worker processes is refused (a worker would keep serving the code it started with)."""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType, TracebackType
from typing import Any

from hotreload.engine.whenimported import when_imported
from hotreload.errors import WorkersRefused

# -- signals stop it ---------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """While active, SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, and each is
    remembered, so `up` reports ``interrupted`` even when the host caught the signal itself.

    A web server inside the entry (uvicorn) installs its own handlers, shuts down gracefully and
    returns; an entry may also catch KeyboardInterrupt and return. Either way the run ended
    because of a signal, and a log pipeline must read ``interrupted``, not ``entry_returned``.
    Our own handler sees the signals it gets; for those a host's handler got instead, the
    interpreter's *wakeup fd* (which every Python-level handler writes the signal number to)
    is the backstop, unless the host replaced that too (asyncio's ``add_signal_handler`` does).

    Enter it in the main thread only: handlers and the wakeup fd belong to it. The wakeup fd is
    a pipe's (POSIX takes any non-blocking fd; a socket pair would load `socket` at start-up).
    """

    def __init__(self) -> None:
        self._arrived: int | None = None
        self._previous: dict[int, Any] = {}
        self._reader: int | None = None
        self._writer: int | None = None
        self._previous_wakeup = -1

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._arrived is None:
            self._arrived = signum
        raise KeyboardInterrupt

    def __enter__(self) -> Interrupts:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        self._reader, self._writer = os.pipe()
        os.set_blocking(self._reader, False)
        os.set_blocking(self._writer, False)
        self._previous_wakeup = signal.set_wakeup_fd(self._writer, warn_on_full_buffer=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._drain()
        current = signal.set_wakeup_fd(self._previous_wakeup)
        if self._writer is not None and current != self._writer:
            signal.set_wakeup_fd(current)  # the host's own, set after ours: left as it was
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        for fd in (self._reader, self._writer):
            if fd is not None:
                os.close(fd)
        self._reader = self._writer = None

    def note(self, signum: int) -> None:
        """Remember a signal that a handler of ours outside this class received (the web
        server's own), in case the wakeup fd was taken over meanwhile (uvloop takes it)."""
        if self._arrived is None and signum in STOP_SIGNALS:
            self._arrived = signum

    def _drain(self) -> None:
        """Read the signal numbers written to the wakeup fd since the last look."""
        if self._reader is None:
            return
        while True:
            try:
                data = os.read(self._reader, 4096)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            if self._arrived is None:
                self._arrived = next((n for n in data if n in STOP_SIGNALS), None)

    @property
    def arrived(self) -> int | None:
        """The first SIGINT or SIGTERM that arrived while active (whoever handled it), or None."""
        self._drain()
        return self._arrived

    def describe(self) -> str | None:
        """The signal for a person (``"SIGTERM received"``), or None if none arrived."""
        arrived = self.arrived
        return None if arrived is None else f"{signal.Signals(arrived).name} received"


# -- one process: no workers -------------------------------------------------------------------


def _message(how: str, env: str) -> str:
    return (
        f"hotreload up refused to start a worker process ({how}): profile {env!r} reloads "
        "the modules of this one process, and a worker process would keep serving the code it "
        "started with for ever while every reload is logged as accepted. Serve from this "
        "process (drop workers=N: `[app] asgi`/`wsgi` serve the app in-process), or run "
        "workers under a profile with reload = false."
    )


# The functions that fork the interpreter, as `os` and `posix` (which `os` re-exports) name them.
_FORKS = ("fork", "forkpty")


@contextmanager
def refuse_workers(env: str) -> Iterator[None]:
    """While active: ``os.fork()``, ``os.forkpty()`` and every ``multiprocessing`` process start
    raise WorkersRefused in the code that tried. Running other programs (``subprocess``, which
    forks in C) stays free.

    The fork functions are replaced on ``os`` and ``posix`` for the duration of the block
    (`_ForksRefused`), as every caller in the standard library (``multiprocessing``'s fork and
    forkserver methods, ``pty``, ``socketserver``) looks them up there when it forks. Not an
    audit hook: one stays installed for the life of the process and is called for every
    audited operation (each ``id()``, ``open``, ``compile``, ``exec`` and ``import``), which
    made ``copy.deepcopy`` 40 % slower in the app it guards. A process started by the ``spawn``
    method forks in C, so ``multiprocessing``'s ``start()`` is wrapped too (`_StartRefused`).
    """
    with _ForksRefused(env), _StartRefused(env):
        yield


class _ForksRefused:
    """``os.fork`` and ``os.forkpty`` (and their ``posix`` originals) raise while active; put
    back on exit, unless something else replaced them meanwhile. A name bound to our function
    while active (``from os import fork``) keeps it: from then on it forks again."""

    def __init__(self, env: str) -> None:
        self._env = env
        self._active = False
        self._replaced: list[tuple[ModuleType, str, Any, Any]] = []  # owner, name, was, ours

    def __enter__(self) -> None:
        self._active = True
        for name in _FORKS:
            original = vars(os).get(name)
            if not callable(original):
                continue
            ours = self._refusing(name, original)
            for owner in _fork_owners():
                if vars(owner).get(name) is original:
                    setattr(owner, name, ours)
                    self._replaced.append((owner, name, original, ours))

    def __exit__(self, *_exc: object) -> None:
        self._active = False
        for owner, name, original, ours in reversed(self._replaced):
            if vars(owner).get(name) is ours:
                setattr(owner, name, original)
        self._replaced = []

    def _refusing(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def refused(*args: Any, **kwargs: Any) -> Any:
            if self._active:
                raise WorkersRefused(_message(f"os.{name}()", self._env))
            return original(*args, **kwargs)

        return refused


def _fork_owners() -> list[ModuleType]:
    posix = sys.modules.get("posix")
    return [os] if posix is None or posix is os else [os, posix]


_PROCESS_MODULE = "multiprocessing.process"


class _StartRefused:
    """``BaseProcess.start`` refused while active: at once where ``multiprocessing`` is loaded,
    else the moment it loads.

    Most apps never import ``multiprocessing``, and importing it only to wrap a method (it pulls
    in pickle, socket, selectors: 6-8 ms of CPU and 1.3 MB at every start-up) is not worth it. So
    until it is imported, ``multiprocessing.process`` is waited for (`whenimported`), and the
    method is wrapped as soon as the module's code ran, before any code can start a process with
    it.
    """

    def __init__(self, env: str) -> None:
        self._env = env
        self._active = False
        self._wrapped: list[tuple[type, Any]] = []  # each class wrapped, and its own start
        self._cancel: Callable[[], None] | None = None

    def __enter__(self) -> None:
        self._active = True
        module = sys.modules.get(_PROCESS_MODULE)
        if module is not None:
            self._wrap(module)
        else:
            self._cancel = when_imported(_PROCESS_MODULE, self._loaded)

    def __exit__(self, *_exc: object) -> None:
        self._active = False
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        for base, original in reversed(self._wrapped):
            setattr(base, "start", original)  # noqa: B010 (a method of a stdlib class)
        self._wrapped = []

    def _loaded(self, module: ModuleType) -> None:
        if self._active:
            self._wrap(module)

    def _wrap(self, module: ModuleType) -> None:
        base: type = module.BaseProcess
        original = base.__dict__["start"]
        env = self._env

        def start(process: Any) -> None:
            raise WorkersRefused(_message(f"multiprocessing {type(process).__name__}.start()", env))

        self._wrapped.append((base, original))
        setattr(base, "start", start)  # noqa: B010 (put back by __exit__)
