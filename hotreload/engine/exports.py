"""Exports stay the functions the contract checked: from the source, and once module code ran.

The contract reads an export's signature from its `def`. That is only the function the host
gets if nothing rebinds the name afterwards: a later `add = _other`, `del add`, `class add`, a
second `def add` under an `if`, or a decorator that returns something else would hand the host
an object the contract never saw. What the source shows is rejected before anything runs;
what only running shows (a decorator forgot `return f`) is checked right after the run.
"""

from __future__ import annotations

import ast
import inspect
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotreload.contract.signatures import Signature
from hotreload.engine.statements import Analysis
from hotreload.lookup import is_a, is_class, wrapped_of
from hotreload.verdicts import Violation

_MISSING = object()

_STATEMENT_KINDS: dict[type[ast.stmt], str] = {
    ast.Assign: "an assignment",
    ast.AnnAssign: "an assignment",
    ast.AugAssign: "an augmented assignment",
    ast.Delete: "`del`",
    ast.ClassDef: "a class",
    ast.FunctionDef: "another `def`",
    ast.AsyncFunctionDef: "another `def`",
    ast.Import: "an import",
    ast.ImportFrom: "an import",
    ast.For: "a `for` loop",
    ast.AsyncFor: "a `for` loop",
    ast.With: "a `with` statement",
    ast.AsyncWith: "a `with` statement",
    ast.If: "a definition under `if`",
    ast.Try: "a definition under `try`",
    ast.While: "a `while` loop",
    ast.Match: "a `match` statement",
}


def replaced_in_source(analysis: Analysis, exports: Mapping[str, Signature]) -> list[Violation]:
    """Exports that a statement after their `def` binds again, seen in the source.

    The `def` the contract reads is the last unconditional one; bindings before it are
    overridden by it. An assignment that reads the export itself (`add = cached(add)`) is
    decoration by another spelling: allowed here, and checked once it has run.
    """
    statements = analysis.statements
    last_def: dict[str, int] = {}
    for index, statement in enumerate(statements):
        if statement.export is not None:
            last_def[statement.export.name] = index
    violations: list[Violation] = []
    for name, index in last_def.items():
        definition = statements[index].export
        assert definition is not None
        for later in range(index + 1, len(statements)):
            if name not in statements[later].scope.binds:
                continue
            node = analysis.node(later)
            from hotreload.contract.rebinding import rebinding  # an export bound twice only

            if node is not None and rebinding(node, name) is None:
                continue  # `add = cached(add)`, or a name the statement binds in a comprehension
            kind = _kind(node, name) if node is not None else "a statement"
            line = statements[later].line
            message = (
                f"{name}: export replaced: line {line} binds {name!r} again after its "
                f"def (line {definition.line}), with {kind}; the host would call an object the "
                f"contract cannot check: remove that binding, or give the other object "
                "another name"
            )
            violations.append(
                Violation(
                    "export_replaced",
                    name,
                    str(exports[name]),
                    f"{kind} at line {line}",
                    line,
                    message,
                )
            )
            break
    return violations


def _kind(node: ast.stmt, name: str) -> str:
    if isinstance(node, ast.Delete):
        return "`del`"
    if isinstance(node, ast.ClassDef) and node.name == name:
        return "a class of the same name"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
        return "a second `def`"
    return _STATEMENT_KINDS.get(type(node), "a statement")


def replaced_at_run_time(
    namespace: Mapping[str, Any], exports: Mapping[str, Signature], path: Path
) -> list[Violation]:
    """Exports that, once module code ran, are not the module's `def` nor a callable that takes
    every call the frozen signature allows."""
    violations = []
    for name, signature in exports.items():
        problem = _run_time_problem(namespace.get(name, _MISSING), name, signature, str(path))
        if problem is not None:
            message = (
                f"{name}: export replaced: after the module ran, {name!r} {problem}; the host "
                "would call an object the contract cannot check (a decorator that does not "
                "return the function, or returns one with another signature?)"
            )
            violations.append(
                Violation("export_replaced", name, str(signature), problem, None, message)
            )
    return violations


def _run_time_problem(value: Any, name: str, signature: Signature, filename: str) -> str | None:
    if value is _MISSING:
        return "is no longer defined"
    if _reaches_definition(value, name, filename):
        return None  # the checked def, or a wrapper that says it wraps it (functools.wraps)
    if is_class(value):
        return f"is a class ({value.__qualname__})"
    if not callable(value):
        return f"is {type(value).__name__} {_short(value)}, not a function"
    try:
        actual = inspect.signature(value, follow_wrapped=False)
    except (TypeError, ValueError):
        return None  # a callable without a signature (a builtin): nothing more to tell
    if not _accepts_every_call(actual, signature):
        return f"is {_short(value)}, called as {name}{actual}, not {name}{signature}"
    return None


def _reaches_definition(value: Any, name: str, filename: str) -> bool:
    seen = 0
    while value is not None and seen < 32:
        if is_a(value, types.FunctionType):
            code = value.__code__
            if code.co_qualname == name and code.co_filename == filename:
                return True
        value = wrapped_of(value)
        seen += 1
    return False


def _accepts_every_call(actual: inspect.Signature, frozen: Signature) -> bool:
    """Whether ``actual`` binds each way of calling a function of the frozen signature."""
    parameters = frozen.parameters
    positional = [
        p.name for p in parameters if p.kind in ("positional_only", "positional_or_keyword")
    ]
    by_keyword = [p.name for p in parameters if p.kind == "positional_or_keyword"]
    keyword_only = [p.name for p in parameters if p.kind == "keyword_only"]
    required = {p.name for p in parameters if p.default is None}
    extra_args = ["*"] if any(p.kind == "var_positional" for p in parameters) else []
    extra_kwargs = ["_any_keyword_"] if any(p.kind == "var_keyword" for p in parameters) else []
    calls = [
        (positional + extra_args, keyword_only + extra_kwargs),
        ([n for n in positional if n not in by_keyword], by_keyword + keyword_only),
        ([n for n in positional if n in required], [n for n in keyword_only if n in required]),
    ]
    for args, kwargs in calls:
        try:
            actual.bind(*args, **dict.fromkeys(kwargs))
        except TypeError:
            return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
