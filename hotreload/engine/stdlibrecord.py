"""What module code registers with the standard library, recorded while it runs, so that a
statement that runs again (or is removed) first undoes what its previous run registered.

A fresh start runs `atexit.register(flush)` once. Run again in place, it would register a second
time; removed, the first registration would stay. So while a project module's code runs (its
first import, and every statement a save runs) the few standard functions that register are
wrapped, and each registration is written down for the statement whose code made it:

- `atexit.register` (undone with `atexit.unregister`);
- `signal.signal` (the previous handler restored; both on the main thread, see `mainthread`);
- `logging`: a handler or filter added to a logger or handler (`addHandler`, `addFilter`), a
  logger's level (`setLevel`), and so `logging.basicConfig`, which does these;
- `warnings.filterwarnings`, `warnings.simplefilter` (the entry taken out of `warnings.filters`);
- `copyreg.pickle` (the previous `copyreg.dispatch_table` entry put back);
- `sys.excepthook`, `threading.excepthook` assigned (the previous hook put back), seen by
  comparing them before and after;
- `.register` of a `functools.singledispatch` function made while recording (the registry entry
  taken out and the dispatch cache cleared).

The statement is the one whose module-level frame is nearest the call: a library that registers
while the project imports it is not the project's (a statement run again does not import it
again). Outside module code nothing is wrapped: a host's own calls cost what they cost without
hotreload. A name bound to a wrapper while recording (`from atexit import register`) is bound
back to the original when the module's run ends.

`logging` is wrapped once it is imported: where it is not, its import is waited for
(`whenimported`), and its three methods are wrapped as soon as its code ran, before module code
can call them. Most start-ups never import it, and importing it to wrap them (with traceback,
textwrap and string) cost about 17 M instructions, 3 ms, of every start.
"""

from __future__ import annotations

import atexit
import copyreg
import functools
import signal
import sys
import threading
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

from hotreload.engine import mainthread
from hotreload.engine.whenimported import when_imported

_MISSING = object()


@dataclass(eq=False)
class Registration:
    """One registration made by a statement: ``undo`` takes it back, ``redo`` makes it again
    (a save rolled back after the undo)."""

    what: str  # for a person: "atexit.register(_flush)"
    undo: Callable[[], None]
    redo: Callable[[], None]
    holds: bool = False  # the registry holds the very function a `def` made (singledispatch)


_NO_INDEX: Mapping[int, list[Registration]] = types.MappingProxyType({})


def _no_index() -> Mapping[int, list[Registration]]:
    return _NO_INDEX


@dataclass(eq=False, slots=True)  # one per project module: no instance dict
class Ledger:
    """A module's registrations, by the index of the statement that made them in the version
    that runs. ``complete``: every statement's run was recorded (the module was imported while
    hotreload recorded), so a statement with no entry registered nothing.

    Most modules register nothing: their ledgers share one empty index (read-only; `place`
    makes a new one where it adds), and the modules imported while recording that registered
    nothing share one ledger (`NOTHING`): a ledger's fields are assigned to by `place` alone,
    which leaves a ledger with nothing to place as it is (a save replaces a module's ledger)."""

    complete: bool = False
    by_index: Mapping[int, list[Registration]] = field(default_factory=_no_index)
    # Made at the first import, by line (placed on statements once the version is analysed);
    # a hook changed somewhere in the module has no line (placed by what assigns it).
    by_line: Sequence[tuple[int | None, str, Registration]] = ()

    def place(self, lines: list[tuple[int, int]], assigns: Callable[[str], int | None]) -> None:
        """Put the first import's registrations on their statements: ``lines`` has each
        statement's first and last line, in order; ``assigns(hook)`` finds the statement that
        assigns a hook (`sys.excepthook`)."""
        if not self.by_line:
            return
        by_index = dict(self.by_index)
        for line, hook, registration in self.by_line:
            index = _statement_at(lines, line) if line is not None else assigns(hook)
            if index is not None:
                by_index.setdefault(index, []).append(registration)
        self.by_index = by_index
        self.by_line = ()


