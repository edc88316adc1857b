"""Bindings: exports only, gated in development, the raw functions in production."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from conftest import EventRecorder, Project
from support import dedent, run

from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

EXPORTS = {"calc": {"add": "(a: int, b: int) -> int"}}
CALC = dedent(
    '''
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b


    def helper() -> int:
        return 1
    '''
)


def test_production_binding_is_the_raw_functions_and_nothing_watches(
    project: Project, start: Start
) -> None:
    r = run(project, start, {"calc": CALC}, EXPORTS, env="production")
    assert not r.server.watching
    assert [t.name for t in threading.enumerate() if t.name.startswith("hotreload")] == []
    assert r.binding().add is r.module().add
    mark = r.events.mark()
    project.write("calc", CALC.replace("a + b", "a - b"))
    # No watcher thread exists, so nothing can apply the save later: nothing to wait for.
    assert r.binding().add(5, 3) == 8
    assert r.server.version("calc") == 1
    assert r.events.events[mark:] == []


def test_development_binding_wraps_exports_and_keeps_their_metadata(
    project: Project, start: Start
) -> None:
    r = run(project, start, {"calc": CALC}, EXPORTS)
    binding = r.binding()
    assert binding.add is not r.module().add
    assert binding.add.__name__ == "add"
    assert binding.add.__doc__ == "Add two numbers."
    assert dir(binding) == ["add"]
    assert "calc" in repr(binding) and "add" in repr(binding)


def test_binding_exposes_exports_only_and_is_read_only(project: Project, start: Start) -> None:
    r = run(project, start, {"calc": CALC}, EXPORTS)
    binding = r.binding()
    with pytest.raises(AttributeError, match=r"'calc' does not export 'helper'.*freeze calc"):
        binding.helper  # noqa: B018
    with pytest.raises(AttributeError, match="read-only"):
        binding.add = len  # type: ignore[method-assign]


def test_a_name_that_is_not_a_function_is_not_offered_as_an_export(
    project: Project, start: Start
) -> None:
    """`calc.history` is a variable: the hint says only functions can be exports, and how to
    give the host what it wants, rather than to export it "as a function"."""
    source = CALC + "\nhistory: list[str] = []\n\n\nclass Shape:\n    pass\n"
    r = run(project, start, {"calc": source}, EXPORTS)
    with pytest.raises(AttributeError) as caught:
        r.binding().history  # noqa: B018
    message = str(caught.value)
    assert message.startswith(
        "'calc' does not export 'history': it is a list, not a function, "
        "and only functions can be exports"
    )
    assert "def get_history()" in message
    assert "(...) -> ..." not in message
    with pytest.raises(AttributeError, match="it is a class, not a function"):
        r.binding().Shape  # noqa: B018
    with pytest.raises(AttributeError, match=r"'calc' does not export 'nothing'.*freeze calc"):
        r.binding().nothing  # noqa: B018
