"""Running what a plan says, under the deadline, so that a failure leaves no trace in the module.

Statements run in the module's own namespace (a function made there must see the module's
globals, not a copy's), under the version gate, after a snapshot: if one raises or runs out of
time, the namespace is put back exactly (same keys, same objects, same order) and every code
swap is undone.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hotreload.engine.codeswap import Swap
from hotreload.engine.deadline import ExecTimeout, Watchdog
from hotreload.engine.dispose import dispose, has_callbacks
from hotreload.engine.patching import keeps_identity
from hotreload.engine.plan import Inputs, Plan, registration
from hotreload.engine.registers import registration as class_registration
from hotreload.engine.scope import changes_module_state
from hotreload.engine.statements import Analysis, Statement
from hotreload.engine.stdlibrecord import Ledger, Registration, Target, recording
from hotreload.saveverdicts import RestartCause
from hotreload.verdicts import Failure

_MISSING = object()


class NeedsRestart(Exception):
    """A statement about to run again cannot run in place (a registration with a live object,
    see `restarts`; a value it would change in place a second time; a class a registry holds):
    the run stops before it, and is undone. The transaction alone turns it into the outcome."""

    def __init__(self, cause: RestartCause) -> None:
        super().__init__(cause.detail)
        self.cause = cause


@dataclass
class Run:
    """One application of a version to a module's namespace, until it is kept or undone."""

    namespace: dict[str, Any]
    swaps: list[Swap]
    stale: list[str] = field(default_factory=list)  # closures the swaps cannot reach
    snapshot: dict[str, Any] | None = None  # taken before any module code runs
    ran: list[int] = field(default_factory=list)  # statements run, in order
    bound: set[str] = field(default_factory=set)  # names the run bound or deleted
    # Names an import statement bound: they take the imported object as it is (patching it
    # would rewrite another module's object, or one it discarded).
    imported: set[str] = field(default_factory=set)
    # Names a star import no longer brings, or that a statement run again did not bind again.
    dropped: set[str] = field(default_factory=set)
    # What the running version's statements registered with the standard library (None: not
    # known), what this run undid of it, and what its statements registered (`stdlibrecord`).
    ledger: Ledger | None = None
    undone: list[Registration] = field(default_factory=list)
    target: Target | None = None
    _analysis: Analysis | None = None
    _inputs: Inputs | None = None

    def swap_code(self) -> None:
        """Give live functions the new code (first: a re-run statement may call them)."""
        for swap in self.swaps:
            swap.apply()

    def keep_old_code(self, replaced: set[str]) -> None:
        """Functions that the run replaced by new objects (``replaced`` names them, or their
        top-level name) keep their old code: a reference to one held elsewhere runs the old
        version whole, as `rebound` says, not the new body without its new decorator."""
        for swap in self.swaps:
            if swap.root in replaced or swap.old.co_qualname in replaced:
                swap.undo()

    def rollback(self) -> None:
        """Put the namespace and every function back as they were before this run, and the
        standard library's registrations: this run's taken back, the undone ones made again."""
        if self.target is not None:
            for *_, registration in reversed(self.target.found):
                _quietly(registration.undo)
            self.target.found.clear()
        for registration in reversed(self.undone):
            _quietly(registration.redo)
        self.undone.clear()
        if self.snapshot is not None:
            self.namespace.clear()
            self.namespace.update(self.snapshot)
        for swap in reversed(self.swaps):
            swap.undo()

    def _undo(self, index: int) -> None:
        """Undo what the old statement ``index`` registered (before it runs again, or goes)."""
        if self.ledger is None:
            return
        for made in reversed(self.ledger.by_index.get(index, [])):
            made.undo()
            self.undone.append(made)

    def _exec(self, code: types.CodeType, index: int) -> None:
        target = self.target
        assert target is not None
        target.index = index
        exec(code, self.namespace)
        target.check_hooks()

    def run_statements(
        self,
        new: Analysis,
        plan: Plan,
        path: Path,
        watchdog: Watchdog,
        timeout: float,
        gone: Collection[str] = (),
        *,
        guard: Callable[[int], RestartCause | None] = lambda _index: None,
        covered: Callable[[int], bool] = lambda _index: False,
    ) -> None:
        """Run the plan's statements, and each later one that reads a name whose value they
        changed, in source order, with one deadline for all. Raises what the code raises, and
        NeedsRestart before a statement that cannot run again in place: one that ``guard``
        says cannot (`restarts`: a registration with a live object), one that would change
        again in place a value it changed before, or register again what it registered.

        ``gone`` names what a module this one star-imports no longer has: a re-run star
        import drops it, as a fresh import would not bind it. ``covered`` says of a statement
        that all it registers with the standard library is recorded: its previous run's are
        undone first (`stdlibrecord`), so it may run again.

        The registrations of removed statements are undone first; each statement that runs
        again undoes its previous run's right before it runs."""
        namespace = self.namespace
        snapshot = self.snapshot = dict(namespace)
        changed: set[str] = set()
        self._analysis = new
        previous = dict(plan.pairs)

        module = str(namespace.get("__name__", ""))
        disposing = has_callbacks(module)

        # name -> the one statement that binds it, -1 if several do; none where a star import
        # may bind anything (what it brings is not in the source)
        sole_binder: dict[str, int] = {}
        if not any(statement.scope.star for statement in new.statements):
            for index, statement in enumerate(new.statements):
                for name in statement.scope.binds:
                    sole_binder[name] = -1 if name in sole_binder else index

        def work() -> None:
            with recording(namespace) as self.target:
                statements()

        def statements() -> None:
            for index in sorted(plan.removed, reverse=True):
                self._undo(index)
            for name in plan.unbind:  # no statement binds it now: a fresh start lacks it
                value = namespace.pop(name, _MISSING)
                if value is not _MISSING:
                    if disposing:
                        dispose(module, name, value)
                    if isinstance(value, type) and (why := class_registration(value, None)):
                        self._registered(name, why, removed=True)
                    self.bound.add(name)
                    changed.add(name)
            for index, statement in enumerate(new.statements):
                if index in plan.never:
                    continue
                if index not in plan.run and not self._reads_changed(statement, changed):
                    continue
                if index not in plan.run and (cause := guard(index)) is not None:
                    raise NeedsRestart(cause)
                undone = self.ledger is not None and self.ledger.complete and covered(index)
                if not undone and (
                    index not in plan.added or statement.scope.mutates & plan.remade
                ):
                    self._refuse_repeat(statement)
                if (
                    not undone
                    and index not in plan.added
                    and "@" in statement.text
                    and statement.definition
                ):
                    # Its decorator would register it again (unless that replaces the entry).
                    cause = registration(new, index, namespace)
                    if cause is not None:
                        raise NeedsRestart(cause)
                if statement.definition is not None and statement.definition in namespace:
                    # Decorators of an edited statement are the plan's to judge (on the old one).
                    node = None if index in plan.added else new.node(index)
                    self._refuse_reregistration(node, statement)
                if disposing:
                    for name in statement.scope.binds & snapshot.keys():
                        dispose(module, name, snapshot[name])
                self.ran.append(index)
                if index in previous:
                    self._undo(previous[index])
                before = dict(namespace) if statement.scope.star else None
                # What only this statement binds is unbound when a fresh start runs it: a
                # branch not taken now (`if ...: from itertools import batched as it`) must
                # not leave the previous run's value behind.
                fresh = {n for n in statement.scope.binds if sole_binder.get(n) == index}
                for name in fresh:
                    namespace.pop(name, None)
                self._exec(statement.runnable(path, new.future_flags), index)
                self.dropped |= {n for n in fresh if n in snapshot and n not in namespace}
                names = set(statement.scope.binds)
                if before is not None:
                    names |= {n for n, v in namespace.items() if before.get(n, _MISSING) is not v}
                    names |= self._drop_gone(new, gone)
                    self.imported |= names
                elif statement.imports.modules:
                    self.imported |= names
                if statement.definition is not None and statement.definition not in snapshot:
                    changed.update(_bases_of(namespace.get(statement.definition), namespace))
                for name in names:
                    self.bound.add(name)
                    old, value = snapshot.get(name, _MISSING), namespace.get(name, _MISSING)
                    # A class made again is patched into the live one, but what read it at
                    # import (`dataclasses.fields(Point)`, `Point()`) may read something else.
                    if isinstance(value, type) or not keeps_identity(old, value):
                        changed.add(name)
                    elif isinstance(value, types.FunctionType) and statement.definition is None:
                        changed.add(name)  # a lambda made again: who called it reads anew
            for raw in plan.unstarred:  # a star import removed: what it brought goes
                brought = star_module(raw, namespace.get("__package__") or "")
                if brought is not None:
                    names = {
                        n
                        for n in public_names(brought)
                        if namespace.get(n, _MISSING) is getattr(brought, n, None)
                    }
                    dropped = self._drop_gone(new, names)
                    self.bound |= dropped

        watchdog.call(work, timeout)

    def _reads_changed(self, statement: Statement, changed: set[str]) -> bool:
        """Whether a statement reads a changed name, itself or in a function it calls."""
        if not changed:
            return False
        if statement.scope.reads & changed or statement.scope.introspects:
            return True
        if not statement.scope.calls and not statement.scope.binds:
            return False
        if self._inputs is None:
            self._inputs = Inputs(self._analysis) if self._analysis is not None else None
        return self._inputs is not None and bool(self._inputs.of(statement) & changed)

    def _refuse_repeat(self, statement: Statement) -> None:
        """A statement that changed a value in place (`REGISTRY.append(handler)`) must not run
        again on that same value: it would register twice. Where this run made the value
        afresh, it runs on the new one; otherwise the save needs a restart."""
        scope = statement.scope
        snapshot = self.snapshot or {}
        same = {
            n
            for n in scope.accumulates & self.bound
            if n in snapshot and self.namespace.get(n, _MISSING) is snapshot[n]
        }  # made again, and it gave back the very object it changed (`logging.getLogger`)
        for name in sorted((scope.accumulates - scope.binds - self.bound) | same):
            value = self.namespace.get(name)
            if isinstance(value, types.ModuleType) and not changes_module_state(scope, name):
                continue  # a module's function called again (`time.sleep(1)`)
            raise NeedsRestart(
                RestartCause(
                    "side_effect",
                    f"`{statement.summary().split(': ', 1)[1]}` would run again on the `{name}` "
                    "it already changed at import (a second registration, a value changed "
                    "twice)",
                    statement=statement.summary(),
                    line=statement.line,
                    name=name,
                )
            )

    def _refuse_reregistration(self, node: ast.stmt | None, statement: Statement) -> None:
        """A class about to be made again that a metaclass, a base's `__init_subclass__` or a
        decorator may register (judged on the live class, before anything runs): the registry
        would hold two."""
        value = self.namespace.get(statement.definition or "")
        if isinstance(value, type):
            why = class_registration(value, node)
            if why is not None:
                self._registered(statement.definition or "", why, statement=statement)

    @staticmethod
    def _registered(
        name: str, why: str, *, statement: Statement | None = None, removed: bool = False
    ) -> None:
        done = "removed" if removed else "made again"
        raise NeedsRestart(
            RestartCause(
                "side_effect",
                f"class `{name}` is {done}, and {why} may have registered it when it was made: "
                "the registry cannot be set back in place",
                statement=statement.summary() if statement else None,
                line=statement.line if statement else None,
                name=name,
            )
        )

    def _drop_gone(self, new: Analysis, gone: Collection[str]) -> set[str]:
        """Drop names that came from a star import and that no star-imported module still
        brings, nor any statement of this version binds."""
        namespace = self.namespace
        package = namespace.get("__package__") or ""
        sources = [star_module(raw, package) for s in new.statements for raw in s.scope.star]
        dropped = set()
        for name in gone:
            if name not in namespace or new.binders(name) or name.startswith("__"):
                continue
            if isinstance(namespace[name], types.ModuleType):
                continue  # a submodule the import system set on its package
            if any(name in public_names(module) for module in sources if module is not None):
                continue
            del namespace[name]
            dropped.add(name)
        self.dropped |= dropped
        return dropped

    def run_module(
        self,
        new: Analysis,
        path: Path,
        watchdog: Watchdog,
        timeout: float,
        keep: Collection[str] = (),
        old: Analysis | None = None,
    ) -> None:
        """Run the whole new version in the namespace. Raises what the code raises.

        A statement that binds only `keep` names that the module has does not run, as in a
        partial run: the rest of the module runs on the kept values (what such a statement of
        the running version ``old`` registered with the standard library stays). If the run
        changed a kept list, dict or set in place (a registration made again: `@register def
        one` appends to the kept `REGISTRY` a second time), the module cannot end as a fresh
        start with that value kept: its contents are put back and NeedsRestart is raised.
        """
        namespace = self.namespace
        snapshot = self.snapshot = dict(namespace)
        module = str(namespace.get("__name__", ""))
        kept = {n for n in keep if n in namespace}
        skipped = [
            s.scope.binds <= kept and bool(s.scope.binds) and not s.scope.dynamic
            for s in new.statements
        ]
        contents = {n: _contents(namespace[n]) for n in kept}
        kept_before = {
            i
            for i, s in enumerate(old.statements if old is not None else ())
            if s.scope.binds <= kept and bool(s.scope.binds) and not s.scope.dynamic
        }

        def work() -> None:
            with recording(namespace) as self.target:
                if self.ledger is not None:
                    for index in sorted(self.ledger.by_index, reverse=True):
                        if index not in kept_before:
                            self._undo(index)
                if has_callbacks(module):
                    for name, value in snapshot.items():
                        if name not in kept:
                            dispose(module, name, value)
                runnable = zip(skipped, new.runnable(path), strict=True)
                for index, (skip, code) in enumerate(runnable):
                    if not skip:
                        self._exec(code, index)

        try:
            watchdog.call(work, timeout)
        finally:
            changed = []
            for name, before in contents.items():
                if before is not None and not _same_contents(snapshot[name], before):
                    changed.append(name)
                    _put_back(snapshot[name], before)
        self.bound = set(namespace)
        # As in a partial run: what an import statement bound is another module's object unless
        # this module made it (`_commit`), taken as it is; never patched with that module's code.
        # So is what a star import bound: the names no statement shows that a star-imported
        # module brings (the very object an old statement bound, too: `X = int` moved there).
        self.imported = {n for s in new.statements if s.imports.modules for n in s.scope.binds}
        package = str(namespace.get("__package__") or "")
        sources = [star_module(raw, package) for s in new.statements for raw in s.scope.star]
        if sources:
            shown = {n for s in new.statements for n in s.scope.binds}
            brought = {n for m in sources if m is not None for n in public_names(m)}
            self.imported |= {n for n in namespace if n in brought and n not in shown}
        if changed:
            raise NeedsRestart(
                RestartCause(
                    "side_effect",
                    f"the module runs whole, and its statements changed the kept `{changed[0]}` "
                    "in place (a registration made again?): with it kept, the module cannot end "
                    "as a fresh start would",
                    name=changed[0],
                )
            )


