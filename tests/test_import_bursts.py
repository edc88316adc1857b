"""The modules an import brings in are taken (tracked, watched, reported) together once that
import ends, or half a second after the first at the latest: a save made meanwhile must be
decided all the same, and reported modules must not wait for an import that runs on.

Checked in a real `hotreload up` whose entry module waits at import, after importing a module
of the project's root folder (watched from the start) and one of a package folder (watched once
taken). Each is saved while the entry's import still runs, in the moment right after its
import; the app's answer once the import ends is compared with a fresh start on the same files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from child import WAIT, Child
from conftest import Project

pytestmark = pytest.mark.timeout(120)

MANIFEST = """
[project]
name = "bursts"

[app]
entry = "app:main"

[env.development]
reload = true
debounce_ms = 5
"""

VALUE = """
def value() -> int:
    return {value}
"""

# Imports two modules, says so, then waits at import (outside the project: no event of ours).
APP = """
import json
import os
import time

import near
import far.helper

SIGNALS = {signals!r}
print("IMPORTED", flush=True)
_deadline = time.monotonic() + {wait}
while not os.path.exists(os.path.join(SIGNALS, "go")) and time.monotonic() < _deadline:
    time.sleep(0.01)


def main() -> None:
    print(json.dumps([near.value(), far.helper.value()]) + "\\nDONE", flush=True)
"""


def _answer(child: Child) -> list[int]:
    index = child.wait_stdout("DONE")
    answer: list[int] = json.loads(child.stdout[index - 1])
    return answer


def _write_waiting_app(project: Project, factory: pytest.TempPathFactory) -> Path:
    """The app that waits at import, its two modules and the manifest; the folder its signal
    goes in (outside the project)."""
    signals = factory.mktemp("signals")
    project.write("near", VALUE.format(value=1))
    project.write("far.__init__", "")
    project.write("far.helper", VALUE.format(value=1))
    project.write("app", APP.format(signals=str(signals), wait=WAIT))
    project.manifest(MANIFEST)
    return signals


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic_rename", "in_place_write"])
def test_a_save_while_the_import_that_brought_the_module_in_runs_on_is_applied(
    project: Project, tmp_path_factory: pytest.TempPathFactory, atomic: bool
) -> None:
    signals = _write_waiting_app(project, tmp_path_factory)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_stdout("IMPORTED")
        mark = child.mark()
        project.write("near", VALUE.format(value=2), atomic=atomic)
        project.write("far.helper", VALUE.format(value=3), atomic=atomic)
        # Both taken and reloaded while the entry's import still waits.
        for module in ("near", "far.helper"):
            child.wait_for("module.loaded", module=module)
            accepted = child.wait_for("reload.accepted", module=module, after=mark)
            assert accepted["version"] == 2
        assert "app" not in {e["module"] for e in child.events if e["event"] == "module.loaded"}
        (signals / "go").touch()
        live = _answer(child)
        assert child.wait() == 0
    assert child.bad_lines == []
    with Child("up", "--log-format", "json", cwd=project.root) as fresh:
        assert _answer(fresh) == live == [2, 3]
        assert fresh.wait() == 0
    loaded = [e["module"] for e in child.events if e["event"] == "module.loaded"]
    assert sorted(loaded) == ["app", "far", "far.helper", "near"]


def test_modules_of_an_import_that_runs_on_are_reported_and_watched_within_moments(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Nothing else asks about the modules (no save, no list of them): they are taken half a
    second after the first was imported, so their events are written and their folders watched
    while the import that brought them in still runs."""
    signals = _write_waiting_app(project, tmp_path_factory)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_stdout("IMPORTED")
        child.wait_for("module.loaded", module="far.helper")
        mark = child.mark()
        project.write("far.helper", VALUE.format(value=3))
        child.wait_for("reload.accepted", module="far.helper", after=mark)
        (signals / "go").touch()
        assert _answer(child) == [1, 3]
        assert child.wait() == 0
    assert child.bad_lines == []


