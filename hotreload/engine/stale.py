"""Accepted, but not running: changed functions that no later call will run until a restart.

A save patches functions in place, so the *next* call of a function runs its new code. A call
that is running now keeps the code it started with until it returns (Python cannot move a
running frame to other code, as .NET's Edit and Continue can for its "active statements").
Most calls return within milliseconds and nothing needs saying. Two cases never catch up:

- ``still_running``: the changed function runs now in a call that does not return: the host's
  ``[app] entry`` (called once), a ``while True`` loop, or the ``while`` loop of a thread's
  target or a task's coroutine. Found on the threads' stacks (`sys._current_frames`: stacks
  only, no heap walk) and in the asyncio tasks' chains of awaits.
- ``startup_only``: every call of the changed function in the project is on a line that such
  a call has already passed (`setup()` before the loop of `main`), in a function that ran
  once and returned (the served app's factory), or in a function called only so (`init()`
  before the loop, which calls `load_config()`): nothing calls it again.

A false warning is worse than none, so every doubt means silence: a function passed around
(a callback, a thread's target, a reference stored anywhere), called through an attribute the
source does not resolve to its module, imported under another name, or called in a loop
around the line that runs now, is never said to be start-up only. Calls at the top level of a
module are never stale either: the engine runs a statement again when a function it calls at
import changed (`MODEL = load()`).

Frames are walked once per batch, after the saves are applied (calls that never return are
there before and after). Sources are read a top-level statement at a time, only the statements
that write a changed function's name or hold a running `def`, once per version.
"""

from __future__ import annotations

import ast
import dis
import sys
import threading
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotreload.engine.codeswap import CodeIndex
from hotreload.engine.scope import dotted_name
from hotreload.engine.source import decode_source
from hotreload.engine.statements import Analysis
from hotreload.lookup import instance_dict
from hotreload.parsing import parse
from hotreload.saveverdicts import StaleWarning
from hotreload.verdicts import Failure

RESTART = "restart the host to apply it (stop `hotreload up` and start it again)"
_LOOP_HINT = (
    "; to edit a loop while it runs, move its body into a function that the loop calls: "
    "each call runs the latest code"
)


@dataclass(frozen=True)
class Frame:
    """A call running now in one of the project's files, as the stack walk saw it: on a
    thread's stack, or a coroutine waiting in an asyncio task (``task``)."""

    thread: str  # the thread's name, or `asyncio task NAME`
    code: types.CodeType
    line: int
    # The target of its thread (or a `Thread` subclass's `run`), or its task's own coroutine.
    thread_target: bool
    task: bool = False

    @property
    def runner(self) -> str:
        """Where it runs, for a person: `thread 'MainThread'`, `asyncio task 'poll'`."""
        if self.task:
            return f"asyncio task {self.thread.removeprefix('asyncio task ')!r}"
        return f"thread {self.thread!r}"


@dataclass(frozen=True)
class Source:
    """One version of a module's source, as the warnings need it."""

    name: str  # the module's dotted name
    path: Path
    raw: bytes  # the source as read: decoded and parsed only where needed
    package: str  # what a relative import in it starts from
    namespace: Mapping[str, object]
    analysis: Analysis | None = None  # the engine's statements of this version, where it has them

    @staticmethod
    def of(
        name: str,
        path: Path,
        raw: bytes,
        namespace: Mapping[str, object],
        analysis: Analysis | None = None,
    ) -> Source:
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        return Source(name, path, raw, package, namespace, analysis)


