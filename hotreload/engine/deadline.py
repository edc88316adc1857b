"""Running module code with a deadline: a runaway top-level loop must not hold a reload for ever."""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable
from typing import Any


class ExecTimeout(BaseException):
    """Raised inside a module's top-level code that ran longer than the reload allows.

    A BaseException, like KeyboardInterrupt: a loop in module code that swallows `Exception`
    (`while True: try: ... except Exception: pass`) must not swallow it and hold the gate for ever.
    """


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Ask CPython to raise ``exception`` in a thread at its next bytecode (None cancels)."""
    import ctypes  # loaded by the watching thread as it starts (`Watchdog._watch`)

    py_exception = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), py_exception)


class Watchdog:
    """Runs module code with a deadline; one long-lived thread watches every run.

    Python cannot kill a thread; it can raise an exception in one at its next bytecode. That
    ends a runaway loop in module code (`while True: ...`), but not a C call blocked for ever.
    The thread starts at the first run (a profile that never reloads never has one) and lives
    until `close`, so a reload costs no thread start and join, which on a busy host cost a GIL
    hand-over each.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._target: int | None = None  # the thread running module code now
        self._deadline = 0.0
        self._fired = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def run(self, code: types.CodeType, namespace: dict[str, Any], timeout: float) -> None:
        """exec() the code, raising ExecTimeout in it if it runs past ``timeout`` seconds."""
        self.call(lambda: exec(code, namespace), timeout)

    def call(self, work: Callable[[], None], timeout: float) -> None:
        """Call ``work``, raising ExecTimeout in it if it runs past ``timeout`` seconds."""
        me = threading.get_ident()
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="hotreload-deadline", daemon=True
                )
                self._thread.start()
            self._target, self._deadline, self._fired = me, time.monotonic() + timeout, False
            self._cond.notify()
        try:
            work()
        finally:
            with self._cond:
                self._target = None
                fired = self._fired
                if fired:  # cancel the exception if exec ended before it was delivered
                    _raise_in(me, None)
        if fired:
            raise ExecTimeout

    def _watch(self) -> None:
        # ctypes (0.4 MB, 2 ms) is for a deadline only: it loads with the first timed run,
        # here, before a deadline can fire, not with every process that makes a Watchdog.
        import ctypes  # noqa: F401

        with self._cond:
            while not self._closed:
                if self._target is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                _raise_in(self._target, ExecTimeout)
                self._fired = True
                self._target = None

    def close(self) -> None:
        """End the watching thread (a run in progress is no longer timed)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
