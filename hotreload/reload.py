"""One module's reload transaction: read, parse, compare, execute, patch in place, or restore."""

from __future__ import annotations

import ast
import ctypes
import importlib
import importlib.util
import io
import linecache
import sys
import threading
import time
import tokenize
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hotreload.errors import ContractViolation, ServerError
from hotreload.patching import Patcher
from hotreload.signatures import (
    FoundFunction,
    Signature,
    Violation,
    compare,
    functions_in_tree,
    public_functions,
)

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
    functions: dict[str, FoundFunction]
    fingerprints: dict[str, str]
    defined: frozenset[str]

    @property
    def namespace(self) -> dict[str, Any]:
        return self.module.__dict__


@dataclass(frozen=True)
class Failure:
    """Why a version cannot run: one reason code, a message, and details where known."""

    reason: str
    message: str
    violations: tuple[Violation, ...] = ()
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A new version that passed every check that runs no code: ready to execute."""

    source: bytes
    text: str
    code: types.CodeType
    functions: dict[str, FoundFunction]
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

    @property
    def duration_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def read_source(path: Path) -> bytes | Failure:
    """The file's bytes, or why they cannot be had."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return Failure("file_missing", f"{path} does not exist; restore it or save it again")
    except IsADirectoryError:
        return Failure("file_missing", f"{path} is a directory, not a module file")
    except OSError as e:
        return Failure("file_missing", f"cannot read {path}: {e.strerror or e}")


def decode_source(source: bytes, path: Path) -> str | Failure:
    """Decode as Python does (PEP 263 cookie, else UTF-8, BOM allowed), or say why not."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding).removeprefix("\ufeff")
    except (SyntaxError, UnicodeDecodeError, LookupError) as e:
        return Failure(
            "decode_error",
            f"{path} is not valid UTF-8 (or its declared encoding): {e}; save it as UTF-8",
        )


def parse_source(text: str, path: Path) -> ast.Module | Failure:
    """The module's syntax tree, or the syntax error with its line and column."""
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError as e:
        return Failure(
            "syntax_error",
            f"{path.name}:{e.lineno}:{e.offset}: {e.msg}",
            line=e.lineno,
            column=e.offset,
        )
    except (ValueError, RecursionError, MemoryError) as e:
        detail = "nested too deeply to parse" if isinstance(e, RecursionError) else str(e)
        return Failure("syntax_error", f"{path.name}: {detail}")


def defined_names(tree: ast.Module) -> frozenset[str]:
    """Names the module's top-level code binds (not inside functions or classes)."""
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    names.add(alias.asname or alias.name.split(".")[0])
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.add(child.name)
            for block in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, block, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit(inner)
                elif isinstance(inner, list):
                    for handler in inner:
                        if isinstance(handler, ast.ExceptHandler):
                            visit(handler.body)

    visit(tree.body)
    return frozenset(names)


def fingerprints(tree: ast.Module) -> dict[str, str]:
    """A position-free dump of each top-level function, to tell an edited body from a moved one."""
    return {
        node.name: ast.dump(node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def prepare(spec: ModuleSpec, source: bytes) -> Candidate | Failure:
    """Every check that runs none of the new code: decode, parse, contract, compile."""
    text = decode_source(source, spec.path)
    if isinstance(text, Failure):
        return text
    tree = parse_source(text, spec.path)
    if isinstance(tree, Failure):
        return tree
    functions = functions_in_tree(tree)
    violations = compare(spec.exports, functions)
    if violations:
        lines = "; ".join(v.message for v in violations)
        hint = "restore the frozen signature, or run `hotreload freeze` and restart the host"
        return Failure(violations[0].code, f"{lines} ({hint})", tuple(violations))
    try:
        code = compile(tree, str(spec.path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError) as e:
        line = getattr(e, "lineno", None)
        return Failure("syntax_error", f"{spec.path.name}:{line}: {e}", line=line)
    return Candidate(source, text, code, functions, fingerprints(tree), defined_names(tree))


class ExecTimeout(Exception):
    """Raised inside a module's top-level code that ran longer than the reload allows."""


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
    live: LiveModule, candidate: Candidate, started: float, *, timeout: float = DEFAULT_EXEC_TIMEOUT
) -> Outcome:
    """Run the new version in the module's namespace and patch the old objects in place.

    The caller holds the version gate. If the new code raises, the namespace is restored exactly
    (same keys, same objects, same order) and the old version keeps running.
    """
    namespace = live.namespace
    snapshot = dict(namespace)
    try:
        run_with_deadline(candidate.code, namespace, timeout)
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
        for name in public_functions(candidate.functions)
        if name not in live.spec.exports and name not in live.functions
    ]
    live.source = candidate.source
    live.version += 1
    live.functions = candidate.functions
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


def load(spec: ModuleSpec, *, timeout: float | None = None) -> LiveModule:
    """Check a module against its contract, then import it: version 1.

    Raises ContractViolation (with the violations) before any module code runs, and ServerError
    when the file cannot be read or its code raises.
    """
    source = read_source(spec.path)
    candidate = prepare(spec, source) if isinstance(source, bytes) else source
    if isinstance(candidate, Failure):
        if candidate.violations:
            raise ContractViolation(candidate.message, list(candidate.violations))
        raise ServerError(f"cannot load module {spec.name!r}: {candidate.message}")
    module = _existing_module(spec)
    if module is None:
        module = _new_module(spec)
        sys.modules[spec.name] = module
        try:
            if timeout is None:
                exec(candidate.code, module.__dict__)
            else:
                run_with_deadline(candidate.code, module.__dict__, timeout)
        except BaseException as error:
            sys.modules.pop(spec.name, None)
            failure = _exec_failure(error, spec.path, timeout or 0)
            raise ServerError(f"cannot load module {spec.name!r}: {failure.message}") from error
        _attach_to_parent(spec.name, module)
    _remember_source(spec.path, candidate.text)
    return LiveModule(
        spec,
        module,
        candidate.source,
        1,
        candidate.functions,
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