# Imports 250 modules, then waits until the last one's value moved (or its deadline).
MANY = """
import time

{imports}

def main() -> None:
    print("STARTED", flush=True)
    deadline = time.monotonic() + {wait}
    while {last}.value() == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    print({last}.value(), flush=True)
"""


def test_modules_imported_at_start_are_reported_once_each_in_import_order(
    project: Project,
) -> None:
    """An app of 250 modules in 5 packages: one `module.loaded` each, in the order their imports
    ended, numbered without gaps, and the last one imported reloads."""
    names = [f"pkg_{p}.mod_{m:02d}" for p in range(5) for m in range(50)]
    for package in range(5):
        project.write(f"pkg_{package}.__init__", "")
    for name in names:
        project.write(name, VALUE.format(value=1))
    imports = "".join(f"import {name}\n" for name in names)
    project.write("app", MANY.format(imports=imports, wait=WAIT, last=names[-1]))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_stdout("STARTED")
        mark = child.mark()
        project.write(names[-1], VALUE.format(value=2))
        child.wait_for("reload.accepted", module=names[-1], after=mark)
        assert child.stdout[child.wait_stdout("2", after=mark)] == "2"
        assert child.wait() == 0
    loaded = [e["module"] for e in child.events if e["event"] == "module.loaded"]
    expected = []
    for name in names:
        package = name.split(".")[0]
        if package not in expected:  # a package's import ends before its first module's
            expected.append(package)
        expected.append(name)
    assert loaded == [*expected, "app"]
    assert [e["seq"] for e in child.events] == list(range(1, len(child.events) + 1))
    assert child.bad_lines == []


def test_the_import_order_of_the_reported_modules_matches_a_fresh_process(
    project: Project,
) -> None:
    """The `module.loaded` order is the order `sys.modules` gets the modules in a plain run."""
    project.write("near", VALUE.format(value=1))
    project.write("far.__init__", "import far.helper\n")
    project.write("far.helper", "import near\n" + VALUE.format(value=1))
    project.write(
        "app",
        "import sys\nimport far\n\n\ndef main() -> None:\n"
        "    print(' '.join(n for n in sys.modules if n in ('near', 'far', 'far.helper')))\n",
    )
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        assert child.wait() == 0
    loaded = [e["module"] for e in child.events if e["event"] == "module.loaded"]
    plain = subprocess.run(
        [sys.executable, "-c", "import app; app.main()"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    ).stdout.split()
    assert loaded == [*plain, "app"]
    assert plain == ["near", "far.helper", "far"]


# Two threads import their own modules one at a time, each import a burst of its own: one
# thread's imports are noted while the other takes the notes.
TWO_THREADS = """
import importlib
import sys
import threading

sys.setswitchinterval(1e-6)  # the threads take turns as often as they can


def _import_all(names: list[str]) -> None:
    for name in names:
        importlib.import_module(name)


def main() -> None:
    threads = [
        threading.Thread(target=_import_all, args=([f"{{p}}.mod_{{m:03d}}" for m in range({n})],))
        for p in ("left", "right")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("IMPORTED", sum(name.startswith(("left.", "right.")) for name in sys.modules), flush=True)
"""


def test_imports_in_two_threads_at_once_are_each_reported_once(project: Project) -> None:
    """While one thread takes the notes, the other's import adds one: the taker hands it on to
    the next take (and the half-second bound) and never waits for itself. Both threads' modules
    are reported once each, and the process ends."""
    count = 200
    for package in ("left", "right"):
        project.write(f"{package}.__init__", "")
        for number in range(count):
            project.write(f"{package}.mod_{number:03d}", VALUE.format(value=number))
    project.write("app", TWO_THREADS.format(n=count))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        assert child.wait() == 0
        child.wait_stdout(f"IMPORTED {2 * count}")
    loaded = [e["module"] for e in child.events if e["event"] == "module.loaded"]
    assert sorted(loaded) == sorted(
        ["app", "left", "right"]
        + [f"{p}.mod_{m:03d}" for p in ("left", "right") for m in range(count)]
    )
    assert child.bad_lines == []
