"""The CLI's log set-up: format choice, strict JSON lines, console lines, a rotation-proof file."""

from __future__ import annotations

import io
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from child import strict_json
from conftest import Project

from hotreload.cli import choose_log_format, main
from hotreload.errors import ServerError
from hotreload.events import EventLog, ReloadRejected, ServerStopped, WatcherError
from hotreload.output import EventOutput, LogFile, render_console, to_json_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def seqs(path: Path) -> list[int]:
    return [strict_json(line)["seq"] for line in lines(path)]


# -- choosing a format -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("explicit", "profile", "terminal", "expected"),
    [
        ("json", {"log_format": "console"}, True, "json"),
        ("console", {"log_format": "json"}, False, "console"),
        (None, {"log_format": "console"}, False, "console"),
        (None, {"log_format": "json"}, True, "json"),
        (None, {}, True, "console"),
        (None, {}, False, "json"),
    ],
)
def test_log_format_is_the_option_else_the_profile_else_console_only_on_a_terminal(
    explicit: str | None, profile: dict[str, Any], terminal: bool, expected: str
) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert choose_log_format(explicit, profile.get("log_format"), stream) == expected


# -- rendering ---------------------------------------------------------------------------------


def test_a_json_line_puts_common_fields_first_and_is_one_strict_line() -> None:
    line = to_json_line({"message": "two\nlines", "seq": 3, "event": "x", "level": "info"})
    assert "\n" not in line
    assert list(strict_json(line)) == ["event", "level", "seq", "message"]


def test_a_json_line_keeps_non_ascii_text_readable() -> None:
    assert '"café"' in to_json_line({"event": "x", "message": "café"})


def test_a_json_line_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        to_json_line({"event": "x", "duration_ms": float("nan")})


def test_a_json_line_is_what_the_standard_encoder_writes() -> None:
    """The line is made by one shared encoder (not one per line): the same characters as
    `json.dumps` with the log's options, a refusal after a NaN included."""
    record: dict[str, Any] = {
        "event": "module.loaded",
        "timestamp": "2026-12-05T02:00:00.000001Z",
        "level": "info",
        "seq": 2**70,
        "env": "dev",
        "module": 'é"\\\u2028\x01',
        "path": None,
        "version": 1,
        "contract": False,
        "exports": ["a", "ü"],
        "violations": [{"line": 3, "message": "m", "nested": {"x": [1.5, True]}}],
        "duration_ms": 1e-7,
        "other": Path("/x"),  # not JSON: written as its str
    }
    for _ in range(2):  # and again once a refusal interrupted a line
        assert to_json_line(record) == json.dumps(
            record, ensure_ascii=False, allow_nan=False, default=str
        )
        with pytest.raises(ValueError, match="Out of range float"):
            to_json_line({"event": "x", "nested": [{"duration_ms": float("inf")}]})


def test_a_console_line_shows_what_a_person_needs() -> None:
    line = render_console(
        {
            "event": "reload.rejected",
            "timestamp": "2026-11-25T08:57:00.123456Z",
            "level": "warning",
            "seq": 4,
            "env": "development",
            "module": "calc",
            "path": "/p/calc.py",
            "version": 2,
            "reason": "parameters_changed",
            "message": "add: parameters changed",
            "violations": [{"code": "parameters_changed"}],
            "line": None,
            "duration_ms": 0.25,
        },
    )
    assert line == (
        "08:57:00.123 ! reload.rejected calc v2 — add: parameters changed "
        "reason=parameters_changed duration_ms=0.25"
    )


def test_a_warning_of_an_accepted_change_is_as_prominent_as_a_rejection() -> None:
    """Level mark and message up front, as a rejection shows its own."""
    line = render_console(
        {
            "event": "reload.accepted",
            "timestamp": "2026-11-25T08:57:00.123456Z",
            "level": "warning",
            "seq": 5,
            "env": "development",
            "module": "shop",
            "path": "/p/shop.py",
            "version": 3,
            "changed": ["Item"],
            "added": [],
            "rebound": [],
            "removed": [],
            "warnings": [
                {
                    "code": "field_added",
                    "type": "Item",
                    "member": "price",
                    "message": "Item.price: field added (price: float = 0.0); restart",
                }
            ],
            "duration_ms": 1.5,
        },
    )
    assert line == (
        "08:57:00.123 ! reload.accepted shop v3 — Item.price: field added (price: float = 0.0); "
        "restart changed=['Item'] duration_ms=1.50"
    )


