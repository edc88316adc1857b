"""What a save must run: nothing (new code into live functions), some statements, or the module.

The old and new versions are compared statement by statement. A top-level statement whose text
did not change keeps its value; one that changed only inside function bodies needs no run, as
its functions take the new code in place; a new or otherwise changed statement runs again,
and so does every statement that calls at import time a function whose body changed
(`MODEL = _load()` after an edit of `_load`). Later statements that read a name whose value
then changes run too: that is decided while running (`execute.Run.run_statements`), since only
running tells whether a re-run `def` kept its function's identity. `decide` is the one entry.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import types
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from hotreload.engine.codeswap import CodeIndex
from hotreload.engine.registers import PLAIN_DECORATORS
from hotreload.engine.scope import FunctionNode, body_reads, changes_module_state, dotted_name
from hotreload.engine.statements import Analysis, Statement
from hotreload.lookup import is_a, own_attr
from hotreload.saveverdicts import RestartCause

PlanKind = Literal["code", "statements", "module"]

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__"}


@dataclass(frozen=True)
class Plan:
    """How a new version is applied, and the facts the run and the event need."""

    kind: PlanKind
    run: frozenset[int] = frozenset()  # new statements that run whatever else happens
    never: frozenset[int] = frozenset()  # statements that only bind `keep` names: never run
    edited: frozenset[int] = frozenset()  # new def/class statements changed inside bodies only
    why: str | None = None  # why the whole module runs
    removed: frozenset[int] = frozenset()  # old statements with no counterpart in the new version
    unstarred: tuple[str, ...] = ()  # `from M import *` statements removed: M, as written
    unbind: frozenset[str] = frozenset()  # names no statement binds any more: gone first
    added: frozenset[int] = frozenset()  # new statements (never run before in this module)
    remade: frozenset[str] = frozenset()  # values made again because a change to them went
    # Why the save cannot apply in place (nothing runs); the transaction makes the outcome.
    restart: tuple[RestartCause, ...] = ()
    # Functions whose behaviour changed (body edited, or their `def` ran again): a module that
    # calls one at import, or passes it to what it computes, runs that statement again.
    altered: frozenset[str] = frozenset()
    # Methods whose code changed, by name: a module that calls one at import on an instance
    # (`X = helpers.Helper().compute()`) runs that statement again.
    altered_methods: frozenset[str] = frozenset()
    # New statements paired with the old one they continue (same text, or edited in bodies):
    # what the old one registered is undone before it runs again, or carried over.
    pairs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Matching:
    """Old statements paired with new ones."""

    same: list[tuple[int, int]]  # identical text
    edited: list[tuple[int, int]]  # identical but for function bodies
    added: list[int]  # new statements with no old counterpart
    removed: list[int]  # old statements with no new counterpart


def match(old: Analysis, new: Analysis) -> Matching:
    """Pair statements by their text, then, where text differs, by their shape."""
    result = Matching([], [], [], [])
    for tag, i1, i2, j1, j2 in _text_changes(
        [s.text for s in old.statements], [s.text for s in new.statements]
    ):
        if tag == "equal":
            result.same.extend(zip(range(i1, i2), range(j1, j2), strict=True))
        elif tag == "insert":
            result.added.extend(range(j1, j2))
        elif tag == "delete":
            result.removed.extend(range(i1, i2))
        else:
            _match_shapes(old, new, range(i1, i2), range(j1, j2), result)
    return result


def _text_changes(old: list[str], new: list[str]) -> Sequence[tuple[str, int, int, int, int]]:
    """`SequenceMatcher(None, old, new, autojunk=False).get_opcodes()`, where each side's texts
    are all different (the usual module) matched only between the first and the last change:
    the same opcodes (the unchanged start and end are runs no other run can cross, as no text
    of one side is in two places), at a fraction of the cost of matching every statement."""
    if len(set(old)) != len(old) or len(set(new)) != len(new):
        return SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    middle = SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False
    )
    opcodes: list[tuple[str, int, int, int, int]] = [("equal", 0, head, 0, head)] if head else []
    opcodes += [
        (tag, i1 + head, i2 + head, j1 + head, j2 + head)
        for tag, i1, i2, j1, j2 in middle.get_opcodes()
    ]
    if tail:
        opcodes.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return opcodes


def _match_shapes(old: Analysis, new: Analysis, olds: range, news: range, result: Matching) -> None:
    if len(olds) == 1 and len(news) == 1:  # one statement edited (the usual save)
        a, b = old.node(olds[0]), new.node(news[0])
        if a is not None and b is not None and same_shape(a, b):
            result.edited.append((olds[0], news[0]))
        else:
            result.removed.append(olds[0])
            result.added.append(news[0])
        return
    shapes = SequenceMatcher(
        None,
        [_shape_of(old, i) for i in olds],
        [_shape_of(new, j) for j in news],
        autojunk=False,
    )
    for tag, i1, i2, j1, j2 in shapes.get_opcodes():
        if tag == "equal":
            pairs = zip(olds[i1:i2], news[j1:j2], strict=True)
            result.edited.extend(pairs)
        else:
            result.removed.extend(olds[i1:i2])
            result.added.extend(news[j1:j2])


def _shape_of(analysis: Analysis, index: int) -> str:
    node = analysis.node(index)
    return shape_key(node) if node is not None else f"<unparsed {index}>"


def shape_key(node: ast.AST) -> str:
    """A position-free dump of what runs when the statement runs: function bodies left out.

    Two statements with the same shape differ at most inside function bodies, which run only
    when called: swapping the functions' code applies the difference without running anything.
    """
    stripped: list[tuple[FunctionNode, list[ast.stmt]]] = []
    _strip_bodies(node, stripped)
    try:
        return ast.dump(node)
    finally:
        for function, body in stripped:
            function.body = body


def same_shape(a: ast.AST, b: ast.AST) -> bool:
    """``shape_key(a) == shape_key(b)``, without the dumps (`same_tree`, bodies left out)."""
    return same_tree(a, b, bodies=False)


def same_tree(a: ast.AST, b: ast.AST, *, bodies: bool = True) -> bool:
    """``ast.dump(a) == ast.dump(b)``, compared node by node (no dump is made, and the first
    difference ends it): the same classes and fields, positions aside, constants by type and
    `repr` as the dump writes them. Without ``bodies``, function bodies are left out."""
    if type(a) is not type(b):
        return False
    skip = None if bodies or not isinstance(a, FunctionNode) else "body"
    for name in a._fields:
        if name == skip:
            continue
        if not _same_value(getattr(a, name, None), getattr(b, name, None), bodies):
            return False
    return True


def _same_value(a: object, b: object, bodies: bool) -> bool:
    if isinstance(a, ast.AST):
        return isinstance(b, ast.AST) and same_tree(a, b, bodies=bodies)
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_same_value(x, y, bodies) for x, y in zip(a, b, strict=True))
        )
    if type(a) is not type(b):
        return False
    if type(a) in (str, int, bool, bytes) or a is None:
        return a == b
    return repr(a) == repr(b)  # floats (-0.0, nan), complex, Ellipsis: as dumped


def _strip_bodies(node: ast.AST, stripped: list[tuple[FunctionNode, list[ast.stmt]]]) -> None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        stripped.append((node, node.body))
        node.body = []
    for child in ast.iter_child_nodes(node):
        _strip_bodies(child, stripped)


def plan(
    old: Analysis,
    new: Analysis,
    *,
    live_names: Collection[str],
    keep: Collection[str] = (),
    force: Collection[str] = (),
    force_statements: Collection[int] = (),
    undoable: Callable[[int], bool] = lambda _index: False,
    matching: Matching | None = None,
) -> Plan:
    """Decide what the new version must run, from the two trees and the names bound now.

    ``undoable`` are old statements whose registrations with the standard library were
    recorded (`stdlibrecord`): removed or edited, they are undone, not a restart.

    ``force`` names top-level names whose statements must run in any case (the code swap found
    live functions it cannot give the new code); ``force_statements`` are statements (by index
    in ``new``) that must run: what they read of another module changed.
    """
    if old.future_flags != new.future_flags:
        return Plan("module", why="its `from __future__` imports changed")
    if matching is None:
        matching = match(old, new)
    removed = frozenset(matching.removed)
    run = set(matching.added) | set(force_statements)
    unstarred = tuple(raw for i in matching.removed for raw in old.statements[i].scope.star)
    # A name an old statement bound that a remaining statement still binds must take that
    # statement's value again (`X = 2` removed after `X = 1`); one nobody binds is removed,
    # before anything runs, so what read it reads what a fresh start reads (`str = bytes`).
    unbind: set[str] = set()
    remade: set[str] = set()
    causes: list[RestartCause] = []
    for i in matching.removed:
        scope = old.statements[i].scope
        for name in scope.binds:
            binders = new.binders(name)
            run.update(binders)
            if not binders and name not in keep:
                unbind.add(name)
        if undoable(i):
            continue  # what it changed is undone before anything runs
        for name in sorted(scope.mutates - scope.binds - set(keep)):
            cause = _remake(old.statements[i], name, (old, new), run)
            if cause is not None:
                causes.append(cause)
            remade.add(name)
        registered = registration(old, i)
        if registered is not None:
            causes.append(registered)
    # Functions that share a name (`@f.register def _`) are paired with their code by order:
    # where one was added or removed, every one runs again, so each is paired by its place.
    repeated = _repeated(old) | _repeated(new)
    for index in matching.added:
        if new.statements[index].definition in repeated:
            run.update(new.binders(new.statements[index].definition or ""))
    for index in matching.removed:
        if old.statements[index].definition in repeated:
            run.update(new.binders(old.statements[index].definition or ""))
    if causes:
        return Plan("module", restart=tuple(causes), removed=removed)
    for name in force:
        run.update(new.binders(name))
    edited = {j for _, j in matching.edited}
    run |= _later_binders(new, run)
    callers, altered, methods = _import_time_callers(old, new, matching, run)
    run |= callers
    run |= _missing_inputs(new, run, live_names)
    run |= _later_binders(new, run)
    never = {
        j
        for j, statement in enumerate(new.statements)
        if statement.scope.binds and statement.scope.binds <= set(keep)
    }
    run -= never
    dynamic = [j for j in sorted(run) if new.statements[j].scope.dynamic]
    if dynamic:
        statement = new.statements[dynamic[0]]
        return Plan(
            "module",
            why=f"line {statement.line} binds names the source does not show "
            "(`globals()`, `exec`, `eval`)",
            removed=removed,
        )
    kind: PlanKind = "statements" if run or unstarred or unbind else "code"
    return Plan(
        kind,
        frozenset(run),
        frozenset(never),
        frozenset(edited - run),
        unstarred=unstarred,
        altered=frozenset(altered),
        altered_methods=frozenset(methods),
        unbind=frozenset(unbind),
        added=frozenset(matching.added),
        remade=frozenset(remade),
        removed=removed,
        pairs=tuple((j, i) for i, j in [*matching.same, *matching.edited]),
    )


def _remake(
    removed: Statement, name: str, versions: tuple[Analysis, Analysis], run: set[int]
) -> RestartCause | None:
    """A statement that changed ``name``'s value in place (`SETTINGS["size"] = 25`) was
    removed or edited: the value is made again by the statements that bind it, and every
    later change to it runs again; where this module did not make it (an import), it cannot
    be made again here. A value the module made and no longer binds goes with its name."""
    old, new = versions
    binders = new.binders(name)
    made_before = [k for k in old.binders(name) if not old.statements[k].imports.modules]
    if not binders and made_before and len(made_before) == len(old.binders(name)):
        return None
    made_here = [k for k in binders if not new.statements[k].imports.modules]
    if binders and len(made_here) == len(binders):
        run.update(binders)
        return None
    if binders and all(new.statements[k].text.startswith("import ") for k in binders):
        if not changes_module_state(removed.scope, name):
            return None  # a module's function called (`time.sleep(1)`): nothing to undo
        # A call into a module's own state (`atexit.register(...)`, `sys.path.insert(...)`,
        # `logging.basicConfig(...)`): a side effect on the process.
        return RestartCause(
            "side_effect",
            f"a statement this save removes or edits changed the state of module `{name}` "
            "at import (a registration, a setting); it cannot be taken back in place",
            statement=removed.summary(),
            line=removed.line,
            name=name,
        )
    where = "another module made it" if binders else "no statement of the module binds it"
    return RestartCause(
        "import_state_changed",
        f"`{name}` was changed in place by a statement this save removes or edits, and "
        f"{where}: the change made at import cannot be undone here",
        statement=removed.summary(),
        line=removed.line,
        name=name,
    )


def _repeated(analysis: Analysis) -> set[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for statement in analysis.statements:
        if statement.definition is not None:
            (repeated if statement.definition in seen else seen).add(statement.definition)
    return repeated


def registration(
    old: Analysis, index: int, namespace: Mapping[str, object] | None = None
) -> RestartCause | None:
    """A definition that a decorator of another object registered (`@app.route(...)`,
    `@handle.register`): removed, re-decorated or run again, the registry keeps the old one."""
    statement = old.statements[index]
    if statement.definition is None or "@" not in statement.text:
        return None
    node = old.node(index)
    for decorator in getattr(node, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        dotted = dotted_name(target)
        if isinstance(node, ast.ClassDef) and dotted is not None:
            if dotted.rpartition(".")[2] in PLAIN_DECORATORS:
                continue
        elif dotted is not None and "." not in dotted:
            if not _stores_globally(old, dotted):
                continue  # a decorator of this module that keeps nothing (`@log_calls`)
        elif dotted is None:
            continue
        root = dotted.split(".")[0]
        if namespace is not None and _registers_by_key(namespace.get(root)):
            continue  # run again, it registers the same key again: nothing piles up
        binders = old.binders(root)
        if binders and all(old.statements[k].text.startswith("import ") for k in binders):
            if root != "atexit":
                continue  # a module's function (`@functools.cache`): it registers nothing
        return RestartCause(
            "side_effect",
            f"`{statement.definition}` was registered by `@{dotted}` when the module was "
            "imported; removing, re-decorating or running it again cannot take that "
            "registration back",
            statement=statement.summary(),
            line=statement.line,
            name=statement.definition,
        )
    return None


def _registers_by_key(value: object) -> bool:
    """A `functools.singledispatch` function: `@f.register` keys by type, so running the
    registration again replaces the entry it made."""
    # Read as stored (`lookup`): a live object's own `__getattr__` is never run by a reload.
    if not is_a(value, types.FunctionType):
        return False
    return own_attr(value, "dispatch") is not None and own_attr(value, "registry") is not None


_ADDERS = frozenset({"append", "add", "update", "setdefault", "insert", "extend", "register"})


def _stores_globally(analysis: Analysis, name: str) -> bool:
    """Whether a decorator defined in the module (``name``) stores what it is given in a
    module-level value (`ROUTES[path] = fn`, `HANDLERS.append(fn)`): a registration."""
    binders = [k for k in analysis.binders(name) if analysis.statements[k].is_function]
    if not binders:
        return False
    node = analysis.node(binders[-1])
    if node is None:
        return False
    local = {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)} | {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for found in ast.walk(node):
        target: ast.expr | None = None
        if isinstance(found, ast.Subscript | ast.Attribute) and not isinstance(found.ctx, ast.Load):
            target = found.value
        elif (
            isinstance(found, ast.Call)
            and isinstance(found.func, ast.Attribute)
            and found.func.attr in _ADDERS
        ):
            target = found.func.value
        while isinstance(target, ast.Attribute | ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name) and target.id not in local and analysis.binders(target.id):
            return True
    return False


def import_time_uses(statement: Statement) -> frozenset[str]:
    """The names a statement may call while it runs: those it calls, and, for one that binds
    a value, every name it reads (`TABLE = sorted(ROWS, key=_by_stock)` calls `_by_stock`
    inside `sorted`). A bare expression statement that passes a function on (`app.add(view)`)
    registers the live object, which takes new code in place: it need not run again."""
    scope = statement.scope
    return scope.calls | scope.reads if scope.binds else scope.calls


def _may_call(statement: Statement, names: frozenset[str]) -> bool:
    """Whether `import_time_uses` of the statement has any of ``names``, making no set."""
    scope = statement.scope
    return not scope.calls.isdisjoint(names) or (
        bool(scope.binds) and not scope.reads.isdisjoint(names)
    )


def _import_time_callers(
    old: Analysis, new: Analysis, matching: Matching, run: set[int]
) -> tuple[set[int], set[str], set[str]]:
    """Statements that call, while the module runs, a function whose behaviour changed; the
    functions whose behaviour changed; and the methods whose code changed, by name.

    `MODEL = _load()` must run again when `_load`'s body changed (or a function `_load` calls
    did); `@log_calls` need not be applied again when only the wrapper it returns changed, as
    the live wrappers take the new code.
    """
    changed = {new.statements[j].definition for j in run} | {
        new.statements[j].definition
        for i, j in matching.edited
        if new.statements[j].is_function and _behaviour_changed(old.node(i), new.node(j))
    }
    # A class whose construction changed (`__init__`, `__post_init__`...): what built an
    # instance at import builds it again.
    changed |= {
        new.statements[j].definition
        for i, j in matching.edited
        if new.statements[j].definition is not None
        and not new.statements[j].is_function
        and _construction(old.node(i)) != _construction(new.node(j))
    }
    changed.discard(None)
    altered = {name for name in changed if name is not None}
    # A method whose code changed, called at import on an instance (`Helper().compute()`).
    methods = {
        method
        for i, j in matching.edited
        if new.statements[j].definition is not None and not new.statements[j].is_function
        for method in _changed_methods(old.node(i), new.node(j))
    }
    by_method = (
        {
            j
            for j, s in enumerate(new.statements)
            if not s.scope.methods.isdisjoint(methods)
            and s.scope.binds
            and not s.definition
            and j not in run
        }
        if methods
        else set()
    )
    if not altered:
        return by_method, altered, methods
    # Asked of every statement at every save: no set made for one that uses none of them.
    defined = frozenset(s.definition for s in new.statements if s.definition)
    called = {
        j: import_time_uses(s) & defined
        for j, s in enumerate(new.statements)
        if j not in run and _may_call(s, defined)
    }
    if not called:
        return by_method, altered, methods
    reach = Reach(new, altered)
    callers = {j for j, names in called.items() if any(reach.reaches(n) for n in names)}
    return (callers | by_method) - run, altered, methods


class Reach:
    """Which functions of a version reach, by calls in their bodies, one whose behaviour
    changed (``altered``); each body is parsed once, only when asked about."""

    def __init__(self, analysis: Analysis, altered: Collection[str]) -> None:
        self.analysis = analysis
        self.altered = set(altered)
        self.functions = {
            s.definition: j for j, s in enumerate(analysis.statements) if s.definition
        }
        self._known: dict[str, bool] = {}

    def reaches(self, name: str, seen: set[str] | None = None) -> bool:
        if name in self.altered:
            return True
        if name not in self.functions:
            return False
        if name in self._known:
            return self._known[name]
        seen = set() if seen is None else seen
        seen.add(name)
        node = self.analysis.node(self.functions[name])
        if isinstance(node, ast.ClassDef):
            return False  # a class whose construction changed is in `altered` itself
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return True  # cannot tell: run the caller
        callees = (body_reads(node) & self.functions.keys()) - seen
        result = any(self.reaches(callee, seen) for callee in callees)
        self._known[name] = result
        return result


# What runs when a class is called or subclassed: its instances made at import ran these.
_CONSTRUCTION = frozenset(
    {"__init__", "__new__", "__post_init__", "__init_subclass__", "__set_name__", "__call__"}
)


def _construction(node: ast.stmt | None) -> list[str]:
    """The class's construction methods, as written (compared between versions)."""
    if not isinstance(node, ast.ClassDef):
        return []
    return [
        ast.dump(item)
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in _CONSTRUCTION
    ]