def _contents(value: Any) -> list[Any] | dict[Any, Any] | set[Any] | None:
    """A shallow copy of a kept plain list, dict or set (copying runs no user code: a dict or
    set copy reuses the stored hashes), to tell whether a run changed it in place and to put it
    back. None for anything else: that cannot be told."""
    kind = type(value)
    if kind is list or kind is dict or kind is set:
        return kind(value)
    return None


def _same_contents(value: Any, before: list[Any] | dict[Any, Any] | set[Any]) -> bool:
    """Whether ``value`` holds the very objects ``before`` does, compared by identity (no user
    `==` runs)."""
    if type(value) is not type(before) or len(value) != len(before):
        return False
    if isinstance(before, dict):
        now = cast(dict[Any, Any], value)
        pairs = zip(now.items(), before.items(), strict=True)
        return all(a[0] is b[0] and a[1] is b[1] for a, b in pairs)
    if isinstance(before, set):
        return {id(v) for v in value} == {id(v) for v in before}
    return all(a is b for a, b in zip(value, before, strict=True))


def _put_back(value: Any, before: list[Any] | dict[Any, Any] | set[Any]) -> None:
    """A kept list, dict or set holds again what it held before the run."""
    if isinstance(value, list):
        value[:] = before
    else:
        value.clear()
        value.update(before)


