"""`ast.parse`, safe to call from several threads at once on Python 3.11.

CPython 3.11 counts the depth of the syntax tree it builds in state that all threads share:
two threads that parse at the same moment (a save's early check in the watcher's thread, a
reload a host asks from its own) can make one of them fail with ``SystemError: AST constructor
recursion depth mismatch`` though its source is fine (python/cpython#106905). A parse has no
effect beyond its result, so it is tried again; Python 3.12 and later count per thread.
"""

from __future__ import annotations

import ast
from typing import Literal, overload

_ATTEMPTS = 5
_MISMATCH = "AST constructor recursion depth mismatch"


@overload
def parse(source: str | bytes, filename: str = ..., mode: Literal["exec"] = ...) -> ast.Module: ...


@overload
def parse(source: str | bytes, filename: str = ..., *, mode: Literal["eval"]) -> ast.Expression: ...


def parse(
    source: str | bytes, filename: str = "<unknown>", mode: Literal["exec", "eval"] = "exec"
) -> ast.Module | ast.Expression:
    """`ast.parse`: an ``ast.Module`` (``"exec"``) or an ``ast.Expression`` (``"eval"``)."""
    for attempt in range(_ATTEMPTS):
        try:
            tree = ast.parse(source, filename=filename, mode=mode)
            assert isinstance(tree, ast.Module | ast.Expression)
            return tree
        except SystemError as error:
            if _MISMATCH not in str(error) or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
