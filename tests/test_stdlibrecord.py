"""What a statement registered with the standard library is undone before it runs again (issue 21,
item 3): recorded while module code runs, put back if the save is rolled back, and marshalled to
the main thread for `signal.signal`. The fresh-start corpus (tests/freshstart/cases_stdlib.py)
compares each kind with a fresh interpreter; these pin the mechanics."""

from __future__ import annotations

import atexit
import json
import logging
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from conftest import EventRecorder, Project
from support import dedent, manifest_text, run

from hotreload.engine import stdlibrecord
from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]


def test_each_registration_goes_to_the_line_of_the_module_code_that_made_it(
    tmp_path: Path,
) -> None:
    library = tmp_path / "fs_library_mod.py"
    library.write_text("import atexit\natexit.register(print)\n")  # a library's own, at import
    sys.path.insert(0, str(tmp_path))
    namespace: dict[str, object] = {"__name__": "fs_project"}
    source = "import atexit, logging\nimport fs_library_mod\n\natexit.register(str)\n"
    source += "logging.getLogger('fs.rec').addHandler(logging.NullHandler())\n"
    source += "from atexit import register\n"
    original = atexit.register
    try:
        with stdlibrecord.recording(namespace) as target:
            assert atexit.register is not original  # wrapped while module code runs
            exec(compile(source, "fs_project.py", "exec"), namespace)
        found = [(line, registration.what) for _, line, _, registration in target.found]
        assert found == [
            (4, "atexit.register(str)"),
            (5, "logger 'fs.rec'.addHandler(NullHandler)"),
        ]
        # Outside module code nothing is wrapped, and no name keeps a wrapper.
        assert namespace["register"] is atexit.register is original
        assert logging.Logger.addHandler.__module__ == "logging"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fs_library_mod", None)
        for _, _, _, registration in target.found:
            registration.undo()
        atexit.unregister(print)
    assert logging.getLogger("fs.rec").handlers == []


LOGS = dedent("""
    import atexit
    import logging

    log = logging.getLogger("fs.rollback")
    log.addHandler(logging.NullHandler())
    atexit.register(str, "v1")
    VALUE = 1
    """)


def test_a_rejected_save_puts_back_what_it_undid(project: Project, start: Start) -> None:
    r = run(project, start, {"logs": LOGS}, {"logs": {}})
    log = logging.getLogger("fs.rollback")
    try:
        before = list(log.handlers)
        changed = LOGS.replace("NullHandler()", "StreamHandler()").replace('"v1"', '"v2"')
        r.save(
            changed.replace("VALUE = 1", "VALUE = 1 / 0"), module="logs", expect="reload.rejected"
        )
        assert log.handlers == before  # the very handler, undone then made again
        event = r.save(changed, module="logs")
        assert [type(h).__name__ for h in log.handlers] == ["StreamHandler"]
        assert event["ran"] == "statements"
    finally:
        for handler in list(log.handlers):
            log.removeHandler(handler)


def test_a_module_imported_before_the_server_keeps_restart_needed(
    project: Project, start: Start
) -> None:
    """Its first run was not recorded: what it registered is not known, so it is not undone."""
    project.write("early", "import atexit\n\natexit.register(str, 'v1')\n")
    project.manifest(manifest_text({}))
    sys.path.insert(0, str(project.root))
    import early  # noqa: F401  (imported before the server starts)

    _server, events = start()
    mark = events.mark()
    (project.root / "early.py").write_text("import atexit\n\natexit.register(str, 'v2')\n")
    event = events.wait_for("reload.restart_needed", after=mark, module="early")
    assert event["reason"] == "side_effect"


SIGNALS = dedent("""
    import signal


    def _on_usr2(signum, frame):
        return "v1"


    signal.signal(signal.SIGUSR2, _on_usr2)
    """)


def test_a_signal_handler_is_set_on_the_main_thread(project: Project, start: Start) -> None:
    r = run(project, start, {"sig": SIGNALS}, {"sig": {}})
    try:
        r.save(
            SIGNALS.replace("(signal.SIGUSR2, _on_usr2)", "(signal.SIGUSR2, signal.SIG_IGN)"),
            module="sig",
        )
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_IGN
        r.save(SIGNALS.replace("signal.signal(signal.SIGUSR2, _on_usr2)\n", ""), module="sig")
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL  # as before the module ran
    finally:
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)


