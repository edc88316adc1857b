"""The watcher: both save styles, bursts, packages, and surviving bad files."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import EventRecorder, Project
from support import Running, dedent, run, wait_until

from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

EXPORTS = {"calc": {"add": "(a: int, b: int) -> int"}}


def calc(offset: int) -> str:
    return dedent(
        f"""
        def add(a: int, b: int) -> int:
            return a + b + {offset}
        """
    )


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    return run(project, start, {"calc": calc(0)}, EXPORTS)


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic_rename", "in_place_write"])
def test_every_save_is_seen_whatever_the_save_style(running: Running, atomic: bool) -> None:
    add = running.module().add
    for version in range(2, 5):
        running.save(calc(version * 10), atomic=atomic, version=version)
        assert running.binding().add(1, 1) == add(1, 1) == 2 + version * 10


def test_burst_of_saves_ends_on_the_last_content(running: Running) -> None:
    mark = running.events.mark()
    for offset in (1, 2, 3):
        running.project.write("calc", calc(offset))
    wait_until(lambda: running.binding().add(0, 0) == 3)
    kinds = {e["event"] for e in running.events.events[mark:]}
    assert kinds <= {"reload.accepted", "reload.unchanged"}


def test_watcher_survives_bad_files(running: Running) -> None:
    running.save("def add(:\n", expect="reload.rejected", reason="syntax_error")
    running.save("x = 1\n", expect="reload.rejected", reason="export_removed")
    running.save(calc(0) + "raise RuntimeError\n", expect="reload.rejected", reason="exec_error")
    assert running.server.watching
    assert running.save(calc(7))["version"] == 2
    assert running.binding().add(0, 0) == 7


def test_module_inside_a_package_is_watched(project: Project, start: Start) -> None:
    project.write("pkg.__init__", "")
    r = run(project, start, {"pkg.calc": calc(0)}, {"pkg.calc": EXPORTS["calc"]})
    event = r.save(calc(5), module="pkg.calc")
    assert event["version"] == 2
    assert r.binding("pkg.calc").add(1, 1) == 7
