"""The one rule of what binds a top-level name again after its definition, from the source.

An export is the function its `def` makes, a frozen type the class its `class` makes, only if
nothing binds the name afterwards. Both checks ask this module, so that a `for Counter in
range(3)` is found for a type exactly as `for add in range(3)` is for an export. What binds:
a `def` or `class` of that name, an import, an assignment (tuple targets, `+=`, a walrus), `del`,
a `for` or `with` target, an `except ... as` name, a `match` capture; inside `if`, `try`,
`while`, `with`, `for` and `match` bodies too (conditionally). `name = wrap(name)` is
decoration by another spelling: it is not a rebinding here (what it returns is checked once the
module ran).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Rebinding:
    """A statement that binds the name: the innermost statement that does (``node``), its
    line, and whether it sits under a condition or a loop."""

    node: ast.AST
    line: int
    conditional: bool


def rebinding(statement: ast.stmt, name: str) -> Rebinding | None:
    """The first binding of ``name`` that a top-level statement makes, if any."""
    return next(_bindings(statement, name, conditional=False), None)


def is_decoration(node: ast.AST, name: str) -> bool:
    """`name = wrap(name)`: only ``name`` assigned, from a value that reads it."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    only_name = all(isinstance(t, ast.Name) and t.id == name for t in targets)
    return only_name and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
        for n in ast.walk(value)
    )


def _stores(node: ast.AST | None, name: str) -> bool:
    return node is not None and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store | ast.Del)
        for n in ast.walk(node)
    )


def _bindings(statement: ast.stmt, name: str, *, conditional: bool) -> Iterator[Rebinding]:
    line = statement.lineno

    def found(node: ast.AST = statement) -> Rebinding:
        return Rebinding(node, line, conditional)

    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        if statement.name == name:
            yield found()
        return
    if isinstance(statement, ast.Import | ast.ImportFrom):
        if any((a.asname or a.name.split(".")[0]) == name for a in statement.names):
            yield found()
        return
    if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        walrus = _walrus(statement.value, name)
        if (
            any(_stores(t, name) for t in targets) and not is_decoration(statement, name)
        ) or walrus:
            yield found()
        return
    if isinstance(statement, ast.Delete):
        if any(_stores(t, name) for t in statement.targets):
            yield found()
        return
    if isinstance(statement, ast.For | ast.AsyncFor) and _stores(statement.target, name):
        yield found()
    if isinstance(statement, ast.With | ast.AsyncWith):
        if any(_stores(item.optional_vars, name) for item in statement.items):
            yield found()
    if isinstance(statement, ast.Match):
        for case in statement.cases:
            if any(
                (isinstance(n, ast.MatchAs | ast.MatchStar) and n.name == name)
                or (isinstance(n, ast.MatchMapping) and n.rest == name)
                for n in ast.walk(case.pattern)
            ):
                yield Rebinding(case.pattern, line, True)
    if isinstance(statement, ast.Expr | ast.If | ast.While) and _walrus(
        getattr(statement, "value", None) or getattr(statement, "test", None), name
    ):
        yield found()
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.stmt):
            yield from _bindings(child, name, conditional=True)
        elif isinstance(child, ast.ExceptHandler):
            if child.name == name:
                yield Rebinding(child, child.lineno, True)
            for inner in child.body:
                yield from _bindings(inner, name, conditional=True)
        elif isinstance(child, ast.match_case):
            for inner in child.body:
                yield from _bindings(inner, name, conditional=True)


def _walrus(node: ast.AST | None, name: str) -> bool:
    """A `(name := ...)` in an expression (not inside a lambda, which runs later)."""
    if node is None:
        return False
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Lambda):
            continue
        if isinstance(current, ast.NamedExpr) and current.target.id == name:
            return True
        stack.extend(ast.iter_child_nodes(current))
    return False