def _changed_methods(old: ast.stmt | None, new: ast.stmt | None) -> set[str]:
    """The methods of a class whose definition differs between two versions of it."""
    if not isinstance(old, ast.ClassDef) or not isinstance(new, ast.ClassDef):
        return set()
    kinds = ast.FunctionDef | ast.AsyncFunctionDef
    before = {f.name: ast.dump(f) for f in old.body if isinstance(f, kinds)}
    return {f.name for f in new.body if isinstance(f, kinds) and before.get(f.name) != ast.dump(f)}


class Inputs:
    """What a module's functions read when called, transitively through the module's other
    functions: a statement that calls one at import reads that too (`MODEL = _load()` reads
    the `SCALE` that `_load` reads). Each body is parsed once, only when asked about."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.functions = {
            s.definition: j for j, s in enumerate(analysis.statements) if s.is_function
        }
        self._known: dict[str, frozenset[str]] = {}

    def of(self, statement: Statement) -> set[str]:
        """The names a statement reads through the module functions it calls at import."""
        found: set[str] = set()
        for name in import_time_uses(statement) & self.functions.keys():
            found |= self._deep(name, set())
        return found

    def _deep(self, name: str, seen: set[str]) -> frozenset[str]:
        if name in self._known:
            return self._known[name]
        seen.add(name)
        node = self.analysis.node(self.functions[name])
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return frozenset()
        reads = set(body_reads(node))
        for callee in (reads & self.functions.keys()) - seen:
            reads |= self._deep(callee, seen)
        result = frozenset(reads)
        self._known[name] = result
        return result


def _behaviour_changed(old: ast.stmt | None, new: ast.stmt | None) -> bool:
    """Whether calling a function now does something else than before (the code that a call
    runs, not closures it returns for later)."""
    if not isinstance(old, ast.FunctionDef | ast.AsyncFunctionDef) or not isinstance(
        new, ast.FunctionDef | ast.AsyncFunctionDef
    ):
        return True  # cannot tell: count it as changed
    if len(old.body) != len(new.body) or not all(
        same_shape(a, b) for a, b in zip(old.body, new.body, strict=True)
    ):
        return True
    # Same outer code: only nested function bodies differ. That matters where the outer body
    # calls the nested function itself (`return helper()`), not where it returns it.
    called = {
        node.func.id
        for statement in new.body
        for node in _walk_outer(statement)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return any(
        isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)
        and a.name in called
        and ast.dump(a) != ast.dump(b)
        for a, b in zip(old.body, new.body, strict=True)
    )


def _walk_outer(node: ast.AST) -> Iterable[ast.AST]:
    """`ast.walk`, without entering nested function bodies."""
    yield node
    children = (
        [*node.decorator_list, node.args]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        else ast.iter_child_nodes(node)
    )
    for child in children:
        yield from _walk_outer(child)


def _later_binders(new: Analysis, run: set[int]) -> set[int]:
    """Later statements that bind a name a statement to run binds: a name keeps the value of its
    last binder, as at a fresh start. An `@overload` that runs again (its annotations read a
    class made again) would otherwise leave the name with the overload's dummy, not the
    implementation below it that did not change."""
    if not run:  # a body edit (most saves): no index of the module's binders to make
        return set()
    binders: dict[str, list[int]] = {}
    for k, statement in enumerate(new.statements):
        for name in statement.scope.binds:
            binders.setdefault(name, []).append(k)
    added: set[int] = set()
    pending = sorted(run)
    while pending:
        j = pending.pop()
        for name in new.statements[j].scope.binds:
            for k in binders[name]:
                if k > j and k not in run and k not in added:
                    added.add(k)
                    pending.append(k)
    return added


def _missing_inputs(new: Analysis, run: set[int], live_names: Collection[str]) -> set[int]:
    """Earlier statements that bind what a statement to run reads and the module lacks now.

    A temporary deleted at import (`_rows = load(); TABLE = index(_rows); del _rows`) is gone
    from the live module: running `TABLE = ...` alone would fail, so `_rows = load()` runs too.
    """
    added: set[int] = set()
    pending = sorted(run, reverse=True)
    while pending:
        j = pending.pop()
        for name in new.statements[j].scope.reads - _BUILTINS:
            if name in live_names:
                continue
            earlier = [k for k in new.binders(name) if k < j]
            if earlier and earlier[-1] not in run | added:
                added.add(earlier[-1])
                pending.append(earlier[-1])
    return added


def decide(
    old: tuple[Analysis, CodeIndex],
    new: tuple[Analysis, CodeIndex],
    *,
    live_names: Collection[str],
    keep: Collection[str],
    force: set[str],
    reached: set[tuple[str, int]],
    force_statements: Collection[int] = (),
    undoable: Callable[[int], bool] = lambda _index: False,
    matching: Matching | None = None,
) -> Plan:
    """What a save runs, decided once, here: the statement plan (`plan`), widened by the
    definitions whose live functions the code swap could not reach (``reached`` holds the code
    keys it found). ``force`` names statements to run whatever their text (closures the swap
    cannot update, names another module replaced). ``matching`` is `match` of the two
    versions where it was found already."""
    if matching is None:
        matching = match(old[0], new[0])
    decided = plan(
        old[0],
        new[0],
        live_names=live_names,
        keep=keep,
        force=force,
        force_statements=force_statements,
        undoable=undoable,
        matching=matching,
    )
    unreached = _unreached(old[1], new, decided, reached)
    if unreached and decided.kind != "module":
        decided = plan(
            old[0],
            new[0],
            live_names=live_names,
            keep=keep,
            force=force | unreached,
            force_statements=force_statements,
            undoable=undoable,
            matching=matching,
        )
    return decided


def _unreached(
    old: CodeIndex, new: tuple[Analysis, CodeIndex], decided: Plan, reached: set[tuple[str, int]]
) -> set[str]:
    """Definitions edited inside their bodies whose live functions were not found.

    A decorator may keep the function where the search does not look (a registry of its own):
    then the `def` runs again rather than leaving the edit unapplied.
    """
    analysis, codes = new
    edited = {analysis.statements[i].definition for i in decided.edited} - {None}
    return {
        root
        for key, code in codes.by_key.items()
        if key not in reached
        and "<" not in key[0]  # made when called (closures, lambdas): none live from import
        and (root := key[0].partition(".")[0]) in edited
        and code.co_flags & inspect.CO_OPTIMIZED  # a function's code, not a class body's
        and old.by_key.get(key) != code
    }
