"""The command line: exact exit codes and messages in-process, and real runs in a child process."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from child import EVENT_SCHEMA, REPO, Child, run, strict_json
from conftest import Project
from jsonschema import Draft202012Validator
from test_typerules import BASE, COUNTER_INC
from test_typerules import edit as edit_base

from hotreload import cli
from hotreload.cli import exit_code, main
from hotreload.errors import (
    ContractViolation,
    EntryError,
    HotreloadError,
    LogFileError,
    ManifestError,
    ServerError,
)

CALC = """
def add(a: int, b: int) -> int:
    return a + b


def multiply(a: int, b: int) -> int:
    return a * b
"""

MANIFEST = """
[project]
name = "demo"

[modules.calc.exports]
add = "(a: int, b: int) -> int"
multiply = "(a: int, b: int) -> int"
"""


@pytest.fixture(autouse=True)
def no_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile comes from the manifest unless a test sets HOTRELOAD_ENV itself."""
    monkeypatch.delenv("HOTRELOAD_ENV", raising=False)


@pytest.fixture
def demo(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A matching project in the current directory, as a user has it before running a command."""
    project.write("calc", CALC)
    project.manifest(MANIFEST)
    monkeypatch.chdir(project.root)
    return project


def json_events(stderr: str) -> list[dict[str, Any]]:
    """The JSON event lines of captured stderr (other lines are the CLI's own messages)."""
    return [strict_json(line) for line in stderr.splitlines() if line.startswith("{")]


def validate_events(events: list[dict[str, Any]]) -> None:
    validator = Draft202012Validator(json.loads(EVENT_SCHEMA.read_text(encoding="utf-8")))
    for event in events:
        validator.validate(event)


# -- check --------------------------------------------------------------------------------------


def test_check_exits_0_when_every_module_matches(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert out == "hotreload check: 1 module(s) match hotreload.toml\n"
    assert err == ""


def test_check_exits_1_with_one_violation_event_per_violation(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write(
        "calc",
        """
        def add(a: int, b: int, c: int) -> int:
            return a + b + c


        def multiply(a: int, b: int) -> float:
            return a * b
        """,
    )
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    events = json_events(err)
    assert [(e["event"], e["function"], e["code"]) for e in events] == [
        ("contract.violation", "add", "parameters_changed"),
        ("contract.violation", "multiply", "return_type_changed"),
    ]
    assert [e["seq"] for e in events] == [1, 2]
    assert events[0]["expected"] == "(a: int, b: int) -> int"
    assert events[0]["actual"] == "(a: int, b: int, c: int) -> int"
    assert events[0]["line"] == 1
    assert events[0]["version"] is None  # check runs no code, so no version exists
    assert all(e["level"] == "error" and e["module"] == "calc" for e in events)
    validate_events(events)
    assert err.splitlines()[-1] == (
        "hotreload check: 2 violation(s) in 1 of 1 module(s) against hotreload.toml"
    )


@pytest.mark.parametrize("matches", [True, False])
def test_check_never_runs_module_code(
    demo: Project, matches: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module whose top level writes a file must not write it when checked, pass or fail."""
    marker = demo.root / "top-level-ran"
    source = f"open({str(marker)!r}, 'w').close()\n" + CALC
    if not matches:
        source = source.replace("def add(a: int, b: int)", "def add(a: int)")
    demo.write("calc", source)
    assert main(["check"]) == (0 if matches else 1)
    assert not marker.exists()
    assert "calc" not in sys.modules


def test_check_reports_a_syntax_error_as_one_file_level_violation(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("calc", "def add(a: int, b: int) -> int:\n    return (a +\n")
    assert main(["check"]) == 1
    (event,) = json_events(capsys.readouterr().err)
    assert (event["code"], event["function"], event["line"]) == ("syntax_error", None, 2)
    assert event["message"].startswith("calc.py:2:")


def test_check_console_format_names_function_and_code(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("calc", CALC.replace("def add(a: int, b: int)", "def add(a: int)"))
    assert main(["check", "--log-format", "console"]) == 1
    line = capsys.readouterr().err.splitlines()[0]
    assert "contract.violation calc" in line
    assert "code=parameters_changed function=add" in line


def test_check_exits_2_on_broken_toml_with_line_and_column(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.manifest('[project\nname = "demo"\n')
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        "hotreload: error: hotreload.toml:1:9: invalid TOML: "
        "Expected ']' at the end of a table declaration\n"
    )


def test_check_exits_2_on_a_typo_in_a_key_and_suggests_the_key(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.manifest(MANIFEST + "\n[env.development]\nreloda = true\n")
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        "hotreload: error: hotreload.toml: env.development.reloda: unknown key; known keys: "
        "reload, debounce_ms, log_format, log_file, log_level, exec_timeout_ms, reload_scope, "
        "host, port, access_log, token_env, max_body_bytes, restart, browser_reload; "
        "did you mean 'reload'?\n"
    )


def test_check_exits_2_when_the_manifest_is_missing(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-m", "other.toml"]) == 2
    assert capsys.readouterr().err == (
        "hotreload: error: other.toml: no such file; create one with `hotreload init`\n"
    )


def test_check_exits_2_on_an_unknown_env_and_lists_the_known_ones(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--env", "staging"]) == 2
    assert capsys.readouterr().err == (
        f"hotreload: error: {demo.manifest_path}: unknown environment 'staging'; "
        "known: development, production\n"
    )


def test_check_names_hotreload_env_when_it_picks_the_unknown_env(
    demo: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTRELOAD_ENV", "staging")
    assert main(["check"]) == 2
    assert "unknown environment 'staging' (from HOTRELOAD_ENV)" in capsys.readouterr().err


def test_check_exits_2_when_a_module_is_not_found(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.manifest(MANIFEST + '\n[modules.gone.exports]\nrun = "() -> None"\n')
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"hotreload: error: {demo.manifest_path}: modules.gone: module 'gone' not found under "
        f"{demo.root}; tried "
    )
    assert err.endswith("check the name or project.root\n")


# -- freeze -------------------------------------------------------------------------------------


def test_freeze_prints_each_change_and_a_second_run_prints_none(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write(
        "calc",
        CALC.replace("def add(a: int, b: int)", "def add(a: int, b: int, c: int = 0)")
        + "\n\ndef negate(a: int) -> int:\n    return -a\n",
    )
    assert main(["freeze"]) == 0
    assert capsys.readouterr().out == (
        "~ calc.add: '(a: int, b: int) -> int' -> '(a: int, b: int, c: int = 0) -> int'\n"
        "+ calc.negate = '(a: int) -> int'\n"
        "hotreload freeze: 2 change(s) written to hotreload.toml\n"
    )
    written = demo.manifest_path.read_text(encoding="utf-8")
    assert main(["freeze"]) == 0
    assert capsys.readouterr().out == (
        "hotreload freeze: no changes; hotreload.toml matches the source\n"
    )
    assert demo.manifest_path.read_text(encoding="utf-8") == written
    assert main(["check"]) == 0


def test_freeze_prints_a_removed_export(demo: Project, capsys: pytest.CaptureFixture[str]) -> None:
    demo.write("calc", CALC.split("\n\n\ndef multiply")[0] + "\n")
    assert main(["freeze"]) == 0
    assert capsys.readouterr().out == (
        "- calc.multiply (was '(a: int, b: int) -> int')\n"
        "hotreload freeze: 1 change(s) written to hotreload.toml\n"
    )


def test_freeze_of_a_named_module_leaves_the_others(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("other", "def ping() -> str:\n    return 'pong'\n")
    demo.manifest(MANIFEST + '\n[modules.other.exports]\nping = "() -> int"\n')
    demo.write("calc", CALC.replace("def add(a: int, b: int)", "def add(a: int)"))
    assert main(["freeze", "other"]) == 0
    assert capsys.readouterr().out == (
        "~ other.ping: '() -> int' -> '() -> str'\n"
        "hotreload freeze: 1 change(s) written to hotreload.toml\n"
    )
    assert 'add = "(a: int, b: int) -> int"' in demo.manifest_path.read_text(encoding="utf-8")


def test_freeze_of_an_unknown_module_exits_2(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    before = demo.manifest_path.read_text(encoding="utf-8")
    assert main(["freeze", "nope"]) == 2
    assert capsys.readouterr().err == (
        f"hotreload: error: module 'nope' is not in {demo.manifest_path}; known modules: calc. "
        "Add it under [modules] or run `hotreload init`.\n"
    )
    assert demo.manifest_path.read_text(encoding="utf-8") == before


# -- init ---------------------------------------------------------------------------------------


def test_init_writes_a_manifest_that_check_passes(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("calc", CALC)
    monkeypatch.chdir(project.root)
    assert main(["init", "calc"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "hotreload init: wrote hotreload.toml and hotreload.schema.json"
    assert out[2:] == [
        "  calc: exports add, multiply",
        "next: `hotreload check` to verify it, then `hotreload up`",
    ]
    text = project.manifest_path.read_text(encoding="utf-8")
    assert text.startswith("#:schema ./hotreload.schema.json\n")
    assert 'add = "(a: int, b: int) -> int"' in text
    assert main(["check"]) == 0
    assert main(["check", "--env", "production"]) == 0


def test_init_refuses_to_overwrite_and_force_overwrites(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("calc", CALC + "\n\ndef negate(a: int) -> int:\n    return -a\n")
    assert main(["init", "calc"]) == 2
    assert capsys.readouterr().err == (
        f"hotreload: error: {demo.manifest_path} already exists; pass --force to overwrite it\n"
    )
    assert demo.manifest_path.read_text(encoding="utf-8") == MANIFEST.lstrip("\n")
    assert main(["init", "calc", "--force"]) == 0
    assert 'negate = "(a: int) -> int"' in demo.manifest_path.read_text(encoding="utf-8")
    assert main(["check"]) == 0


def test_init_of_a_missing_module_exits_2_and_writes_nothing(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root)
    assert main(["init", "gone"]) == 2
    assert "module 'gone' not found" in capsys.readouterr().err
    assert not project.manifest_path.exists()


# -- schema -------------------------------------------------------------------------------------


def test_schema_writes_both_files_and_check_says_fresh_or_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "out"
    assert main(["schema", "--dir", str(directory)]) == 0
    assert capsys.readouterr().out == (
        f"wrote {directory / 'hotreload.schema.json'}\nwrote {directory / 'event.schema.json'}\n"
    )
    for name in ("hotreload.schema.json", "event.schema.json"):
        assert (directory / name).read_bytes() == (REPO / "schemas" / name).read_bytes()
    assert main(["schema", "--dir", str(directory), "--check"]) == 0
    assert capsys.readouterr() == ("", "")

    (directory / "event.schema.json").write_text("{}\n", encoding="utf-8")
    assert main(["schema", "--dir", str(directory), "--check"]) == 1
    assert capsys.readouterr().err == (
        f"hotreload: error: {directory / 'event.schema.json'} is out of date; "
        f"run `hotreload schema --dir {directory}`\n"
    )
    (directory / "hotreload.schema.json").unlink()
    assert main(["schema", "--dir", str(directory), "--check"]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 2


def test_schema_says_wrote_only_for_files_it_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "out"
    assert main(["schema", "--dir", str(directory)]) == 0
    capsys.readouterr()
    (directory / "event.schema.json").write_text("{}\n", encoding="utf-8")
    manifest_schema = directory / "hotreload.schema.json"
    before = manifest_schema.stat().st_mtime_ns
    assert main(["schema", "--dir", str(directory)]) == 0
    assert capsys.readouterr().out == (
        f"{manifest_schema} is up to date\nwrote {directory / 'event.schema.json'}\n"
    )
    assert manifest_schema.stat().st_mtime_ns == before  # not written again
    assert main(["schema", "--dir", str(directory)]) == 0
    assert capsys.readouterr().out.count("is up to date\n") == 2


def test_schema_check_says_missing_for_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "out"
    assert main(["schema", "--dir", str(directory)]) == 0
    (directory / "hotreload.schema.json").unlink()
    capsys.readouterr()
    assert main(["schema", "--dir", str(directory), "--check"]) == 1
    assert capsys.readouterr().err == (
        f"hotreload: error: {directory / 'hotreload.schema.json'} is missing; "
        f"run `hotreload schema --dir {directory}`\n"
    )


def test_init_writes_the_schema_its_first_line_points_at(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("calc", CALC)
    monkeypatch.chdir(project.root)
    assert main(["init", "calc"]) == 0
    first = project.manifest_path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "#:schema ./hotreload.schema.json"
    pointed_at = project.root / first.removeprefix("#:schema ")
    assert pointed_at.read_bytes() == (REPO / "schemas" / "hotreload.schema.json").read_bytes()


def test_init_without_schema_writes_no_schema_line_and_no_schema(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("calc", CALC)
    monkeypatch.chdir(project.root)
    assert main(["init", "calc", "--no-schema"]) == 0
    assert "#:schema" not in project.manifest_path.read_text(encoding="utf-8")
    assert not (project.root / "hotreload.schema.json").exists()
    assert main(["check"]) == 0


# -- usage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["up", "--help"], ["check", "-h"]])
def test_help_exits_0_and_prints_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("usage: hotreload")


@pytest.mark.parametrize("columns", ["50", "120", ""])
def test_help_is_argparse_s_own_at_the_terminal_s_width(
    columns: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The formatter told the width (`cli._HelpFormatter`) writes what argparse's own writes."""
    monkeypatch.setenv("COLUMNS", columns)
    helps = []
    for formatter in (cli._HelpFormatter, argparse.HelpFormatter):
        monkeypatch.setattr(cli, "_HelpFormatter", formatter)
        for argv in (["--help"], ["up", "--help"]):
            assert main(argv) == 0
        helps.append(capsys.readouterr().out)
    assert helps[0] == helps[1]
    assert max(map(len, helps[0].splitlines())) > 40


def test_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("hotreload ")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check", "--log-format", "xml"], "invalid choice: 'xml'"),
        (["init", "--root"], "argument --root: expected one argument"),
        (["check", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_usage_exits_2_and_says_what_is_wrong(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: hotreload")
    assert complaint in err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KeyboardInterrupt(), 0),
        (ManifestError("bad key"), 2),
        (LogFileError("cannot open log file"), 2),
        (ContractViolation("add changed"), 1),
        (ServerError("cannot load module"), 1),
        (EntryError("[app] entry raised"), 1),
        (HotreloadError("unknown module"), 2),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_one_table_maps_every_error_to_its_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code


# -- up, in-process: the ways it ends before it runs --------------------------------------------


def test_up_exits_1_when_the_contract_is_violated_at_start(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("calc", CALC.replace("def add(a: int, b: int)", "async def add(a: int, b: int)"))
    assert main(["up", "--log-format", "json"]) == 1
    out, err = capsys.readouterr()
    events = json_events(err)
    assert [(e["event"], e.get("code") or e.get("reason")) for e in events] == [
        ("contract.violation", "async_changed"),
        ("server.failed", "contract_violation"),
    ]
    assert [e["seq"] for e in events] == [1, 2]
    validate_events(events)
    assert err.splitlines()[-1].startswith("hotreload: error: 1 module(s) do not match")
    assert "calc" not in sys.modules  # no module code ran
    assert out == ""


def test_up_exits_1_when_a_module_raises_at_import(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("calc", CALC + "\nraise RuntimeError('boom')\n")
    assert main(["up", "--log-format", "json"]) == 1
    events = json_events(capsys.readouterr().err)
    assert [e["event"] for e in events] == ["server.failed"]
    assert events[0]["reason"] == "import_error"
    assert "RuntimeError: boom" in events[0]["message"]
    assert "calc" not in sys.modules
    validate_events(events)


def test_up_exits_2_on_a_bad_manifest_with_a_server_failed_event(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log pipeline sees why the server never started, even though no profile was read."""
    demo.manifest(MANIFEST.replace("[project]", "[projekt]"))
    assert main(["up", "--env", "staging", "--log-format", "json"]) == 2
    err = capsys.readouterr().err
    events = json_events(err)
    assert [(e["event"], e["reason"], e["env"]) for e in events] == [
        ("server.failed", "manifest_error", "staging")
    ]
    assert "projekt" in events[0]["message"]
    validate_events(events)
    assert "\nhotreload: error: hotreload.toml: " in err


def test_up_exits_2_with_server_failed_when_a_module_file_is_missing(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.path("calc").unlink()
    assert main(["up", "--log-format", "json"]) == 2
    events = json_events(capsys.readouterr().err)
    assert [(e["event"], e["reason"]) for e in events] == [("server.failed", "manifest_error")]
    assert "module 'calc' not found" in events[0]["message"]


def test_up_in_process_watches_and_closes_everything_it_started_at_its_stop(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the console script (`run`), whose process ends with the command, leaves the kernel's
    teardown of the file watch to the exit; `main` in a process that goes on closes it all."""
    from hotreload import kernelwatch

    demo.write("host", "def main(server):\n    print(f'watching={server.watching}')\n")
    demo.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    assert main(["up", "--log-format", "json"]) == 0
    out, _ = capsys.readouterr()
    assert out == "watching=True\n"
    assert kernelwatch._LEFT_TO_EXIT == []


def test_up_in_production_starts_no_watcher_and_runs_the_entry(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write(
        "host",
        """
        def main(server):
            calc = server.module("calc")
            print(f"add={calc.add(2, 3)} watching={server.watching}")
        """,
    )
    demo.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    assert main(["up", "--env", "production", "--log-format", "json"]) == 0
    out, err = capsys.readouterr()
    assert out == "add=5 watching=False\n"
    events = json_events(err)
    assert [e["event"] for e in events] == ["module.loaded", "server.started", "server.stopped"]
    assert events[1]["reload"] is False
    assert events[2]["reason"] == "entry_returned"
    assert {e["env"] for e in events} == {"production"}
    validate_events(events)


def test_up_exits_1_when_the_entry_raises(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write("host", "def main():\n    raise ValueError('host broke')\n")
    demo.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    assert main(["up", "--env", "production", "--log-format", "json"]) == 1
    err = capsys.readouterr().err
    stopped = json_events(err)[-1]
    assert (stopped["event"], stopped["reason"]) == ("server.stopped", "entry_failed")
    assert stopped["message"] == "ValueError: host broke"
    assert "Traceback" in err  # the host's own error, with its traceback, for the person


def test_up_exits_1_when_the_entry_misuses_the_server(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hotreload error raised in the host's code is still the entry failing, not bad usage."""
    demo.write("host", "def main(server):\n    server.module('nope')\n")
    demo.manifest(MANIFEST + '\n[app]\nentry = "host:main"\n')
    assert main(["up", "--env", "production", "--log-format", "json"]) == 1
    err = capsys.readouterr().err
    assert json_events(err)[-1]["reason"] == "entry_failed"
    assert "Traceback" in err
    assert err.splitlines()[-1] == (
        "hotreload: error: [app] entry 'host:main' raised HotreloadError: unknown module 'nope'; "
        "modules in hotreload.toml: calc"
    )


def test_up_exits_2_before_starting_when_the_log_file_cannot_be_opened(
    demo: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo.root / "not-a-dir").write_text("a regular file\n", encoding="utf-8")
    target = demo.root / "not-a-dir" / "events.jsonl"
    assert main(["up", "--log-format", "json", "--log-file", str(target)]) == 2
    err = capsys.readouterr().err
    assert json_events(err) == []  # nothing started, so nothing to report
    assert err.startswith(f"hotreload: error: cannot open log file {target}: ")
    assert err.endswith("choose a writable path with --log-file or env.<name>.log_file\n")
    assert "calc" not in sys.modules


# -- end to end: the real command in a child process --------------------------------------------


def copy_example(tmp_path: Path) -> Path:
    """The repository's calculator example, copied so a test can edit it."""
    shutil.copy(REPO / "hotreload.toml", tmp_path / "hotreload.toml")
    shutil.copytree(
        REPO / "examples" / "calculator",
        tmp_path / "examples" / "calculator",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path / "examples" / "calculator" / "calculator.py"


def edit(path: Path, *replacements: tuple[str, str]) -> None:
    """Save one edit as editors do: write a temporary file, rename it over the original."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"{old!r} not in {path}"
        text = text.replace(old, new)
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


def test_check_on_the_repository_manifest_exits_0() -> None:
    result = run("check", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hotreload check: 1 module(s) match hotreload.toml\n"


def test_check_on_an_edited_copy_of_the_example_names_the_broken_export(tmp_path: Path) -> None:
    source = copy_example(tmp_path)
    edit(source, ("def add(a: int, b: int)", "def add(a: int, b: int, c: int)"))
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "function=add" in result.stderr
    assert "code=parameters_changed" in result.stderr


VALID_CHANGE = CALC.replace("return a + b", "return a + b + 100")
BREAKING_CHANGE = CALC.replace("def add(a: int, b: int)", "def add(a: int, b: int, c: int)")


def test_up_writes_one_valid_json_event_per_line_to_stderr_and_the_log_file(
    project: Project,
) -> None:
    project.write("calc", CALC)
    project.manifest(MANIFEST + "\n[env.development]\nreload = true\ndebounce_ms = 5\n")
    log = project.root / "logs" / "events.jsonl"
    with Child(
        "up", "--log-format", "json", "--log-file", "logs/events.jsonl", cwd=project.root
    ) as child:
        child.wait_for("server.started", reload=True)
        project.write("calc", VALID_CHANGE)
        accepted = child.wait_for("reload.accepted")
        assert (accepted["version"], accepted["changed"]) == (2, ["add"])
        project.write("calc", BREAKING_CHANGE)
        rejected = child.wait_for("reload.rejected")
        assert (rejected["reason"], rejected["version"]) == ("parameters_changed", 2)
        assert [v["function"] for v in rejected["violations"]] == ["add"]
        assert child.stop() == 0
        assert child.bad_lines == []
        events = child.events
        assert [e["event"] for e in events] == [
            "module.loaded",
            "server.started",
            "reload.accepted",
            "reload.rejected",
            "server.stopped",
        ]
        assert events[-1]["reason"] == "interrupted"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        validate_events(events)
        assert log.read_text(encoding="utf-8").splitlines() == child.stderr


def test_up_on_the_repository_example_runs_the_host() -> None:
    """The root manifest as shipped: the host prints its rounds and `up` ends when it returns."""
    env = {"CALCULATOR_ROUNDS": "2", "CALCULATOR_INTERVAL": "0.01"}
    with Child("up", "--log-format", "json", cwd=REPO, env=env) as child:
        assert child.wait() == 0
        assert child.stdout.count("5 + 3 = 8") == 2
        assert "Performing addition operation" in child.stdout
        names = [e["event"] for e in child.events]
        # The host's own module (`app`, imported by the entry) reloads too, without a contract.
        assert names == ["module.loaded", "server.started", "module.loaded", "server.stopped"]
        assert (child.events[2]["module"], child.events[2]["contract"]) == ("app", False)
        assert child.events[-1]["reason"] == "entry_returned"
        assert child.bad_lines == []


def test_up_hot_reloads_a_running_host_and_keeps_it_running_on_a_rejection(
    tmp_path: Path,
) -> None:
    source = copy_example(tmp_path)
    env = {"CALCULATOR_ROUNDS": "0", "CALCULATOR_INTERVAL": "0.05"}
    with Child("up", "--log-format", "json", cwd=tmp_path, env=env) as child:
        child.wait_for("server.started")
        child.wait_stdout("5 + 3 = 8")
        before = child.mark()
        edit(source, ("return a + b", "return a + b + 100"))
        child.wait_for("reload.accepted", after=before, changed=["add"], version=2)
        first_new = child.wait_stdout("5 + 3 = 108", after=before)
        child.wait_stdout("(calculator v2; Ctrl+C to exit)", after=before)

        rejected_mark = child.mark()
        edit(
            source,
            ("def add(a: int, b: int)", "def add(a: int, b: int, c: int)"),
            (
                "return a + b + 100",
                "return a + b + c",
            ),  # a caller passing two arguments would break
        )
        child.wait_for("reload.rejected", after=rejected_mark, reason="parameters_changed")
        after_rejection = child.mark()
        # Three more rounds: the host is alive and still runs version 2.
        for _ in range(3):
            index = child.wait_stdout("(calculator v2; Ctrl+C to exit)", after=after_rejection)
            after_rejection = (after_rejection[0], index + 1)
        assert child.stop() == 0
        sums = [line for line in child.stdout[first_new:] if line.startswith("5 + 3 = ")]
        assert set(sums) == {"5 + 3 = 108"}
        assert child.events[-1]["event"] == "server.stopped"
        assert child.bad_lines == []


def test_up_reloads_the_hosts_own_entry_module_without_a_contract(tmp_path: Path) -> None:
    """The host's app.py is no manifest module: an edit of a function it calls each round
    applies all the same (no code runs, the running loop calls the new body next round)."""
    copy_example(tmp_path)
    app = tmp_path / "examples" / "calculator" / "app.py"
    env = {"CALCULATOR_ROUNDS": "0", "CALCULATOR_INTERVAL": "0.05"}
    with Child("up", "--log-format", "json", cwd=tmp_path, env=env) as child:
        child.wait_for("module.loaded", module="app", contract=False)
        child.wait_stdout("5 + 3 = 8")
        before = child.mark()
        edit(app, ('print(f"5 + 3 = {calc.add(5, 3)}")', 'print(f"5 + 3 makes {calc.add(5, 3)}")'))
        event = child.wait_for("reload.accepted", after=before, module="app")
        assert (event["contract"], event["ran"], event["version"]) == (False, "code", 2)
        child.wait_stdout("5 + 3 makes 8", after=before)
        assert child.stop() == 0
        assert child.bad_lines == []


def test_up_in_a_child_exits_1_when_the_contract_is_violated_at_start(tmp_path: Path) -> None:
    source = copy_example(tmp_path)
    edit(source, ("def multiply(a: int, b: int)", "def multiply(a: int)"))
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        assert child.wait() == 1
        names = [e["event"] for e in child.events]
        assert names == ["contract.violation", "server.failed"]
        assert child.events[0]["function"] == "multiply"
        assert child.stdout == []  # the host never ran


# -- frozen types, end to end ---------------------------------------------------------------------


def test_init_check_freeze_and_up_with_types_in_child_processes(tmp_path: Path) -> None:
    """The user's path: init on classes, dataclasses, pydantic models and Enums; check passes;
    freeze has nothing to do; `up` rejects the Counter change and warns on the Item change."""
    (tmp_path / "shapes.py").write_text(BASE, encoding="utf-8")
    assert run("init", "shapes", cwd=tmp_path).returncode == 0
    manifest = (tmp_path / "hotreload.toml").read_text(encoding="utf-8")
    assert "[modules.shapes.types.Item.fields]" in manifest
    checked = run("check", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (
        0,
        "hotreload check: 1 module(s) match hotreload.toml\n",
    )
    frozen = run("freeze", cwd=tmp_path)
    assert frozen.returncode == 0
    assert frozen.stdout == "hotreload freeze: no changes; hotreload.toml matches the source\n"
    assert (tmp_path / "hotreload.toml").read_text(encoding="utf-8") == manifest

    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        child.wait_for("server.started")
        (tmp_path / "shapes.py").write_text(
            edit_base(COUNTER_INC, "    def inc(self, k: int) -> int:\n        self.n += k\n")
        )
        rejected = child.wait_for("reload.rejected")
        assert rejected["reason"] == "method_changed"
        assert [(v["type"], v["member"]) for v in rejected["violations"]] == [("Counter", "inc")]
        mark = child.mark()
        item = edit_base(
            "    name: str\n    tags", "    name: str\n    price: float = 0.0\n    tags"
        )
        (tmp_path / "shapes.py").write_text(item)
        accepted = child.wait_for("reload.accepted", after=mark)
        assert (accepted["level"], accepted["version"]) == ("warning", 2)
        assert [(w["type"], w["member"]) for w in accepted["warnings"]] == [("Item", "price")]
        assert child.stop() == 0
        assert child.bad_lines == []
        validate_events(child.events)

    (tmp_path / "shapes.py").write_text(item)
    changed = run("freeze", cwd=tmp_path)
    assert changed.stdout.splitlines() == [
        "+ shapes.types.Item.fields.price = 'float = 0.0'",
        "hotreload freeze: 1 change(s) written to hotreload.toml",
    ]
    assert run("check", cwd=tmp_path).returncode == 0


def test_up_without_an_app_says_once_on_stderr_what_it_watches_and_how_to_stop(
    project: Project,
) -> None:
    project.write("calc", CALC)
    project.manifest(MANIFEST + "\n[env.development]\nreload = true\n")
    with Child("up", "--log-format", "console", cwd=project.root) as child:
        line = (
            "hotreload: watching 1 module(s) and hotreload.toml for changes (env development); "
            "press Ctrl+C to stop"
        )
        index = child.wait_stderr(line)
        assert " server.started " in child.stderr[index - 1]  # once it is watching
        assert child.stop() == 0
        assert child.stderr.count(line) == 1
        assert child.stdout == []


def test_the_example_host_shows_an_error_in_a_reloaded_body_and_goes_on(tmp_path: Path) -> None:
    """As the development loop of the C# original does: catch, show the traceback, keep calling."""
    source = copy_example(tmp_path)
    env = {"CALCULATOR_ROUNDS": "0", "CALCULATOR_INTERVAL": "0.05"}
    with Child("up", "--log-format", "json", cwd=tmp_path, env=env) as child:
        child.wait_stdout("(calculator v1; Ctrl+C to exit)")
        before = child.mark()
        edit(source, ("return a + b", "return a + b + undefined_name"))
        child.wait_for("reload.accepted", after=before, version=2)
        child.wait_stderr("NameError: name 'undefined_name' is not defined")
        after_error = child.mark()
        child.wait_stdout("(calculator v2; Ctrl+C to exit)", after=after_error)  # still running
        edit(source, ("return a + b + undefined_name", "return a + b + 1"))
        child.wait_for("reload.accepted", after=after_error, version=3)
        child.wait_stdout("5 + 3 = 9", after=after_error)
        assert child.stop() == 0
        assert any(line.startswith("Traceback") for line in child.stderr)


# -- one contract, one comparison: `check` passes exactly when `up` starts ----------------------

MODELS = """
import dataclasses


@dataclasses.dataclass
class Base:
    id: int


@dataclasses.dataclass
class Item(Base):
    name: str = ""


class Shape:
    def area(self) -> float:
        return 0.0


class Square(Shape):
    def describe(self) -> str:
        return "square"
"""

API = """
import models
from models import Item


def make(name: str) -> Item:
    return Item(1, name)


def square() -> "models.Square":
    return models.Square()


def with_tax(amount: float) -> float:
    return amount * 1.2
"""

MOVED_INTO_BASE = MODELS.replace(
    "        return 0.0\n",
    '        return 0.0\n\n    def describe(self) -> str:\n        return "shape"\n',
).replace('    def describe(self) -> str:\n        return "square"\n', "    pass\n")

SQUARE_FROM_ELSEWHERE = MODELS.replace(
    "class Shape:\n    def area(self) -> float:\n        return 0.0\n",
    "from shapes import Shape  # a project file outside the manifest\n",
)
SHAPES = "class Shape:\n    def area(self) -> float:\n        return 0.0\n"
DESCRIBED = SHAPES + '\n    def describe(self) -> str:\n        return "shape"\n'
NOT_SQUARE = SQUARE_FROM_ELSEWHERE.replace(
    '    def describe(self) -> str:\n        return "square"\n', "    pass\n"
)

AGREEMENT = [
    pytest.param(
        {"models.py": MODELS.replace("    name: str", "    title: str")},
        1,
        id="field-of-another-modules-type-renamed",
    ),
    pytest.param(
        {"models.py": MODELS.replace("    id: int\n", '    id: int\n    kind: str = ""\n')},
        1,
        id="base-field-shifts-a-frozen-subclass",
    ),
    pytest.param(
        {
            "models.py": MODELS.replace(
                "    id: int\n",
                '    id: int\n    kind: str = dataclasses.field(default="", kw_only=True)\n',
            )
        },
        0,
        id="base-gains-a-keyword-only-field",
    ),
    pytest.param({"models.py": MOVED_INTO_BASE}, 0, id="method-moved-into-a-base"),
    pytest.param(
        {
            "models.py": MODELS.replace(
                '    name: str = ""\n',
                '    name: str = ""\n    size: int = dataclasses.field(init=False)\n',
            )
        },
        0,
        id="init-false-field",
    ),
    pytest.param(
        {"api.py": API.replace("(amount: float)", "(amount: float, rate: float = 0.2)")},
        0,
        id="trailing-parameter-with-a-default",
    ),
    pytest.param(
        {"api.py": API.replace("(amount: float)", "(rate: float = 0.2, amount: float = 0.0)")},
        1,
        id="parameter-inserted-before",
    ),
]


def up_exit(cwd: Path) -> int:
    """0 once `up` started (then stopped cleanly), else the code it exited with."""
    with Child("up", "--env", "production", cwd=cwd) as child:
        try:
            child.wait_for("server.started")  # raises at once if the child exited instead
        except AssertionError:
            assert child.events[-1]["event"] == "server.failed"
            return child.wait()
        return child.stop()


ELSEWHERE = [
    pytest.param({"models.py": NOT_SQUARE, "shapes.py": DESCRIBED}, 0, id="moved-into-it"),
    pytest.param({"models.py": NOT_SQUARE}, 1, id="removed-from-both"),
    pytest.param(
        {"models.py": NOT_SQUARE, "shapes.py": DESCRIBED.replace("-> str", "-> int")},
        1,
        id="moved-into-it-with-another-signature",
    ),
]


def init_two_modules(tmp_path: Path, models: str = MODELS, **others: str) -> None:
    """api and models, and the manifest `init` writes for them (the api's types live in
    models)."""
    (tmp_path / "models.py").write_text(models, encoding="utf-8")
    (tmp_path / "api.py").write_text(API, encoding="utf-8")
    for name, text in others.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    assert run("init", "api", "models", cwd=tmp_path).returncode == 0
    manifest = (tmp_path / "hotreload.toml").read_text(encoding="utf-8")
    assert "[modules.models.types.Item.fields]" in manifest  # reached from api's export
    assert "[modules.models.types.Square.methods]" in manifest  # through `models.Square`
    assert run("check", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(("files", "code"), ELSEWHERE)
def test_a_base_class_in_another_project_file_is_read_by_check_as_up_sees_it(
    tmp_path: Path, files: dict[str, str], code: int
) -> None:
    """Square's base Shape comes from shapes.py, a project file outside the manifest: a frozen
    method that Square no longer defines is looked for there, by `check` as by `up`."""
    init_two_modules(tmp_path, SQUARE_FROM_ELSEWHERE, shapes=SHAPES)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = run("check", cwd=tmp_path)
    assert checked.returncode == code, checked.stderr
    assert up_exit(tmp_path) == code


@pytest.mark.parametrize(("files", "code"), AGREEMENT)
def test_check_passes_exactly_when_up_starts(
    tmp_path: Path, files: dict[str, str], code: int
) -> None:
    """A manifest `init` wrote for two modules, then one edit: `check` and `up`, each a real
    child process, say the same."""
    init_two_modules(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = run("check", cwd=tmp_path)
    assert checked.returncode == code, checked.stderr
    assert up_exit(tmp_path) == code


def test_up_accepts_a_trailing_parameter_with_a_warning_and_freeze_records_it(
    tmp_path: Path,
) -> None:
    init_two_modules(tmp_path)
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        child.wait_for("server.started")
        (tmp_path / "api.py").write_text(
            API.replace("(amount: float)", "(amount: float, rate: float = 0.2)")
        )
        accepted = child.wait_for("reload.accepted")
        assert accepted["level"] == "warning"
        [warning] = accepted["warnings"]
        assert (warning["code"], warning["type"], warning["member"]) == (
            "parameter_added",
            "with_tax",
            "rate",
        )
        assert "hotreload freeze" in warning["message"]
        mark = child.mark()
        (tmp_path / "models.py").write_text(MODELS.replace("    name: str", "    title: str"))
        rejected = child.wait_for("reload.rejected", after=mark)
        assert [(v["code"], v["type"], v["member"]) for v in rejected["violations"]] == [
            ("field_removed", "Item", "name")
        ]
        assert child.stop() == 0
        validate_events(child.events)
    (tmp_path / "models.py").write_text(MODELS, encoding="utf-8")
    frozen = run("freeze", cwd=tmp_path)
    assert frozen.stdout.splitlines() == [
        "~ api.with_tax: '(amount: float) -> float' -> "
        "'(amount: float, rate: float = 0.2) -> float'",
        "hotreload freeze: 1 change(s) written to hotreload.toml",
    ]
