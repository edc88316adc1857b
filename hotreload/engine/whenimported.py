"""Run code the moment a module is imported, without importing it.

hotreload acts on a few standard modules only where the process uses them: it wraps
`multiprocessing`'s `BaseProcess.start` to refuse workers (`process`), and logging's methods to
record what module code registers (`stdlibrecord`). Importing them to do so would cost every
start-up their import (multiprocessing pulls in pickle, socket, selectors; logging traceback,
textwrap, string), and most apps never import either. So until such a module is imported, one
`sys.meta_path` finder that finds nothing itself waits for it: asked for a module waited for, it
takes the spec the other finders give, with a loader that runs the module's own and then what
waits, before any other code can use the module. One finder for every wait: each import asks it
once (a dictionary lookup), however many waits there are, and it leaves `sys.meta_path` once
nothing waits.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

Then = Callable[[ModuleType], None]

_lock = threading.Lock()
_waiting: dict[str, list[Then]] = {}  # module name -> what runs once its code ran


def when_imported(name: str, then: Then) -> Callable[[], None]:
    """Call ``then(module)`` in the importing thread as soon as ``name`` is imported and its
    code ran; returns what cancels the wait. The caller looks in `sys.modules` first: a module
    imported already (or being imported by another thread) is not waited for."""
    with _lock:
        _waiting.setdefault(name, []).append(then)
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)

    def cancel() -> None:
        with _lock:
            waits = [w for w in _waiting.get(name, ()) if w is not then]
            if waits:
                _waiting[name] = waits
            else:
                _waiting.pop(name, None)
            _leave_if_idle()

    return cancel


def _leave_if_idle() -> None:
    """(Under the lock.)"""
    if not _waiting and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


class _Finder:
    """Finds nothing itself; for a module waited for, the other finders' spec, its loader
    wrapped (`_ThenCall`)."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in _waiting:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: ModuleSpec | None = find(name, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                # A loader by its methods (importlib.abc would load importlib.resources).
                spec.loader = _ThenCall(spec.loader)  # type: ignore[assignment]
            return spec
        return None


class _ThenCall:
    """The loader of a module waited for: the module is loaded by its own loader (which it
    keeps as ``__loader__``), then what waits for it runs."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        with _lock:
            waits = _waiting.pop(module.__name__, [])
            _leave_if_idle()
        for then in waits:
            then(module)


_FINDER = _Finder()
