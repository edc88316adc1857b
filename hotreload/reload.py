"""One module's reload transaction: read, parse, compare, execute, patch in place, or restore."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import linecache
import sys
import time
import traceback
import types
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hotreload.deadline import ExecTimeout, Watchdog
from hotreload.errors import ContractViolation, ServerError
from hotreload.patching import Patcher
from hotreload.signatures import (
    Signature,
    compare,
    functions_in_tree,
)
from hotreload.source import Failure, decode_source, parse_source, read_source, too_deep

DEFAULT_EXEC_TIMEOUT = 10.0


@dataclass(frozen=True)
class ModuleSpec:
    """What the manifest says about one module, resolved to a file."""

    name: str
    path: Path
    exports: dict[str, Signature]
    keep: tuple[str, ...] = ()


@dataclass
class LiveModule:
    """A loaded module and the facts about the version that runs now."""

    spec: ModuleSpec
    module: types.ModuleType
    source: bytes
    version: int
    function_names: tuple[str, ...]  # every top-level def in source order: to spot new ones
    fingerprints: dict[str, str]
    defined: frozenset[str]

    @property
    def namespace(self) -> dict[str, Any]:
        return self.module.__dict__


@dataclass(frozen=True)
class Candidate:
    """A new version that passed every check that runs no code: ready to execute."""

    source: bytes
    text: str
    code: types.CodeType
    function_names: tuple[str, ...]  # every top-level def in source order: to spot new ones
    fingerprints: dict[str, str]
    defined: frozenset[str]


@dataclass
class Outcome:
    """What a reload did; the server turns it into exactly one event."""

    kind: Literal["accepted", "rejected", "unchanged"]
    live: LiveModule
    started: float
    failure: Failure | None = None
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    rebound: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    finished: float = field(default_factory=time.perf_counter)

    @property
    def duration_ms(self) -> float:
        """From the start of the decision to the moment this outcome was reached."""
        return (self.finished - self.started) * 1000


def defined_names(tree: ast.Module) -> frozenset[str]:
    """Names the module's top-level code binds (not inside functions, classes or comprehensions)."""
    binder = _TopLevelBinder()
    binder.visit(tree)
    return frozenset(binder.names)


