"""Events: every model matches the committed schema, and seq numbers them without gaps."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from child import EVENT_SCHEMA, REPO, child_env, strict_json
from jsonschema import Draft202012Validator, ValidationError

from hotreload.events import (
    EVENT_MODELS,
    VALIDATE_ENV,
    AppLog,
    AppServing,
    AssetChanged,
    BaseEvent,
    ContractViolationEvent,
    EventLog,
    ExportsServing,
    InvalidEvent,
    ListenerError,
    ManifestChanged,
    ModuleLoaded,
    RejectReason,
    ReloadAccepted,
    ReloadRejected,
    ReloadRestartNeeded,
    ReloadUnchanged,
    ServerFailed,
    ServerRestarting,
    ServerStarted,
    ServerStopped,
    WatcherError,
    event_adapter,
    event_name,
    utc_now,
)
from hotreload.output import EventOutput
from hotreload.verdicts import TypeViolationCode, ViolationCode

MODULE = {"module": "calc", "path": "/project/calc.py", "version": 2, "contract": True}
VIOLATION = {
    "code": "parameters_changed",
    "function": "add",
    "expected": "(a: int, b: int) -> int",
    "actual": "(a: int, b: int, c: int) -> int",
    "line": 3,
    "message": "add: parameters changed: expected (a: int, b: int), found (a: int, b: int, c: int)",
}

# Fields for one realistic instance of every event model.
SAMPLES: dict[type[BaseEvent], dict[str, Any]] = {
    ServerStarted: {
        "manifest": "/project/hotreload.toml",
        "modules": ["calc"],
        "reload": True,
        "debounce_ms": 5,
        "duration_ms": 12.5,
    },
    ServerStopped: {"reason": "interrupted"},
    ServerFailed: {"reason": "import_error", "message": "cannot load module 'calc': boom"},
    ModuleLoaded: {
        **MODULE,
        "version": 1,
        "digest": "0123456789abcdef",
        "exports": ["add"],
        "duration_ms": 0.4,
    },
    ReloadAccepted: {
        **MODULE,
        "digest": "0123456789abcdef",
        "changed": ["add", "Item"],
        "added": ["negate"],
        "rebound": [],
        "removed": ["old_helper"],
        "ran": "statements",
        "statements": ["3: LIMIT = 10"],
        "warnings": [
            {
                "code": "field_added",
                "type": "Item",
                "member": "price",
                "message": "Item.price: field added (price: float = 0.0); restart to apply",
            }
        ],
        "duration_ms": 0.3,
    },
    ReloadRejected: {
        **MODULE,
        "digest": None,
        "reason": "parameters_changed",
        "message": "add: parameters changed (restore the frozen signature)",
        "violations": [VIOLATION],
        "duration_ms": 0.2,
    },
    ReloadUnchanged: {**MODULE, "digest": "0123456789abcdef"},
    ReloadRestartNeeded: {
        **MODULE,
        "digest": "0123456789abcdef",
        "reason": "side_effect",
        "message": "line 12 registers a route again; restarting",
        "causes": [
            {
                "code": "side_effect",
                "statement": "12: @app.get('/items')",
                "line": 12,
                "name": "list_items",
                "detail": "a route registration cannot be undone in place",
            }
        ],
        "restart": "auto",
        "duration_ms": 1.5,
    },
    ServerRestarting: {
        "module": "calc",
        "path": "/project/calc.py",
        "reason": "side_effect",
        "message": "calc: line 12 registers a route again",
    },
    ContractViolationEvent: {**MODULE, "version": None, **VIOLATION},
    ManifestChanged: {
        "manifest": "/project/hotreload.toml",
        "valid": True,
        "message": "hotreload.toml changed; restart `hotreload up` to apply the change",
    },
    WatcherError: {"message": "OSError: inotify watch limit reached"},
    ListenerError: {
        "listener": "host.on_event",
        "error": "KeyError",
        "during": "reload.accepted",
        "during_seq": 3,
        "message": "on_event listener host.on_event raised KeyError: 'x' at host.py:4 in on_event",
    },
    AppServing: {
        "app": "webapp:app",
        "kind": "asgi",
        "host": "127.0.0.1",
        "port": 8000,
        "url": "http://127.0.0.1:8000",
        "reload": True,
    },
    ExportsServing: {
        "host": "127.0.0.1",
        "port": 8000,
        "url": "http://127.0.0.1:8000",
        "openapi": "http://127.0.0.1:8000/openapi.json",
        "exports": ["calculator.add"],
        "skipped": [{"export": "shapes.make", "reason": "the result: type Counter is a class"}],
        "mcp": None,
        "token": False,
        "reload": True,
    },
    AppLog: {
        "logger": "uvicorn.error",
        "message": "Exception in ASGI application",
        "exception": "Traceback (most recent call last):\n  ...\nValueError: boom",
    },
    AssetChanged: {
        "file": "/srv/app/static/site.css",
        "kind": "stylesheet",
        "url": "/static/site.css",
    },
}

NAMES_IN_DESIGN = {
    "server.started",
    "server.stopped",
    "module.loaded",
    "reload.accepted",
    "reload.rejected",
    "reload.unchanged",
    "contract.violation",
}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(EVENT_SCHEMA.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def recorded(log: EventLog) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    log.subscribe(events.append)
    return events


def test_every_event_model_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_MODELS)
    names = {event_name(model) for model in EVENT_MODELS}
    assert names >= NAMES_IN_DESIGN


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_event_validates_against_the_committed_schema(
    model: type[BaseEvent], validator: Draft202012Validator
) -> None:
    log = EventLog("development", level="debug")
    record = log.emit(model, **SAMPLES[model])
    assert record is not None
    validator.validate(record)
    assert list(record)[:5] == ["event", "timestamp", "level", "seq", "env"]


def test_every_rendered_json_line_is_strict_json_that_validates(
    validator: Draft202012Validator,
) -> None:
    stream = io.StringIO()
    log = EventLog("development", level="debug", output=EventOutput("json", stream=stream))
    for model in EVENT_MODELS:
        log.emit(model, **SAMPLES[model])
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(EVENT_MODELS)
    for line in lines:
        validator.validate(strict_json(line))
    assert [strict_json(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.pop("event"),
        lambda e: e.pop("message"),  # a default: still on every line, as null
        lambda e: e.update(extra=1),
        lambda e: e.update(level="fatal"),
        lambda e: e.update(seq=0),
        lambda e: e.update(reason="bored"),
        lambda e: e.update(event="server.paused"),
    ],
    ids=["no-event", "no-message", "extra-key", "bad-level", "seq-0", "bad-reason", "bad-name"],
)
def test_the_schema_rejects_a_line_that_is_not_an_event(
    change: Any, validator: Draft202012Validator
) -> None:
    """Every field is on every line, null or not, so a consumer can rely on each key."""
    record = EventLog("development").emit(ServerStopped, reason="stopped")
    assert record is not None
    validator.validate(record)
    change(record)
    with pytest.raises(ValidationError):
        validator.validate(record)


def test_default_fields_are_written_as_null() -> None:
    record = EventLog("development").emit(ServerStopped, reason="stopped")
    assert record is not None
    assert record["message"] is None


def test_timestamp_is_utc_rfc3339_with_microseconds() -> None:
    stamp = utc_now()
    assert stamp.endswith("Z")
    parsed = datetime.fromisoformat(stamp)
    assert parsed.tzinfo == UTC
    assert len(stamp.split(".")[1]) == len("123456Z")


def test_levels_come_from_the_model_unless_given() -> None:
    log = EventLog("development", level="debug")
    events = recorded(log)
    log.emit(ServerFailed, **SAMPLES[ServerFailed])
    log.emit(ReloadRejected, **SAMPLES[ReloadRejected])
    log.emit(ServerStopped, reason="stopped")
    log.emit(ServerStopped, reason="stopped", level="debug")
    assert [e["level"] for e in events] == ["error", "warning", "info", "debug"]


def test_the_level_threshold_filters_before_numbering() -> None:
    """An event below the threshold takes no number, so the written seq has no gaps."""
    log = EventLog("production", level="warning")
    events = recorded(log)
    assert log.emit(ServerStarted, **SAMPLES[ServerStarted]) is None
    assert log.emit(ReloadRejected, **SAMPLES[ReloadRejected]) is not None
    assert log.emit(ReloadAccepted, **SAMPLES[ReloadAccepted]) is None
    assert log.emit(ServerStopped, reason="stopped", level="error") is not None
    assert log.emit(ServerFailed, **SAMPLES[ServerFailed]) is not None
    assert [(e["event"], e["seq"]) for e in events] == [
        ("reload.rejected", 1),
        ("server.stopped", 2),
        ("server.failed", 3),
    ]


def test_an_invalid_event_raises_and_takes_no_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VALIDATE_ENV, "1")
    log = EventLog("development")
    events = recorded(log)
    with pytest.raises(InvalidEvent, match="reason"):
        log.emit(ServerStopped, reason="bored")
    log.emit(ServerStopped, reason="stopped")
    assert [e["seq"] for e in events] == [1]


def loaded(module: str) -> dict[str, Any]:
    return {**SAMPLES[ModuleLoaded], "module": module}


def test_events_emitted_together_are_what_one_emit_each_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`emit_many` (an import burst's `module.loaded` events) numbers, fills and writes its
    events as `emit` would one by one, in one write of their lines."""
    monkeypatch.setenv(VALIDATE_ENV, "1")
    one_stream, many_stream = io.StringIO(), io.StringIO()
    one = EventLog("development", output=EventOutput("json", stream=one_stream))
    many = EventLog("development", output=EventOutput("json", stream=many_stream))
    one_events, many_events = recorded(one), recorded(many)
    for log in (one, many):
        log.emit(ServerStopped, reason="stopped")
    for name in ("a", "b.c", "d"):
        one.emit(ModuleLoaded, **loaded(name))
    many.emit_many(ModuleLoaded, [loaded(name) for name in ("a", "b.c", "d")])
    without_time = [{k: v for k, v in e.items() if k != "timestamp"} for e in one_events]
    assert [{k: v for k, v in e.items() if k != "timestamp"} for e in many_events] == without_time
    assert [e["seq"] for e in many_events] == [1, 2, 3, 4]
    lines = [strict_json(line) for line in many_stream.getvalue().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    assert [line["module"] for line in lines[1:]] == ["a", "b.c", "d"]


def test_events_emitted_together_take_no_number_if_one_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VALIDATE_ENV, "1")
    stream = io.StringIO()
    log = EventLog("development", output=EventOutput("json", stream=stream))
    events = recorded(log)
    with pytest.raises(InvalidEvent, match="version"):
        log.emit_many(ModuleLoaded, [loaded("a"), {**loaded("b"), "version": "two"}])
    log.emit(ServerStopped, reason="stopped")
    assert [(e["event"], e["seq"]) for e in events] == [("server.stopped", 1)]
    assert [strict_json(line)["seq"] for line in stream.getvalue().splitlines()] == [1]


