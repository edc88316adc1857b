"""Breakpoints under debugpy survive saves: `hotreload up` runs under `python -m debugpy`, a Debug
Adapter Protocol client attaches as an editor does, and breakpoints in swapped code hit."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from child import WAIT, Child
from dap import DapClient
from test_cli import edit
from test_web import EXAMPLE, free_port

pytest.importorskip("debugpy")
pytestmark = pytest.mark.timeout(180)


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of ``path`` that contains ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    found = [number for number, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    target = tmp_path / "webapp"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def debugged(webapp: Path) -> Iterator[tuple[Child, int]]:
    """`hotreload up` under debugpy, waiting for a client: the child and the adapter's port."""
    adapter = free_port()
    debugpy = ["-m", "debugpy", "--listen", f"127.0.0.1:{adapter}", "--wait-for-client"]
    env = {"WEBAPP_MODEL_SECONDS": "0"}
    args = ("up", "--log-format", "json", "--port", str(free_port()))
    with Child(*args, cwd=webapp, env=env, python=debugpy) as child:
        yield child, adapter


class Request(threading.Thread):
    """An HTTP request in a thread: it stays in flight while the app stops at a breakpoint."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.result: Any = None

    def run(self) -> None:
        with httpx.Client(timeout=WAIT * 3) as http:
            self.result = http.get(self.url).json()

    def finish(self) -> Any:
        self.join(WAIT * 3)
        assert not self.is_alive(), f"{self.url} did not answer"
        return self.result


def test_breakpoints_hit_in_code_a_save_swapped_in(
    webapp: Path, debugged: tuple[Child, int]
) -> None:
    child, adapter = debugged
    handlers = webapp / "handlers.py"
    path = str(handlers.resolve())
    unchanged = line_of(handlers, "    return {\n")  # in predict, whose body the first save changes
    dap = DapClient("127.0.0.1", adapter, timeout=WAIT * 2)
    try:
        dap.attach({path: [unchanged]})
        url = child.wait_for("app.serving", timeout=WAIT * 3)["url"]

        # 1. A breakpoint set before the save, on a line the save left as it was, in a function
        #    whose body it changed: it hits in the new code object, with the new code's values.
        mark = child.mark()
        edit(handlers, ("words = len(text.split())", "words = len(text.split()) * 10"))
        accepted = child.wait_for("reload.accepted", after=mark, module="handlers")
        assert (accepted["ran"], accepted["changed"]) == ("code", ["predict"])
        at = dap.mark()
        request = Request(f"{url}/predict?text=a+b")
        request.start()
        thread, frame, local = dap.stopped_at(after=at)
        assert (frame["source"]["path"], frame["line"]) == (path, unchanged)
        assert local["words"] == "20"  # the new body ran: 2 words * 10
        dap.resume(thread)
        assert request.finish()["words"] == 20

        # 2. A breakpoint on a line a save added: set once the save is applied, as an editor
        #    sends it on save; it hits with the new locals.
        mark = child.mark()
        edit(
            handlers,
            (
                '    return {"message": f"Hello, {name}!"}',
                "    shout = name.upper()\n"
                '    excited = shout + "!"\n'
                '    return {"message": f"Hello, {excited}"}',
            ),
        )
        accepted = child.wait_for("reload.accepted", after=mark, module="handlers")
        assert (accepted["ran"], accepted["changed"]) == ("code", ["greet"])
        added = line_of(handlers, 'excited = shout + "!"')
        verified = dap.set_breakpoints(path, [added])
        assert verified[0]["verified"] is True, verified
        at = dap.mark()
        request = Request(f"{url}/greet/ada")
        request.start()
        thread, frame, local = dap.stopped_at(after=at)
        assert (frame["source"]["path"], frame["line"]) == (path, added)
        assert (local["name"], local["shout"]) == ("'ada'", "'ADA'")
        assert "excited" not in local  # stopped before the added line ran
        dap.resume(thread)
        assert request.finish() == {"message": "Hello, ADA!"}
    finally:
        dap.close()
    assert child.stop() == 0
