"""The version gate: calls share it, a reload holds it alone, so no call mixes versions."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import get_ident
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only its types: a host that never imports asyncio does not pay for it
    import asyncio

# Results whose code runs after the call returned, step by step (no subclass of either exists).
STEPPED = frozenset({types.GeneratorType, types.AsyncGeneratorType})


IMPORT_LOOK_S = 0.05  # how often a call held back looks whether the reload waits for its import


class VersionGate:
    """A readers-writer lock shaped for hot reload.

    - Calls (readers) run concurrently; a reload (the writer) waits for the calls in flight and
      then runs alone, so every call runs wholly on one version.
    - A waiting reload stops new calls from starting, so a tight loop of calls cannot starve it.
    - A thread already inside a call may always enter again (a binding calling a binding), so a
      waiting reload never deadlocks a nested call.
    - If calls in flight do not drain within ``patience`` seconds, one of them may be waiting on
      another thread that is trying to start a call; the reload then lets waiting calls in for
      a moment and tries again, so cross-thread waits cannot deadlock either. Each retry waits
      twice as long as the one before, so calls longer than ``patience`` cannot starve it.

    Every call pays for `enter` and `exit`, so while no reload is pending they take no lock: a
    call registers its thread in a list (``list.append`` and ``list.remove`` are atomic under
    the GIL) and then checks the ``_closed`` flag; a reload sets the flag and then looks at the
    list. Whichever comes second sees the other, so no call slips past a reload.

    A coroutine must never block its event loop's thread (every other task of the loop would
    stall for the whole reload), so async callers use `try_enter` and, when it says no, await
    `opened`: a future the gate resolves, from the reload's thread, when calls may start again.
    """

    def __init__(self, *, patience: float = 0.05) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers: list[int] = []  # one entry per call in flight: the caller's thread id
        self._closed = False  # a reload is pending or running: new calls wait
        self._writer_waiting = False
        self._writer: int | None = None
        # Coroutines waiting for the gate to open: each woken on its own loop's thread.
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.patience = patience

    def enter(self) -> None:
        """Start a call; blocks only while a reload is pending or running in another thread."""
        ident = get_ident()
        self._readers.append(ident)
        if self._closed:
            self._enter_slowly(ident)

    def _enter_slowly(self, ident: int) -> None:
        readers = self._readers
        if ident == self._writer or readers.count(ident) > 1:
            return  # the reload's own module code, or a nested call: blocking would deadlock
        with self._cond:
            readers.remove(ident)
            self._cond.notify_all()  # the reload may have seen us registered and wait for us
            while self._closed:
                writer = self._writer
                if writer is not None and waits_for_import_of(writer, ident):
                    # The reload's module code imports a module this thread is importing, whose
                    # code made this call: each would wait for the other for ever. The call
                    # goes in, as Python lets a circular import see a module half made.
                    break
                self._cond.wait(IMPORT_LOOK_S)
            readers.append(ident)

    def try_enter(self) -> bool:
        """Start a call if that needs no wait (as `enter` would pass at once); else False.

        The async counterpart of `enter`: after False the caller awaits `opened` and tries
        again. A nested call or the reload's own thread passes, as with `enter`.
        """
        ident = get_ident()
        readers = self._readers
        readers.append(ident)
        if self._closed and ident != self._writer and readers.count(ident) == 1:
            readers.remove(ident)
            if self._writer_waiting:  # the reload may have seen us registered and wait for us
                with self._cond:
                    self._cond.notify_all()
            return False
        return True

    def opened(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """A future of ``loop`` that resolves once new calls may start (at once if they may)."""
        future = loop.create_future()
        with self._cond:
            if self._closed:
                self._async_waiters.append((loop, future))
            else:
                future.set_result(None)
        return future

    def _wake_async_waiters(self) -> None:
        """Resolve every `opened` future, each on its own loop's thread (holding ``_cond``)."""
        waiters, self._async_waiters = self._async_waiters, []
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # that loop was closed: nobody waits on its future any more
                pass

    def exit(self) -> None:
        """End a call started with `enter`."""
        self._readers.remove(get_ident())
        if self._writer_waiting:
            self.wake_writer()

    @contextmanager
    def aside(self) -> Iterator[None]:
        """This thread's calls in flight do not hold a reload back while the block runs.

        For a thread that waits, inside a binding call, for what a reload waiting for that
        call holds: a host that reloads (or stops the server) from inside a call waits for the
        reload lock, which the watcher's reload of a save holds while it waits here for calls
        in flight to end; each would wait for the other for ever. The thread runs no module
        code meanwhile (it waits), and its calls go on on the version its own reload would
        have given them anyway.
        """
        ident = get_ident()
        readers = self._readers
        mine = readers.count(ident)
        for _ in range(mine):
            readers.remove(ident)
        if mine and self._writer_waiting:
            self.wake_writer()
        try:
            yield
        finally:
            readers.extend([ident] * mine)

    def wake_writer(self) -> None:
        """A call ended while a reload waits for calls in flight: let it look again."""
        with self._cond:
            self._cond.notify_all()

    def sync_call(
        self, namespace: dict[str, Any], name: str, stepped: Callable[[Any], Any]
    ) -> Callable[..., Any]:
        """A function that calls ``namespace[name]`` (whatever it is then) inside the gate, and
        hands a generator it returns to ``stepped`` (its steps run later, each to be gated).

        `enter` and `exit` are written out in this one frame: every call through a binding pays
        for them, and two method calls and a second wrapper were more than half of its cost.
        """
        readers = self._readers
        append, remove = readers.append, readers.remove

        def call(*args: Any, **kwargs: Any) -> Any:
            ident = get_ident()
            append(ident)
            if self._closed:
                self._enter_slowly(ident)
            try:
                result = namespace[name](*args, **kwargs)
            finally:
                remove(ident)
                if self._writer_waiting:
                    self.wake_writer()
            if type(result) in STEPPED:
                return stepped(result)
            return result

        return call

    def _others_in_flight(self, ident: int) -> bool:
        readers = self._readers
        return len(readers) > readers.count(ident)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the gate alone: wait for calls in flight to end, keep new ones out.

        Calls in flight in the reloading thread itself (a host that triggers a reload from
        inside a binding call) do not count: waiting for them would wait for ever.
        """
        ident = get_ident()
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._closed = self._writer_waiting = True
            drain = self.patience
            while self._others_in_flight(ident):
                if not self._cond.wait(timeout=drain) and self._others_in_flight(ident):
                    # A call in flight may wait on a thread we hold back: let them in briefly.
                    self._closed = False
                    self._cond.notify_all()
                    self._wake_async_waiters()
                    self._cond.wait(timeout=self.patience)
                    self._closed = True
                    # Calls longer than `drain` would otherwise re-enter at every opening and
                    # starve the reload for ever: wait twice as long before the next opening.
                    # (The wait still ends at once when the last call in flight leaves.)
                    drain *= 2
            self._writer_waiting = False
            self._writer = ident
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._writer = None
                self._cond.notify_all()
                self._wake_async_waiters()

    @property
    def active_calls(self) -> int:
        """Calls in flight right now (for diagnostics and tests)."""
        return len(self._readers)

    @property
    def closed(self) -> bool:
        """Whether new calls wait now: a reload is pending or running (diagnostics and tests)."""
        return self._closed

    @property
    def reload_waiting(self) -> bool:
        """Whether a reload waits for calls in flight to end (for diagnostics and tests)."""
        return self._writer_waiting


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a cancelled waiter's future is done already
        future.set_result(None)


def waits_for_import_of(waiter: int, owner: int) -> bool:
    """Whether thread ``waiter`` waits for a module's import lock that thread ``owner`` holds,
    as CPython's import system tells its own deadlock check (a lock on 3.11, a list of them
    since 3.12); False where it cannot tell."""
    bootstrap = sys.modules.get("_frozen_importlib")
    blocking: Any = getattr(bootstrap, "_blocking_on", None)
    try:
        locks = blocking.get(waiter)
    except (AttributeError, TypeError):
        return False
    if locks is None:
        return False
    return any(getattr(lock, "owner", None) == owner for lock in _as_list(locks))


def _as_list(locks: Any) -> list[Any]:
    try:
        return list(locks) if isinstance(locks, list) else [locks]
    except RuntimeError:  # changed by its thread meanwhile: it looks again after a while
        return []
