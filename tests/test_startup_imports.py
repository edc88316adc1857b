"""What a start-up loads (issue 19): a `hotreload up` that has seen no save runs nothing of the
code that applies one, so that code (and the heavy standard library it needs) loads at the first
save. Checked in a real `hotreload up` (and `hotreload.up()` embedded) whose entry reports
`sys.modules`: none of the save path at start, all of it after a save that then works.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from child import WAIT, Child, run
from conftest import Project

from hotreload.events import VALIDATE_ENV

pytestmark = pytest.mark.timeout(120)

# Imported where a save first uses them, never by a start-up.
SAVE_ONLY = {
    "hotreload.contract.crossmodule",
    "hotreload.contract.liveshapes",
    "hotreload.contract.rebinding",
    "hotreload.contract.typerules",
    "hotreload.engine.closures",
    "hotreload.engine.dispose",
    "hotreload.engine.execute",
    "hotreload.engine.follow",
    "hotreload.engine.patching",
    "hotreload.engine.plan",
    "hotreload.engine.registers",
    "hotreload.engine.restarts",
    "hotreload.engine.stale",
    "hotreload.engine.stdlibcover",
    "hotreload.engine.unbound",
    "hotreload.saveverdicts",
    "hotreload.web.restart",
}
# What the first save of a function's body loads of them at least (the rest loads for what needs
# it: closures for a nested def's change, liveshapes for frozen types, stale for code on a
# stack, web.restart for a served app).
BODY_SAVE_LOADS = {
    "hotreload.contract.typerules",
    "hotreload.engine.dispose",
    "hotreload.engine.execute",
    "hotreload.engine.follow",
    "hotreload.engine.patching",
    "hotreload.engine.plan",
    "hotreload.engine.registers",
    "hotreload.engine.restarts",
    "hotreload.engine.stdlibcover",
    "hotreload.engine.unbound",
}
# Loaded only where a manifest freezes types (the manifests here freeze none) or a save compares
# them: the type shapes' reader and parser.
TYPES_ONLY = {"hotreload.contract.typeshapes"}
# The standard library's heavy parts no start-up needs: multiprocessing is imported by the app if
# at all (the refusal of workers waits for it), OpenSSL (`_hashlib`) and `socket` not at all.
# Nor `shutil` (argparse's formatter would import it for the terminal's width, at every
# `add_argument`: `cli._HelpFormatter` is told the width), nor `ctypes.util` and what it imports
# (inotify_simple binds its `find_library`, never called: `kernelwatch` stands in for it).
HEAVY_STDLIB = {"multiprocessing", "difflib", "_hashlib", "socket"} | {
    "shutil",
    "ctypes.util",
    "subprocess",
    "tempfile",
}

MANIFEST = """
[project]
name = "lazy"

[app]
entry = "app:main"

[modules.work.exports]
value = "() -> int"

[env.development]
reload = true
debounce_ms = 5

[env.production]
reload = false
"""

WORK = """
def value() -> int:
    return {value}
"""

HELPER = """
def twice(x: int) -> int:
    return 2 * x
"""

# The entry says what is loaded once start-up is over, then (when reloading) waits for the save
# to show and says it again.
APP = """
import json
import os
import sys
import time

import helper
import work

WATCHED = {watched!r}


def loaded() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith("hotreload.") or m in WATCHED)


def main() -> None:
    print(json.dumps(loaded()) + "\\nSTARTUP", flush=True)
    if not {wait}:
        return
    deadline = time.monotonic() + {wait}
    while work.value() == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    # The new value shows once the swap is made; the reload's event comes after its last
    # checks: the test says when it has the event.
    while not os.path.exists("reported.go") and time.monotonic() < deadline:
        time.sleep(0.01)
    print(json.dumps([work.value(), helper.twice(2), loaded()]) + "\\nSAVED", flush=True)
