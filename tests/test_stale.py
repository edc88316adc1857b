"""Warnings for accepted changes that will not run again: a function running now in a call that
does not return (`still_running`), or called only from lines such a call has passed
(`startup_only`).

The static rule is tested on real sources and real code objects, with the running calls given
as the stack walk reports them; the whole path runs `hotreload up` in a child process on hosts
whose `main` loops for ever, in the main thread and in a thread of its own, and on a FastAPI app
served with a factory, where no edit may warn.
"""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from child import Child
from conftest import Project
from support import dedent, run

from hotreload.engine.codeswap import index_code
from hotreload.engine.stale import (
    Changed,
    Frame,
    Source,
    StaleCalls,
    Trees,
    running_frames,
    same_behaviour,
    same_lines,
)
from hotreload.output import render_console

pytestmark = pytest.mark.timeout(120)

# -- the static rule, on real sources ------------------------------------------------------------

HOST = """\
import time


def setup():
    print("setup")


def tick(n):
    print(n)


def main():
    setup()
    n = 0
    while True:
        tick(n)
        n += 1
        time.sleep(1)
"""
LOOP_LINE = 18  # `time.sleep(1)`, where main waits


def _source(name: str, text: str, root: Path) -> Source:
    """A module's file, and its top-level functions as its import would make them (from its
    compiled code; none of it runs)."""
    path = root / (name.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    module = compile(text, str(path), "exec")
    namespace: dict[str, object] = {
        code.co_name: types.FunctionType(code, {})
        for code in module.co_consts
        if isinstance(code, types.CodeType)
    }
    return Source.of(name, path, text.encode(), namespace)


def _frame(source: Source, function: str, line: int, thread: str = "MainThread") -> Frame:
    code = source.namespace[function]
    assert isinstance(code, types.FunctionType)
    return Frame(thread, code.__code__, line, thread_target=False)


def _startup_only(
    home: Source,
    functions: list[str],
    frames: list[Frame],
    others: list[Source] = (),  # type: ignore[assignment]
    entries: set[tuple[str, str]] | None = None,
    ran_once: dict[tuple[str, str], str] | None = None,
    root: Path | None = None,
) -> list[str]:
    """What `startup_only` says of ``functions`` of ``home`` (the call sites of each warning)."""
    sources = [home, *others]
    by_file = {str(s.path): s for s in sources}
    root = root or Path(os.path.commonpath([s.path.parent for s in sources]))
    calls = StaleCalls(root, Trees(), entries or set(), ran_once)
    index = index_code([compile(home.raw, str(home.path), "exec")])
    changed = Changed(home, home.raw, None, index_code([]), index, functions)  # all new
    by_name = {s.name: s for s in sources}

    def writing(name: str) -> list[Source]:
        return [s for s in sources if name.encode() in s.raw]

    warnings = calls.startup_only(changed, frames, by_file.get, by_name.get, writing)
    return [f"{w.function}@{','.join(w.call_sites)}" for w in warnings]


@pytest.fixture
def host(tmp_path: Path) -> Source:
    return _source("app", HOST, tmp_path)


def test_a_function_called_once_before_the_loop_of_main_is_start_up_only(host: Source) -> None:
    frames = [_frame(host, "main", LOOP_LINE)]
    assert _startup_only(host, ["setup"], frames) == ["setup@app.py:13"]


def test_a_function_called_in_the_loop_around_the_running_line_is_not(host: Source) -> None:
    assert _startup_only(host, ["tick"], [_frame(host, "main", LOOP_LINE)]) == []


def test_nothing_is_said_while_the_caller_may_return(tmp_path: Path) -> None:
    """`main` without a loop, not the host's entry: it returns, and may be called again."""
    source = _source("app", HOST.replace("while True:", "for _ in range(3):"), tmp_path)
    assert _startup_only(source, ["setup"], [_frame(source, "main", LOOP_LINE)]) == []


def test_the_hosts_entry_does_not_return_even_without_a_loop(tmp_path: Path) -> None:
    source = _source("app", HOST.replace("while True:", "for _ in range(3):"), tmp_path)
    frame = _frame(source, "main", LOOP_LINE)
    entries = {(frame.code.co_filename, "main")}
    assert _startup_only(source, ["setup"], [frame], entries=entries) == ["setup@app.py:13"]


def test_a_call_not_passed_yet_is_not(host: Source) -> None:
    """main is still in `setup()` (line 13), or before it: setup runs the new code."""
    assert _startup_only(host, ["setup"], [_frame(host, "main", 13)]) == []


def test_nothing_is_said_without_a_call_that_does_not_return(host: Source) -> None:
    assert _startup_only(host, ["setup"], []) == []
    assert _startup_only(host, ["setup"], [_frame(host, "tick", 9)]) == []


@pytest.mark.parametrize(
    ("elsewhere", "why"),
    [
        ("handlers = [setup]\n", "a reference kept: a callback"),
        ("import threading\nthreading.Thread(target=setup)\n", "passed on"),
        ("def again():\n    setup()\n", "another caller"),
        ("def later(obj):\n    obj.setup()\n", "an attribute of another object"),
        ("from app import setup as init\n", "imported under another name"),
        ("import app\n\n\ndef again():\n    app.setup()\n", "called through the module"),
        ("SETUP = 'setup'\nfrom app import setup\nsetup()\n", "called at import elsewhere"),
    ],
)
def test_any_other_use_of_the_function_anywhere_means_silence(
    host: Source, tmp_path: Path, elsewhere: str, why: str
) -> None:
    other = _source("other", elsewhere, tmp_path)
    frames = [_frame(host, "main", LOOP_LINE)]
    assert _startup_only(host, ["setup"], frames, [other]) == [], why


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (("    setup()\n    n = 0", "    setup()\n    setup()\n    n = 0"), "twice: both passed"),
    ],
)
def test_every_call_passed_is_listed(tmp_path: Path, edit: tuple[str, str], why: str) -> None:
    source = _source("app", HOST.replace(*edit), tmp_path)
    frame = _frame(source, "main", LOOP_LINE + 1)
    assert _startup_only(source, ["setup"], [frame]) == ["setup@app.py:13,app.py:14"], why