def test_without_the_main_thread_a_signal_edit_is_restart_needed_saying_why(
    tmp_path: Path,
) -> None:
    """`hotreload.up()` started on another thread: the main thread cannot be reached. (The
    statement is added by the save: at start-up it would fail there as in a fresh start.)"""
    without = SIGNALS.replace("signal.signal(signal.SIGUSR2, _on_usr2)\n", "")
    (tmp_path / "sig.py").write_text(without)
    (tmp_path / "hotreload.toml").write_text(
        '[project]\nname = "s"\nroot = "."\n[modules.sig]\n'
        "[env.development]\nreload = true\ndebounce_ms = 1\n"
    )
    script = textwrap.dedent(f"""
        import json, queue, threading
        import hotreload

        events = queue.Queue()
        holder = []
        thread = threading.Thread(target=lambda: holder.append(hotreload.up(
            "hotreload.toml", stderr=False, on_event=events.put)))
        thread.start()
        thread.join(30)
        server = holder[0]
        try:
            with open("sig.py", "w") as out:
                out.write({SIGNALS!r})
            while True:
                event = events.get(timeout=20)
                if event["event"].startswith("reload."):
                    print(json.dumps(event))
                    break
        finally:
            server.stop()
        """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    event = json.loads(done.stdout)
    assert event["event"] == "reload.restart_needed", event
    assert "main thread" in event["message"] and "started off the main thread" in event["message"]


def test_names_bound_to_wrappers_in_nested_imports_are_bound_back(tmp_path: Path) -> None:
    """A module imported while another imports binds a wrapper (`from atexit import register`):
    both modules end with the originals, also while a name nobody records holds a wrapper."""
    outer: dict[str, object] = {"__name__": "fs_outer"}
    inner: dict[str, object] = {"__name__": "fs_inner"}
    elsewhere: dict[str, object] = {}
    original, original_signal = atexit.register, signal.signal
    with stdlibrecord.recording(outer):
        exec("from signal import signal as handle\n", outer)
        with stdlibrecord.recording(inner):
            exec("from atexit import register\n", inner)
            elsewhere["kept"] = atexit.register  # a wrapper held outside module code
        assert inner["register"] is original
        assert outer["handle"] is not original_signal  # still the wrapper while the outer runs
        with stdlibrecord.recording({"__name__": "fs_other"}):
            pass  # another import ends while the outer and `elsewhere` hold wrappers
        assert outer["handle"] is not original_signal
    assert outer["handle"] is original_signal is signal.signal
    assert elsewhere["kept"] is not original  # not a namespace that was recorded: left alone
    assert atexit.register is original


def test_a_hook_assigned_in_a_nested_import_is_that_module_s_alone() -> None:
    """Modules importing each other three deep: `sys.excepthook` assigned by the middle one's
    code (between its nested imports) is recorded for it, not for the module importing it, nor
    for the ones it imports; one assigned by the outermost after its imports, for that one."""
    outer: dict[str, object] = {"__name__": "fs_hook_outer"}
    middle: dict[str, object] = {"__name__": "fs_hook_middle"}
    inner: dict[str, object] = {"__name__": "fs_hook_inner"}
    original = sys.excepthook

    def middles_hook(*args: object) -> None:
        original(*args)  # type: ignore[arg-type]

    def outers_hook(*args: object) -> None:
        original(*args)  # type: ignore[arg-type]

    try:
        with stdlibrecord.recording(outer) as outer_target:
            with stdlibrecord.recording(middle) as middle_target:
                with stdlibrecord.recording(inner):
                    pass
                sys.excepthook = middles_hook
                with stdlibrecord.recording(inner) as inner_target:
                    pass
            sys.excepthook = outers_hook
    finally:
        sys.excepthook = original
    said = {
        name: [registration.what.rpartition(".")[2] for *_, registration in target.found]
        for name, target in (("outer", outer_target), ("middle", middle_target))
    }
    assert said == {"outer": ["outers_hook"], "middle": ["middles_hook"]}
    assert inner_target.found == []


LATE_LOGS = dedent("""
    import sys

    LOGGING_BEFORE = "logging" in sys.modules
    import logging

    log = logging.getLogger("fs.late")
    log.addHandler(logging.NullHandler())
    """)


def test_logging_first_imported_by_module_code_is_recorded(tmp_path: Path) -> None:
    """A start-up does not import `logging` (most never need it): a module whose code imports
    it first and adds a handler has the handler recorded all the same, so a save that runs the
    statement again replaces the handler instead of adding a second one."""
    (tmp_path / "logs.py").write_text(LATE_LOGS)
    (tmp_path / "hotreload.toml").write_text(
        '[project]\nname = "s"\nroot = "."\n[modules.logs]\n'
        "[env.development]\nreload = true\ndebounce_ms = 1\n"
    )
    edited = LATE_LOGS.replace("logging.NullHandler()", "logging.StreamHandler()")
    script = textwrap.dedent(f"""
        import json, queue, sys
        import hotreload

        events = queue.Queue()
        server = hotreload.up("hotreload.toml", stderr=False, on_event=events.put)
        try:
            import logging
            log = logging.getLogger("fs.late")
            first = [type(h).__name__ for h in log.handlers]
            with open("logs.py", "w") as out:
                out.write({edited!r})
            while True:
                event = events.get(timeout=20)
                if event["event"].startswith("reload."):
                    break
            after = [type(h).__name__ for h in log.handlers]
            before = sys.modules["logs"].LOGGING_BEFORE
            print(json.dumps([before, first, event["event"], after]))
        finally:
            server.stop()
        """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, first, outcome, after = json.loads(done.stdout)
    assert before is False  # the module's own code imported it
    assert first == ["NullHandler"]
    assert outcome == "reload.accepted"
    assert after == ["StreamHandler"]  # the first run's handler was taken back
