"""The server: start-up, bindings, entries, the manifest changing under it, and stopping."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import EventRecorder, Project
from support import wait_until

import hotreload
import hotreload.reloading
import hotreload.server
from hotreload import ContractViolation, HotreloadError, ServerError
from hotreload.engine.source import settle_left_ns
from hotreload.manifest import load_manifest
from hotreload.server import Server

CALC = """
def add(a: int, b: int) -> int:
    return a + b
"""

MANIFEST = """
[project]
name = "demo"

[modules.calc.exports]
add = "(a: int, b: int) -> int"
"""


@pytest.fixture
def calc_project(project: Project) -> Project:
    project.write("calc", CALC)
    project.manifest(MANIFEST)
    return project


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hotreload-watcher"]


def test_up_returns_with_modules_loaded_and_events_in_order(calc_project: Project, start) -> None:
    server, events = start()
    assert server.module("calc").add(2, 3) == 5
    assert server.version("calc") == 1
    assert events.names() == ["module.loaded", "server.started"]
    assert [e["seq"] for e in events.events] == [1, 2]
    assert server.watching


def test_stop_ends_the_watcher_thread_and_writes_server_stopped(
    calc_project: Project, start
) -> None:
    server, events = start()
    server.stop()
    server.stop()  # idempotent: one event only
    assert events.names()[-1] == "server.stopped"
    assert events.names().count("server.stopped") == 1
    assert not server.watching
    assert watcher_threads() == []


def test_stop_forgets_the_finders_made_for_project_folders(calc_project: Project, start) -> None:
    """A folder the app imported from while the server ran is found by the standard finder
    again once it stops: its modules are no longer recorded."""
    import importlib
    import sys

    calc_project.write("helpers/__init__", "")
    calc_project.write("helpers/first", "X = 1\n")
    calc_project.write("helpers/second", "Y = 2\n")
    server, _ = start()
    folder = str(calc_project.root / "helpers")
    try:
        importlib.import_module("helpers.first")
        assert "helpers.first" in server.modules
        assert folder in sys.path_importer_cache
        recording = sys.path_importer_cache[folder]
        server.stop()
        assert sys.path_importer_cache.get(folder) is not recording
        importlib.import_module("helpers.second")  # after the stop: the standard finder
        loader = sys.modules["helpers.second"].__loader__
        assert type(loader) is importlib.machinery.SourceFileLoader
    finally:
        for name in ("helpers.second", "helpers.first", "helpers"):
            sys.modules.pop(name, None)


def test_context_manager_stops_the_server(calc_project: Project) -> None:
    events = EventRecorder()
    server = Server(load_manifest(calc_project.manifest_path), on_event=events).start()
    with server:
        assert server.watching
    assert events.events[-1]["event"] == "server.stopped"
    assert events.events[-1]["reason"] == "stopped"
    assert not server.watching


def test_unknown_module_name_lists_the_known_ones(calc_project: Project, start) -> None:
    server, _ = start()
    with pytest.raises(HotreloadError, match=r"unknown module 'nope'.*known: calc|calc"):
        server.module("nope")


def test_binding_is_the_same_object_every_time(calc_project: Project, start) -> None:
    server, _ = start()
    assert server.module("calc") is server.module("calc")


def test_contract_violation_at_start_raises_before_module_code_runs(project: Project) -> None:
    marker = project.root / "ran.txt"
    project.write(
        "calc",
        f"""
        open({str(marker)!r}, "w").close()
        def add(a: int, b: str) -> int:
            return a
        """,
    )
    project.manifest(MANIFEST)
    events = EventRecorder()
    with pytest.raises(ContractViolation, match="add"):
        Server(load_manifest(project.manifest_path), on_event=events).start()
    assert not marker.exists()
    violation = events.events[0]
    assert violation["event"] == "contract.violation"
    assert violation["code"] == "parameter_type_changed"
    assert violation["function"] == "add"
    assert watcher_threads() == []


def test_module_raising_at_import_is_a_server_error(project: Project) -> None:
    project.write("calc", "raise RuntimeError('no database')\n" + CALC)
    project.manifest(MANIFEST)
    with pytest.raises(ServerError, match="RuntimeError: no database"):
        Server(load_manifest(project.manifest_path)).start()


def test_entry_receives_the_server_when_it_takes_an_argument(calc_project: Project, start) -> None:
    calc_project.write(
        "host",
        """
        def main(server):
            return server.module("calc").add(40, 2)
        """,
    )
    calc_project.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    server, _ = start()
    assert server.run_entry() == 42


def test_entry_without_parameters_is_called_bare(calc_project: Project, start) -> None:
    calc_project.write("host", "def main():\n    return 'ran'\n")
    calc_project.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    server, _ = start()
    assert server.run_entry() == "ran"


def test_missing_entry_function_says_where_it_was_looked_up(calc_project: Project, start) -> None:
    calc_project.write("host", "def other():\n    pass\n")
    calc_project.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    server, _ = start()
    with pytest.raises(ServerError, match=r"cannot import \[app\] entry 'host:main'"):
        server.run_entry()


def test_edited_manifest_is_reported_and_not_applied(calc_project: Project, start) -> None:
    server, events = start()
    mark = events.mark()
    calc_project.manifest(
        MANIFEST.replace('add = "(a: int, b: int) -> int"', 'add = "(a: int) -> int"')
    )
    event = events.wait_for("manifest.changed", after=mark)
    assert event["valid"] is True
    assert "restart" in event["message"]
    assert server.module("calc").add(1, 2) == 3  # the contract the host started with still holds


def test_invalid_manifest_edit_is_reported_and_the_server_goes_on(
    calc_project: Project, start
) -> None:
    server, events = start()
    mark = events.mark()
    calc_project.manifest(MANIFEST + "\n[env.development]\nrelaod = true\n")
    event = events.wait_for("manifest.changed", after=mark)
    assert event["valid"] is False
    assert "relaod" in event["message"]
    mark = events.mark()
    calc_project.write("calc", CALC.replace("a + b", "a + b + 1"))
    events.wait_for("reload.accepted", after=mark)
    assert server.module("calc").add(1, 2) == 4


def test_deleted_manifest_is_reported_and_the_server_goes_on(calc_project: Project, start) -> None:
    server, events = start()
    mark = events.mark()
    calc_project.manifest_path.unlink()
    event = events.wait_for("manifest.changed", after=mark)
    assert event["valid"] is False
    assert "deleted" in event["message"]
    mark = events.mark()
    calc_project.write("calc", CALC.replace("a + b", "a * b"))
    events.wait_for("reload.accepted", after=mark)
    assert server.module("calc").add(2, 5) == 10


def test_production_cannot_be_made_to_reload_by_editing_the_manifest(
    calc_project: Project, start
) -> None:
    """With reload off nothing watches, so neither module nor manifest edits change anything."""
    profiles = "\n[env.development]\nreload = true\n[env.production]\nreload = {}\n"
    calc_project.manifest(MANIFEST + profiles.format("false"))
    server, events = start(env="production")
    assert not server.watching and watcher_threads() == []
    calc_project.manifest(MANIFEST + profiles.format("true"))
    calc_project.write("calc", CALC.replace("a + b", "a - b"))
    # Nothing can happen, so there is nothing to wait for: the binding is the original function.
    assert server.module("calc").add(5, 3) == 8
    assert server.version("calc") == 1
    assert events.names() == ["module.loaded", "server.started"]


def test_module_already_imported_by_the_host_is_adopted_not_reimported(
    calc_project: Project, start
) -> None:
    import importlib
    import sys

    sys.path.insert(0, str(calc_project.root))
    module = importlib.import_module("calc")
    server, _ = start()
    assert sys.modules["calc"] is module
    assert Path(module.__file__ or "").name == "calc.py"
    assert server.module("calc").add(1, 1) == 2


@pytest.mark.parametrize(
    ("age_ms", "expected_ms"),
    [
        (0, 9),  # just written: a whole quiet period (5 ms) plus the timestamp slack (4 ms)
        (3, 6),
        (9, 0),  # already quiet long enough: no wait at all
        (500, -491),
        (-1000, 9),  # a timestamp in the future waits one period, never longer
    ],
)
def test_settle_wait_is_what_remains_of_the_quiet_period(age_ms: int, expected_ms: int) -> None:
    now = 10**18
    changed = now - age_ms * 1_000_000
    mark = (1, 10, changed - 5_000_000, changed)  # ctime is the later of the two
    assert settle_left_ns(mark, now, 5_000_000) == expected_ms * 1_000_000


def test_a_file_that_cannot_be_stated_needs_no_settling() -> None:
    assert settle_left_ns(None, 10**18, 5_000_000) == 0


def test_a_save_made_while_the_server_starts_is_applied_before_server_started(
    calc_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save between a module's first read and the watcher going live raised its file event
    before anyone listened; start-up must still decide it, or it would wait for the next save."""

    class SaveFirst(hotreload.reloading.Watcher):
        def start(self, timeout: float = 10.0) -> None:
            calc_project.write("calc", CALC.replace("a + b", "a + b + 100"))
            super().start(timeout)

    monkeypatch.setattr(hotreload.reloading, "Watcher", SaveFirst)
    events = EventRecorder()
    with Server(load_manifest(calc_project.manifest_path), on_event=events).start() as server:
        assert events.names() == ["module.loaded", "reload.accepted", "server.started"]
        assert server.module("calc").add(1, 2) == 103