class _TopLevelBinder(ast.NodeVisitor):
    """Collects the names bound in module scope.

    It does not descend into a new scope: a comprehension's variable (`[k for k in ...]`) or a
    function's local is not a module global, and listing it would make `removed` say so.
    """

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def _visit_all(self, nodes: list[Any]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.names.add(node.name)
        # Decorators and defaults run in module scope; the body does not.
        self._visit_all([*node.decorator_list, *node.args.defaults, *node.args.kw_defaults])

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.add(node.name)
        self._visit_all([*node.decorator_list, *node.bases, *node.keywords])

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_all([*node.args.defaults, *node.args.kw_defaults])

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        # Only an assignment expression in a comprehension binds in the enclosing scope.
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                self.names.add(child.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.names.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.names.add(node.rest)
        self.generic_visit(node)


def fingerprints(tree: ast.Module, names: Collection[str]) -> dict[str, str]:
    """A position-free dump of each named top-level function, to tell an edited body from a
    moved one. Only exports are dumped: `ast.dump` of every function was a third of a reload."""
    return {
        node.name: ast.dump(node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names
    }


def prepare(spec: ModuleSpec, source: bytes) -> Candidate | Failure:
    """Every check that runs none of the new code: decode, parse, contract, compile."""
    text = decode_source(source, spec.path)
    if isinstance(text, Failure):
        return text
    tree = parse_source(text, spec.path)
    if isinstance(tree, Failure):
        return tree
    try:
        # Each walks the tree recursively: a tree the parser accepted can still be too deep here.
        functions = functions_in_tree(tree, spec.exports)
        function_names = tuple(
            dict.fromkeys(
                node.name
                for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        )
        found = fingerprints(tree, spec.exports), defined_names(tree)
    except (RecursionError, MemoryError) as e:
        return Failure("syntax_error", f"{spec.path.name}: {too_deep(e)}")
    violations = compare(spec.exports, functions)
    if violations:
        lines = "; ".join(v.message for v in violations)
        hint = "restore the frozen signature, or run `hotreload freeze` and restart the host"
        return Failure(violations[0].code, f"{lines} ({hint})", tuple(violations))
    try:
        code = compile(tree, str(spec.path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        line = getattr(e, "lineno", None)
        where = f"{spec.path.name}:{line}" if line else spec.path.name
        detail = e.msg if isinstance(e, SyntaxError) else too_deep(e)
        return Failure("syntax_error", f"{where}: {detail}", line=line)
    return Candidate(source, text, code, function_names, *found)


def _error_line(error: BaseException, path: Path) -> int | None:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def _exec_failure(error: BaseException, path: Path, timeout: float) -> Failure:
    line = _error_line(error, path)
    where = f"{path.name}:{line}" if line else path.name
    if isinstance(error, ExecTimeout):
        return Failure(
            "exec_timeout",
            f"{where}: module top-level code ran longer than {timeout:g} s and was stopped; "
            "move long work out of import time (into a function the host calls)",
            line=line,
        )
    return Failure(
        "exec_error",
        f"{where}: module raised {type(error).__name__}: {error} while executing; "
        "the previous version keeps running",
        line=line,
    )


def _remember_source(path: Path, text: str) -> None:
    """Tracebacks from the new code must show the new lines, not the file as first read."""
    lines = text.splitlines(keepends=True)
    linecache.cache[str(path)] = (len(text), None, lines, str(path))


def apply(
    live: LiveModule,
    candidate: Candidate,
    started: float,
    *,
    watchdog: Watchdog,
    timeout: float = DEFAULT_EXEC_TIMEOUT,
) -> Outcome:
    """Run the new version in the module's namespace and patch the old objects in place.

    The caller holds the version gate. If the new code raises, the namespace is restored exactly
    (same keys, same objects, same order) and the old version keeps running.
    """
    namespace = live.namespace
    snapshot = dict(namespace)
    try:
        watchdog.run(candidate.code, namespace, timeout)
    except (
        BaseException
    ) as error:  # SystemExit, KeyboardInterrupt too: module code must not stop us
        namespace.clear()
        namespace.update(snapshot)
        failure = _exec_failure(error, live.spec.path, timeout)
        return Outcome("rejected", live, started, failure=failure)

    patcher = Patcher()
    for name, new_value in list(namespace.items()):
        if name not in snapshot or (name.startswith("__") and name.endswith("__")):
            continue
        if name in live.spec.keep:
            namespace[name] = snapshot[name]
            continue
        try:
            namespace[name] = patcher.patch(snapshot[name], new_value, name)
        except Exception:  # a class that refuses an attribute: serve the new object instead
            namespace[name] = new_value
            patcher.rebound.append(name)
    removed = sorted(live.defined - candidate.defined - set(live.spec.keep))
    for name in removed:
        namespace.pop(name, None)
    patcher.adopt_instances(namespace)
    _remember_source(live.spec.path, candidate.text)

    changed = [
        name
        for name in live.spec.exports
        if candidate.fingerprints.get(name) != live.fingerprints.get(name)
    ]
    added = [
        name
        for name in candidate.function_names
        if not name.startswith("_")
        and name not in live.spec.exports
        and name not in live.function_names
    ]
    live.source = candidate.source
    live.version += 1
    live.function_names = candidate.function_names
    live.fingerprints = candidate.fingerprints
    live.defined = candidate.defined
    return Outcome(
        "accepted",
        live,
        started,
        changed=changed,
        added=added,
        rebound=sorted(set(patcher.rebound)),
        removed=removed,
    )


def prepare_file(spec: ModuleSpec, *, root: Path | None = None) -> Candidate | Failure:
    """Read and `prepare` a module's file: every check, and still no code run."""
    source = read_source(spec.path, root=root)
    return prepare(spec, source) if isinstance(source, bytes) else source


def load(spec: ModuleSpec, *, candidate: Candidate | Failure | None = None) -> LiveModule:
    """Check a module against its contract (unless ``candidate`` did), then import it: version 1.

    Raises ContractViolation (with the violations) before any module code runs, and ServerError
    when the file cannot be read or its code raises.
    """
    if candidate is None:
        candidate = prepare_file(spec)
    if isinstance(candidate, Failure):
        if candidate.violations:
            raise ContractViolation(candidate.message, list(candidate.violations))
        raise ServerError(f"cannot load module {spec.name!r}: {candidate.message}")
    module = _existing_module(spec)
    if module is None:
        module = _new_module(spec)
        sys.modules[spec.name] = module
        try:
            # No deadline at start-up: this runs in the caller's thread, where Ctrl+C stops it,
            # and a first import may rightly take long (a model, a cache).
            exec(candidate.code, module.__dict__)
        except BaseException as error:
            sys.modules.pop(spec.name, None)
            if isinstance(error, KeyboardInterrupt):  # Ctrl+C or SIGTERM stops start-up cleanly
                raise
            failure = _exec_failure(error, spec.path, 0)
            raise ServerError(f"cannot load module {spec.name!r}: {failure.message}") from error
        _attach_to_parent(spec.name, module)
    _remember_source(spec.path, candidate.text)
    return LiveModule(
        spec,
        module,
        candidate.source,
        1,
        candidate.function_names,
        candidate.fingerprints,
        candidate.defined,
    )


def _existing_module(spec: ModuleSpec) -> types.ModuleType | None:
    """A module the host imported before hotreload started is adopted, not imported twice."""
    module = sys.modules.get(spec.name)
    if module is not None and getattr(module, "__file__", None):
        if Path(module.__file__ or "").resolve() == spec.path.resolve():
            return module
    return None


def _new_module(spec: ModuleSpec) -> types.ModuleType:
    parent = spec.name.rpartition(".")[0]
    if parent:
        importlib.import_module(parent)
    is_package = spec.path.name == "__init__.py"
    import_spec = importlib.util.spec_from_file_location(
        spec.name,
        spec.path,
        submodule_search_locations=[str(spec.path.parent)] if is_package else None,
    )
    if import_spec is None:
        raise ServerError(f"cannot import {spec.name!r} from {spec.path}")
    return importlib.util.module_from_spec(import_spec)


def _attach_to_parent(name: str, module: types.ModuleType) -> None:
    parent_name, _, child = name.rpartition(".")
    if parent_name and parent_name in sys.modules:
        setattr(sys.modules[parent_name], child, module)
