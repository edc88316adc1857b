"""Deadlocks and hangs found by a lock audit: each test reproduces one with real parts (a real
server, real threads, real files), and every wait is bounded, so a deadlock fails the test."""

from __future__ import annotations

import subprocess
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest
from child import WAIT, child_env
from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import dedent, in_thread, manifest_text, run, wait_until

from hotreload.errors import HotreloadError
from hotreload.manifest import load_manifest
from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

pytestmark = pytest.mark.timeout(60)  # every wait is bounded; a hang fails

HOST = """
    from collections.abc import Callable

    VERSION = {v}


    def call_with(fn: Callable[[], object]) -> object:
        return fn()


    def version() -> int:
        return VERSION
    """

HOST_EXPORTS = {
    "host": {
        "call_with": "(fn: Callable[[], object]) -> object",
        "version": "() -> int",
    }
}


def host(version: int) -> str:
    return dedent(HOST.format(v=version))


def test_a_reload_asked_inside_a_binding_call_while_the_watchers_reload_waits(
    project: Project, start: Start
) -> None:
    """A host may trigger a reload from inside a binding call (the gate lets its own calls
    through). Were the watcher's reload of a save already waiting at the gate for that very
    call, the host's reload waited for the reload lock the watcher holds, and the watcher for
    the call to end: both for ever."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    binding = r.binding("host")
    inside = threading.Event()

    def host_callback() -> object:
        inside.set()
        wait_until(lambda: r.server.gate.reload_waiting)  # the save's reload holds its lock
        [outcome] = r.server.reload([r.project.path("host")])
        return outcome.kind

    call, result = in_thread(lambda: binding.call_with(host_callback))
    assert inside.wait(EVENT_TIMEOUT)
    mark = r.events.mark()
    r.project.write("host", host(2))
    call.join(EVENT_TIMEOUT)
    assert not call.is_alive(), "the host's reload and the watcher's waited for each other"
    assert result == ["unchanged"]  # the watcher's reload applied version 2 meanwhile
    r.events.wait_for("reload.accepted", after=mark, module="host", version=2)
    assert binding.version() == 2


def test_a_stop_asked_inside_a_binding_call_while_the_watchers_reload_waits(
    project: Project, start: Start
) -> None:
    """The same wait for `stop`: it waits for the watcher's thread and the reload lock, which
    the watcher holds while its reload waits at the gate for the call `stop` runs in. It gave
    up only after the reload's deadline and a grace (15 s), then said a reload was still
    running module code."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    binding = r.binding("host")
    inside = threading.Event()

    def host_callback() -> object:
        inside.set()
        wait_until(lambda: r.server.gate.reload_waiting)  # the save's reload holds its lock
        r.server.stop()
        return "stopped"

    call, result = in_thread(lambda: binding.call_with(host_callback))
    assert inside.wait(EVENT_TIMEOUT)
    mark = r.events.mark()
    r.project.write("host", host(2))
    # Well within the reload's deadline: a stop that waited for the gate gave up only after it.
    call.join(r.server.exec_timeout / 2)
    assert not call.is_alive(), "the stop waited for the reload, which waited for the stop's call"
    assert result == ["stopped"]
    stopped = r.events.wait_for("server.stopped", after=mark)
    assert stopped["message"] is None
    r.events.wait_for("reload.accepted", after=mark, module="host", version=2)


# A project module whose import calls a binding (through a module the test puts in sys.modules):
# it says it is importing, waits until a reload holds the gate, then calls.
LATE = """
    import lockprobe

    lockprobe.importing.set()
    lockprobe.wait_for_reload()
    VALUE = lockprobe.host_version()
    """


def test_a_reload_that_imports_a_module_whose_import_waits_at_the_gate(
    project: Project, start: Start
) -> None:
    """A thread imports a project module whose top level calls a binding, and a save's reload
    runs module code that imports that very module: the reload waited for the import's lock
    (Python's, held by the importing thread), and the import's call waited at the gate for the
    reload to end, both for ever (the reload's deadline cannot end a wait for a lock). The call
    goes in once the reload waits for its thread's import, as Python lets a circular import see
    a module half made."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    project.write("late", dedent(LATE))
    probe = types.ModuleType("lockprobe")
    importing = threading.Event()
    vars(probe).update(
        importing=importing,
        wait_for_reload=lambda: wait_until(lambda: r.server.gate.closed),
        host_version=r.binding("host").version,
    )
    sys.modules["lockprobe"] = probe
    try:
        importer, result = in_thread(lambda: vars(__import__("late"))["VALUE"])
        assert importing.wait(EVENT_TIMEOUT)
        mark = r.events.mark()
        r.project.write("host", "import late\n" + host(2))
        importer.join(EVENT_TIMEOUT)
        assert not importer.is_alive(), "the reload and the import waited for each other"
        assert result in ([1], [2])  # the call ran while the reload waited for its import
        r.events.wait_for("reload.accepted", after=mark, module="host", version=2)
        assert r.binding("host").version() == 2
    finally:
        sys.modules.pop("lockprobe", None)
        sys.modules.pop("late", None)


# A project module whose import waits (inside it) until a reload holds the gate.
WAITING = """
    import lockprobe

    lockprobe.importing.set()
    lockprobe.wait_for_reload()
    """


def test_a_listener_that_reloads_when_told_of_an_import_the_reload_waits_for(
    project: Project, start: Start
) -> None:
    """Listeners hear of the modules an import brought in as it ends, on its thread, which
    still holds the module's import lock. One that reloads there waited for the reload lock,
    held by a save's reload whose module code imports that module, waiting for that lock: both
    for ever. The listener's reload now fails, saying why, as Python fails an import that would
    wait for itself."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    project.write("late", dedent(WAITING))
    probe = types.ModuleType("lockprobe")
    importing = threading.Event()
    vars(probe).update(
        importing=importing,
        wait_for_reload=lambda: wait_until(lambda: r.server.gate.closed),
    )
    heard: list[object] = []

    def listener(event: dict[str, Any]) -> None:
        if event["event"] == "module.loaded" and event["module"] == "late":
            try:
                heard.append(r.server.reload([project.path("host")]))
            except HotreloadError as error:
                heard.append(error)

    r.server.events.subscribe(listener)
    sys.modules["lockprobe"] = probe
    try:
        importer, _ = in_thread(lambda: __import__("late"))
        assert importing.wait(EVENT_TIMEOUT)
        mark = r.events.mark()
        r.project.write("host", "import late\n" + host(2))
        importer.join(EVENT_TIMEOUT)
        assert not importer.is_alive(), "the listener's reload and the save's waited for each other"
        r.events.wait_for("reload.accepted", after=mark, module="host", version=2)
        [error] = heard
        assert isinstance(error, HotreloadError)
        assert "import" in str(error)
    finally:
        sys.modules.pop("lockprobe", None)
        sys.modules.pop("late", None)