def test_events_emitted_together_below_the_threshold_take_no_number() -> None:
    log = EventLog("production", level="warning")
    events = recorded(log)
    log.emit_many(ModuleLoaded, [loaded("a"), loaded("b")])
    log.emit(ServerStopped, reason="stopped", level="error")
    assert [(e["event"], e["seq"]) for e in events] == [("server.stopped", 1)]


def test_seq_has_no_gaps_and_lines_are_in_order_under_concurrent_emitters() -> None:
    stream = io.StringIO()
    log = EventLog("development", output=EventOutput("json", stream=stream))
    events = recorded(log)
    threads_count, per_thread = 8, 150
    barrier = threading.Barrier(threads_count)

    def emitter(index: int) -> None:
        barrier.wait()
        for n in range(per_thread):
            log.emit(WatcherError, message=f"thread {index} event {n}")

    threads = [threading.Thread(target=emitter, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    total = threads_count * per_thread
    assert [e["seq"] for e in events] == list(range(1, total + 1))
    written = [strict_json(line)["seq"] for line in stream.getvalue().splitlines()]
    assert written == list(range(1, total + 1))
    # Each thread's own events keep their order too.
    for index in range(threads_count):
        mine = [e["message"] for e in events if e["message"].startswith(f"thread {index} ")]
        assert mine == [f"thread {index} event {n}" for n in range(per_thread)]


def test_each_event_log_numbers_from_one() -> None:
    first, second = EventLog("development"), EventLog("development")
    assert first.emit(ServerStopped, reason="stopped") is not None
    record = second.emit(ServerStopped, reason="stopped")
    assert record is not None and record["seq"] == 1


def test_every_violation_code_is_a_reason_a_rejection_may_give() -> None:
    """Codes come from the modules that make them (signatures, typeshapes): none may be missing
    from `reload.rejected` or `contract.violation`, or an event would fail to validate."""
    codes = set(get_args(ViolationCode))
    assert set(get_args(TypeViolationCode)) <= codes
    assert codes <= set(get_args(RejectReason))
    schema = json.loads(EVENT_SCHEMA.read_text(encoding="utf-8"))
    violation_codes = set(schema["$defs"]["ViolationRecord"]["properties"]["code"]["enum"])
    assert violation_codes == codes


LOADED = SAMPLES[ModuleLoaded]


@pytest.mark.parametrize(
    ("model", "fields", "problem"),
    [
        (ModuleLoaded, {**LOADED, "size": 3}, "ModuleLoaded has no field size"),
        (ModuleLoaded, {k: v for k, v in LOADED.items() if k != "digest"}, "needs field digest"),
        (ModuleLoaded, {**LOADED, "version": "one"}, "version"),
        (ModuleLoaded, {**LOADED, "exports": "add"}, "exports"),
        (ModuleLoaded, {**LOADED, "duration_ms": "0.4"}, "duration_ms"),  # pydantic would parse it
        (ServerStopped, {"reason": "bored"}, "reason"),
        (ServerStopped, {"reason": "stopped", "level": "loud"}, "level"),
        (
            ReloadRejected,
            {**SAMPLES[ReloadRejected], "violations": [{**VIOLATION, "column": 2}]},
            "ViolationRecord has no field column",
        ),
        (
            ReloadRejected,
            {**SAMPLES[ReloadRejected], "violations": [{**VIOLATION, "code": "bad_code"}]},
            "violations.0.code",
        ),
    ],
    ids=[
        "unknown-field",
        "missing-field",
        "wrong-type",
        "not-a-list",
        "string-number",
        "bad-literal",
        "bad-level",
        "unknown-nested-field",
        "bad-nested-code",
    ],
)
def test_a_wrong_field_is_caught_when_events_are_validated(
    model: type[BaseEvent], fields: dict[str, Any], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the suite runs under (conftest sets the variable): pydantic checks each record, and
    a record that is not exactly what it would have written (a value it would have converted,
    a tuple for a list) is refused too, so the log and the schema cannot drift apart."""
    monkeypatch.setenv(VALIDATE_ENV, "1")
    log = EventLog("development", level="debug")
    events = recorded(log)
    with pytest.raises(InvalidEvent, match=re.escape(problem)):
        log.emit(model, **fields)
    assert events == []
    assert log.emit(ServerStopped, reason="stopped")["seq"] == 1  # type: ignore[index]


def test_without_the_variable_only_the_fields_names_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A user's process pays for no validation: names are checked (cheaply), values are not."""
    monkeypatch.delenv(VALIDATE_ENV, raising=False)
    log = EventLog("development")
    with pytest.raises(InvalidEvent, match="ModuleLoaded has no field size"):
        log.emit(ModuleLoaded, **LOADED, size=3)
    with pytest.raises(InvalidEvent, match="needs field exports"):
        log.emit(ModuleLoaded, **{k: v for k, v in LOADED.items() if k != "exports"})
    record = log.emit(ModuleLoaded, **{**LOADED, "version": "one"})
    assert record is not None and record["version"] == "one" and record["seq"] == 1


def test_records_are_what_pydantic_writes_for_every_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The log builds records itself: for every sample (nested records with fields left to
    their defaults, an int given for a float, a tuple for a list), the record is the model's
    JSON dump, key order and value types included, and shares no list with the caller."""
    monkeypatch.delenv(VALIDATE_ENV, raising=False)
    adapter = event_adapter()
    log = EventLog("development", level="debug")
    samples: list[tuple[type[BaseEvent], dict[str, Any]]] = [
        *SAMPLES.items(),
        (ModuleLoaded, {**LOADED, "duration_ms": 2, "exports": ("add", "negate")}),
    ]
    for model, fields in samples:
        record = log.emit(model, **fields)
        assert record is not None
        written = adapter.dump_python(adapter.validate_python(record), mode="json")
        assert json.dumps(record) == json.dumps(written), model.__name__
        assert type(record["duration_ms"]) is float if "duration_ms" in record else True
        for key, value in fields.items():
            assert not isinstance(value, list) or record[key] is not value, key


def test_importing_and_emitting_events_leaves_pydantic_out() -> None:
    """A server's start-up pays nothing for pydantic through its events (issue 19)."""
    code = (
        "import io, sys\n"
        "from hotreload.events import EventLog, ModuleLoaded, ReloadRejected\n"
        "from hotreload.output import EventOutput\n"
        "stream = io.StringIO()\n"
        "log = EventLog('development', output=EventOutput('json', stream=stream))\n"
        f"log.emit(ModuleLoaded, **{LOADED!r})\n"
        f"log.emit(ReloadRejected, **{SAMPLES[ReloadRejected]!r})\n"
        "assert stream.getvalue().count('\\n') == 2, stream.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0].startswith('pydantic')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != VALIDATE_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_suite_s_children_validate_their_events_too() -> None:
    """The CLIs the tests start inherit the variable: their events are checked as well."""
    code = (
        "from hotreload.events import EventLog, ServerStopped\n"
        "EventLog('development').emit(ServerStopped, reason='bored')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "InvalidEvent: server.stopped" in result.stderr
