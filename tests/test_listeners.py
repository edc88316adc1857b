"""Listeners get every event in seq order, never under a lock of ours, isolated from errors."""

from __future__ import annotations

import io
import threading
from typing import Any

from hotreload.events import EventLog, WatcherError
from hotreload.output import EventOutput


def recorded(log: EventLog) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    log.subscribe(events.append)
    return events


def test_a_raising_listener_is_reported_once_and_the_others_get_every_event() -> None:
    log = EventLog("development")
    first: list[dict[str, Any]] = []
    last: list[dict[str, Any]] = []

    def broken(event: dict[str, Any]) -> None:
        first.append(event)
        raise ZeroDivisionError("division by zero")

    log.subscribe(broken)
    log.subscribe(last.append)
    for n in range(3):
        assert log.emit(WatcherError, message=f"event {n}") is not None  # never raises
    assert [e["event"] for e in last] == [
        "watcher.error",
        "listener.error",
        "watcher.error",
        "watcher.error",
    ]
    assert [e["seq"] for e in last] == [1, 2, 3, 4]
    assert first == last
    report = last[1]
    assert (report["error"], report["during"], report["during_seq"]) == (
        "ZeroDivisionError",
        "watcher.error",
        1,
    )
    assert report["level"] == "error"
    assert "test_listeners.py:" in report["message"]  # where it raised


def test_a_listener_that_emits_from_its_callback_keeps_every_listener_in_seq_order() -> None:
    log = EventLog("development")
    seen: dict[str, list[int]] = {"one": [], "two": []}

    def one(event: dict[str, Any]) -> None:
        seen["one"].append(event["seq"])
        if event["seq"] < 4:
            log.emit(WatcherError, message="from a listener")

    log.subscribe(one)
    log.subscribe(lambda event: seen["two"].append(event["seq"]))
    log.emit(WatcherError, message="first")
    assert seen == {"one": [1, 2, 3, 4], "two": [1, 2, 3, 4]}


def test_deferred_events_are_written_at_once_and_delivered_when_the_block_ends() -> None:
    stream = io.StringIO()
    log = EventLog("development", output=EventOutput("json", stream=stream))
    events = recorded(log)
    with log.deferred():
        log.emit(WatcherError, message="one")
        with log.deferred():
            log.emit(WatcherError, message="two")
        assert events == []  # still inside the outer block: a lock may be held
        assert len(stream.getvalue().splitlines()) == 2
    assert [e["message"] for e in events] == ["one", "two"]


def test_another_threads_deferred_events_do_not_wait_for_it() -> None:
    """Delivery belongs to no thread: an emit elsewhere delivers what a deferring thread left."""
    log = EventLog("development")
    events = recorded(log)
    inside, release = threading.Event(), threading.Event()

    def holder() -> None:
        with log.deferred():
            log.emit(WatcherError, message="held")
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert inside.wait(10)
        log.emit(WatcherError, message="free")
        assert [e["message"] for e in events] == ["held", "free"]
    finally:
        release.set()
        thread.join(10)
    assert log.flush(1.0)