def test_module_code_that_a_reload_runs_asks_for_a_reload(project: Project, start: Start) -> None:
    """The reload lock is not reentrant: module code run by a reload (or a binding it calls)
    that asked for a reload waited for the lock its own thread holds, for ever, and every
    later save with it. It fails now, saying why, and the save is rejected."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    probe = types.ModuleType("lockprobe")
    vars(probe).update(reload=lambda: r.server.reload([project.path("host")]))
    sys.modules["lockprobe"] = probe
    try:
        mark = r.events.mark()
        r.project.write("host", "import lockprobe\nlockprobe.reload()\n" + host(2))
        rejected = r.events.wait_for("reload.rejected", after=mark, module="host")
        assert "cannot reload now" in rejected["message"]
        r.save(host(3), module="host", version=2)  # later saves go on as before
    finally:
        sys.modules.pop("lockprobe", None)


def test_module_code_that_a_reload_runs_stops_the_server(project: Project, start: Start) -> None:
    """`stop` waited for the reload lock that its own thread held (module code run by a
    reload): it gave up only after the reload's deadline and a grace (15 s), then said a
    reload was still running module code. It stops at once now; the reload ends as it
    returns."""
    r = run(project, start, {"host": host(1)}, HOST_EXPORTS)
    probe = types.ModuleType("lockprobe")
    vars(probe).update(stop=r.server.stop)
    sys.modules["lockprobe"] = probe
    try:
        mark = r.events.mark()
        r.project.write("host", "import lockprobe\nlockprobe.stop()\n" + host(2))
        # Well within the reload's deadline: a stop that waited for itself gave up after it.
        stopped = r.events.wait_for("server.stopped", after=mark, timeout=r.server.exec_timeout / 2)
        assert stopped["message"] is None
        wait_until(lambda: not r.server.watching)
    finally:
        sys.modules.pop("lockprobe", None)


def test_a_stop_from_another_thread_during_start_up_leaves_nothing_running(
    project: Project,
) -> None:
    """A stop that another thread asked while start-up was loading the modules found no
    watcher yet; start-up then started one, which watched (and held its thread and inotify
    descriptor) for the rest of the process, for a server that had stopped."""
    r_sources = {"host": host(1)}
    for module, source in r_sources.items():
        project.write(module, source)
    project.manifest(manifest_text(HOST_EXPORTS))
    server = Server(load_manifest(project.manifest_path), stderr=False)

    def stop_from_another_thread() -> None:
        stopper = threading.Thread(target=server.stop, daemon=True)
        stopper.start()
        stopper.join(EVENT_TIMEOUT)

    try:
        server.start(before_watch=stop_from_another_thread)
        assert server.wait(0)
        assert not server.watching
        assert [t for t in threading.enumerate() if t.name == "hotreload-watcher"] == []
    finally:
        server.stop()


# A process whose main thread runs the calls of several threads at once (a reload's module code
# and an import on another thread, each calling `signal.signal` at top level): each call signals
# the main thread, and again while it waits. The main thread spends its time in C code that
# keeps the interpreter (its handler runs late), and the interpreter switches threads as often
# as it can, so signals land while the handler runs.
MAIN_THREAD_CALLS = """
import sys, threading
from hotreload.engine import mainthread

sys.setswitchinterval(1e-6)
mainthread.install()
workers, calls = 3, 300
ended = []
def worker():
    for _ in range(calls):
        mainthread.call(lambda: None, "a test call")
    ended.append(True)
threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
for thread in threads:
    thread.start()
while len(ended) < workers:
    sum(range(100_000))
print("ran", workers * calls)
"""


def test_the_main_thread_runs_calls_of_several_threads_while_signalled_again() -> None:
    """A signal that landed while the main thread's handler held the queue's lock ran the
    handler again inside it (Python handlers nest), which waited for that lock, held by the
    handler it interrupted, on the same thread: the main thread (the app's) hung for ever.
    Before the fix this child hung in 9 runs of 20 (the test, which runs it 3 times, failed
    in 3 runs of 3); after it, in none of 20."""
    for _ in range(3):
        assert _run_bounded(MAIN_THREAD_CALLS) == "ran 900"


def _run_bounded(script: str) -> str:
    """Run ``script`` in a child Python; its output, or what says it hung (it is killed)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"hung for {WAIT:g} s"
    return (done.stdout + done.stderr).strip()