@pytest.mark.parametrize(
    ("main_body", "why"),
    [
        ("    def inner():\n        setup()\n    inner()\n", "in a nested function"),
        ("    setup = print\n    setup()\n", "a local of the same name"),
        ("    for setup in [print]:\n        pass\n    setup()\n", "a loop variable"),
        ("    (lambda: setup())()\n", "in a lambda"),
    ],
)
def test_a_call_that_may_not_be_the_modules_function_means_silence(
    tmp_path: Path, main_body: str, why: str
) -> None:
    text = HOST.replace("    setup()\n", main_body)
    source = _source("app", text, tmp_path)
    line = text.splitlines().index("        time.sleep(1)") + 1
    assert _startup_only(source, ["setup"], [_frame(source, "main", line)]) == [], why


def test_a_call_from_another_module_through_its_import_is_start_up_only(tmp_path: Path) -> None:
    """`main` in host.py calls `lib.setup()` (and `configure()` from `from lib import ...`)
    before its loop."""
    lib = _source("lib", "def setup():\n    pass\n\n\ndef configure():\n    pass\n", tmp_path)
    host_text = textwrap.dedent(
        """\
        import time
        import lib
        from lib import configure


        def main():
            lib.setup()
            configure()
            while True:
                time.sleep(1)
        """
    )
    host = _source("host", host_text, tmp_path)
    frames = [_frame(host, "main", 10)]
    assert _startup_only(lib, ["setup", "configure"], frames, [host]) == [
        "configure@host.py:8",
        "setup@host.py:7",
    ]


