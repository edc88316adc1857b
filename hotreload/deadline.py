"""Running module code with a deadline: a runaway top-level loop must not hold a reload for ever."""

from __future__ import annotations

import ctypes
import threading
import types
from typing import Any


class ExecTimeout(BaseException):
    """Raised inside a module's top-level code that ran longer than the reload allows.

    A BaseException, like KeyboardInterrupt: a loop in module code that swallows `Exception`
    (`while True: try: ... except Exception: pass`) must not swallow it and hold the gate for ever.
    """


def run_with_deadline(code: types.CodeType, namespace: dict[str, Any], timeout: float) -> None:
    """exec() the code, raising ExecTimeout in it if it runs past ``timeout`` seconds.

    Python cannot kill a thread; it can raise an exception in one at its next bytecode. That ends
    a runaway loop in module code (`while True: ...`), but not a C call blocked for ever.
    """
    thread_id = ctypes.c_ulong(threading.get_ident())
    finished = threading.Event()
    lock = threading.Lock()
    fired = False

    def watchdog() -> None:
        nonlocal fired
        if finished.wait(timeout):
            return
        with lock:
            if not finished.is_set():
                fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, ctypes.py_object(ExecTimeout))

    guard = threading.Thread(target=watchdog, name="hotreload-exec-deadline", daemon=True)
    guard.start()
    try:
        try:
            exec(code, namespace)
        finally:
            with lock:
                finished.set()
                if fired:  # cancel the exception if exec ended before it was delivered
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, None)
        if fired:
            raise ExecTimeout
    finally:
        guard.join()
