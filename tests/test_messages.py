"""What hotreload says, read as a person reads it: an event about a file names the file (and
its module), articles are right, a changed class is named as the class."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from child import Child, run, strict_json
from conftest import EventRecorder, Project
from support import dedent

from hotreload.output import render_console
from hotreload.server import up

pytestmark = pytest.mark.timeout(120)

SHAPES = dedent(
    """
    import dataclasses


    @dataclasses.dataclass
    class Item:
        name: str
        price: float = 0.0


    def make(name: str) -> Item:
        return Item(name)
    """
)

CALC = "def add(a: int, b: int) -> int:\n    return a + b\n"

# `hotreload up` with one fault put in its way: deciding a save of calc.py raises, as a bug in
# hotreload would. The watcher must report it, naming the file, and keep going.
FAULTY_UP = dedent(
    """
    import sys

    from hotreload.cli import main
    from hotreload.engine import batch

    decide = batch.Batches.apply


    def apply(self, paths, *, resync=False, **more):
        if any(path.name == "calc.py" for path in paths):
            raise RuntimeError("deciding went wrong")
        return decide(self, paths, resync=resync, **more)


    batch.Batches.apply = apply
    sys.exit(main(["up", "--log-format", "json"]))
    """
)


def test_a_watcher_error_names_the_file_and_the_module(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "other.py").write_text(CALC)
    (tmp_path / "hotreload.toml").write_text(
        '[project]\nname = "faulty"\n\n[modules.calc.exports]\nadd = "(a: int, b: int) -> int"\n'
        '\n[modules.other.exports]\nadd = "(a: int, b: int) -> int"\n'
    )
    with Child("-c", FAULTY_UP, cwd=tmp_path, program=[sys.executable]) as child:
        child.wait_for("server.started")
        (tmp_path / "calc.py").write_text(CALC.replace("a + b", "a + b + 1"))
        error = child.wait_for("watcher.error")
        assert (error["path"], error["module"]) == (str(tmp_path / "calc.py"), "calc")
        assert error["message"] == "RuntimeError: deciding went wrong"
        mark = child.mark()
        (tmp_path / "other.py").write_text(CALC.replace("a + b", "a + b + 1"))
        child.wait_for("reload.accepted", after=mark, module="other")  # the watcher goes on
        assert child.stop() == 0


def test_a_watcher_error_about_several_files_lists_them_and_console_shows_a_path(
    project: Project,
) -> None:
    project.write("calc", CALC)
    project.manifest(
        '[project]\nname = "p"\n[modules.calc.exports]\nadd = "(a: int, b: int) -> int"\n'
    )
    recorder = EventRecorder()
    with up(project.manifest_path, on_event=recorder, stderr=False) as server:
        reloading = server._reloading  # the handler the watcher calls, with what it was doing
        folders = [project.root / "a", project.root / "b"]
        reloading._on_watch_error(OSError("inotify watch limit reached"), folders)
        reloading._on_watch_error(OSError("no such directory"), [project.root])
        several, folder = [e for e in recorder.events if e["event"] == "watcher.error"]
    assert (several["path"], several["module"]) == (None, None)
    assert several["message"] == (
        f"OSError: inotify watch limit reached (concerning {folders[0]}, {folders[1]})"
    )
    assert (folder["path"], folder["module"]) == (str(project.root), None)
    line = render_console(dict(folder))
    assert f"watcher.error {project.root} — OSError: no such directory" in line


def test_a_required_field_added_says_an_item_not_a_item(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(SHAPES)
    assert run("init", "shapes", cwd=tmp_path).returncode == 0
    (tmp_path / "shapes.py").write_text(
        SHAPES.replace("    name: str\n", "    name: str\n    qty: int\n")
    )
    checked = run("check", "--log-format", "json", cwd=tmp_path)
    assert checked.returncode == 1
    events = [strict_json(line) for line in checked.stderr.splitlines() if line[:1] == "{"]
    [added] = [e for e in events if e["code"] == "required_field_added"]
    assert "every caller that builds an Item without it breaks" in added["message"]


def test_a_class_edit_is_listed_by_the_class_it_defines_not_its_decorator(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(SHAPES)
    (tmp_path / "hotreload.toml").write_text('[project]\nname = "p"\n[modules.shapes]\n')
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        child.wait_for("server.started")
        (tmp_path / "shapes.py").write_text(
            SHAPES.replace("price: float = 0.0", "price: float = 1.0")
        )
        event = child.wait_for("reload.accepted", module="shapes")
        assert event["ran"] == "statements"
        assert event["statements"][0] == "4: class Item"  # line 4 is its `@dataclasses.dataclass`
        assert all(": @" not in statement for statement in event["statements"])
        assert child.stop() == 0
