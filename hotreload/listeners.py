"""Delivering events to `on_event` listeners: in seq order, outside the server's locks, isolated.

A listener is the host's code: it may call back into the server (stop it, reload, call a
binding) and it may raise. So it is never called under a lock of ours, and what it raises
never reaches the thread that emitted the event (the watcher's, for a reload).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

EventListener = Callable[[dict[str, Any]], None]
ErrorReport = Callable[[EventListener, Exception, dict[str, Any]], None]


class Listeners:
    """Hands each event to every listener, one event at a time, in the order `put` got them.

    Whichever thread emits delivers what is pending, unless another thread is delivering
    already (that one goes on until nothing is left) or this one is inside `deferred()`. A
    listener that raises is passed to ``report`` once per listener and kind of error.
    """

    def __init__(self, listeners: tuple[EventListener, ...] = (), *, report: ErrorReport) -> None:
        self._listeners = list(listeners)
        self._report = report
        self._reported: set[tuple[int, type[BaseException]]] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when delivery catches up
        self._pending: deque[dict[str, Any]] = deque()
        self._deliverer: int | None = None  # the thread delivering now, if any
        self._local = threading.local()

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def add(self, listener: EventListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def put(self, record: dict[str, Any]) -> None:
        """Queue one event; the caller orders calls (the event log does, under its lock)."""
        with self._lock:
            self._pending.append(record)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold back delivery in this thread while it holds a lock a listener may need.

        Were a listener called under the server's reload lock, its call back into the server
        would wait for itself. Events put in the block are delivered when the outermost block
        ends (also when it raised), or sooner by another thread.
        """
        depth: int = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self.deliver()

    def deliver(self) -> None:
        """Deliver pending events in order, unless this thread must not or another one does."""
        if getattr(self._local, "depth", 0):
            return
        with self._lock:
            if self._deliverer is not None or not self._pending:
                # Another thread delivers them, after the events before them; or this thread
                # does, and a listener called back into us: the loop goes on once it returns.
                return
            self._deliverer = threading.get_ident()
        try:
            while True:
                with self._lock:
                    if not self._pending:  # in the same hold as the check: nothing is left
                        self._idle_now()
                        return
                    record = self._pending.popleft()
                    listeners = list(self._listeners)
                for listener in listeners:
                    self._call(listener, record)
        except BaseException:  # Ctrl+C in a listener: the next event delivers what is left
            with self._lock:
                self._idle_now()
            raise

    def flush(self, timeout: float) -> bool:
        """Wait until every event put so far has been delivered (perhaps by another thread);
        False if that took longer than ``timeout`` seconds."""
        with self._lock:
            holding: int = getattr(self._local, "depth", 0)
            if self._deliverer == threading.get_ident() or holding:
                # Called from a listener (its loop goes on after), or where this thread holds
                # delivery back (`deferred`: it delivers once that ends): waiting would only
                # wait for itself.
                return not self._pending
            return self._idle.wait_for(
                lambda: not self._pending and self._deliverer is None, timeout
            )

    def _idle_now(self) -> None:
        """Give up the deliverer's role; the caller holds the lock."""
        self._deliverer = None
        self._idle.notify_all()

    def _call(self, listener: EventListener, record: dict[str, Any]) -> None:
        """One listener, one event: an exception it raises is reported, never raised here."""
        try:
            listener(record)
        except Exception as error:  # the host's bug must not stop the watcher or other listeners
            key = (id(listener), type(error))
            if key not in self._reported:
                self._reported.add(key)
                self._report(listener, error, record)


def describe_error(
    listener: EventListener, error: Exception, record: dict[str, Any]
) -> dict[str, Any]:
    """The fields of a `listener.error` event: who raised what, where, given which event."""
    name = f"{getattr(listener, '__module__', None) or '?'}.{_qualname(listener)}"
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        where = f" at {code.co_filename}:{tb.tb_lineno} in {code.co_name}"
    kind = type(error).__name__
    return {
        "listener": name,
        "error": kind,
        "during": record["event"],
        "during_seq": record["seq"],
        "message": f"on_event listener {name} raised {kind}: {error}{where} (given "
        f"{record['event']} seq {record['seq']}); it keeps receiving events, and the server "
        f"goes on as before. Later {kind}s of this listener are not reported again.",
    }


def _qualname(listener: object) -> str:
    qualname = getattr(listener, "__qualname__", None)
    return str(qualname) if qualname else type(listener).__qualname__
