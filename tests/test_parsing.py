"""`hotreload.parsing.parse` tries a parse again when CPython 3.11's shared depth counter made it
fail (python/cpython#106905: another thread parsed at the same moment); any other error stands.

The race itself cannot be made to happen on demand: the failure it causes is injected into
`ast.parse` here, once, as CPython raises it."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from hotreload import parsing

MISMATCH = "AST constructor recursion depth mismatch (before=48, after=52)"


def _failing_first(monkeypatch: pytest.MonkeyPatch, error: BaseException, times: int) -> list[int]:
    real = ast.parse
    calls: list[int] = []

    def parse(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(parsing.ast, "parse", parse)
    return calls


def test_a_parse_that_another_thread_s_parse_upset_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _failing_first(monkeypatch, SystemError(MISMATCH), times=2)
    tree = parsing.parse("def f():\n    return 1\n", "m.py")
    assert len(calls) == 3
    assert ast.dump(tree) == ast.dump(ast.parse("def f():\n    return 1\n"))
    expression = parsing.parse("a + 1", mode="eval")
    assert isinstance(expression, ast.Expression)


def test_other_errors_and_a_mismatch_that_persists_are_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SyntaxError):
        parsing.parse("def (:\n")
    _failing_first(monkeypatch, SystemError("something else"), times=1)
    with pytest.raises(SystemError, match="something else"):
        parsing.parse("x = 1\n")
    monkeypatch.undo()
    _failing_first(monkeypatch, SystemError(MISMATCH), times=100)
    with pytest.raises(SystemError, match="recursion depth mismatch"):
        parsing.parse("x = 1\n")
