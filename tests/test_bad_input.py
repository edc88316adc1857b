"""Bad input: every kind of broken save has one defined outcome, and the server lives on.

Each case saves something over a running module and checks the event it causes (reason code,
a message that says what to do), that the previous version keeps serving through the binding,
and that the next valid save is applied as usual. The file contents are in tests/corpus/ with
their expected outcomes in tests/corpus/cases.toml; huge and deeply nested files are generated
here; file-system cases (deleted, a directory, symlinks, unreadable, ...) are a table below.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from child import child_env
from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import Running, run, wait_until

from hotreload.engine.source import MAX_SOURCE_BYTES
from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

CORPUS = Path(__file__).parent / "corpus"
CASES: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text("utf-8"))
EXPORTS = {"calc": {"add": "(a: int, b: int) -> int"}}
EXEC_TIMEOUT = 0.5


def valid(offset: int) -> str:
    return f"def add(a: int, b: int) -> int:\n    return a + b + {offset}\n"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def save_bytes(path: Path, data: bytes) -> None:
    """Save raw bytes the way most editors do: a temp file renamed over the module."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def wait_for_message(
    events: EventRecorder, name: str, text: str, *, after: int, **fields: Any
) -> dict[str, Any]:
    """The first `name` event after ``after`` whose message contains ``text``.

    A file-system case can take two steps (unlink, then mkdir): the watcher may decide the
    first one on its own ("does not exist") before the second.
    """
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        event = events.wait_for(
            name, after=after, timeout=max(0.0, deadline - time.monotonic()), **fields
        )
        if text in event["message"]:
            return event
        after = event["seq"]  # the recorder holds every event from seq 1: position == seq


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    return run(project, start, {"calc": valid(0)}, EXPORTS, exec_timeout=EXEC_TIMEOUT)


def next_valid_save_is_applied(r: Running) -> None:
    version = r.server.version("calc")
    event = r.save(valid(7))
    assert event["version"] == version + 1
    assert r.binding().add(2, 3) == 12


# -- the corpus -----------------------------------------------------------------------------


