"""Dispose hooks: a module says what to do with a value before a save makes it again.

A statement that runs again makes its value afresh (`POOL = make_pool()`); the old value is
dropped as it is, with whatever it holds open. `hotreload.on_dispose("POOL", close)` at the top
of the module registers `close`: before the statement that binds `POOL` runs again (or `POOL`
is removed), `close(old_pool)` runs, and what it returns is handed to the new run, which reads
it with `hotreload.handed_over("POOL")` (Vite's `hot.dispose` and `hot.data`, hmr's
`on_dispose`). Registering again replaces the callback, so a module that runs again does not
pile them up. A dispose callback runs before the new code: if the save is then rejected, the
old value is put back as it was after its callback ran.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_callbacks: dict[tuple[str, str], Callable[[Any], object]] = {}
_handed: dict[tuple[str, str], object] = {}


def _caller_module(depth: int) -> str:
    return str(sys._getframe(depth + 1).f_globals.get("__name__", ""))


def on_dispose(name: str, callback: Callable[[Any], object]) -> None:
    """Call ``callback(old_value)`` before a save makes the calling module's ``name`` again,
    or removes it; what it returns, the next run reads with `handed_over`. Call it at the top
    level of the module that binds ``name``."""
    with _lock:
        _callbacks[(_caller_module(1), name)] = callback


def handed_over(name: str, default: object = None) -> object:
    """What the dispose callback of the calling module's ``name`` returned when the save that
    is running now disposed of the old value; ``default`` at start-up or when none ran. Read
    once: a later run starts empty."""
    with _lock:
        return _handed.pop((_caller_module(1), name), default)


def has_callbacks(module: str) -> bool:
    return any(key[0] == module for key in _callbacks)


def dispose(module: str, name: str, old: object) -> None:
    """Run the dispose callback of ``module``'s ``name`` with its old value, if there is one;
    what it raises is the statement's failure (the save is rejected)."""
    with _lock:
        callback = _callbacks.get((module, name))
    if callback is not None:
        handed = callback(old)
        with _lock:
            _handed[(module, name)] = handed
