"""Project modules imported through symlinks reload on a save of the file they resolve to: a
module whose file is a symlink, and one in a symlinked folder. The import system's own stat of
each file tells the watcher whether it is a symlink (no second look per import); both spellings
of such a file are watched. Checked in a real `hotreload up`, saves made as editors make them
(written in place, and a temp file renamed over the real file)."""

from __future__ import annotations

import json
import os

import pytest
from child import WAIT, Child
from conftest import Project

from hotreload.events import VALIDATE_ENV

pytestmark = pytest.mark.timeout(120)

MANIFEST = """
[project]
name = "links"

[app]
entry = "app:main"

[modules.work.exports]
value = "() -> int"

[env.development]
reload = true
debounce_ms = 5
"""

VALUE = """
def value() -> int:
    return {value}
"""

# The entry says the values it sees once they all moved to the saved ones (or at its deadline).
APP = """
import json
import time

import alias
import linked.helper
import work


def values() -> list[int]:
    return [alias.value(), linked.helper.value(), work.value()]


def main() -> None:
    print(json.dumps(values()) + "\\nSTARTUP", flush=True)
    deadline = time.monotonic() + {wait}
    while values() != [2, 3, 1] and time.monotonic() < deadline:
        time.sleep(0.01)
    print(json.dumps(values()) + "\\nSAVED", flush=True)
"""


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic_rename", "in_place_write"])
def test_modules_imported_through_symlinks_reload_on_a_save_of_their_real_file(
    project: Project, atomic: bool
) -> None:
    project.write("work", VALUE.format(value=1))
    project.write("shared.impl", VALUE.format(value=1))  # the real file of `alias`
    project.write("real_pkg.__init__", "")
    project.write("real_pkg.helper", VALUE.format(value=1))
    (project.root / "alias.py").symlink_to(os.path.join("shared", "impl.py"))
    (project.root / "linked").symlink_to("real_pkg", target_is_directory=True)
    project.write("app", APP.format(wait=WAIT))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root, env={VALIDATE_ENV: "0"}) as child:
        index = child.wait_stdout("STARTUP")
        assert json.loads(child.stdout[index - 1]) == [1, 1, 1]
        loaded = {e["module"]: e["path"] for e in child.events if e["event"] == "module.loaded"}
        assert loaded["alias"] == str(project.root / "alias.py")
        assert loaded["linked.helper"] == str(project.root / "linked" / "helper.py")
        mark = child.mark()
        project.write("shared.impl", VALUE.format(value=2), atomic=atomic)
        accepted = child.wait_for("reload.accepted", after=mark)
        assert accepted["module"] == "alias"
        mark = child.mark()
        project.write("real_pkg.helper", VALUE.format(value=3), atomic=atomic)
        accepted = child.wait_for("reload.accepted", after=mark)
        assert accepted["module"] == "linked.helper"
        index = child.wait_stdout("SAVED", after=mark)
        assert json.loads(child.stdout[index - 1]) == [2, 3, 1]
        assert child.wait() == 0
    assert child.bad_lines == []
