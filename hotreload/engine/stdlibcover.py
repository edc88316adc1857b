"""Which statements register with the standard library only what `stdlibrecord` records, read
from their syntax and what their names are bound to now (never calling a user's object).

Such a statement, edited or removed, is undone in place instead of needing a restart (the plan's
and the run's rules for side effects step aside for it); any other change to the standard
library's state keeps its `restart_needed`. Also where the first import's hook changes go: the
statement that assigns the hook.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any

from hotreload.engine import stdlibrecord
from hotreload.engine.stdlibrecord import standard_function
from hotreload.lookup import bound_value, is_a

# Methods of logging's loggers and handlers that are recorded (what `covered` reads).
RECORDED_METHODS = frozenset({"addHandler", "addFilter", "setLevel"})
RECORDED_HOOKS = frozenset({"sys.excepthook", "threading.excepthook"})


def covered(node: ast.stmt | None, namespace: Mapping[str, Any]) -> bool:
    """Whether everything this statement changes in the standard library's state is recorded,
    read from its syntax and what its names are bound to now (never calling a user's object):
    a call of a recorded function (`atexit.register(...)`, `signal.signal(...)`,
    `logging.basicConfig(...)` without ``force``), a recorded method of a logger or handler
    (`log.addHandler(h)`, `logging.getLogger(...).setLevel(...)`), a hook assigned
    (`sys.excepthook = f`), a `def` decorated by `@atexit.register` or by a recording
    dispatcher's `.register`. Then running it again after undoing its previous run, or removing
    it after undoing, is what a fresh start does."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return bool(node.decorator_list) and all(
            _recorded_decorator(d, namespace) for d in node.decorator_list
        )
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return _recorded_call(node.value, namespace)
    if isinstance(node, ast.Assign):
        return all(
            isinstance(t, ast.Attribute) and _hook_name(t, namespace) in RECORDED_HOOKS
            for t in node.targets
        )
    return False


def _recorded_call(call: ast.Call, namespace: Mapping[str, Any]) -> bool:
    func = call.func
    name = standard_function(bound_value(func, namespace))
    if name is not None:
        return name != "logging.basicConfig" or all(k.arg != "force" for k in call.keywords)
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    if func.attr in RECORDED_METHODS:
        logging = sys.modules.get("logging")
        if logging is None:  # never imported: nothing is one of its loggers or handlers
            return False
        if isinstance(receiver, ast.Call):
            return bound_value(receiver.func, namespace) is vars(logging).get("getLogger")
        return is_a(bound_value(receiver, namespace), logging.Filterer)
    return func.attr == "register" and _recording_dispatcher(bound_value(receiver, namespace))


def _recorded_decorator(decorator: ast.expr, namespace: Mapping[str, Any]) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if standard_function(bound_value(target, namespace)) == "atexit.register":
        return not isinstance(decorator, ast.Call)
    if isinstance(target, ast.Attribute) and target.attr == "register":
        return _recording_dispatcher(bound_value(target.value, namespace))
    return False


def _recording_dispatcher(value: object) -> bool:
    """A `singledispatch` function made while recording: its `register` records."""
    if not isinstance(value, types.FunctionType):
        return False
    register = vars(value).get("register")
    return getattr(register, "__module__", None) == stdlibrecord.__name__


def _hook_name(node: ast.Attribute, namespace: Mapping[str, Any]) -> str | None:
    owner = bound_value(node.value, namespace)
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}.{node.attr}"
    return None


def hook_statement(analysis_nodes: Iterator[tuple[int, ast.stmt | None]], hook: str) -> int | None:
    """The last statement that assigns ``hook`` (`sys.excepthook`), by its syntax: where the
    first import's comparison of hooks is placed. Written as named, else by its attribute alone
    (`import sys as _sys`)."""
    exact = loose = None
    attribute = hook.rpartition(".")[2]
    for index, node in analysis_nodes:
        if node is None:
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
                if child.attr == attribute:
                    loose = index
                    if ast.unparse(child) == hook:
                        exact = index
    return exact if exact is not None else loose
