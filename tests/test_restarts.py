"""Which saves need a restart (engine/restarts.py), decided in-process on real modules: a
statement that registers with a live object of a library asks for one; decorators and calls of
modules, classes, functions and standard library objects do not. Nothing of such a save runs."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from conftest import EventRecorder, Project
from support import Running, run

from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

REGISTRY = '''
"""A library's object that keeps registrations, as a framework's app does."""


class App:
    def __init__(self):
        self.routes = []

    def get(self, path):
        def register(function):
            self.routes.append((path, function))
            return function

        return register

    def include(self, other):
        self.routes.extend(other.routes)
'''

BASE = """
import dataclasses
import functools
import logging
import sys

from registry import App

app = App()
logger = logging.getLogger("web")
RUNS = []
RUNS.append("base")


@app.get("/a")
def a():
    return "a"


@functools.cache
def cached():
    return 1


@dataclasses.dataclass(frozen=True)
class Point:
    x: int = 0
"""


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    # The registry plays a library: its module lives outside the standard library.
    project.write("registry", REGISTRY)
    return run(project, start, {"web": BASE}, {"web": {}})


def test_a_route_added_is_restart_needed_and_nothing_of_the_save_runs(running: Running) -> None:
    app = sys.modules["web"].app
    event = running.save(
        BASE + '\nRUNS.append("again")\n\n\n@app.get("/b")\ndef b():\n    return "b"\n',
        module="web",
        expect="reload.restart_needed",
    )
    assert (event["reason"], event["restart"], event["version"]) == ("side_effect", "never", 1)
    assert [c["name"] for c in event["causes"]] == ["b"]
    assert "restart" in event["message"]
    assert [path for path, _ in app.routes] == ["/a"]
    assert sys.modules["web"].RUNS == ["base"]  # decided before anything ran
    assert "b" not in vars(sys.modules["web"])


def test_a_registration_call_run_again_is_restart_needed(running: Running) -> None:
    event = running.save(
        BASE + "\napp.include(App())\n", module="web", expect="reload.restart_needed"
    )
    [cause] = event["causes"]
    assert cause["statement"].endswith("app.include(App())") and cause["name"] is None


def test_a_body_edit_and_decorators_of_modules_and_the_standard_library_apply_in_place(
    running: Running,
) -> None:
    edited = (
        BASE.replace('return "a"', 'return "A"')
        + "\n\n@functools.lru_cache(maxsize=2)\ndef other():\n    return 2\n"
        + "\n\n@dataclasses.dataclass\nclass Size:\n    w: int = 0\n"
        + '\nlogger.info("saved")\nsys.path.append("/nowhere")\n'
    )
    event = running.save(edited, module="web")
    assert event["ran"] == "statements"
    assert sys.modules["web"].a() == "A"
    sys.path.remove("/nowhere")


def test_a_route_removed_is_restart_needed(running: Running) -> None:
    """Deleting the statement cannot take the route out of the app's table."""
    without = BASE.replace('@app.get("/a")\ndef a():\n    return "a"\n', "")
    event = running.save(without, module="web", expect="reload.restart_needed")
    [cause] = event["causes"]
    assert cause["name"] == "a" and cause["detail"].startswith("removed: `@app.get`")
    assert sys.modules["web"].a() == "a"  # nothing of the save applied


def test_a_registered_function_s_docstring_is_restart_needed_its_body_is_not(
    running: Running,
) -> None:
    """The framework read the docstring at registration (a route's description)."""
    documented = BASE.replace(
        'def a():\n    return "a"', 'def a():\n    """The a."""\n    return "a"'
    )
    event = running.save(documented, module="web", expect="reload.restart_needed")
    assert "docstring of 'a'" in event["causes"][0]["detail"]
    running.save(BASE.replace('return "a"', 'return "A"'), module="web")
    assert sys.modules["web"].a() == "A"