def test_a_function_only_the_app_factory_called_is_start_up_only(tmp_path: Path) -> None:
    """The factory ran once and returned: no running call needed."""
    settings = _source("shop.settings", "def configure(app):\n    app.debug = True\n", tmp_path)
    factory = _source(
        "shop.main",
        "from shop.settings import configure\n\n\n"
        "def create_app():\n    app = object()\n    configure(app)\n    return app\n",
        tmp_path,
    )
    once = {("shop.main", "create_app"): "the [app] factory"}
    found = _startup_only(settings, ["configure"], [], [factory], ran_once=once, root=tmp_path)
    assert found == ["configure@shop/main.py:6"]
    calls = StaleCalls(tmp_path, Trees(), set(), once, restarts=False)
    index = index_code([compile(settings.raw, str(settings.path), "exec")])
    changed = Changed(settings, settings.raw, None, index_code([]), index, ["configure"])
    every = {s.name: s for s in (settings, factory)}

    def writing(name: str) -> list[Source]:
        return [s for s in every.values() if name.encode() in s.raw]

    [warning] = calls.startup_only(changed, [], lambda _: None, every.get, writing)
    assert "restart the host to apply it" in warning.message  # restart = "never": said, not done
    assert "server restarts" not in warning.message
    # Also called by a view: it runs again.
    view = _source("shop.views", "from shop.settings import configure\nconfigure(1)\n", tmp_path)
    assert _startup_only(settings, ["configure"], [], [factory, view], ran_once=once) == []


@pytest.mark.parametrize(
    ("imports", "warns"),
    [
        ("    from . import db\n", True),
        ("    from .db import init_app\n", True),
        ("    from . import db as db\n", False),  # bound under a name of its choosing: silence
        ("    from . import db\n    db = None\n", False),  # rebound: silence
    ],
)
def test_flasks_factory_imports_in_its_body(tmp_path: Path, imports: str, warns: bool) -> None:
    """Flask's tutorial imports the modules it wires inside `create_app`."""
    db = _source("flaskr.db", "def init_app(app):\n    app.teardown = 1\n", tmp_path)
    call = "init_app(app)" if "import init_app" in imports else "db.init_app(app)"
    text = f"def create_app():\n    app = object()\n{imports}    {call}\n    return app\n"
    path = tmp_path / "flaskr" / "__init__.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    factory = Source.of("flaskr", path, text.encode(), {})
    once = {("flaskr", "create_app"): "the [app] factory"}
    found = _startup_only(db, ["init_app"], [], [factory], ran_once=once, root=tmp_path)
    line = 3 + imports.count("\n")
    assert found == ([f"init_app@flaskr/__init__.py:{line}"] if warns else [])


CHAIN = """\
import time


def load_config():
    return {}


def init():
    load_config()


def main():
    init()
    while True:
        time.sleep(1)
"""


def test_a_function_only_start_up_calls_through_another_is_start_up_only(tmp_path: Path) -> None:
    """`main` called `init` before its loop, and `init` called `load_config`: neither runs
    again."""
    source = _source("app", CHAIN, tmp_path)
    frames = [_frame(source, "main", 15)]
    assert _startup_only(source, ["load_config"], frames) == ["load_config@app.py:9"]
    assert _startup_only(source, ["init"], frames) == ["init@app.py:13"]


@pytest.mark.parametrize(
    ("edit", "line", "expected"),
    [
        # init is called in main's loop too: load_config runs again
        (("        time.sleep(1)", "        time.sleep(1)\n        init()"), 15, []),
        # init passed on: it may be called from anywhere
        (("    init()\n    while", "    init()\n    handlers = [init]\n    while"), 16, []),
        # init registered by a decorator (atexit, a signal, a hook): it may run again
        (("def init():\n", "@atexit.register\ndef init():\n"), 16, []),
        # load_config itself registered
        (("def load_config():\n", "@atexit.register\ndef load_config():\n"), 16, []),
        # twice in init, both already ran
        (("def init():\n", "def init():\n    load_config()\n"), 16, ["load_config@app.py:9,10"]),
    ],
)
def test_a_chain_is_start_up_only_only_if_every_step_is(
    tmp_path: Path, edit: tuple[str, str], line: int, expected: list[str]
) -> None:
    source = _source("app", CHAIN.replace(*edit), tmp_path)
    found = _startup_only(source, ["load_config"], [_frame(source, "main", line)])
    assert found == [f.replace(",", ",app.py:") for f in expected]


def test_the_main_guard_never_runs_in_an_imported_module(tmp_path: Path) -> None:
    text = HOST + '\n\nif __name__ == "__main__":\n    setup()\n    main()\n'
    source = _source("app", text, tmp_path)
    frames = [_frame(source, "main", LOOP_LINE)]
    assert _startup_only(source, ["setup"], frames) == ["setup@app.py:13"]


