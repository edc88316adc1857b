"""A version a fresh process could not import: a top-level statement reads a name that nothing
before it binds (`MODEL = _load_model()` after `_load_model` was renamed, a constant moved below
its first use). Found from the source, before any of the version runs.

Only what a statement reads for certain when it runs is checked (its value, a `def`'s
decorators and defaults, a class's bases, an `if`'s test, a loop's iterable), never what runs
maybe or later (function and class bodies, lambda bodies, branches of `x if c else y`, the
right of `and`/`or`, comprehension elements). A name bound anywhere earlier counts as bound,
even under an `if`; after a statement that binds names the source does not show (`globals()`,
`exec`, `from M import *`, `sys.modules[__name__]`) nothing is checked: a fresh start may well
find the name.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator

from hotreload.engine.statements import Analysis, Statement

# What the import system binds in every module's namespace before its code runs.
_MODULE_NAMES = frozenset(
    {
        "__name__",
        "__file__",
        "__doc__",
        "__spec__",
        "__loader__",
        "__package__",
        "__builtins__",
        "__path__",
        "__cached__",
        "__annotations__",
        "__dict__",
    }
)


def first_unbound(analysis: Analysis) -> tuple[Statement, str] | None:
    """The first statement that reads, for certain, a name nothing before it binds, and that
    name; None when every statement finds what it reads (or the source cannot tell)."""
    bound = {*_MODULE_NAMES, *builtins.__dict__}  # what the host installed counts too
    for index, statement in enumerate(analysis.statements):
        scope = statement.scope
        if scope.dynamic or scope.star or scope.introspects:
            return None  # it may bind names the source does not show
        candidates = scope.reads - bound
        if candidates:
            node = analysis.node(index)
            if node is not None:
                for name in eager_reads(node):
                    if name in candidates:
                        return statement, name
        bound |= scope.binds
        for module in statement.imports.modules:
            bound.update(module.split("."))  # a submodule imported is set on its package
    return None


def eager_reads(node: ast.stmt) -> Iterator[str]:
    """The names a top-level statement reads for certain when it runs, in order."""
    if isinstance(node, ast.Assign):
        yield from _expression(node.value)
        for target in node.targets:
            yield from _target(target)
    elif isinstance(node, ast.AnnAssign):
        if node.value is not None:
            yield from _expression(node.value)
            yield from _target(node.target)
    elif isinstance(node, ast.AugAssign):
        if isinstance(node.target, ast.Name):
            yield node.target.id
        else:
            yield from _target(node.target)
        yield from _expression(node.value)
    elif isinstance(node, ast.Expr):
        yield from _expression(node.value)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        for decorator in node.decorator_list:
            yield from _expression(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                yield from _expression(default)
    elif isinstance(node, ast.ClassDef):
        for expression in [*node.decorator_list, *node.bases]:
            yield from _expression(expression)
        for keyword in node.keywords:
            yield from _expression(keyword.value)
    elif isinstance(node, ast.If | ast.While):
        yield from _expression(node.test)
    elif isinstance(node, ast.For | ast.AsyncFor):
        yield from _expression(node.iter)
    elif isinstance(node, ast.With | ast.AsyncWith):
        yield from _expression(node.items[0].context_expr)
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id
            else:
                yield from _target(target)


def _target(target: ast.expr) -> Iterator[str]:
    """What assigning to a target reads: `X[k] = v` and `X.a = v` read X (and k)."""
    if isinstance(target, ast.Subscript):
        yield from _expression(target.value)
        yield from _expression(target.slice)
    elif isinstance(target, ast.Attribute):
        yield from _expression(target.value)
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target(element)
    elif isinstance(target, ast.Starred):
        yield from _target(target.value)


def _expression(node: ast.expr) -> Iterator[str]:
    """The names an expression reads for certain, walking only what always runs."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            yield node.id
    elif isinstance(node, ast.Lambda | ast.NamedExpr):
        return  # a lambda's body runs later; a walrus binds (rare at top level: not followed)
    elif isinstance(node, ast.IfExp):
        yield from _expression(node.test)
    elif isinstance(node, ast.BoolOp):
        yield from _expression(node.values[0])
    elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        yield from _expression(node.generators[0].iter)
    else:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                yield from _expression(child)
            elif isinstance(child, ast.keyword):
                yield from _expression(child.value)