def _statement_at(lines: list[tuple[int, int]], line: int) -> int | None:
    for index, (first, last) in enumerate(lines):
        if first <= line <= last:
            return index
    return None


class Target:
    """One module whose code runs now: its registrations go to ``found``, each with the
    statement running (``index``, set by a save's run) or the line its frame is at."""

    __slots__ = ("found", "index", "namespace")

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.index: int | None = None
        self.found: list[tuple[int | None, int | None, str, Registration]] = []

    def add(self, line: int | None, registration: Registration, hook: str = "") -> None:
        self.found.append((self.index, line, hook, registration))

    def check_hooks(self, now: tuple[object, object] | None = None) -> None:
        """Compare the process's hooks (``now``, else read) with those this thread saw last (at
        the start or end of a module's run, or a statement's): what changed since, this
        module's code did (the innermost running), and it is registered."""
        if now is None:  # `_hooks()`, read here: asked twice at every project module's import
            now = (_SYS.get("excepthook"), _THREADING.get("excepthook"))
        thread = _local
        before_all, thread.hooks = thread.hooks, now
        if before_all[0] is now[0] and before_all[1] is now[1]:
            return
        for (owner, name), before, after in zip(_HOOK_OWNERS, before_all, now, strict=True):
            if after is not before:
                hook = f"{owner.__name__}.{name}"
                self.add(None, _hook_registration(owner, name, before, after), hook)


_HOOK_OWNERS: tuple[tuple[types.ModuleType, str], tuple[types.ModuleType, str]] = (
    (sys, "excepthook"),
    (threading, "excepthook"),
)
_SYS, _THREADING = vars(sys), vars(threading)


def _hooks() -> tuple[object, object]:
    """The hooks now, in `_HOOK_OWNERS` order (read as every module's import begins and ends:
    two items, compared by identity)."""
    return (_SYS.get("excepthook"), _THREADING.get("excepthook"))


def _hook_registration(
    owner: types.ModuleType, name: str, before: object, after: object
) -> Registration:
    def put(value: object, expected: object) -> Callable[[], None]:
        def apply() -> None:
            if vars(owner).get(name) is expected:
                setattr(owner, name, value)

        return apply

    label = f"{owner.__name__}.{name}"
    return Registration(f"{label} = {_name(after)}", put(before, after), put(after, before))


def _name(value: object) -> str:
    return str(getattr(value, "__qualname__", None) or type(value).__qualname__)


# -- recording ---------------------------------------------------------------------------------


class _Thread(threading.local):
    """What one thread records: the modules whose code runs (innermost last), and the hooks as
    they were when it last looked. Every look (a module's run beginning or ending, a
    statement's run ending) is made for the innermost module, whose code alone ran since the
    one before."""

    def __init__(self) -> None:
        self.targets: list[Target] = []
        self.hooks: tuple[object, object] = _hooks()


_local = _Thread()
_install_lock = threading.Lock()
_depth = 0  # how many threads record (each from its outermost block's start to its end)
_originals: dict[tuple[object, str], Any] = {}  # (owner, attribute) -> the original
_by_original: dict[int, Any] = {}  # id(original) -> its wrapper, while installed
_by_wrapper: dict[int, Any] = {}  # id(wrapper) -> its original, while installed
_made: dict[tuple[object, str], tuple[Any, Any]] = {}  # (owner, attribute) -> original, wrapper


def _where() -> tuple[Target, int] | None:
    """The module being recorded whose module-level frame is nearest the caller's caller, and
    that frame's line; None for anything else (a library's own import, another thread)."""
    targets = _local.targets
    if not targets:
        return None
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            for target in reversed(targets):
                if frame.f_globals is target.namespace:
                    return target, frame.f_lineno
            return None
        frame = frame.f_back
    return None