# -- the log file ------------------------------------------------------------------------------


def test_a_log_file_in_a_missing_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "events.jsonl"
    log_file = LogFile(path)
    log_file.write_line('{"seq": 1}')
    log_file.close()
    assert lines(path) == ['{"seq": 1}']


def test_a_log_file_appends_to_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"seq": 1}\n', encoding="utf-8")
    log_file = LogFile(path)
    log_file.write_line('{"seq": 1}')
    log_file.close()
    assert len(lines(path)) == 2


def test_the_next_line_lands_at_the_path_after_the_file_is_rotated(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log_file = LogFile(path)
    log_file.write_line("first")
    path.rename(tmp_path / "events.jsonl.1")  # what logrotate does
    log_file.write_line("second")
    log_file.close()
    assert lines(path) == ["second"]
    assert lines(tmp_path / "events.jsonl.1") == ["first"]


def test_the_next_line_lands_at_the_path_after_the_file_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log_file = LogFile(path)
    log_file.write_line("first")
    path.unlink()
    log_file.write_line("second")
    log_file.close()
    assert lines(path) == ["second"]


def test_the_next_line_lands_at_the_path_after_its_directory_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "events.jsonl"
    log_file = LogFile(path)
    log_file.write_line("first")
    shutil.rmtree(tmp_path / "logs")
    log_file.write_line("second")
    log_file.close()
    assert lines(path) == ["second"]


def test_a_log_file_under_a_regular_file_is_a_server_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory\n", encoding="utf-8")
    path = tmp_path / "plain" / "events.jsonl"
    with pytest.raises(ServerError) as caught:
        LogFile(path)
    assert str(caught.value).startswith(f"cannot open log file {path}: ")
    assert str(caught.value).endswith(
        "choose a writable path with --log-file or env.<name>.log_file"
    )


def test_a_log_file_that_is_a_directory_is_a_server_error(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="Is a directory"):
        LogFile(tmp_path)


def test_a_failing_log_file_warns_once_never_raises_and_recovers(tmp_path: Path) -> None:
    """The emitting thread (the watcher's) must survive it; the person must hear of it."""
    path = tmp_path / "logs" / "events.jsonl"
    stream = io.StringIO()
    log_file = LogFile(path)
    log = EventLog("development", output=EventOutput("json", stream=stream, log_file=log_file))
    log.emit(ServerStopped, reason="stopped")
    (tmp_path / "logs").rename(tmp_path / "old-logs")
    (tmp_path / "logs").write_text("now a regular file\n", encoding="utf-8")
    log.emit(WatcherError, message="one")
    log.emit(WatcherError, message="two")
    (tmp_path / "logs").unlink()
    log.emit(WatcherError, message="three")
    log_file.close()

    out = stream.getvalue().splitlines()
    warnings = [line for line in out if line.startswith("hotreload: warning: ")]
    assert warnings == [
        f"hotreload: warning: cannot write log file {path}: Not a directory; "
        "events go to stderr only until it is writable again",
        f"hotreload: warning: writing log file {path} again (seq shows the gap)",
    ]
    assert [strict_json(line)["seq"] for line in out if line.startswith("{")] == [1, 2, 3, 4]
    assert seqs(tmp_path / "old-logs" / "events.jsonl") == [1]
    assert seqs(path) == [4]


def test_every_event_lands_in_the_file_in_order_under_concurrent_emitters(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    log_file = LogFile(path)
    output = EventOutput("console", stream=io.StringIO(), log_file=log_file)
    log = EventLog("development", output=output)

    def emitter() -> None:
        for n in range(100):
            log.emit(WatcherError, message=f"event {n}")

    threads = [threading.Thread(target=emitter) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    log_file.close()
    assert seqs(path) == list(range(1, 601))


def test_the_file_gets_json_even_when_the_console_view_is_chosen(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    stream = io.StringIO()
    log_file = LogFile(path)
    output = EventOutput("console", stream=stream, log_file=log_file)
    EventLog("development", output=output).emit(
        ReloadRejected,
        module="calc",
        path="/p/calc.py",
        version=1,
        contract=True,
        digest="0123456789abcdef",
        reason="syntax_error",
        message="calc.py:2:5: invalid syntax",
        violations=[],
        line=2,
        column=5,
        duration_ms=0.1,
    )
    log_file.close()
    (line,) = lines(path)
    assert strict_json(line)["reason"] == "syntax_error"
    assert "reload.rejected calc v1 — calc.py:2:5: invalid syntax" in stream.getvalue()


# -- through the command line -----------------------------------------------------------------

APP_MANIFEST = """
[project]
name = "demo"

[modules.calc.exports]
add = "(a: int, b: int) -> int"

[env.development]
reload = true

[env.production]
log_file = "logs/events.jsonl"

[app]
entry = "host:main"
"""


def test_a_profile_log_file_is_relative_to_the_manifest_not_the_cwd(
    project: Project,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project.write("calc", "def add(a: int, b: int) -> int:\n    return a + b\n")
    project.write("host", "def main():\n    pass\n")
    project.manifest(APP_MANIFEST)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    manifest = str(project.manifest_path)
    assert main(["up", "-m", manifest, "--env", "production", "--log-format", "console"]) == 0
    written = [strict_json(line)["event"] for line in lines(project.root / "logs/events.jsonl")]
    assert written == ["module.loaded", "server.started", "server.stopped"]
    assert "server.started" in capsys.readouterr().err


# -- the server's own pipeline ----------------------------------------------------------------


def test_silenced_stderr_writes_nothing_there_and_the_file_gets_every_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    stream = io.StringIO()
    log_file = LogFile(path)
    log = EventLog(
        "development", output=EventOutput("json", stderr=False, stream=stream, log_file=log_file)
    )
    for n in range(3):
        log.emit(WatcherError, message=f"event {n}")
    log_file.close()
    assert stream.getvalue() == ""
    assert seqs(path) == [1, 2, 3]


def test_the_pipeline_ignores_structlogs_global_configuration() -> None:
    """A host's `structlog.configure`, before or after the server starts, neither changes the
    server's events nor receives them."""
    import structlog

    host_saw: list[str] = []

    def host_processor(_logger: Any, _name: str, event_dict: Any) -> str:
        host_saw.append(str(event_dict.get("event")))
        return "host line"

    stream = io.StringIO()
    try:
        structlog.configure(
            processors=[host_processor], logger_factory=structlog.ReturnLoggerFactory()
        )
        log = EventLog("development", output=EventOutput("json", stream=stream))
        log.emit(WatcherError, message="before")
        structlog.configure(
            processors=[host_processor],
            wrapper_class=structlog.make_filtering_bound_logger(40),  # errors only
            logger_factory=structlog.ReturnLoggerFactory(),
        )
        log.emit(ServerStopped, reason="stopped")
    finally:
        structlog.reset_defaults()
    written = [strict_json(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in written] == ["watcher.error", "server.stopped"]
    assert host_saw == []


def test_a_stderr_that_cannot_be_written_never_reaches_the_emitting_thread(tmp_path: Path) -> None:
    stream = io.StringIO()
    stream.close()
    path = tmp_path / "events.jsonl"
    log_file = LogFile(path)
    log = EventLog("development", output=EventOutput("console", stream=stream, log_file=log_file))
    assert log.emit(WatcherError, message="still numbered and filed") is not None
    log_file.close()
    assert seqs(path) == [1]


def test_a_closed_log_file_is_not_opened_again_by_a_late_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log_file = LogFile(path)
    log_file.write_line("first")
    log_file.close()
    path.unlink()
    log_file.write_line("late")
    assert not path.exists()


# -- project modules adopted in a burst ----------------------------------------------------------

BURST_MANIFEST = """
[project]
name = "demo"

[modules.calc.exports]
add = "(a: int, b: int) -> int"

[env.development]
reload = true

[app]
entry = "host:main"
"""


def _adopted(module: str, duration_ms: float = 1.0) -> dict[str, Any]:
    return {
        "event": "module.loaded",
        "timestamp": "2026-12-04T08:57:00.123456Z",
        "level": "info",
        "seq": 1,
        "env": "development",
        "module": module,
        "path": f"/p/{module}.py",
        "version": 1,
        "contract": False,
        "digest": "0123456789abcdef",
        "exports": [],
        "duration_ms": duration_ms,
    }


def _wait_for_lines(stream: io.StringIO, count: int, timeout: float = 10.0) -> list[str]:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while len(stream.getvalue().splitlines()) < count and not done.wait(0.01):
            pass
    finally:
        deadline.cancel()
    return stream.getvalue().splitlines()


def test_a_burst_of_adopted_modules_is_one_console_line_said_before_the_next_event() -> None:
    stream = io.StringIO()
    output = EventOutput("console", stream=stream)
    for n in range(5):
        output.write(_adopted(f"helper_{n}"))
    output.write({"event": "server.stopped", "level": "info", "reason": "stopped"})
    said = stream.getvalue().splitlines()
    assert len(said) == 2, said
    assert "5 project modules loaded (no contract) in " in said[0]
    assert "server.stopped" in said[1]
    output.close()


def test_events_written_together_are_the_lines_of_each_written_alone(tmp_path: Path) -> None:
    """`write_many` (an import burst's events): the log file and a JSON stream get the lines
    `write` gives each, in order; the console holds the burst as ever."""
    records = [{**_adopted(f"helper_{n}"), "seq": n + 1} for n in range(3)]
    alone, together = io.StringIO(), io.StringIO()
    alone_file, together_file = LogFile(tmp_path / "alone.jsonl"), LogFile(tmp_path / "t.jsonl")
    one = EventOutput("json", stream=alone, log_file=alone_file)
    many = EventOutput("json", stream=together, log_file=together_file)
    for record in records:
        one.write(record)
    many.write_many(records)
    one.close()
    many.close()
    assert together.getvalue() == alone.getvalue()
    assert lines(tmp_path / "t.jsonl") == lines(tmp_path / "alone.jsonl")
    assert seqs(tmp_path / "t.jsonl") == [1, 2, 3]
    console = io.StringIO()
    output = EventOutput("console", stream=console)
    output.write_many(records)
    output.write({"event": "server.stopped", "level": "info", "reason": "stopped"})
    said = console.getvalue().splitlines()
    assert len(said) == 2 and "3 project modules loaded (no contract) in " in said[0], said
    output.close()


def test_a_burst_is_said_once_it_is_quiet_and_a_lone_module_keeps_its_own_line() -> None:
    stream = io.StringIO()
    output = EventOutput("console", stream=stream)
    try:
        for n in range(3):
            output.write(_adopted(f"helper_{n}"))
        assert "3 project modules loaded" in _wait_for_lines(stream, 1)[0]
        output.write(_adopted("late"))
        said = _wait_for_lines(stream, 2)
        assert said[1].endswith(
            "module.loaded late v1 (no contract) digest=0123456789abcdef duration_ms=1.00"
        ), said[1]
    finally:
        output.close()


def test_json_on_stderr_keeps_every_module_line() -> None:
    stream = io.StringIO()
    output = EventOutput("json", stream=stream)
    for n in range(3):
        output.write(_adopted(f"helper_{n}"))
    assert [strict_json(line)["module"] for line in stream.getvalue().splitlines()] == [
        "helper_0",
        "helper_1",
        "helper_2",
    ]


def test_up_says_the_imported_modules_in_one_line_and_the_log_file_has_each(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("calc", "def add(a: int, b: int) -> int:\n    return a + b\n")
    for n in range(4):
        project.write(f"helper_{n}", f"VALUE = {n}\n")
    imports = "".join(f"import helper_{n}\n" for n in range(4))
    project.write("host", f"{imports}\n\ndef main():\n    pass\n")
    project.manifest(BURST_MANIFEST)
    log = project.root / "events.jsonl"
    code = main(
        ["up", "-m", str(project.manifest_path), "--log-format", "console", "--log-file", str(log)]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "5 project modules loaded (no contract)" in err  # host and its four helpers
    assert "module.loaded helper_0" not in err
    assert "module.loaded calc v1" in err  # a manifest module keeps its own line
    loaded = [strict_json(line) for line in lines(log)]
    adopted = {e["module"] for e in loaded if e["event"] == "module.loaded" and not e["contract"]}
    assert adopted == {"host", "helper_0", "helper_1", "helper_2", "helper_3"}
