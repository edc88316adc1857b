"""Running a call on the main thread, for what only the main thread may do (`signal.signal`).

A reload runs on the watcher's thread, and `signal.signal` raises there. The interpreter runs a
Python signal handler on the main thread, between two bytecodes, after waking it from a blocking
call (a read, a sleep, a lock wait: PEP 475 retries the call afterwards). So a call is queued,
a signal of our own is sent to the main thread alone (`pthread_kill`), and its handler runs the
queue (sent again, at growing intervals, until it has: one that lands between a handler and the
blocking call the main thread goes back into interrupts nothing). The signal is a real-time one
nobody else uses (`SIGRTMAX - 1` on Linux), installed once, on the main thread, and only if its
handler is still the default: a host that uses it keeps it, and then the main thread is said to
be unavailable. A main thread that does not come back to Python code within `WAIT_S` (blocked in
C code that retries on its own) is unavailable too: the caller gets `MainThreadUnavailable`,
saying why, and nothing waits for ever.

The handler stays installed once installed: a late signal must
never meet the default action, which ends the process.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

WAIT_S = 2.0  # how long a call waits for the main thread before it gives up

T = TypeVar("T")


class MainThreadUnavailable(BaseException):
    """The main thread cannot run a call now (not installed, or it did not answer in time).

    A BaseException: module code that catches `Exception` around `signal.signal` must not hide
    it, or the save would be kept without its handler.
    """


class _Call:
    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.state = "pending"  # pending -> running -> done; or pending -> cancelled
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()


_lock = threading.Lock()
_queue: list[_Call] = []
_signum: int | None = None  # the signal whose handler runs the queue, once installed
_why_not = "hotreload was started off the main thread"


def _dispatch_signal() -> int | None:
    maximum = getattr(signal, "SIGRTMAX", None)
    return None if maximum is None else int(maximum) - 1


def install() -> None:
    """Install the handler (call on the main thread; later calls do nothing). Where it cannot
    be installed, `call` says why."""
    global _signum, _why_not
    if _signum is not None:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    signum = _dispatch_signal()
    if signum is None or not hasattr(signal, "pthread_kill"):
        _why_not = "this platform has no spare real-time signal to reach the main thread with"
        return
    if signal.getsignal(signum) is not signal.SIG_DFL:
        _why_not = f"the host uses signal {signum} (hotreload's way to reach the main thread)"
        return
    signal.signal(signum, _handle)
    _signum = signum


_handling = False  # the main thread's handler runs the queue now


def _handle(_signum: int, _frame: object) -> None:
    # Python handlers nest: a signal (a call sent again, or another thread's) that lands while
    # this runs would run a second one inside it, which would wait for `_lock` held by this one,
    # on the same thread, for ever. It returns at once instead: this one looks at the queue
    # again before it returns, and a call it missed at its very end is signalled again.
    global _handling
    if _handling:
        return
    _handling = True
    try:
        _run_queue()
    finally:
        _handling = False


def _run_queue() -> None:
    while True:
        with _lock:
            pending = [c for c in _queue if c.state == "pending"]
            _queue.clear()
            for item in pending:
                item.state = "running"
        if not pending:
            return
        for item in pending:
            try:
                item.result = item.function()
            except BaseException as error:  # handed to the caller, never raised here
                item.error = error
            item.state = "done"
            item.done.set()


def _wake(ident: int, signum: int, item: _Call) -> bool:
    """Signal the main thread until it has run ``item``, at most `WAIT_S`. Sent again after a
    short wait, doubling: a signal that lands while the main thread is between a handler it
    just ran and the blocking call it goes back into (a read retried after EINTR) interrupts
    nothing, and its handler would wait for the next interruption."""
    deadline = time.monotonic() + WAIT_S
    pause = 0.005
    while True:
        signal.pthread_kill(ident, signum)
        remaining = deadline - time.monotonic()
        if item.done.wait(min(pause, max(remaining, 0))):
            return True
        if remaining <= pause:
            return False
        pause = min(pause * 2, 0.2)


def call(function: Callable[[], T], what: str) -> T:
    """``function()`` on the main thread (at once when this is the main thread); its result or
    what it raised. Raises MainThreadUnavailable, naming ``what``, when the main thread cannot
    run it within `WAIT_S`."""
    main = threading.main_thread()
    if threading.current_thread() is main:
        return function()
    with _lock:
        signum = _signum
        if signum is None or not main.is_alive():
            why = _why_not if signum is None else "the main thread has ended"
            raise MainThreadUnavailable(f"{what} must run on the main thread, and {why}")
        item = _Call(function)
        _queue.append(item)
    assert main.ident is not None
    if not _wake(main.ident, signum, item):
        with _lock:
            if item.state == "pending":
                item.state = "cancelled"
        if item.state == "cancelled":
            raise MainThreadUnavailable(
                f"{what} must run on the main thread, which did not run Python code within "
                f"{WAIT_S:g} s (blocked in C code, or holding the interpreter)"
            )
        item.done.wait()  # it started: a signal.signal call ends at once
    if item.error is not None:
        raise item.error
    result: T = item.result
    return result