class _Recording:
    """Records what the module whose namespace this is registers while the block runs (in
    this thread); nested blocks record their own modules. A class, not a generator: every
    project module's import runs in one, and a nested import (a module importing another)
    must cost little more than a flat one."""

    __slots__ = ("namespace", "target")

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def __enter__(self) -> Target:
        thread = _local
        targets = thread.targets
        namespace = self.namespace
        self.target = target = Target(namespace)
        if targets:  # a hook changed since the last look is the running module's
            targets[-1].check_hooks()
        else:  # the thread's outermost block: the wrappers are in place until it ends
            thread.hooks = _hooks()
            _install()
        targets.append(target)
        if not namespace.keys() <= _IMPORT_NAMES:
            _swap_names(namespace, _by_original)
        return target

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        target = self.target
        try:
            target.check_hooks()
            # No name anywhere holds a wrapper where each is referred to as when it was
            # installed: asked at the end of every project module's import, this costs the
            # same for any namespace, where comparing every value's id costs 75 ns a name.
            if not _COUNTS_REFERENCES or _references() != _installed_references:
                _swap_names(target.namespace, _by_wrapper)
        finally:
            targets = _local.targets
            if targets[-1] is target:  # always, but for blocks left out of order
                targets.pop()
            else:
                targets.remove(target)
            if not targets:
                _uninstall()


# What the import system puts in a module's namespace before its code runs: a namespace with
# nothing else (a module's import beginning) holds no original, and is not looked through
# (`id`, which that takes, is an audited call: an audit hook hears of every name).
_IMPORT_NAMES = frozenset(
    {"__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__cached__"}
    | {"__builtins__", "__path__"}
)


def recording(namespace: dict[str, Any]) -> AbstractContextManager[Target]:
    """Record what the module whose namespace this is registers while the block runs (in this
    thread). Nested blocks record their own modules."""
    return _Recording(namespace)


def _swap_names(namespace: dict[str, Any], table: dict[int, Any]) -> None:
    """Bind names of the module that hold an original to its wrapper (``_by_original``), or
    back (``_by_wrapper``)."""
    if table.keys().isdisjoint(map(id, namespace.values())):
        return  # the common case, found at C speed
    for name, value in list(namespace.items()):
        swapped = table.get(id(value))
        if swapped is not None:
            namespace[name] = swapped


# CPython counts references: a name bound to a wrapper is one more than the wrapper had once
# installed. (Elsewhere, and where the GIL is gone, every namespace is looked through.) A
# wrapper replaced on its owner by module code and bound to a name at once is missed: such a
# name keeps a wrapper, which outside module code only calls the original.
_COUNTS_REFERENCES = (
    sys.implementation.name == "cpython" and getattr(sys, "_is_gil_enabled", lambda: True)()
)
_installed: list[Any] = []  # the wrappers, while installed
_installed_references: list[int] = []  # how many references each had once installed


def _references() -> list[int]:
    """How many references each installed wrapper has now (counted the same way every time:
    the list and `map` hold one each)."""
    return list(map(sys.getrefcount, _installed))


def _install() -> None:
    global _depth
    with _install_lock:
        _depth += 1
        if _depth > 1:
            return
        _install_wrappers(_WRAPPERS)
        _installed_references[:] = _references()  # (no local name holds a wrapper here)


def _logging_imported(logging: types.ModuleType) -> None:
    """`logging` is imported (its code ran): its methods join what is wrapped, at once where
    module code is being recorded. (Its own code registered nothing for a statement of ours:
    `_where` finds no target in it.)"""
    with _install_lock:
        wrappers = _logging_wrappers(logging)
        if wrappers.keys() <= _WRAPPERS.keys():
            return  # told twice (`_watch_for_logging`)
        _WRAPPERS.update(wrappers)
        if _depth == 0:  # nothing is recorded now: the next recording wraps them
            return
        _install_wrappers(wrappers)
        # The others' counts stay those of their install: a name bound to one since must
        # still be found.
        _installed_references.extend(_references()[len(_installed_references) :])