def running_frames(files: Callable[[str], bool]) -> list[Frame]:
    """Every frame of every thread, and every coroutine waiting in an asyncio task, whose code
    comes from a file ``files`` accepts."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    found: list[Frame] = []
    asked: dict[str, bool] = {}

    def project(filename: str) -> bool:
        known = asked.get(filename)
        if known is None:
            known = asked[filename] = files(filename)
        return known

    top_frames = sys._current_frames()
    try:
        for ident, top in top_frames.items():
            frame: types.FrameType | None = top
            while frame is not None:
                code = frame.f_code
                if project(code.co_filename):
                    caller = frame.f_back
                    target = (
                        caller is not None
                        and caller.f_code.co_filename == threading.__file__
                        # `Thread.run` calls a target; `_bootstrap_inner` a subclass's `run`
                        and caller.f_code.co_name in ("run", "_bootstrap_inner")
                    )
                    line = frame.f_lineno or code.co_firstlineno
                    found.append(Frame(names.get(ident, f"thread {ident}"), code, line, target))
                frame = frame.f_back
    finally:
        del top_frames  # frames hold every local of every thread: never keep them
    return found + _task_frames(project)


_COROUTINES = (types.CoroutineType, types.GeneratorType)


def _task_frames(files: Callable[[str], bool]) -> list[Frame]:
    """The coroutines waiting in asyncio tasks (an `await` is on no thread's stack): each task's
    chain of awaits, read from the tasks asyncio registers (a set another thread may change
    meanwhile: tried again, else left out). Only coroutine and generator objects are looked
    into; what they await otherwise (a future, a user's awaitable) is not."""
    registry = sys.modules.get("asyncio.tasks")
    if registry is None:
        return []
    tasks: list[object] = []
    for attribute in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):
        registered = registry.__dict__.get(attribute)
        for _ in range(3):
            try:
                tasks += list(registered) if registered is not None else []
                break
            except RuntimeError:  # changed while read
                continue
    found_type = registry.__dict__.get("Task")
    if not isinstance(found_type, type):
        return []
    task_type: Any = found_type  # asyncio's Task: its methods, called as functions
    found: list[Frame] = []
    # By identity, and through asyncio's own methods: a task subclass's code never runs here.
    for task in {id(task): task for task in tasks}.values():
        if not issubclass(type(task), task_type):
            continue
        awaiting, first = task_type.get_coro(task), True
        while type(awaiting) in _COROUTINES:
            frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
            busy = getattr(awaiting, "cr_running", False) or getattr(awaiting, "gi_running", False)
            if frame is None or busy:
                break  # finished, or running now: on its thread's stack
            code = frame.f_code
            if files(code.co_filename):
                line = frame.f_lineno or code.co_firstlineno
                name = task_type.get_name(task)
                found.append(Frame(f"asyncio task {name}", code, line, first, True))
            first = False
            awaiting = getattr(awaiting, "cr_await", None) or getattr(
                awaiting, "gi_yieldfrom", None
            )
    return found


_MAIN_SCRIPT: dict[Path, tuple[tuple[int, int], bytes]] = {}


def main_script(tracked: Collection[Path]) -> Source | None:
    """The script run as `__main__` (`python host.py`), which never reloads but may call the
    project's functions; read again only when its file changed."""
    main = sys.modules.get("__main__")
    namespace = instance_dict(main) if main is not None else None
    filename = namespace.get("__file__") if namespace is not None else None
    if not isinstance(filename, str) or not filename.endswith(".py"):
        return None
    path = Path(filename).resolve()
    if path in tracked:
        return None
    try:
        stat = path.stat()
        mark = (stat.st_mtime_ns, stat.st_size)
        cached = _MAIN_SCRIPT.get(path)
        if cached is None or cached[0] != mark:
            cached = _MAIN_SCRIPT[path] = (mark, path.read_bytes())
    except OSError:
        return None
    assert namespace is not None
    return Source.of("__main__", path, cached[1], namespace)


def same_behaviour(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects do the same, wherever their lines are (a function that moved
    down a line takes new code, yet a call running it runs what it would run) and whatever
    their docstrings say (a docstring added renumbers the constants, not what runs)."""
    if a is b or _same_code(a, b):
        return True
    return a.co_flags == b.co_flags and _instructions(a) == _instructions(b)


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """The quick comparison: the same instructions on the same constants and names."""
    if (
        a.co_code != b.co_code
        or a.co_names != b.co_names
        or a.co_varnames != b.co_varnames
        or a.co_freevars != b.co_freevars
        or a.co_cellvars != b.co_cellvars
        or a.co_flags != b.co_flags
        or a.co_exceptiontable != b.co_exceptiontable
        or len(a.co_consts) != len(b.co_consts)
    ):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if type(x) is types.CodeType and type(y) is types.CodeType:
            if not same_behaviour(x, y):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _instructions(code: types.CodeType) -> list[object]:
    """What runs, by value: each instruction with the constant, name or nested code it uses
    (not the index it has in this code object's tables, nor its line)."""
    found: list[object] = [code.co_argcount, code.co_kwonlyargcount, code.co_freevars]
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("RESUME", "NOP", "CACHE", "EXTENDED_ARG"):
            continue
        value = instruction.argval
        if type(value) is types.CodeType:
            value = ("code", value.co_flags, tuple(_instructions(value)))
        elif not isinstance(value, str | int | float | bytes | bool | tuple | frozenset | None):
            value = repr(value)
        found.append((instruction.opname, type(value).__name__, value))
    return found


def same_lines(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects of a function stand on the same lines (the running one may
    be compiled otherwise: a module imported whole reads `time.sleep` as an attribute of an
    import, the engine's statement alone as a method; their lines are the same)."""
    return a is b or (a.co_firstlineno == b.co_firstlineno and _lines(a) == _lines(b))


def _lines(code: types.CodeType, shift: int = 0) -> set[int]:
    return {line + shift for *_, line in code.co_lines() if line is not None}


def aligned(frame: Frame, code: types.CodeType) -> Frame | None:
    """The running call as if it ran ``code``, where ``code`` stands on the same lines as the
    call's own, or on lines all moved by the same amount (an edit above the function since the
    call started); None where the lines differ otherwise."""
    shift = code.co_firstlineno - frame.code.co_firstlineno
    if frame.code is not code and _lines(frame.code, shift) != _lines(code):
        return None
    return Frame(frame.thread, code, frame.line + shift, frame.thread_target, frame.task)


# -- syntax trees, once per version ------------------------------------------------------------


@dataclass
class _Ref:
    """One place a name is used in a module: a `Name`, an attribute, an import under an alias."""

    kind: str  # "name", "attr", "import_as"
    line: int
    end_line: int
    is_call: bool  # the callee of a call: `f(...)`, `m.f(...)`
    target: str | None  # for an attribute: the dotted name it is read from (`m`, `pkg.m`)
    function: ast.FunctionDef | ast.AsyncFunctionDef | None  # the top-level def it is in
    nested: bool  # inside a def, lambda or class within that def (or a class at the top)
    loops: tuple[tuple[int, int], ...]  # spans of the loops around it, within its function
    main_guard: bool  # under `if __name__ == "__main__":` at the top level: never runs here


class _Found:
    """What walking some statements found: every use of every name, every `def` by (first
    line, name)."""

    def __init__(self, body: list[ast.stmt]) -> None:
        self.body = body
        self.refs: dict[str, list[_Ref]] = {}
        self.defs: dict[tuple[int, str], ast.FunctionDef | ast.AsyncFunctionDef] = {}


def _parse(text: str, first_line: int) -> list[ast.stmt] | None:
    """The statements of ``text``, with their lines where they stand in the file."""
    try:
        body = parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if first_line > 1:
        for node in body:
            ast.increment_lineno(node, first_line - 1)
    return body


def _walk(body: list[ast.stmt]) -> _Found:
    found = _Found(body)
    for node in body:
        for inner in ast.walk(node):
            if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                first = inner.decorator_list[0].lineno if inner.decorator_list else inner.lineno
                found.defs[(first, inner.name)] = inner
    _Walker(found).top(body)
    return found


class _Tree:
    """One version of a module's source, parsed a top-level statement at a time, and only the
    statements a question needs (those that write a name; the one that holds a `def`), where
    the engine has the version's statements; else the whole file, once."""

    def __init__(self, text: str, analysis: Analysis | None) -> None:
        if analysis is not None:
            self.spans = [
                (s.line, s.line + max(len(s.text.splitlines()), 1) - 1, s.text)
                for s in analysis.statements
            ]
        else:
            self.spans = [(1, text.count("\n") + 1, text)]
        self._found: dict[int, _Found | None] = {}
        self._refs: dict[str, list[_Ref]] = {}
        self._imports: tuple[dict[str, tuple[str, int]], dict[str, str]] | None = None

    def _statement(self, index: int) -> _Found | None:
        if index not in self._found:
            first, _, text = self.spans[index]
            body = _parse(text, first)
            self._found[index] = None if body is None else _walk(body)
        return self._found[index]

    def readable(self) -> bool:
        """Whether every statement parses (a single-span version: the file)."""
        return len(self.spans) > 1 or self._statement(0) is not None

    def refs(self, name: str) -> list[_Ref] | None:
        """Every use of ``name`` (None if a statement that writes it cannot be read)."""
        if name not in self._refs:
            found: list[_Ref] = []
            for index, (_, _, text) in enumerate(self.spans):
                if name not in text:
                    continue
                walked = self._statement(index)
                if walked is None:
                    return None
                found += walked.refs.get(name, [])
            self._refs[name] = found
        return self._refs[name]

    def decorated(self, name: str) -> bool:
        """Whether a top-level `def` of ``name`` has decorators (one may have registered the
        function anywhere: an `atexit`, a signal, a framework's hook), or cannot be read."""
        for index, (_, _, text) in enumerate(self.spans):
            if f"def {name}" not in text:
                continue
            walked = self._statement(index)
            if walked is None:
                return True
            for node in walked.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                    if node.decorator_list:
                        return True
        return False

    def def_at(self, first_line: int, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The `def` (at any depth) whose first line (its first decorator's) is ``first_line``."""
        for index, (first, last, _) in enumerate(self.spans):
            if first <= first_line <= last:
                walked = self._statement(index)
                return None if walked is None else walked.defs.get((first_line, name))
        return None

    @property
    def from_imports(self) -> dict[str, tuple[str, int]]:
        """Names the module's top level imports from a module: name -> (module, level)."""
        return self._read_imports()[0]

    @property
    def module_aliases(self) -> dict[str, str]:
        """Names the module's top level binds to modules: name -> module."""
        return self._read_imports()[1]

    def _read_imports(self) -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
        if self._imports is None:
            names: dict[str, tuple[str, int]] = {}
            aliases: dict[str, str] = {}
            for first, _, text in self.spans:
                if len(self.spans) > 1 and not text.lstrip().startswith(("import", "from")):
                    continue
                body = _parse(text, first) or []
                for statement in body:
                    if isinstance(statement, ast.ImportFrom):
                        for alias in statement.names:
                            if alias.asname is None and alias.name != "*":
                                names[alias.name] = (statement.module or "", statement.level)
                    elif isinstance(statement, ast.Import):
                        for alias in statement.names:
                            head = alias.name.split(".")[0]
                            aliases[alias.asname or head] = alias.name if alias.asname else head
            self._imports = (names, aliases)
        return self._imports


class _Walker:
    """Records every use of every name, with where it is (function, loops, nesting)."""

    def __init__(self, built: _Found) -> None:
        self.built = built

    def top(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                for part in [*statement.decorator_list, *_defaults(statement)]:
                    self.visit(part, None, False, (), False)
                for item in statement.body:
                    self.visit(item, statement, False, (), False)
            else:
                guard = _is_main_guard(statement)
                self.visit(statement, None, isinstance(statement, ast.ClassDef), (), guard)

    def visit(
        self,
        node: ast.AST,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        nested: bool,
        loops: tuple[tuple[int, int], ...],
        guard: bool,
    ) -> None:
        stack: list[tuple[ast.AST, bool, tuple[tuple[int, int], ...]]] = [(node, nested, loops)]
        while stack:
            item, inner, around = stack.pop()
            if isinstance(item, ast.Call):
                callee = item.func
                if isinstance(callee, ast.Name):
                    self._add(callee.id, "name", item, True, None, function, inner, around, guard)
                elif isinstance(callee, ast.Attribute):
                    self._attr(callee, item, True, function, inner, around, guard)
                    stack.append((callee.value, inner, around))
                else:
                    stack.append((callee, inner, around))
                for part in [*item.args, *item.keywords]:
                    stack.append((part, inner, around))
                continue
            if isinstance(item, ast.Name):
                self._add(item.id, "name", item, False, None, function, inner, around, guard)
            elif isinstance(item, ast.Attribute):
                self._attr(item, item, False, function, inner, around, guard)
            elif isinstance(item, ast.alias) and item.asname is not None:
                self._add(
                    item.name.split(".")[-1],
                    "import_as",
                    None,
                    False,
                    None,
                    function,
                    inner,
                    around,
                    guard,
                )
            elif isinstance(item, ast.Global | ast.Nonlocal):
                for name in item.names:
                    self._add(name, "name", item, False, None, function, inner, around, guard)
            if isinstance(item, ast.For | ast.AsyncFor | ast.While):
                around = (*around, (item.lineno, item.end_lineno or item.lineno))
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                inner = True
            stack.extend((child, inner, around) for child in ast.iter_child_nodes(item))

    def _attr(
        self,
        node: ast.Attribute,
        at: ast.AST,
        is_call: bool,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        nested: bool,
        loops: tuple[tuple[int, int], ...],
        guard: bool,
    ) -> None:
        self._add(
            node.attr, "attr", at, is_call, dotted_name(node.value), function, nested, loops, guard
        )

    def _add(
        self,
        name: str,
        kind: str,
        at: ast.AST | None,
        is_call: bool,
        target: str | None,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        nested: bool,
        loops: tuple[tuple[int, int], ...],
        guard: bool,
    ) -> None:
        line = getattr(at, "lineno", 0) or 0
        end = getattr(at, "end_lineno", None) or line
        ref = _Ref(kind, line, end, is_call, target, function, nested, loops, guard)
        self.built.refs.setdefault(name, []).append(ref)


def _defaults(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """What a `def` statement evaluates where it stands: defaults and annotations."""
    args = node.args
    parts: list[ast.AST] = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
    everything = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    parts += [a.annotation for a in everything if a is not None and a.annotation is not None]
    if node.returns is not None:
        parts.append(node.returns)
    return parts


def _is_main_guard(statement: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, which never runs in an imported module."""
    if not isinstance(statement, ast.If) or not isinstance(statement.test, ast.Compare):
        return False
    test = statement.test
    sides = [test.left, *test.comparators]
    return (
        len(sides) == 2
        and isinstance(test.ops[0], ast.Eq)
        and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        and not statement.orelse
    )


@dataclass(frozen=True)
class _Scope:
    """What a function binds itself: names it assigns (parameters, assignments, definitions),
    and names it binds only by importing them (`from . import db` in Flask's `create_app`)."""

    bound: frozenset[str]
    from_imports: Mapping[str, tuple[str, int]]  # name -> (module, level)
    module_aliases: Mapping[str, str]  # name -> module


def _scope_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> _Scope:
    args = function.args
    bound = {
        a.arg
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if a is not None
    }
    declared: set[str] = set()
    from_imports: dict[str, tuple[str, int]] = {}
    aliases: dict[str, str] = {}
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname is None and alias.name != "*":
                    from_imports[alias.name] = (node.module or "", node.level)
                else:
                    bound.add(alias.asname or "*")
            continue
        elif isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")[0]
                aliases[alias.asname or head] = alias.name if alias.asname else head
            continue
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            continue  # their own bodies are their own scopes
        elif isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    bound -= declared
    # A name both imported and bound otherwise is not known to be the import: bound.
    imported = (from_imports.keys() | aliases.keys()) - bound
    return _Scope(
        frozenset(bound),
        {k: v for k, v in from_imports.items() if k in imported},
        {k: v for k, v in aliases.items() if k in imported},
    )


class Trees:
    """The project's sources as the warnings read them, one `_Tree` per version: the cache
    holds the bytes of the version it read (a version's bytes are one object while it runs),
    so a new version is read afresh and an old one is let go."""

    def __init__(self) -> None:
        self._trees: dict[tuple[Path, bool], tuple[bytes, _Tree | None]] = {}

    def of(self, source: Source, *, old: bool = False) -> _Tree | None:
        """``old``: the version a save replaced (kept apart, so the two do not evict each
        other while a batch looks at both)."""
        key = (source.path, old)
        cached = self._trees.get(key)
        if cached is not None and cached[0] is source.raw:
            return cached[1]
        text = decode_source(source.raw, source.path)
        built = None if isinstance(text, Failure) else _Tree(text, source.analysis)
        if built is not None and not built.readable():
            built = None
        self._trees[key] = (source.raw, built)
        return built


# -- the two warnings ----------------------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    """One accepted save of a module: what ran before and what runs now."""

    source: Source  # the new version
    old_raw: bytes  # the version it replaced
    old_analysis: Analysis | None
    old: CodeIndex
    new: CodeIndex
    functions: Collection[str]  # top-level functions the save may have changed (not exports)


class StaleCalls:
    """Finds the warnings of the saves of one batch; ``entries`` are the host's entry
    functions (`[app] entry`) as (file, qualified name): each is called once."""

    def __init__(
        self,
        root: Path,
        trees: Trees,
        entries: Collection[tuple[str, str]],
        ran_once: Mapping[tuple[str, str], str] | None = None,
        restarts: bool = False,
    ) -> None:
        """``ran_once``: functions that ran once at start and returned, by (module, name), with
        what they were (the app factory); ``restarts``: the server restarts itself when a
        change to what they call is accepted."""
        self.root = root
        self.trees = trees
        self.entries = entries
        self.ran_once = ran_once or {}
        self.restarts = restarts

    def still_running(self, changed: Changed, frames: Iterable[Frame]) -> list[StaleWarning]:
        """Calls of the changed functions that run now and do not return."""
        warnings: list[StaleWarning] = []
        said: set[tuple[str, str]] = set()
        filename = str(changed.source.path)
        home = changed.source
        old_source = Source(
            home.name,
            home.path,
            changed.old_raw,
            home.package,
            home.namespace,
            changed.old_analysis,
        )
        for frame in frames:
            code = frame.code
            if code.co_filename != filename or (frame.thread, code.co_qualname) in said:
                continue
            key = changed.old.key_of(code) or _only_key(changed.old, code.co_qualname)
            before = changed.old.by_key.get(key) if key is not None else None
            after = changed.new.by_key.get(key) if key is not None else None
            if before is None or after is None or same_behaviour(before, after):
                continue  # not this save's change (or a definition it removed: `removed`)
            if same_behaviour(code, after):
                continue  # a call that started after the swap runs the new code
            # Its loops are looked for in the version it replaced, where its lines stand.
            moved = aligned(frame, before)
            tree = self.trees.of(old_source, old=True) if moved is not None else None
            found = self._never_returns(moved or frame, tree)
            if found is None:
                continue
            why, looping = found
            said.add((frame.thread, code.co_qualname))
            name = code.co_qualname
            where = f"{self._file(changed.source.path)}:{(moved or frame).line}"
            message = (
                f"`{name}` changed while a call of it runs in {frame.runner} "
                f"({where}) that will not return: {why}; that call keeps the code it started "
                f"with: {RESTART}" + (_LOOP_HINT if looping else "")
            )
            warnings.append(
                StaleWarning(
                    "still_running",
                    name,
                    frame.thread,
                    self._file(changed.source.path),
                    frame.line,
                    message,
                )
            )
        return warnings

    def startup_only(
        self,
        changed: Changed,
        frames: list[Frame],
        source_at: Callable[[str], Source | None],
        named: Callable[[str], Source | None],
        sources: Callable[[str], list[Source]],
    ) -> list[StaleWarning]:
        """Changed functions whose every call in the project already ran, in calls that do
        not return (`setup()` before the loop of `main`), or in a function that ran once (the
        app factory). ``source_at`` and ``named`` give the current version of a file's or a
        module's source, ``sources`` every source of the project that writes a name (asked for
        only when a changed function is named where such a call is)."""
        if not changed.functions:
            return []
        # The calls that do not return and run the current code of a top-level function: only
        # in those can a line be known to have passed for good.
        holders: dict[tuple[str, str], list[tuple[Frame, str]]] = {}
        stuck: set[tuple[str, str]] = set()
        running: list[tuple[tuple[str, str], Frame, Source]] = []
        for frame in frames:
            source = source_at(frame.code.co_filename)
            if source is None or "." in frame.code.co_qualname:
                continue
            key = (source.name, frame.code.co_name)
            current = source.namespace.get(frame.code.co_name)
            # Its lines are read in the current version: they must stand where the call's do.
            moved = (
                aligned(frame, current.__code__) if type(current) is types.FunctionType else None
            )
            if moved is None:
                stuck.add(key)  # a call that will return: its function may call anything again
            else:
                running.append((key, moved, source))
        once = {m: ran for m, _ in self.ran_once if (ran := named(m)) is not None}
        # A changed function named in none of those calls' modules (nor the factory's) cannot
        # be called from them alone: said before any of their trees is parsed (the first save of
        # an app whose entry imports a thousand modules would parse that entry for nothing).
        maybe = [source for _, _, source in running] + list(once.values())
        if not any(_named_in(name, maybe) for name in changed.functions):
            return []
        callers: dict[str, Source] = {}  # the modules of the calls that ran for good
        for key, moved, source in running:
            tree = self.trees.of(source)
            found = None if tree is None else self._never_returns(moved, tree)
            if found is None:
                stuck.add(key)
                continue
            holders.setdefault(key, []).append((moved, found[0]))
            callers[source.name] = source
        callers |= once
        # Only a function named in those callers' modules can be called from them alone.
        names = [
            name
            for name in sorted(changed.functions)
            if _named_in(name, callers.values())
            # what a call runs changed (not only its docstring, or its lines)
            and not _unchanged(changed, name)
        ]
        if not names:
            return []
        warnings = []
        for name in names:
            warning = self._startup_only(changed.source, name, holders, stuck, sources)
            if warning is not None:
                warnings.append(warning)
        return warnings

    def _startup_only(
        self,
        home: Source,
        name: str,
        holders: dict[tuple[str, str], list[tuple[Frame, str]]],
        stuck: set[tuple[str, str]],
        sources: Callable[[str], list[Source]],
    ) -> StaleWarning | None:
        calls = self._calls_passed(home, name, holders, stuck, sources, 0)
        if calls is None:
            return None
        sites = tuple(f"{self._file(c.source.path)}:{c.ref.line}" for c in calls)
        what = (
            f"its only call ({sites[0]})" if len(sites) == 1 else f"its calls ({', '.join(sites)})"
        )
        root = calls[0]
        then = "the server restarts to apply it" if root.restarts and self.restarts else RESTART
        message = (
            f"`{name}` changed, but {what} already ran: {root.how}, so the new code runs only "
            f"after a restart: {then}"
        )
        frame = root.frame
        if frame is None or root.frame_file is None:  # a function that ran once: the factory
            return StaleWarning("startup_only", name, None, None, None, message, sites, True)
        return StaleWarning(
            "startup_only", name, frame.thread, root.frame_file, frame.line, message, sites
        )

    def _calls_passed(
        self,
        home: Source,
        name: str,
        holders: dict[tuple[str, str], list[tuple[Frame, str]]],
        stuck: set[tuple[str, str]],
        sources: Callable[[str], list[Source]],
        depth: int,
    ) -> list[_Passed] | None:
        """Every call of ``home``'s ``name`` in the project, if each already ran for good; None
        if any use may run again (or none is seen: the host may call it, through a binding)."""
        tree = self.trees.of(home)
        if tree is None or tree.decorated(name):
            return None  # a decorator may have handed it to anyone, to call at any time
        calls: list[_Passed] = []
        for source, ref in self._refs(name, sources):
            if ref.main_guard and source.name != "__main__":
                continue  # never runs in an imported module: neither a call that ran nor to come
            passed = self._passed_call(home, name, source, ref, holders, stuck, sources, depth)
            if passed is None:
                return None  # a use that may run again, or one we cannot read: say nothing
            calls.append(passed)
        return calls or None

    def _refs(
        self, name: str, sources: Callable[[str], list[Source]]
    ) -> Iterable[tuple[Source, _Ref]]:
        for source in sources(name):  # no parse for a file that never writes the name
            tree = self.trees.of(source)
            refs = None if tree is None else tree.refs(name)
            if refs is None:  # unreadable: a use we cannot see through
                yield source, _Ref("name", 0, 0, False, None, None, True, (), False)
                continue
            for ref in refs:
                yield source, ref

    def _passed_call(
        self,
        home: Source,
        name: str,
        source: Source,
        ref: _Ref,
        holders: dict[tuple[str, str], list[tuple[Frame, str]]],
        stuck: set[tuple[str, str]],
        sources: Callable[[str], list[Source]],
        depth: int,
    ) -> _Passed | None:
        """How ``ref``, a call of ``home``'s ``name``, already ran for good: in a function whose
        running call does not return and is past its line (not in a loop around where it runs),
        in a function that ran once (the factory), or in a function whose own calls all ran
        so (`init()` that `main` called before its loop: at most two such steps); else None."""
        function = ref.function
        if not ref.is_call or function is None or ref.nested:
            return None
        if not self._resolves(home, name, source, ref, function):
            return None
        caller = function.name
        key = (source.name, caller)
        if key in stuck:
            return None  # running now in a call that returns: it may call it again
        frames = holders.get(key)
        for frame, _ in frames or ():
            if ref.end_line >= frame.line:
                return None  # not passed yet (or running it now)
            if any(start <= frame.line <= end for start, end in ref.loops):
                return None  # in a loop that comes round again
        if frames:
            frame, why = frames[0]
            how = (
                f"`{caller}` is past that line and will not return ({why}; it runs at "
                f"{self._file(source.path)}:{frame.line} in {frame.runner})"
            )
            passed = _Passed(source, ref, how, frame, self._file(source.path), False)
        elif key in self.ran_once:
            how = f"`{caller}` ran once, at start-up ({self.ran_once[key]})"
            passed = _Passed(source, ref, how, None, None, True)
        elif depth < 2 and source.namespace.get(caller) is not None:
            # Not running now: called only from lines that already ran for good, it ran.
            inner = self._calls_passed(source, caller, holders, stuck, sources, depth + 1)
            if inner is None:
                return None
            sites = ", ".join(f"{self._file(c.source.path)}:{c.ref.line}" for c in inner)
            how = f"it is in `{caller}`, called only at {sites}, which already ran: {inner[0].how}"
            root = inner[0]
            return _Passed(source, ref, how, root.frame, root.frame_file, root.restarts)
        else:
            return None
        # Nobody calls that function again: wherever the project names it (its own module or
        # any other: conservatively, any use of the name), only under the main guard.
        for other in sources(caller):
            tree = self.trees.of(other)
            uses = None if tree is None else tree.refs(caller)
            imported = other.name != "__main__"  # the script run as `__main__` runs its guard
            if uses is None or any(not (use.main_guard and imported) for use in uses):
                return None
        return passed

    def _resolves(
        self,
        home: Source,
        name: str,
        source: Source,
        ref: _Ref,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
    ) -> bool:
        """Whether the call in ``source`` is a call of ``home``'s ``name``."""
        tree = self.trees.of(source)
        if tree is None:
            return False
        scope = _scope_of(function)
        if ref.kind == "name":
            if name in scope.bound:
                return False
            imported = scope.from_imports.get(name)  # imported in the function itself
            if imported is None:
                if name in scope.module_aliases:
                    return False
                if source.name == home.name:
                    return True
                imported = tree.from_imports.get(name)
            return imported is not None and _absolute(imported, source.package) == home.name
        if ref.kind == "attr" and ref.target is not None:
            head, _, rest = ref.target.partition(".")
            if head in scope.bound:
                return False
            module = scope.module_aliases.get(head)
            if module is None and head not in scope.from_imports:
                module = tree.module_aliases.get(head)
            if module is None:
                # `from pkg import mod` (in the function or at the top): mod.f()
                imported = scope.from_imports.get(head) or tree.from_imports.get(head)
                if imported is None:
                    return False
                base = _absolute(imported, source.package)
                module = f"{base}.{head}" if base else head
            return (f"{module}.{rest}" if rest else module) == home.name
        return False

    def _never_returns(self, frame: Frame, tree: _Tree | None) -> tuple[str, bool] | None:
        """Why a running call does not return (and whether it runs in a loop), or None where
        it may."""
        code = frame.code
        node = None if tree is None else tree.def_at(code.co_firstlineno, code.co_name)
        loops = [] if node is None else _loops_around(node, frame.line)
        if (code.co_filename, code.co_qualname) in self.entries:
            return "it is the host's [app] entry, which is called once", bool(loops)
        for loop in loops:
            if isinstance(loop, ast.While) and _always_true(loop.test):
                return f"it is in the `while True` loop at line {loop.lineno}", True
            if isinstance(loop, ast.While) and frame.thread_target:
                owner, what = ("task", "coroutine") if frame.task else ("thread", "target")
                return (
                    f"it is its {owner}'s {what}, in the loop at line {loop.lineno}, which ends "
                    f"only when the {owner}'s work does",
                    True,
                )
        return None

    def _file(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _only_key(index: CodeIndex, qualname: str) -> tuple[str, int] | None:
    """The one code object of that name in a version (a call that started before an edit above
    it has lines of its own), if there is exactly one."""
    if (qualname, 0) in index.by_key and (qualname, 1) not in index.by_key:
        return (qualname, 0)
    return None


@dataclass(frozen=True)
class _Passed:
    """A call that already ran for good, and how, for a person."""

    source: Source  # the module the call is in
    ref: _Ref
    how: str
    frame: Frame | None  # the call that does not return, where it is at the root; None: ran once
    frame_file: str | None
    restarts: bool  # at the root, the app factory: the server restarts where it may


def _unchanged(changed: Changed, name: str) -> bool:
    before, after = changed.old.by_key.get((name, 0)), changed.new.by_key.get((name, 0))
    return before is not None and after is not None and same_behaviour(before, after)


def _named_in(name: str, sources: Iterable[Source]) -> bool:
    needle = name.encode()
    return any(needle in source.raw for source in sources)


def _absolute(imported: tuple[str, int], package: str) -> str:
    module, level = imported
    if level == 0:
        return module
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, module] if module else base)


def _loops_around(
    function: ast.FunctionDef | ast.AsyncFunctionDef, line: int
) -> list[ast.While | ast.For | ast.AsyncFor]:
    """The loops of ``function``'s own body (not nested definitions') around ``line``."""
    found: list[ast.While | ast.For | ast.AsyncFor] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        start = getattr(node, "lineno", None)
        end = getattr(node, "end_lineno", None)
        if isinstance(node, ast.stmt) and start is not None and end is not None:
            if not start <= line <= end:
                continue
        if isinstance(node, ast.While | ast.For | ast.AsyncFor):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)