def test_the_profile_sets_how_long_reloaded_module_code_may_run(project: Project, start) -> None:
    """exec_timeout_ms in the profile bounds a runaway top level, without any API argument."""
    project.write("calc", CALC)
    project.manifest(MANIFEST + "\n[env.development]\nreload = true\nexec_timeout_ms = 200\n")
    server, events = start()
    assert server.exec_timeout == 0.2
    mark = events.mark()
    project.write("calc", CALC + "\nwhile True:\n    pass\n")
    rejected = events.wait_for("reload.rejected", after=mark)
    assert rejected["reason"] == "exec_timeout"
    assert "longer than 0.2 s" in rejected["message"]
    assert server.module("calc").add(2, 2) == 4


def test_an_explicit_exec_timeout_beats_the_profile(calc_project: Project, start) -> None:
    server, _ = start(exec_timeout=1.5)
    assert server.exec_timeout == 1.5


def test_stop_leaves_no_hotreload_thread_running(calc_project: Project, start) -> None:
    server, events = start()
    mark = events.mark()
    calc_project.write("calc", CALC.replace("a + b", "a + b + 1"))
    events.wait_for("reload.accepted", after=mark)  # the deadline thread has started by now
    server.stop()
    assert [t.name for t in threading.enumerate() if t.name.startswith("hotreload")] == []