def test_the_script_run_as_main_runs_its_guard(host: Source, tmp_path: Path) -> None:
    """`python host.py`: its `if __name__ == "__main__":` block runs, here in a loop."""
    text = 'import app\n\nif __name__ == "__main__":\n    while True:\n        app.setup()\n'
    path = tmp_path / "host.py"
    path.write_text(text, encoding="utf-8")
    script = Source.of("__main__", path, text.encode(), {})
    assert _startup_only(host, ["setup"], [_frame(host, "main", LOOP_LINE)], [script]) == []


def test_a_call_at_the_top_level_runs_again_with_the_save(tmp_path: Path) -> None:
    """The engine runs `CONFIG = setup()` again when `setup` changed: not stale."""
    text = HOST + "\n\nCONFIG = setup()\n"
    source = _source("app", text, tmp_path)
    assert _startup_only(source, ["setup"], [_frame(source, "main", LOOP_LINE)]) == []


def _main_of(text: str, path: Path) -> types.CodeType:
    module = compile(text, str(path), "exec")
    return next(
        c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == "main"
    )


def test_a_caller_moved_down_since_it_started_is_read_where_it_stands_now(host: Source) -> None:
    """main started before a line was added above it: its lines all moved by one."""
    frame = Frame("MainThread", _main_of("\n" + HOST, host.path), LOOP_LINE + 1, False)
    assert _startup_only(host, ["setup"], [frame]) == ["setup@app.py:13"]


def test_a_caller_whose_lines_changed_since_it_started_means_silence(host: Source) -> None:
    """main runs an older version with a line more inside it: its line cannot be read here."""
    older = HOST.replace("    n = 0\n", "    n = 0\n    m = 1\n")
    frame = Frame("MainThread", _main_of(older, host.path), LOOP_LINE + 1, False)
    assert _startup_only(host, ["setup"], [frame]) == []


# -- code comparisons ----------------------------------------------------------------------------


def _code_of(text: str, name: str) -> types.CodeType:
    module = compile(text, "m.py", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == name)


def test_a_function_that_only_moved_behaves_the_same() -> None:
    before = _code_of(HOST, "main")
    after = _code_of("\n\n" + HOST, "main")
    assert before != after
    assert same_behaviour(before, after)
    assert not same_lines(before, after)


def test_an_edited_docstring_or_comment_behaves_the_same() -> None:
    before = _code_of(HOST, "main")
    documented = HOST.replace("def main():\n", 'def main():\n    """Loop."""\n')
    assert same_behaviour(
        _code_of(documented, "main"), _code_of(documented.replace("Loop", "Run"), "main")
    )
    assert same_behaviour(before, _code_of(HOST.replace("n += 1", "n += 1  # next"), "main"))
    returns = "def f():\n    return 'a'\n"
    assert not same_behaviour(_code_of(returns, "f"), _code_of(returns.replace("'a'", "'b'"), "f"))


def test_a_changed_body_does_not() -> None:
    before = _code_of(HOST, "main")
    assert not same_behaviour(before, _code_of(HOST.replace("sleep(1)", "sleep(2)"), "main"))
    assert not same_behaviour(before, _code_of(HOST.replace("n += 1", "n += 2"), "main"))


def test_running_frames_sees_a_thread_in_a_project_file(tmp_path: Path) -> None:
    """The stack walk: the thread, the line it runs, and that it is its thread's target."""
    source = _source("looper", "def wait(event):\n    event.wait(10)\n", tmp_path)
    wait = source.namespace["wait"]
    assert isinstance(wait, types.FunctionType)
    event = threading.Event()
    thread = threading.Thread(target=wait, args=(event,), name="waiter")
    thread.start()
    try:
        frames: list[Frame] = []
        for _ in range(200):  # until the thread is in `wait` (bounded)
            frames = running_frames(lambda filename: filename == str(source.path))
            if frames:
                break
            threading.Event().wait(0.01)
        assert [(f.thread, f.code.co_name, f.line, f.thread_target) for f in frames] == [
            ("waiter", "wait", 2, True)
        ]
    finally:
        event.set()
        thread.join(10)


