"""Tests for hotreload.process: signals stop `hotreload up`, worker processes are refused."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from child import Child, child_env
from conftest import Project

from hotreload.errors import WorkersRefused
from hotreload.process import refuse_workers

# -- test_interrupts ---------------------------------------------------------------------------

pytestmark = pytest.mark.timeout(90)

SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]

MANIFEST = """
[project]
name = "signals"

[modules.work.exports]
value = "() -> int"

[env.development]
reload = true
debounce_ms = 5
"""

WORK = """
import time

print("{marker}", flush=True)
time.sleep({pause})


def value() -> int:
    return {value}
"""


def work(value: int, *, marker: str = "LOADED", pause: float = 0) -> str:
    return WORK.format(value=value, marker=marker, pause=pause)


def assert_interrupted(child: Child, sig: int, *, during_start_up: bool = False) -> None:
    assert child.stop(sig) == 0
    stopped = child.events[-1]
    assert (stopped["event"], stopped["reason"]) == ("server.stopped", "interrupted")
    assert stopped["message"].startswith(f"{signal.Signals(sig).name} received")
    assert stopped["message"].endswith("during start-up") == during_start_up
    assert [e["event"] for e in child.events].count("server.stopped") == 1
    assert child.bad_lines == []
    assert not any("Traceback" in line for line in child.stderr), child.output()


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_while_a_module_still_loads_at_start_up(project: Project, sig: int) -> None:
    """Formerly `server.failed import_error` ("module raised KeyboardInterrupt"), exit 1."""
    project.write("work", work(1, marker="LOADING", pause=60))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_stdout("LOADING")
        assert_interrupted(child, sig, during_start_up=True)
        assert [e["event"] for e in child.events] == ["server.stopped"]


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_while_a_reload_runs_module_code(project: Project, sig: int) -> None:
    project.write("work", work(1))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_for("server.started")
        mark = child.mark()
        project.write("work", work(2, marker="RELOADING", pause=1))
        child.wait_stdout("RELOADING", after=mark)
        assert_interrupted(child, sig)
        names = [e["event"] for e in child.events]
        assert names[:2] == ["module.loaded", "server.started"]
        assert names[-1] == "server.stopped"


HOST = """
import signal
import threading

import work


def handled_itself():
    # A server's own handler (as uvicorn, gunicorn or a hand-written loop install): it stops
    # gracefully and returns; nothing re-raises the signal.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("SERVING", flush=True)
    stop.wait(60)


def caught_interrupt():
    print("SERVING", flush=True)
    try:
        threading.Event().wait(60)
    except KeyboardInterrupt:
        print("bye", flush=True)
"""


@pytest.mark.parametrize("entry", ["handled_itself", "caught_interrupt"])
@pytest.mark.parametrize("sig", SIGNALS)
def test_an_entry_that_swallows_the_signal_is_still_reported_interrupted(
    project: Project, sig: int, entry: str
) -> None:
    """Formerly `entry_returned`: the run ended because of the signal, and the log says so."""
    project.write("work", work(1))
    project.write("host", HOST)
    project.manifest(MANIFEST + f'\n[app]\nentry = "host:{entry}"\n')
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_stdout("SERVING")
        assert_interrupted(child, sig)


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_while_watching_without_an_app(project: Project, sig: int) -> None:
    project.write("work", work(1))
    project.manifest(MANIFEST)
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        child.wait_for("server.started")
        assert_interrupted(child, sig)


# -- test_oneprocess ---------------------------------------------------------------------------


def test_a_multiprocessing_start_is_refused_with_the_reason_and_allowed_after() -> None:
    context = multiprocessing.get_context("spawn")
    with refuse_workers("development"), pytest.raises(WorkersRefused) as refused:
        context.Process(target=os.getpid).start()
    message = str(refused.value)
    assert message.startswith(
        "hotreload up refused to start a worker process (multiprocessing SpawnProcess.start()): "
        "profile 'development' reloads the modules of this one process"
    )
    assert message.endswith("or run workers under a profile with reload = false.")
    process = context.Process(target=os.getpid)  # the block is over: nothing is refused
    process.start()
    process.join(30)
    assert process.exitcode == 0


def test_os_fork_is_refused_before_it_forks() -> None:
    with refuse_workers("development"), pytest.raises(WorkersRefused, match=r"\(os\.fork\(\)\)"):
        pid = os.fork()
        if pid == 0:  # the refusal failed: the child must not run the rest of the suite
            os._exit(0)
        os.waitpid(pid, 0)


def test_os_forkpty_and_the_posix_originals_are_refused_and_put_back_after() -> None:
    import posix

    originals = (os.fork, os.forkpty, posix.fork, posix.forkpty)
    with refuse_workers("development"):
        for fork, how in (
            (os.forkpty, r"\(os\.forkpty\(\)\)"),
            (posix.fork, r"\(os\.fork\(\)\)"),
            (posix.forkpty, r"\(os\.forkpty\(\)\)"),
        ):
            with pytest.raises(WorkersRefused, match=how):
                pid, *_ = fork()
                if pid == 0:  # the refusal failed: the child must not run the rest of the suite
                    os._exit(0)
                os.waitpid(pid, 0)
    assert (os.fork, os.forkpty, posix.fork, posix.forkpty) == originals


def test_a_fork_bound_by_name_while_refused_forks_again_once_the_block_is_over() -> None:
    with refuse_workers("development"):
        fork = os.fork  # what `from os import fork` in an app's module binds
    pid = fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


LATE_MULTIPROCESSING = """
import os
import sys

from hotreload.errors import WorkersRefused
from hotreload.process import refuse_workers


def main() -> None:
    finders = list(sys.meta_path)
    with refuse_workers("development"):
        assert "multiprocessing" not in sys.modules  # a start-up does not load it
        import multiprocessing

        try:
            multiprocessing.get_context("spawn").Process(target=os.getpid).start()
            print("STARTED")
        except WorkersRefused as refused:
            print("REFUSED", str(refused).split(":")[0])
    # Once over: the finder is gone, the module has its own loader, and a process starts.
    assert sys.meta_path == finders
    assert type(multiprocessing.process.__loader__).__name__ == "SourceFileLoader"
    process = multiprocessing.get_context("spawn").Process(target=os.getpid)
    process.start()
    process.join(30)
    print("EXIT", process.exitcode)


if __name__ == "__main__":  # a spawned process imports this file again
    main()
"""


def test_multiprocessing_imported_once_the_refusal_is_on_is_refused_too(tmp_path: Path) -> None:
    """A start-up does not import multiprocessing to wrap it: the app that imports it later (a
    web server's workers=N) is refused all the same, and nothing of the wrapping stays after."""
    script = tmp_path / "late.py"
    script.write_text(LATE_MULTIPROCESSING)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "REFUSED hotreload up refused to start a worker process (multiprocessing SpawnProcess"
        ".start())",
        "EXIT 0",
    ]