def _quietly(step: Callable[[], None]) -> None:
    """Put one registration back while rolling back: one that fails (the main thread gone
    meanwhile) must not stop the others."""
    try:
        step()
    except BaseException:  # best effort: the rest must still be put back
        pass


def _bases_of(value: Any, namespace: dict[str, Any]) -> set[str]:
    """The module's names for the bases of a new class: their `__subclasses__()` changed."""
    if not isinstance(value, type):
        return set()
    bases = {id(b) for b in value.__bases__}
    return {n for n, v in namespace.items() if id(v) in bases and isinstance(v, type)}


def star_module(raw: str, package: str) -> types.ModuleType | None:
    """The module a `from M import *` (``raw``, dots kept) names, if it is imported."""
    try:
        name = importlib.util.resolve_name(raw, package) if raw.startswith(".") else raw
    except (ImportError, ValueError):
        return None
    return sys.modules.get(name)


def public_names(module: types.ModuleType) -> set[str]:
    """What `from module import *` binds: `__all__`, or every name without a leading `_`."""
    names = getattr(module, "__all__", None)
    if names is not None:
        try:
            return {str(n) for n in names}
        except TypeError:
            return set()
    return {n for n in vars(module) if not n.startswith("_")}


def exec_failure(error: BaseException, path: Path, timeout: float) -> Failure:
    """The rejection for module code that raised or ran out of time."""
    line = _error_line(error, path)
    where = f"{path.name}:{line}" if line else path.name
    if isinstance(error, ExecTimeout):
        return Failure(
            "exec_timeout",
            f"{where}: module top-level code ran longer than {timeout:g} s and was stopped; "
            "move long work out of import time (into a function the host calls)",
            line=line,
        )
    if isinstance(error, SyntaxError):  # a statement that compiles in its module only
        return Failure("syntax_error", f"{where}: {error.msg}", line=line)
    return Failure(
        "exec_error",
        f"{where}: module raised {type(error).__name__}: {error} while executing; "
        "the previous version keeps running",
        line=line,
        exception=type(error).__name__,
    )


def _error_line(error: BaseException, path: Path) -> int | None:
    if isinstance(error, SyntaxError) and error.filename == str(path):
        return error.lineno
    import traceback  # (with textwrap: only where a run fails)

    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None
