"""The version gate: calls share it, a reload holds it alone, so no call mixes versions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
    """

    def __init__(self, *, patience: float = 0.05) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._writer_waiting = False
        self._writing = False
        self._writer: int | None = None
        self._depth = threading.local()
        self.patience = patience

    def enter(self) -> None:
        """Start a call; blocks only while a reload is pending or running in another thread."""
        depth: int = getattr(self._depth, "n", 0)
        if depth or self._writer == threading.get_ident():
            self._depth.n = depth + 1
            return
        with self._cond:
            while self._writing or self._writer_waiting:
                self._cond.wait()
            self._active += 1
        self._depth.n = 1

    def exit(self) -> None:
        """End a call started with `enter`."""
        depth: int = self._depth.n - 1
        self._depth.n = depth
        if depth or self._writer == threading.get_ident():
            return
        with self._cond:
            self._active -= 1
            if self._active == 0 and self._writer_waiting:
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the gate alone: wait for calls in flight to end, keep new ones out."""
        with self._cond:
            while self._writing or self._writer_waiting:
                self._cond.wait()
            self._writer_waiting = True
            drain = self.patience
            while self._active:
                if not self._cond.wait(timeout=drain) and self._active:
                    # A call in flight may wait on a thread we hold back: let them in briefly.
                    self._writer_waiting = False
                    self._cond.notify_all()
                    self._cond.wait(timeout=self.patience)
                    self._writer_waiting = True
                    # Calls longer than `drain` would otherwise re-enter at every opening and
                    # starve the reload for ever: wait twice as long before the next opening.
                    # (The wait still ends at once when the last call in flight leaves.)
                    drain *= 2
            self._writer_waiting = False
            self._writing = True
            self._writer = threading.get_ident()
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._writer = None
                self._cond.notify_all()

    @property
    def active_calls(self) -> int:
        """Calls in flight right now (for diagnostics and tests)."""
        return self._active

    @property
    def reload_waiting(self) -> bool:
        """Whether a reload waits for calls in flight to end (for diagnostics and tests)."""
        return self._writer_waiting
