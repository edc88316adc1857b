"""A host that embeds hotreload keeps its stdout, its structlog and its `logging`; the event file
gets every event and nothing else. Run as real host processes, with their own output read back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from child import EVENT_SCHEMA, WAIT, Child, child_env, strict_json
from conftest import Project
from jsonschema import Draft202012Validator

CALC = """
def add(a: int, b: int) -> int:
    return a + b
"""

MANIFEST = """
[project]
name = "embedded"

[modules.calc.exports]
add = "(a: int, b: int) -> int"

[env.development]
reload = true
debounce_ms = 5
log_format = "{log_format}"
log_file = "logs/events.jsonl"
"""

# The host: prints what it prints, optionally sets up structlog before and after `up()`, edits
# calc.py while it runs, and waits (through on_event) for the change to be applied.
HOST = """
import json, logging, os, sys, threading
from pathlib import Path

import structlog

import hotreload

mode = sys.argv[1]
accepted = threading.Event()


def on_event(event):
    if event["event"] == "reload.accepted":
        accepted.set()


def save(text):
    temp = Path(".calc.py.tmp")
    temp.write_text(text)
    os.replace(temp, "calc.py")


if mode == "configured":
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
    )
    structlog.get_logger().info("host.before", step=1)
config_before = structlog.get_config()
print("host: starting", flush=True)
with hotreload.up("hotreload.toml", on_event=on_event, stderr=mode != "silent") as server:
    unchanged = structlog.get_config() == config_before
    print(f"host: structlog unchanged by up()={unchanged}", flush=True)
    print(f"host: root logging handlers={len(logging.getLogger().handlers)}", flush=True)
    if mode == "configured":
        structlog.configure(
            processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
            logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        )
        structlog.get_logger().info("host.after", step=2)
    logging.getLogger("host").warning("host: a warning through logging")
    calc = server.module("calc")
    print(f"host: add={calc.add(2, 3)}", flush=True)
    save("def add(a: int, b: int) -> int:\\n    return a + b + 100\\n")
    assert accepted.wait(20), "the change was never applied"
    print(f"host: add={calc.add(2, 3)}", flush=True)
