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