def test_running_frames_sees_the_run_of_a_thread_subclass_as_its_target(tmp_path: Path) -> None:
    text = (
        "import threading\n\n\nclass Worker(threading.Thread):\n"
        "    def __init__(self, event):\n        super().__init__(name='worker')\n"
        "        self.event = event\n\n    def run(self):\n        self.event.wait(10)\n"
    )
    path = tmp_path / "workers.py"
    path.write_text(text, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "workers"}
    exec(compile(text, str(path), "exec"), namespace)
    event = threading.Event()
    worker = namespace["Worker"](event)  # type: ignore[operator]
    worker.start()
    try:
        frames: list[Frame] = []
        for _ in range(200):  # until the thread is in `run` (bounded)
            frames = running_frames(lambda filename: filename == str(path))
            if frames:
                break
            threading.Event().wait(0.01)
        assert [(f.thread, f.code.co_qualname, f.thread_target) for f in frames] == [
            ("worker", "Worker.run", True)
        ]
    finally:
        event.set()
        worker.join(10)


def test_the_console_line_shows_the_warning() -> None:
    line = render_console(
        {
            "event": "reload.accepted",
            "timestamp": "2026-12-04T23:30:00.123456Z",
            "level": "warning",
            "module": "app",
            "version": 3,
            "contract": False,
            "warnings": [{"code": "startup_only", "message": "`setup` changed, but ..."}],
            "duration_ms": 1.5,
        }
    )
    assert line.startswith("23:30:00.123 ! reload.accepted app v3 (no contract) — `setup` ")


# -- end to end: `hotreload up` of hosts that loop for ever --------------------------------------

MANIFEST = """\
[project]
name = "loops"

[env.development]
reload = true
debounce_ms = 1

[app]
entry = "app:main"
"""

ENTRY_HOST = """\
import time


def setup():
    print("setup v1", flush=True)


def shared():
    return "shared v1"


def tick():
    print(f"tick v1 / {shared()}", flush=True)


def main():
    setup()
    print(shared(), flush=True)
    while True:
        tick()
        time.sleep(0.02)
"""


def _edit(path: Path, old: str, new: str) -> None:
    """Save as editors do: a temp file renamed over the module."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text.replace(old, new), encoding="utf-8")
    temp.replace(path)


@pytest.fixture
def looping(tmp_path: Path) -> Iterator[tuple[Child, Path]]:
    (tmp_path / "hotreload.toml").write_text(MANIFEST, encoding="utf-8")
    app = tmp_path / "app.py"
    app.write_text(ENTRY_HOST, encoding="utf-8")
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        child.wait_for("server.started")
        child.wait_stdout("tick v1 / shared v1")
        yield child, app
        assert child.stop() == 0


def _accepted(child: Child, app: Path, old: str, new: str) -> dict[str, Any]:
    mark = child.mark()
    _edit(app, old, new)
    return child.wait_for("reload.accepted", after=mark, module="app")


def test_up_warns_of_a_change_to_the_running_loop_of_main_and_to_setup(
    looping: tuple[Child, Path],
) -> None:
    child, app = looping
    # The function the loop calls: no warning, and the next round runs it.
    event = _accepted(child, app, 'print(f"tick v1', 'print(f"tick v2')
    assert (event["level"], event["warnings"]) == ("info", [])
    mark = child.mark()
    child.wait_stdout("tick v2 / shared v1", after=mark)

    # Called before the loop and from the loop: no warning either.
    event = _accepted(child, app, 'return "shared v1"', 'return "shared v2"')
    assert (event["level"], event["warnings"]) == ("info", [])
    child.wait_stdout("tick v2 / shared v2", after=child.mark())

    # Called once, before the loop: accepted, and said not to run again until a restart.
    event = _accepted(child, app, 'print("setup v1"', 'print("setup v2"')
    assert event["level"] == "warning"
    [warning] = event["warnings"]
    assert warning["code"] == "startup_only"
    assert (warning["function"], warning["call_sites"]) == ("setup", ["app.py:17"])
    assert (warning["thread"], warning["file"]) == ("MainThread", "app.py")
    assert warning["line"] in (20, 21)  # in the loop, in `tick()` or in the sleep
    assert "restart" in warning["message"] and "app.py:17" in warning["message"]

    # Its docstring only: nothing a call runs changed, nothing to say.
    event = _accepted(child, app, "def setup():\n", 'def setup():\n    """Once."""\n')
    assert event["warnings"] == []

    # The loop of main itself: it runs now and never returns.
    event = _accepted(child, app, "time.sleep(0.02)", "time.sleep(0.03)")
    [warning] = event["warnings"]
    assert (warning["code"], warning["function"], warning["thread"]) == (
        "still_running",
        "main",
        "MainThread",
    )
    assert warning["file"] == "app.py" and warning["line"] in (20, 21)
    assert "[app] entry" in warning["message"]
    assert "move its body into a function that the loop calls" in warning["message"]
    # The loop goes on with the code it started with; the new tick still applies.
    event = _accepted(child, app, 'print(f"tick v2', 'print(f"tick v3')
    assert event["warnings"] == []
    child.wait_stdout("tick v3 / shared v2", after=child.mark())
    assert child.bad_lines == []


THREADED_HOST = """\
import threading
import time