print("host: done", flush=True)
"""


def validator() -> Draft202012Validator:
    schema = json.loads(EVENT_SCHEMA.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def run_host(project: Project, mode: str, *, log_format: str = "json") -> tuple[str, str]:
    project.write("calc", CALC)
    project.manifest(MANIFEST.format(log_format=log_format))
    script = project.root / "host.py"
    script.write_text(textwrap.dedent(HOST), encoding="utf-8")
    # A zone far from UTC: console timestamps must still be UTC.
    env = child_env({"TZ": "Asia/Kolkata"})
    child = subprocess.run(
        [sys.executable, str(script), mode],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        check=False,
    )
    assert child.returncode == 0, f"stdout:\n{child.stdout}\nstderr:\n{child.stderr}"
    return child.stdout, child.stderr


def event_file(project: Project) -> list[dict[str, Any]]:
    lines = (project.root / "logs" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events = [strict_json(line) for line in lines]
    check = validator()
    for event in events:  # every line is an event: a host line would fail the schema
        check.validate(event)
    return events


EVERY_EVENT = ["module.loaded", "server.started", "reload.accepted", "server.stopped"]
HOST_LINES = [
    "host: starting",
    "host: structlog unchanged by up()=True",
    "host: root logging handlers=0",
    "host: add=5",
    "host: add=105",
    "host: done",
]


def test_a_host_with_default_logging_keeps_its_stdout_and_the_file_gets_every_event(
    project: Project,
) -> None:
    stdout, stderr = run_host(project, "defaults")
    assert stdout.splitlines() == HOST_LINES
    events = event_file(project)
    assert [e["event"] for e in events] == EVERY_EVENT
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    # The profile's log_format renders the same events on stderr, beside the host's own warning.
    on_stderr = [strict_json(line) for line in stderr.splitlines() if line.startswith("{")]
    assert on_stderr == events
    assert "host: a warning through logging" in stderr.splitlines()


def test_a_host_that_configures_structlog_keeps_it_and_its_lines_stay_out_of_the_file(
    project: Project,
) -> None:
    stdout, _ = run_host(project, "configured")
    lines = stdout.splitlines()
    # Its own structlog lines went where its configuration (before, then after) sent them.
    assert json.loads(lines[0]) == {"step": 1, "event": "host.before"}
    assert "event='host.after' step=2" in lines
    assert [line for line in lines if line.startswith("host: ")] == HOST_LINES
    assert len(lines) == len(HOST_LINES) + 2
    events = event_file(project)
    assert [e["event"] for e in events] == EVERY_EVENT  # server.stopped included
    assert events[-1]["reason"] == "stopped"


def test_a_host_that_silences_stderr_gets_the_file_and_no_event_on_stderr(
    project: Project,
) -> None:
    stdout, stderr = run_host(project, "silent")
    assert stdout.splitlines() == HOST_LINES
    assert stderr.splitlines() == ["host: a warning through logging"]
    assert [e["event"] for e in event_file(project)] == EVERY_EVENT


def test_console_lines_show_utc_time_whatever_the_local_zone(project: Project) -> None:
    _, stderr = run_host(project, "defaults", log_format="console")
    console = [line for line in stderr.splitlines() if " server.started " in line]
    started = next(e for e in event_file(project) if e["event"] == "server.started")
    assert started["timestamp"].endswith("Z")
    assert console == [console[0]]
    assert console[0].startswith(started["timestamp"][11:23] + " • server.started ")


# -- the same through `hotreload up` and an [app] entry -------------------------------------------

ENTRY = """
import sys

import structlog


def main(server):
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
    )
    structlog.get_logger().info("host.entry", add=server.module("calc").add(2, 3))
    print("host: done", flush=True)
"""


def test_an_entry_that_configures_structlog_under_up_keeps_its_lines_out_of_the_file(
    project: Project,
) -> None:
    project.write("calc", CALC)
    project.write("host", ENTRY)
    project.manifest(MANIFEST.format(log_format="json") + '\n[app]\nentry = "host:main"\n')
    with Child("up", cwd=project.root) as child:
        assert child.wait() == 0
        assert child.stdout == ['{"add": 5, "event": "host.entry"}', "host: done"]
        assert child.bad_lines == []
        events = event_file(project)
        # The entry's own module reloads too, without a contract: its first import is said.
        assert [e["event"] for e in events] == [
            "module.loaded",
            "server.started",
            "module.loaded",
            "server.stopped",
        ]
        assert (events[2]["module"], events[2]["contract"]) == ("host", False)
        assert events[-1]["reason"] == "entry_returned"
        assert child.events == events


@pytest.mark.parametrize("option", ["--log-format", "--log-file"])
def test_command_line_options_override_the_profile(project: Project, option: str) -> None:
    project.write("calc", CALC)
    project.write("host", "def main():\n    pass\n")
    project.manifest(MANIFEST.format(log_format="json") + '\n[app]\nentry = "host:main"\n')
    args = ["up", "--log-format", "console"] if option == "--log-format" else ["up"]
    if option == "--log-file":
        args += ["--log-file", "elsewhere.jsonl"]
    with Child(*args, cwd=project.root) as child:
        assert child.wait() == 0
    if option == "--log-format":
        assert child.events == []  # console lines, not JSON
        assert any(" server.started " in line for line in child.stderr)
        assert [e["event"] for e in event_file(project)][-1] == "server.stopped"
    else:
        written = (project.root / "elsewhere.jsonl").read_text(encoding="utf-8").splitlines()
        assert [strict_json(line)["event"] for line in written][-1] == "server.stopped"
        assert not (project.root / "logs").exists()