def test_stop_does_not_hang_on_a_reload_stuck_in_a_c_call(
    calc_project: Project, start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline cannot interrupt time.sleep(); stop() gives up waiting and says why."""
    monkeypatch.setattr(hotreload.reloading, "STOP_GRACE_S", 0.3)
    server, events = start(exec_timeout=0.2)
    calc_project.write("calc", "import time\ntime.sleep(2)\n" + CALC)
    wait_until(lambda: server.gate.active_calls == 0 and server._reloading.lock.locked())
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 1.5
    stopped = events.wait_for("server.stopped")
    assert "still running module code" in stopped["message"]
    # When the sleep ends, the deadline's exception lands: the change is rejected, nothing is
    # applied, and the reload's threads end too.
    rejected = events.wait_for("reload.rejected")
    assert rejected["reason"] == "exec_timeout"
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("hotreload")])
    assert server.module("calc").add(1, 2) == 3


# -- on_event listeners: outside the server's locks, isolated ------------------------------------


def test_a_listener_that_raises_on_every_event_is_reported_once_and_changes_nothing(
    calc_project: Project,
) -> None:
    events = EventRecorder()

    def listener(event: dict[str, Any]) -> None:
        events(event)
        raise ValueError(f"listener broke on {event['event']}")

    server = hotreload.up(calc_project.manifest_path, on_event=listener, stderr=False)
    try:
        for n in (1, 2, 3):
            mark = events.mark()
            calc_project.write("calc", CALC.replace("a + b", f"a + b + {n}"))
            events.wait_for("reload.accepted", after=mark, version=n + 1)
            assert server.module("calc").add(2, 3) == 5 + n
            assert server.watching
    finally:
        server.stop()
    reports = [e for e in events.events if e["event"] == "listener.error"]
    assert len(reports) == 1
    (report,) = reports
    assert (report["error"], report["during"], report["during_seq"]) == (
        "ValueError",
        "module.loaded",
        1,
    )
    assert report["listener"].endswith("listener")
    assert "raised ValueError: listener broke on module.loaded" in report["message"]
    assert [e["seq"] for e in events.events] == list(range(1, len(events.events) + 1))
    assert events.names()[-1] == "server.stopped"


def test_each_kind_of_error_a_listener_raises_is_reported_once(calc_project: Project) -> None:
    events = EventRecorder()

    def listener(event: dict[str, Any]) -> None:
        events(event)
        if event["event"].startswith("reload."):
            raise KeyError(event["event"])
        if event["event"] != "listener.error":
            raise RuntimeError("not a reload")

    with hotreload.up(calc_project.manifest_path, on_event=listener, stderr=False) as server:
        for n in (1, 2):
            mark = events.mark()
            calc_project.write("calc", CALC.replace("a + b", f"a + b + {n}"))
            events.wait_for("reload.accepted", after=mark, version=n + 1)
        assert server.watching
    reports = [(e["error"], e["during"]) for e in events.events if e["event"] == "listener.error"]
    assert reports == [("RuntimeError", "module.loaded"), ("KeyError", "reload.accepted")]


def test_a_listener_that_stops_the_server_from_its_callback_returns(
    calc_project: Project,
) -> None:
    events = EventRecorder()
    returned = threading.Event()
    servers: list[Server] = []

    def listener(event: dict[str, Any]) -> None:
        events(event)
        if event["event"] == "reload.accepted":
            servers[0].stop()  # from the watcher thread, right after the reload it made
            returned.set()

    servers.append(hotreload.up(calc_project.manifest_path, on_event=listener, stderr=False))
    server = servers[0]
    try:
        calc_project.write("calc", CALC.replace("a + b", "a + b + 1"))
        # Well within the reload's deadline (10 s): a stop that waited for the reload lock its
        # own thread holds would only give up after that, saying a reload was still running.
        assert returned.wait(server.exec_timeout / 2)
        stopped = events.wait_for("server.stopped")
        assert stopped["message"] is None
        assert events.names()[-2:] == ["reload.accepted", "server.stopped"]
        wait_until(lambda: not server.watching)
        assert server.wait(0)
    finally:
        server.stop()
    assert watcher_threads() == []


def test_a_listener_may_call_back_into_the_server(calc_project: Project) -> None:
    """Called outside the reload lock and the version gate: a reload or a call from a callback
    neither deadlocks nor waits."""
    events = EventRecorder()
    results: list[object] = []
    servers: list[Server] = []

    def listener(event: dict[str, Any]) -> None:
        events(event)
        if event["event"] == "reload.accepted":
            server = servers[0]
            [outcome] = server.reload([calc_project.path("calc")])
            results.append((outcome.kind, server.module("calc").add(2, 3)))

    servers.append(hotreload.up(calc_project.manifest_path, on_event=listener, stderr=False))
    try:
        calc_project.write("calc", CALC.replace("a + b", "a + b + 1"))
        events.wait_for("reload.unchanged")
        wait_until(lambda: bool(results))
        assert results == [("unchanged", 6)]
        assert events.names()[-2:] == ["reload.accepted", "reload.unchanged"]
        assert servers[0].watching
    finally:
        servers[0].stop()


def test_a_failed_start_writes_server_failed_and_closes_its_log_file(project: Project) -> None:
    """`hotreload.up()` reports a start that fails as `hotreload up` does, and leaves nothing."""
    project.write("calc", "raise RuntimeError('no database')\n" + CALC)
    project.manifest(MANIFEST + '\n[env.development]\nreload = true\nlog_file = "events.jsonl"\n')
    events = EventRecorder()
    with pytest.raises(ServerError, match="no database"):
        hotreload.up(project.manifest_path, on_event=events, stderr=False)
    assert [(e["event"], e.get("reason")) for e in events.events] == [
        ("server.failed", "import_error")
    ]
    lines = (project.root / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["server.failed"]
    assert watcher_threads() == []


def test_a_listener_that_stops_the_server_during_start_up_leaves_nothing_running(
    calc_project: Project,
) -> None:
    """Start-up events reach listeners once start-up is over, so a stop from one finds a whole
    server to stop (and `server.started` comes before `server.stopped`)."""
    events = EventRecorder()
    servers: list[Server] = []

    def listener(event: dict[str, Any]) -> None:
        events(event)
        if event["event"] == "module.loaded":
            servers[0].stop()

    server = Server(load_manifest(calc_project.manifest_path), on_event=listener, stderr=False)
    servers.append(server)
    assert server.start() is server
    assert events.names() == ["module.loaded", "server.started", "server.stopped"]
    assert not server.watching
    assert watcher_threads() == []