def _install_wrappers(wrappers: Mapping[tuple[object, str], Callable[[Any], Any]]) -> None:
    for (owner, attribute), make in wrappers.items():
        original = vars(owner)[attribute]
        _originals[(owner, attribute)] = original
        made = _made.get((owner, attribute))
        if made is None or made[0] is not original:  # made once per original
            made = _made[(owner, attribute)] = (original, make(original))
        wrapper = made[1]
        _by_original[id(original)] = wrapper
        _by_wrapper[id(wrapper)] = original
        setattr(owner, attribute, wrapper)
        _installed.append(wrapper)


def _uninstall() -> None:
    global _depth
    with _install_lock:
        _depth -= 1
        if _depth > 0:
            return
        for (owner, attribute), original in _originals.items():
            setattr(owner, attribute, original)
        _by_original.clear()
        _by_wrapper.clear()
        _installed.clear()
        _installed_references.clear()


# -- the wrappers ------------------------------------------------------------------------------


def _wrap_atexit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def register(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        result = original(func, *args, **kwargs)
        where = _where()
        if where is not None:
            target, line = where

            def redo() -> None:
                original(func, *args, **kwargs)

            target.add(
                line, Registration(f"atexit.register({_name(func)})", _unregister(func), redo)
            )
        return result

    return register


def _unregister(func: Callable[..., Any]) -> Callable[[], None]:
    return lambda: atexit.unregister(func)


def _wrap_signal(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def set_handler(signalnum: Any, handler: Any) -> Any:
        where = _where()
        if where is None:
            return original(signalnum, handler)
        what = f"signal.signal({_signal_name(signalnum)}, {_name(handler)})"
        previous = mainthread.call(lambda: original(signalnum, handler), what)
        target, line = where
        restore = signal.SIG_DFL if previous is None else previous

        def undo() -> None:
            mainthread.call(lambda: original(signalnum, restore), f"undoing {what}")

        def redo() -> None:
            mainthread.call(lambda: original(signalnum, handler), what)

        target.add(line, Registration(what, undo, redo))
        return previous

    return set_handler


def _signal_name(signalnum: Any) -> str:
    try:
        return signal.Signals(signalnum).name
    except ValueError:
        return str(signalnum)


def _wrap_add(kind: str, listed: str, remove: str) -> Callable[[Callable[..., Any]], Any]:
    """`Logger.addHandler`, `Filterer.addFilter`: recorded when the item was not there yet."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def add(self: Any, item: Any) -> None:
            new = item not in getattr(self, listed, ())
            original(self, item)
            where = _where() if new else None
            if where is not None:
                target, line = where

                def undo() -> None:
                    getattr(type(self), remove)(self, item)

                def redo() -> None:
                    original(self, item)

                what = f"{_owner_name(self)}.{kind}({_name(item)})"
                target.add(line, Registration(what, undo, redo))

        return add

    return wrap


def _owner_name(value: Any) -> str:
    name = getattr(value, "name", None)
    return f"logger {name!r}" if isinstance(value, _logging().Logger) else _name(value)


def _logging() -> types.ModuleType:
    """The `logging` module, imported: only its wrappers ask."""
    return sys.modules["logging"]


def _wrap_level(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def set_level(self: logging.Logger, level: Any) -> None:
        before = self.level
        original(self, level)
        where = _where()
        if where is not None and self.level != before:
            target, line = where
            after = self.level
            what = f"{_owner_name(self)}.setLevel({_logging().getLevelName(after)})"
            target.add(
                line,
                Registration(what, lambda: original(self, before), lambda: original(self, after)),
            )

    return set_level


def _wrap_filters(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def add_filter(*args: Any, **kwargs: Any) -> Any:
        before = list(warnings.filters)
        result = original(*args, **kwargs)
        where = _where()
        if where is not None:
            after = warnings.filters
            added = [item for item in after if not any(item is b for b in before)]
            moved = [(i, b) for i, b in enumerate(before) if not any(b is a for a in after)]
            if added or moved:
                target, line = where
                what = f"warnings.{original.__name__}({', '.join(map(repr, args))})"
                target.add(line, _filter_registration(what, added, moved))
        return result

    return add_filter


def _filter_registration(what: str, added: list[Any], moved: list[tuple[int, Any]]) -> Registration:
    """Taking out the entries a call added, and putting back the equal ones it displaced; only
    on the list that holds them (a call made inside `catch_warnings` changed a copy, long gone)."""

    def undo() -> None:
        filters: list[Any] = warnings.filters  # type: ignore[assignment]  # a list at run time
        kept = [f for f in filters if not any(f is a for a in added)]
        if len(kept) == len(filters):
            return
        filters[:] = kept
        for index, item in moved:
            if not any(f is item for f in filters):
                filters.insert(index, item)
        _filters_mutated()

    def redo() -> None:
        filters: list[Any] = warnings.filters  # type: ignore[assignment]
        if any(f is a for f in filters for a in added):
            return
        filters[:] = [f for f in filters if not any(f is m for _, m in moved)]
        filters[0:0] = added
        _filters_mutated()

    return Registration(what, undo, redo)


def _filters_mutated() -> None:
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()  # the filters' version: cached decisions of `warn` are dropped


def _wrap_copyreg(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def pickle(ob_type: Any, pickle_function: Any, constructor_ob: Any = None) -> None:
        table = copyreg.dispatch_table
        before = table.get(ob_type, _MISSING)
        original(ob_type, pickle_function, constructor_ob)
        where = _where()
        if where is not None:
            target, line = where

            def put(value: Any, expected: Any) -> Callable[[], None]:
                def apply() -> None:
                    if table.get(ob_type, _MISSING) is expected:
                        if value is _MISSING:
                            table.pop(ob_type, None)
                        else:
                            table[ob_type] = value

                return apply

            what = f"copyreg.pickle({_name(ob_type)}, {_name(pickle_function)})"
            undo, redo = put(before, pickle_function), put(pickle_function, before)
            target.add(line, Registration(what, undo, redo))

    return pickle


def _wrap_singledispatch(original: Callable[..., Any]) -> Callable[..., Any]:
    """A dispatcher made while recording gets a `register` that records (a dispatcher made
    before hotreload started is not seen: its registrations stay as the static rules say)."""

    @functools.wraps(original)
    def singledispatch(func: Any) -> Any:
        dispatcher = original(func)
        plain = dispatcher.register
        registry = _cell(plain, "registry")
        cache = _cell(plain, "dispatch_cache")
        if not isinstance(registry, dict) or cache is None:
            return dispatcher

        def register(cls: Any, func: Any = None) -> Any:
            if not _local.targets:
                return plain(cls, func)  # outside module code: as if unwrapped
            if func is None and _dispatch_type(cls):
                return lambda f: register(cls, f)
            before = dict(registry)
            result = plain(cls, func)
            where = _where()
            if where is not None:
                changed = {k: v for k, v in registry.items() if before.get(k, _MISSING) is not v}
                if changed:
                    target, line = where
                    what = f"{_name(dispatcher)}.register({', '.join(map(_name, changed))})"
                    previous = {k: before.get(k, _MISSING) for k in changed}  # keep no more
                    target.add(
                        line, _dispatch_registration(what, registry, cache, previous, changed)
                    )
            return result

        register.__doc__ = plain.__doc__
        dispatcher.register = register
        return dispatcher

    return singledispatch


def _dispatch_type(cls: Any) -> bool:
    if isinstance(cls, type):
        return True
    args = getattr(cls, "__args__", None) or ()
    return type(cls) is types.UnionType and bool(args) and all(isinstance(a, type) for a in args)


def _cell(function: Any, name: str) -> Any:
    code = getattr(function, "__code__", None)
    closure = getattr(function, "__closure__", None)
    if code is None or closure is None or name not in code.co_freevars:
        return None
    return closure[code.co_freevars.index(name)].cell_contents


def _dispatch_registration(
    what: str, registry: dict[Any, Any], cache: Any, before: dict[Any, Any], changed: dict[Any, Any]
) -> Registration:
    def undo() -> None:
        for key, value in changed.items():
            if registry.get(key, _MISSING) is value:
                previous = before[key]
                if previous is _MISSING:
                    del registry[key]
                else:
                    registry[key] = previous
        cache.clear()

    def redo() -> None:
        registry.update(changed)
        cache.clear()

    return Registration(what, undo, redo, holds=True)


# What is wrapped while module code runs; `logging`'s methods join once it is imported.
_WRAPPERS: dict[tuple[object, str], Callable[[Any], Any]] = {
    (atexit, "register"): _wrap_atexit,
    (signal, "signal"): _wrap_signal,
    (warnings, "filterwarnings"): _wrap_filters,
    (warnings, "simplefilter"): _wrap_filters,
    (copyreg, "pickle"): _wrap_copyreg,
    (functools, "singledispatch"): _wrap_singledispatch,
}


def _logging_wrappers(logging: types.ModuleType) -> dict[tuple[object, str], Callable[[Any], Any]]:
    return {
        (logging.Logger, "addHandler"): _wrap_add("addHandler", "handlers", "removeHandler"),
        (logging.Filterer, "addFilter"): _wrap_add("addFilter", "filters", "removeFilter"),
        (logging.Logger, "setLevel"): _wrap_level,
    }


def _watch_for_logging() -> None:
    """Wrap `logging`'s methods with the others if it is imported, else once it is."""
    if "logging" not in sys.modules:
        cancel = when_imported("logging", _logging_imported)
        if "logging" not in sys.modules:
            return
        cancel()  # another thread's import began meanwhile, without the wait: waited for below
    import logging  # imported already: this waits until its code ran, if it still runs

    _logging_imported(logging)


_watch_for_logging()


def standard_function(value: object) -> str | None:
    """The dotted name of one of the recorded standard functions (or its wrapper), or None."""
    value = _by_wrapper.get(id(value), value)
    for (owner, attribute), _ in _WRAPPERS.items():
        if isinstance(owner, types.ModuleType) and vars(owner).get(attribute) is value:
            return f"{owner.__name__}.{attribute}"
        if _originals.get((owner, attribute)) is value:
            return f"{getattr(owner, '__name__', '')}.{attribute}"
    logging = sys.modules.get("logging")
    if logging is not None and value is vars(logging).get("basicConfig"):
        return "logging.basicConfig"
    return None


# -- the ledgers of modules imported while recording -------------------------------------------


# The ledger of every module whose whole run registered nothing (most modules): one for all.
NOTHING = Ledger(complete=True)
_UNKNOWN = Ledger()  # every module's not recorded from its start


def ledger_of(target: Target) -> Ledger:
    """A complete ledger of what a module's whole run registered (recorded from its start)."""
    if not target.found:
        return NOTHING
    by_index: dict[int, list[Registration]] = {}
    by_line: list[tuple[int | None, str, Registration]] = []
    for index, line, hook, registration in target.found:
        if index is not None:
            by_index.setdefault(index, []).append(registration)
        else:
            by_line.append((line, hook, registration))
    return Ledger(True, by_index, by_line)


_imported: dict[str, Ledger] = {}
_imported_lock = threading.Lock()


class _ImportRecording(_Recording):
    __slots__ = ()

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        super().__exit__(exc_type, exc, traceback)
        if exc_type is None:
            target = self.target
            name = str(target.namespace.get("__name__", ""))
            ledger = ledger_of(target) if target.found else NOTHING  # (most modules: no call)
            with _imported_lock:
                _imported[name] = ledger


def recording_import(module: types.ModuleType) -> AbstractContextManager[None]:
    """Record a project module's first import (the import system runs it whole); its ledger
    waits for the server to take it (`take_imported`)."""
    return _ImportRecording(vars(module))  # type: ignore[return-value]  # yields no Target


def take_imported(name: str) -> Ledger:
    """The ledger recorded when ``name`` was imported; an incomplete empty one if it was not."""
    with _imported_lock:
        return _imported.pop(name, None) or _UNKNOWN
