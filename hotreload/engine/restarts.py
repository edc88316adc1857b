"""Which statements cannot run again in place: the one place that decides `restart_needed`
for what a save would run (or remove).

Running a statement again is how a save applies a new binding. Some statements told someone
else when they first ran, and a second run is not what a fresh start does:

- a `def`/`class` decorated by a method of a live library object (`@app.get("/todos")`,
  `@bp.route(...)`, `@app.before_request`): registered in that object's table (and deleting the
  statement does not take it out; a docstring edit does not reach a route's description);
- a method call statement (`app.include_router(router)`, `app.register_blueprint(bp)`);
- a name the server pinned (the served app: uvicorn serves the object it started with).

Where the server can restart itself (``strict``), also what in place would only approximate
(patching serves a host well there):

- a class built by a library's metaclass (a SQLAlchemy model's table is in a shared MetaData, a
  pydantic model is compiled into the validators routes keep);
- an assignment that would replace a library object the first run made (`bp = Blueprint(...)`
  edited: the app holds the old blueprint).

No framework is named here: the statement's syntax is read, and what its names are bound to is
looked up statically (`hotreload.lookup`). Methods of modules (`@functools.cache`), classes,
functions (`@handler.register`) and standard library objects (`logger.info(...)`) are not
registrations, nor are objects this save itself makes.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

from hotreload.engine.statements import Analysis, Statement
from hotreload.lookup import (
    MISSING,
    bound_value,
    class_qualname,
    is_a,
    is_class,
    static_attr,
    type_module,
)
from hotreload.saveverdicts import RestartCause, RestartNeeded

_STANDARD = frozenset(sys.stdlib_module_names) | {"builtins"}


def restart_causes(
    analysis: Analysis,
    indices: Iterable[int],
    namespace: Mapping[str, Any],
    *,
    strict: bool,
    pinned: Mapping[str, RestartCause] = {},
) -> list[RestartCause]:
    """Why running these statements of ``analysis`` again, in ``namespace``, is not what a
    fresh start does; empty when they may run in place. ``strict`` (the server can restart
    itself) counts classes built by a library's metaclass too: in place they are patched,
    which serves a host well, but a framework that compiled them (routes) keeps the old.
    ``pinned`` names the module's names that must never be bound again in place (the served
    app: the server holds the object it started with), each with its cause."""
    causes: list[RestartCause] = []
    for index in sorted(indices):
        cause = statement_cause(analysis, index, namespace, strict=strict, pinned=pinned)
        if cause is not None:
            causes.append(cause)
    return causes


def statement_cause(
    analysis: Analysis,
    index: int,
    namespace: Mapping[str, Any],
    *,
    strict: bool,
    pinned: Mapping[str, RestartCause] = {},
) -> RestartCause | None:
    """Why this one statement cannot run again in place, or None."""
    statement = analysis.statements[index]
    for name in sorted(statement.scope.binds & pinned.keys()):
        held = pinned[name]
        return RestartCause(held.code, held.detail, statement.summary(), statement.line, name)
    node = analysis.node(index)
    if node is None:
        return None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            owner = _registry(target, namespace)
            if owner is not None:
                return _cause(
                    statement,
                    node.name,
                    f"`@{ast.unparse(target)}` registered {node.name!r} with {owner} when the "
                    "module first ran; running it again would register it a second time",
                )
    if strict and isinstance(node, ast.ClassDef):
        metaclass = _library_metaclass(node, namespace)
        if metaclass is not None:
            return _cause(
                statement,
                node.name,
                f"class {node.name!r} is built by {metaclass}, which records it outside the "
                "class (a table in a shared MetaData, validators and schemas that routes keep); "
                "a class statement run again cannot replace those records",
            )
    if strict and isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        for name in sorted(statement.scope.binds):
            old = namespace.get(name, MISSING)
            if old is not MISSING and _plain_instance(old):
                return RestartCause(
                    "identity_lost",
                    f"{name!r} is a {type(old).__qualname__} made when the module first ran, "
                    "which other objects may hold (an app it was registered with, a router "
                    "included); a new one made in place would not be where they look",
                    statement.summary(),
                    statement.line,
                    name,
                )
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        owner = _registry(node.value.func, namespace)
        if owner is not None:
            call = ast.unparse(node.value.func)
            return _cause(
                statement,
                None,
                f"`{call}(...)` changed {owner} when the module first ran; running it again "
                "would do it twice",
            )
    return None


def docstring_causes(
    old: Analysis, new: Analysis, edited: Iterable[int], namespace: Mapping[str, Any]
) -> list[RestartCause]:
    """Registered definitions whose docstring changed: a framework read it when it registered
    the function (FastAPI's route description in /openapi.json), so the body's new code alone
    does not apply it."""
    causes: list[RestartCause] = []
    for index in sorted(edited):
        node = new.node(index)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        owner = next(
            (
                found
                for decorator in node.decorator_list
                if (found := _registry(_called(decorator), namespace)) is not None
            ),
            None,
        )
        if owner is None:
            continue
        before = [old.node(i) for i in old.binders(node.name)]
        previous = next((n for n in reversed(before) if isinstance(n, type(node))), None)
        if previous is not None and ast.get_docstring(previous) != ast.get_docstring(node):
            causes.append(
                _cause(
                    new.statements[index],
                    node.name,
                    f"the docstring of {node.name!r} changed, and {owner} read it when "
                    "the function was registered (a route's description)",
                )
            )
    return causes


def _called(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def removal_causes(
    old: Analysis, removed: Iterable[int], namespace: Mapping[str, Any]
) -> list[RestartCause]:
    """Statements of the running version that the save removes and that registered something
    when they ran (a route deleted): removing the statement cannot undo the registration."""
    causes: list[RestartCause] = []
    for index in sorted(removed):
        cause = statement_cause(old, index, namespace, strict=False)
        if cause is not None:
            what = f"removed: {cause.detail.split('; ')[0]}; a fresh start would not have it"
            causes.append(RestartCause(cause.code, what, cause.statement, cause.line, cause.name))
    return causes


def restart_needed(causes: list[RestartCause], module: str) -> RestartNeeded:
    """The one outcome for the causes found, wherever they were found (the plan, these rules,
    the run): the first one's code, every cause listed."""
    first = causes[0]
    where = first.statement or (f"line {first.line}" if first.line else module)
    more = f" (and {len(causes) - 1} more)" if len(causes) > 1 else ""
    hint = " (a handler's body alone applies in place)" if first.code == "side_effect" else ""
    message = f"{module}: {where}{more}: {first.detail}; a restart applies this save{hint}"
    return RestartNeeded(first.code, message, tuple(causes))


def _cause(statement: Statement, name: str | None, detail: str) -> RestartCause:
    return RestartCause("side_effect", detail, statement.summary(), statement.line, name)


def _registry(target: ast.expr, namespace: Mapping[str, Any]) -> str | None:
    """What ``target`` (`app.get`, `bp.route`, `app.include_router`) registers with, when it
    is a method of a live object that keeps registrations; else None."""
    if not isinstance(target, ast.Attribute):
        return None
    base = target.value
    chain: list[str] = []
    while isinstance(base, ast.Attribute):
        chain.append(base.attr)
        base = base.value
    if not isinstance(base, ast.Name):
        return None
    value = namespace.get(base.id, MISSING)
    if value is MISSING:
        # An object this save makes: registering with it is what a fresh start does too (a
        # live object that takes it in, `app.include_router(router)`, is a cause of its own).
        return None
    for attribute in reversed(chain):
        value = static_attr(value, attribute, MISSING)
        if value is MISSING or static_attr(type(value), "__get__", None) is not None:
            return None  # a property or something only running would show: not ours to call
    if not _plain_instance(value):
        return None
    return f"`{ast.unparse(target.value)}` (a {type(value).__qualname__})"


def _plain_instance(value: object) -> bool:
    """An object of a type defined outside the standard library, that is neither a module, a
    class, a routine nor a descriptor: something that may keep a table of registrations."""
    if is_class(value) or is_a(
        value,
        types.ModuleType,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        staticmethod,
        classmethod,
        property,
    ):
        return False
    return type_module(value).partition(".")[0] not in _STANDARD


def _library_metaclass(node: ast.ClassDef, namespace: Mapping[str, Any]) -> str | None:
    """The metaclass, defined outside the standard library, that builds this class (read from
    its live bases), if any: `DeclarativeAttributeIntercept`, `ModelMetaclass`."""
    for base in node.bases:
        if not isinstance(base, ast.Name | ast.Attribute):
            continue
        value = bound_value(base, namespace)
        if value is MISSING or not is_class(value):
            continue
        meta = type(value)
        if meta is type:
            continue
        module = type_module(value)
        if module.partition(".")[0] not in _STANDARD:
            return f"{module}.{class_qualname(meta)}"
    return None