def test_corpus_files_hold_the_bytes_their_cases_are_about() -> None:
    """A checkout that converted line ends or stripped a BOM would make cases pass vacuously."""

    def corpus(name: str) -> bytes:
        return (CORPUS / name).read_bytes()

    assert corpus("empty.py") == b""
    assert corpus("crlf.py").count(b"\r\n") == corpus("crlf.py").count(b"\n") > 0
    assert corpus("bom.py").startswith(codecs.BOM_UTF8)
    assert b"\x00" in corpus("null_bytes.py")
    assert b"\xe9" in corpus("latin1.py")
    assert b"\n\t" in corpus("tabs_spaces.py") and b"\n    " in corpus("tabs_spaces.py")
    assert not corpus("truncated.py").endswith(b"\n")
    assert {case["file"] for case in CASES.values()} == {p.name for p in CORPUS.glob("*.py")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case_has_its_outcome_and_the_server_lives_on(running: Running, name: str) -> None:
    case = CASES[name]
    data = (CORPUS / case["file"]).read_bytes()
    add = running.binding().add
    mark = running.events.mark()
    save_bytes(running.project.path("calc"), data)
    event = running.events.wait_for(case["event"], after=mark, module="calc", digest=digest(data))
    assert event.get("reason") == case.get("reason")
    assert case.get("message", "") in event.get("message", "")
    assert add(2, 3) == case["result"]
    accepted = case["event"] == "reload.accepted"
    assert running.server.version("calc") == (2 if accepted else 1)
    if case.get("reason") == "exec_timeout":
        assert event["duration_ms"] < (EXEC_TIMEOUT + 2.0) * 1000  # stopped, not waited out
    worker = getattr(running.module(), "WORKER", None)
    if worker is not None:  # the thread the module started ran, and ends
        worker.join(EVENT_TIMEOUT)
        assert running.module().RAN.is_set()
    assert running.server.watching
    next_valid_save_is_applied(running)


# -- generated: huge and deeply nested ------------------------------------------------------


def huge() -> bytes:
    """A valid 20 MB module: the contract holds, the size does not."""
    filler = ("# " + "x" * 97 + "\n") * (20 * 1024 * 1024 // 100)
    return (valid(1) + filler).encode()


GENERATED = [
    # (id, bytes, reason, message fragment)
    ("huge_20MB", huge, "file_too_large", "move bulky data out of the module"),
    (
        "deep_parentheses",
        lambda: (valid(1) + "x = " + "(" * 300 + "1" + ")" * 300 + "\n").encode(),
        "syntax_error",
        "too many nested parentheses",
    ),
    (
        # CPython 3.11's parser gives up with a bare MemoryError, 3.12+ with a SyntaxError.
        "deep_unary",
        lambda: (valid(1) + "x = " + "-" * 100_000 + "1\n").encode(),
        "syntax_error",
        "nested too deeply",
    ),
    (
        # Deep enough to pass the parser and overflow the recursive walks that follow it.
        "deep_after_parse",
        lambda: (valid(1) + "x = " + "1 + " * 600 + "1\n").encode(),
        "syntax_error",
        "nested too deeply",
    ),
]


@pytest.mark.parametrize(
    ("make", "reason", "message"),
    [case[1:] for case in GENERATED],
    ids=[case[0] for case in GENERATED],
)
def test_generated_case_is_rejected_and_the_server_lives_on(
    running: Running, make: Callable[[], bytes], reason: str, message: str
) -> None:
    data = make()
    mark = running.events.mark()
    save_bytes(running.project.path("calc"), data)
    event = running.events.wait_for("reload.rejected", after=mark, module="calc")
    assert event["reason"] == reason
    assert message in event["message"]
    if reason == "file_too_large":
        assert len(data) > MAX_SOURCE_BYTES
        assert event["digest"] is None  # refused unread
        assert "20.0 MiB" in event["message"]
    else:
        assert event["digest"] == digest(data)
    assert running.binding().add(2, 3) == 5
    next_valid_save_is_applied(running)


def test_deep_nesting_python_compiles_in_a_helper_is_accepted(running: Running) -> None:
    """Only exports' signatures are read at a reload, so a deep default in a helper is judged
    by Python's own compiler, which takes it: refusing it would refuse valid code."""
    data = (valid(1) + "def g(x=" + "1+" * 450 + "1): pass\n").encode()
    mark = running.events.mark()
    save_bytes(running.project.path("calc"), data)
    event = running.events.wait_for("reload.accepted", after=mark, module="calc")
    assert event["digest"] == digest(data)
    assert event["added"] == ["g"]


# -- file-system cases ----------------------------------------------------------------------


def _delete(path: Path) -> None:
    path.unlink()


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _symlink_loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)  # calc.py -> calc.py


def _symlink_to_module(path: Path) -> None:
    other = path.with_name("other.py")
    other.write_text(valid(500), encoding="utf-8")
    path.unlink()
    path.symlink_to(other.name)


def _unmake_directory(path: Path) -> None:
    path.rmdir()


def _unlink(path: Path) -> None:
    path.unlink()


FILE_SYSTEM = [
    # (id, what is done to calc.py, event, reason, message fragment, add(2, 3) after,
    #  what must be undone before an editor can save the file again)
    ("deleted", _delete, "reload.rejected", "file_missing", "does not exist; restore it", 5, None),
    (
        "replaced_by_directory",
        _directory,
        "reload.rejected",
        "file_missing",
        "is a directory",
        5,
        _unmake_directory,
    ),
    (
        "replaced_by_fifo",  # opened blocking, a FIFO would hang the reload thread for ever
        _fifo,
        "reload.rejected",
        "file_missing",
        "not a regular file",
        5,
        _unlink,
    ),
    (
        "symlink_loop",
        _symlink_loop,
        "reload.rejected",
        "file_missing",
        "is a symlink loop",
        5,
        None,
    ),
    # A link to another file inside the root is read through, like any save.
    ("symlink_to_another_module", _symlink_to_module, "reload.accepted", None, "", 505, None),
]


@pytest.mark.parametrize(
    ("act", "event_name", "reason", "message", "result", "undo"),
    [case[1:] for case in FILE_SYSTEM],
    ids=[case[0] for case in FILE_SYSTEM],
)
def test_file_system_case_has_its_outcome_and_the_server_lives_on(
    running: Running,
    act: Callable[[Path], None],
    event_name: str,
    reason: str | None,
    message: str,
    result: int,
    undo: Callable[[Path], None] | None,
) -> None:
    path = running.project.path("calc")
    add = running.binding().add
    mark = running.events.mark()
    act(path)
    if reason is None:
        event = running.events.wait_for(event_name, after=mark, module="calc")
    else:
        event = wait_for_message(running.events, event_name, message, after=mark, module="calc")
        assert event["reason"] == reason
    assert add(2, 3) == result
    assert running.server.watching
    if undo is not None:
        undo(path)
    next_valid_save_is_applied(running)


def test_file_renamed_away_and_back_is_missing_then_unchanged(running: Running) -> None:
    path = running.project.path("calc")
    away = path.with_name("calc.py.away")
    mark = running.events.mark()
    path.rename(away)
    event = running.events.wait_for("reload.rejected", after=mark, reason="file_missing")
    assert "does not exist" in event["message"]
    assert running.binding().add(2, 3) == 5
    mark = running.events.mark()
    away.rename(path)
    running.events.wait_for("reload.unchanged", after=mark, module="calc")
    assert running.server.version("calc") == 1
    next_valid_save_is_applied(running)


# -- an unreadable file ---------------------------------------------------------------------

UNREADABLE_CHILD = """
import json, os, sys, threading, time
from pathlib import Path

import structlog

structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
import hotreload

root = Path(sys.argv[1])
path = root / "calc.py"
events, cond = [], threading.Condition()


def on_event(event):
    with cond:
        events.append(event)
        cond.notify_all()


def wait_for(name, after):
    deadline = time.monotonic() + 20
    with cond:
        while True:
            for event in events[after:]:
                if event["event"] == name and event.get("module") == "calc":
                    return event
            if time.monotonic() > deadline:
                raise SystemExit(f"no {name}; saw {events}")
            cond.wait(0.1)


def save(text, mode):
    temp = root / ".calc.py.tmp"
    temp.write_text(text)
    os.chmod(temp, mode)
    os.replace(temp, path)


with hotreload.up(root / "hotreload.toml", on_event=on_event) as server:
    add = server.module("calc").add
    mark = len(events)
    save("def add(a: int, b: int) -> int:\\n    return a + b + 1\\n", 0)  # saved unreadable
    rejected = wait_for("reload.rejected", mark)
    during = add(2, 3)
    mark = len(events)
    save("def add(a: int, b: int) -> int:\\n    return a + b + 7\\n", 0o644)
    accepted = wait_for("reload.accepted", mark)
    print(json.dumps({"rejected": rejected, "during": during, "accepted": accepted,
                      "after": add(2, 3), "euid": os.geteuid()}))
"""

# Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE). As root, the case runs in a child that
# setpriv (util-linux) started without the capabilities that bypass file permissions.
DROP_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and util-linux `setpriv` is missing: root reads mode 000")
    probe = subprocess.run([*DROP_DAC, "true"], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        pytest.skip(f"running as root and setpriv cannot drop capabilities: {probe.stderr!r}")
    return DROP_DAC


def test_unreadable_file_is_rejected_and_the_next_save_applied(project: Project) -> None:
    prefix = unprivileged_prefix()
    project.write("calc", valid(0))
    project.manifest(
        '[project]\nname = "unreadable"\n[modules.calc.exports]\n'
        'add = "(a: int, b: int) -> int"\n[env.development]\nreload = true\ndebounce_ms = 5\n'
    )
    script = project.root / "child_unreadable.py"
    script.write_text(textwrap.dedent(UNREADABLE_CHILD), encoding="utf-8")
    child = subprocess.run(
        [*prefix, sys.executable, str(script), str(project.root)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        cwd=project.root,
        check=False,
    )
    assert child.returncode == 0, f"stdout:\n{child.stdout}\nstderr:\n{child.stderr}"
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome["rejected"]["reason"] == "file_missing"
    assert "permission denied; make it readable" in outcome["rejected"]["message"]
    assert outcome["during"] == 5
    assert outcome["accepted"]["version"] == 2
    assert outcome["after"] == 12


# -- a module that never returns ------------------------------------------------------------


def test_endless_module_code_is_stopped_in_time_and_calls_wait_at_most_that_long(
    running: Running,
) -> None:
    """A call made while the new version's top level loops waits for the reload to give up,
    then runs the previous version; the loop is stopped after exec_timeout, not waited out."""
    started = running.project.root / "loop-started"
    source = valid(1) + f"open({str(started)!r}, 'w').close()\nwhile True:\n    pass\n"
    add = running.binding().add
    mark = running.events.mark()
    running.project.write("calc", source)
    wait_until(started.exists)  # the reload holds the gate and loops
    results: list[tuple[int, float]] = []

    def call() -> None:
        began = time.monotonic()
        results.append((add(2, 3), time.monotonic() - began))

    caller = threading.Thread(target=call)
    caller.start()
    try:
        event = running.events.wait_for("reload.rejected", after=mark, reason="exec_timeout")
    finally:
        caller.join(EVENT_TIMEOUT)
    [(result, waited)] = results
    assert result == 5
    assert waited < EXEC_TIMEOUT + 2.0
    assert event["duration_ms"] < (EXEC_TIMEOUT + 2.0) * 1000
    assert "ran longer than 0.5 s and was stopped" in event["message"]
    assert running.server.watching
    next_valid_save_is_applied(running)
