"""The watchdog: module code past its deadline is stopped, code within it is left alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hotreload.engine.deadline import ExecTimeout, Watchdog


@pytest.fixture
def watchdog() -> Iterator[Watchdog]:
    dog = Watchdog()
    try:
        yield dog
    finally:
        dog.close()


def deadline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hotreload-deadline"]


def test_code_within_the_deadline_runs_to_the_end(watchdog: Watchdog) -> None:
    namespace: dict[str, object] = {}
    watchdog.run(compile("x = sum(range(1000))", "m.py", "exec"), namespace, timeout=5)
    assert namespace["x"] == 499500


def test_a_runaway_loop_is_stopped_and_the_watchdog_serves_the_next_run(
    watchdog: Watchdog,
) -> None:
    with pytest.raises(ExecTimeout):
        watchdog.run(compile("while True:\n    pass\n", "m.py", "exec"), {}, timeout=0.1)
    namespace: dict[str, object] = {}
    watchdog.run(compile("y = 1", "m.py", "exec"), namespace, timeout=5)
    assert namespace["y"] == 1


def test_a_loop_swallowing_exception_cannot_swallow_the_timeout(watchdog: Watchdog) -> None:
    source = "while True:\n    try:\n        pass\n    except Exception:\n        pass\n"
    with pytest.raises(ExecTimeout):
        watchdog.run(compile(source, "m.py", "exec"), {}, timeout=0.1)


def test_code_raising_its_own_error_passes_it_on(watchdog: Watchdog) -> None:
    with pytest.raises(ZeroDivisionError):
        watchdog.run(compile("1 / 0", "m.py", "exec"), {}, timeout=5)


def test_one_thread_serves_every_run_and_close_ends_it() -> None:
    dog = Watchdog()
    assert deadline_threads() == []  # nothing runs before the first reload
    for _ in range(5):
        dog.run(compile("pass", "m.py", "exec"), {}, timeout=5)
    assert len(deadline_threads()) == 1
    dog.close()
    assert deadline_threads() == []