"""


# The suite validates every event with pydantic (which loads much of the standard library): off
# in these children, whose start-ups must be the user's.
ENV = {VALIDATE_ENV: "0"}


def _write(project: Project, *, wait: float, manifest: str = MANIFEST) -> None:
    project.write("work", WORK.format(value=1))
    project.write("helper", HELPER)
    project.write("app", APP.format(watched=sorted(HEAVY_STDLIB), wait=wait))
    project.manifest(manifest)
    # A second start, as every start but a manifest's first: its validated content is cached
    # (a first start validates it with pydantic, which loads socket, hashlib and more).
    checked = run("check", cwd=project.root, env=ENV)
    assert checked.returncode == 0, checked.stderr


def _reported(child: Child, marker: str, after: tuple[int, int] = (0, 0)) -> Any:
    """The JSON line the child printed just before the line ``marker``."""
    index = child.wait_stdout(marker, after=after)
    return json.loads(child.stdout[index - 1])


def test_a_start_up_loads_no_save_path_and_the_first_save_loads_it_and_applies(
    project: Project,
) -> None:
    _write(project, wait=WAIT)
    with Child("up", "--log-format", "json", cwd=project.root, env=ENV) as child:
        at_start = set(_reported(child, "STARTUP"))
        assert "hotreload.engine.transaction" in at_start  # the entry ran under the server
        assert not at_start & SAVE_ONLY, sorted(at_start & SAVE_ONLY)
        assert not at_start & TYPES_ONLY, sorted(at_start & TYPES_ONLY)
        assert not at_start & HEAVY_STDLIB, sorted(at_start & HEAVY_STDLIB)
        mark = child.mark()
        project.write("work", WORK.format(value=2))
        accepted = child.wait_for("reload.accepted", after=mark)
        assert (accepted["module"], accepted["ran"]) == ("work", "code")
        (project.root / "reported.go").write_text("", encoding="utf-8")
        value, twice, after_save = _reported(child, "SAVED", after=mark)
        assert (value, twice) == (2, 4)
        assert BODY_SAVE_LOADS <= set(after_save), sorted(BODY_SAVE_LOADS - set(after_save))
        assert child.wait() == 0
    assert child.bad_lines == []
    assert not any("Traceback" in line for line in child.stderr), child.output()


def test_a_production_start_up_loads_no_save_path(project: Project) -> None:
    """reload = false: nothing of a save ever runs, so nothing of it ever loads."""
    _write(project, wait=0)
    production = ("up", "--env", "production", "--log-format", "json")
    with Child(*production, cwd=project.root, env=ENV) as child:
        at_start = set(_reported(child, "STARTUP"))
        assert child.wait() == 0
    assert "hotreload.engine.transaction" in at_start
    assert not at_start & SAVE_ONLY, sorted(at_start & SAVE_ONLY)
    assert not at_start & TYPES_ONLY, sorted(at_start & TYPES_ONLY)
    assert not at_start & HEAVY_STDLIB, sorted(at_start & HEAVY_STDLIB)


EMBEDDED = """
import json
import sys

import hotreload

server = hotreload.up(stderr=False)
try:
    print(json.dumps(sorted(sys.modules)) + "\\nSTARTUP", flush=True)
finally:
    server.stop()
"""


def test_an_embedded_up_loads_no_save_path(project: Project) -> None:
    """`hotreload.up()` in the host's own process (no entry): the same start-up."""
    _write(project, wait=0, manifest=MANIFEST.replace('[app]\nentry = "app:main"\n', ""))
    (project.root / "host.py").write_text(EMBEDDED)
    with Child(cwd=project.root, program=(sys.executable, "host.py"), env=ENV) as child:
        at_start = set(_reported(child, "STARTUP"))
        assert child.wait() == 0
    assert "hotreload.engine.transaction" in at_start
    assert not at_start & SAVE_ONLY, sorted(at_start & SAVE_ONLY)
    assert not at_start & TYPES_ONLY, sorted(at_start & TYPES_ONLY)
    assert not at_start & HEAVY_STDLIB, sorted(at_start & HEAVY_STDLIB)