def step():
    print("step v1", flush=True)


def poll():
    while True:
        step()
        time.sleep(0.02)


def main():
    thread = threading.Thread(target=poll, name="poller", daemon=True)
    thread.start()
    thread.join()
"""


def test_up_names_the_thread_whose_loop_keeps_the_old_code(tmp_path: Path) -> None:
    (tmp_path / "hotreload.toml").write_text(MANIFEST, encoding="utf-8")
    app = tmp_path / "app.py"
    app.write_text(THREADED_HOST, encoding="utf-8")
    with Child("up", "--log-format", "console", cwd=tmp_path) as child:
        try:
            child.wait_stdout("step v1")
            _edit(app, '"step v1"', '"step v2"')
            child.wait_stdout("step v2", after=child.mark())
            _edit(app, "time.sleep(0.02)", "time.sleep(0.03)")
            pattern = re.compile(
                r"^\d\d:\d\d:\d\d\.\d{3} ! reload\.accepted app v3 \(no contract\) — `poll` "
                r"changed while a call of it runs in thread 'poller' \(app\.py:1[12]\) that "
                r"will not return: it is in the `while True` loop at line 10"
            )

            def warned() -> int | None:
                return next((i for i, s in enumerate(child.stderr) if pattern.match(s)), None)

            child._wait(warned, "the console's warning line", 20)
            # The step before it (no warning) is an info line.
            assert any(
                "• reload.accepted app v2 (no contract)" in line and "—" not in line
                for line in child.stderr
            )
        finally:
            child.stop()


def test_up_in_process_host_of_its_own_thread_warns_for_the_thread_loop(
    project: Project, start: object
) -> None:
    """`hotreload.up()` in a process of its own: no entry, a `while True` in a module's
    function called from a thread, caught on the stack."""
    module = dedent(
        """
        import threading

        STOP = threading.Event()
        STARTED = threading.Event()


        def body():
            return 1


        def loop():
            STARTED.set()
            while True:
                body()
                if STOP.wait(0.01):
                    return
        """
    )
    running = run(project, start, {"looper": module}, {"looper": {}}, debounce_ms=1)  # type: ignore[arg-type]
    looper = running.module("looper")
    thread = threading.Thread(target=lambda: looper.loop(), name="looping")
    thread.start()
    try:
        assert looper.STARTED.wait(10)
        event = running.save(
            module.replace("body()\n", "body()\n        body()\n"), module="looper"
        )
        [warning] = event["warnings"]
        assert (warning["code"], warning["function"], warning["thread"]) == (
            "still_running",
            "loop",
            "looping",
        )
        event = running.save(module.replace("return 1", "return 2"), module="looper")
        assert event["warnings"] == []
    finally:
        looper.STOP.set()
        thread.join(10)


def test_a_coroutine_looping_in_an_asyncio_task_is_seen_while_it_awaits(
    project: Project, start: object
) -> None:
    """`while True: await ...` in a task is on no thread's stack while it waits: the task's
    chain of awaits is read instead."""
    module = dedent(
        """
        import asyncio
        import threading

        STARTED = threading.Event()


        def step():
            return 1


        async def tick():
            await asyncio.sleep(0.01)


        async def poll(stop):
            STARTED.set()
            while True:
                step()
                await tick()
                if stop.is_set():
                    return


        async def main(stop):
            await asyncio.create_task(poll(stop), name="poller")
        """
    )
    running = run(project, start, {"pollers": module}, {"pollers": {}}, debounce_ms=1)  # type: ignore[arg-type]
    pollers = running.module("pollers")
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(pollers.main(stop)), name="loop")
    thread.start()
    try:
        assert pollers.STARTED.wait(10)
        event = running.save(
            module.replace("step()\n", "step()\n        step()\n"), module="pollers"
        )
        [warning] = event["warnings"]
        assert (warning["code"], warning["function"], warning["thread"]) == (
            "still_running",
            "poll",
            "asyncio task poller",
        )
        assert "runs in asyncio task 'poller'" in warning["message"]
        event = running.save(module.replace("return 1", "return 2"), module="pollers")
        assert event["warnings"] == []
    finally:
        stop.set()
        thread.join(10)


# -- end to end: a FastAPI app served with a factory ---------------------------------------------

FACTORY_MANIFEST = """\
[project]
name = "factoryapp"

[env.development]
reload = true
debounce_ms = 1
port = 0

[app]
asgi = "shop.main:create_app"
factory = true
"""


def test_up_of_a_web_app_warns_only_for_what_the_factory_alone_calls_and_restarts(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (tmp_path / "hotreload.toml").write_text(FACTORY_MANIFEST, encoding="utf-8")
    (shop / "__init__.py").write_text("", encoding="utf-8")
    (shop / "settings.py").write_text(
        "def configure(app):\n    app.state.greeting = 'hello v1'\n", encoding="utf-8"
    )
    (shop / "routes.py").write_text(
        dedent(
            """
            from fastapi import APIRouter, Request

            router = APIRouter()


            @router.get("/hello")
            def hello(request: Request) -> dict[str, str]:
                return {"greeting": request.app.state.greeting, "v": "1"}
            """
        ),
        encoding="utf-8",
    )
    (shop / "main.py").write_text(
        dedent(
            """
            from fastapi import FastAPI

            from shop.routes import router
            from shop.settings import configure


            def create_app() -> FastAPI:
                app = FastAPI()
                configure(app)
                app.include_router(router)
                return app
            """
        ),
        encoding="utf-8",
    )
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        try:
            url = str(child.wait_for("app.serving")["url"])
            assert httpx.get(f"{url}/hello").json() == {"greeting": "hello v1", "v": "1"}
            mark = child.mark()
            _edit(shop / "routes.py", '"v": "1"', '"v": "2"')
            event = child.wait_for("reload.accepted", after=mark, module="shop.routes")
            assert (event["level"], event["warnings"]) == ("info", [])
            assert httpx.get(f"{url}/hello").json() == {"greeting": "hello v1", "v": "2"}
            # A function only the factory calls: accepted, said not to run again, and the
            # server restarts into it (restart = "auto", the default for a served app).
            mark = child.mark()
            _edit(shop / "settings.py", "hello v1", "hello v2")
            event = child.wait_for("reload.accepted", after=mark, module="shop.settings")
            [warning] = event["warnings"]
            assert (warning["code"], warning["function"], warning["call_sites"]) == (
                "startup_only",
                "configure",
                ["shop/main.py:9"],
            )
            assert warning["thread"] is None and "the server restarts" in warning["message"]
            restarting = child.wait_for("server.restarting", after=mark)
            assert restarting["reason"] == "app_factory_changed"
            url = str(child.wait_for("app.serving", after=mark)["url"])
            assert httpx.get(f"{url}/hello").json() == {"greeting": "hello v2", "v": "2"}
            # The factory's module restarts the server: nothing is accepted, nothing warns.
            mark = child.mark()
            _edit(shop / "main.py", "app = FastAPI()", "app = FastAPI(title='shop')")
            child.wait_for("server.restarting", after=mark)
            child.wait_for("app.serving", after=mark)
            assert not [e for e in child.events[mark[0] :] if e["event"] == "reload.accepted"]
        finally:
            child.stop()
        assert child.bad_lines == []
