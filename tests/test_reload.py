"""The reload transaction, end to end: real saves, the real watcher, the events they cause."""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import Running, run

from hotreload.engine.batch import Early
from hotreload.engine.source import file_mark
from hotreload.engine.transaction import Candidate
from hotreload.server import Server

EXPORTS = {
    "calc": {
        "add": "(a: int, b: int) -> int",
        "describe": "(operation: str) -> str",
    }
}

ADD_BODY = """\
    total = a + b + OFFSET
    history.append(total)
    return total
"""
DESCRIBE = 'f"Performing {operation} operation"'


def calc(
    add_body: str = ADD_BODY,
    *,
    offset: int = 0,
    describe: str = DESCRIBE,
    top: str = "",
    bottom: str = "",
    add_def: str = "def add(a: int, b: int) -> int:",
) -> str:
    """The calculator module: each test changes one part of it."""
    return (
        '"""The calculator the host calls."""\n'
        f"{top}"
        f"OFFSET = {offset}\n"
        "history: list[int] = []\n\n\n"
        f"{add_def}\n{add_body}\n\n"
        "def describe(operation: str) -> str:\n"
        f"    return {describe}\n"
        f"{bottom}"
    )


Start = Callable[..., tuple[Server, EventRecorder]]


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    return run(project, start, {"calc": calc()}, EXPORTS, keep={"calc": ["history"]})


def call_both(r: Running, refs: dict[str, Any], function: str, *args: Any) -> tuple[Any, Any]:
    """The result through the binding and through a reference taken before the save."""
    return getattr(r.binding(), function)(*args), refs[function](*args)


SUPPORTED = [
    # (id, new source, function, args, expected result, exports listed as changed)
    ("logic", calc("    return (a + b) * 2 + OFFSET\n"), "add", (2, 5), 14, ["add"]),
    (
        "local_added",
        calc("    total = a + b + OFFSET\n    doubled = total * 2\n    return doubled\n"),
        "add",
        (2, 5),
        14,
        ["add"],
    ),
    ("local_removed", calc("    return a + b + OFFSET + 1\n"), "add", (2, 5), 8, ["add"]),
    ("calculation", calc("    return sum(range(a, b + 1)) + OFFSET\n"), "add", (2, 5), 14, ["add"]),
    ("constant", calc(offset=100), "add", (2, 5), 107, []),
    (
        "string_literal",
        calc(describe='f"Hot reloaded: Performing {operation} operation with hotreload!"'),
        "describe",
        ("addition",),
        "Hot reloaded: Performing addition operation with hotreload!",
        ["describe"],
    ),
    (
        "loop",
        calc("    total = OFFSET\n    for _ in range(b):\n        total += a\n    return total\n"),
        "add",
        (2, 5),
        10,
        ["add"],
    ),
    (
        "conditional",
        calc("    if a > b:\n        return a - b\n    return b - a + OFFSET\n"),
        "add",
        (2, 5),
        3,
        ["add"],
    ),
    (
        "import_inside_function",
        calc("    import operator\n\n    return operator.mul(a, b) + OFFSET\n"),
        "add",
        (2, 5),
        10,
        ["add"],
    ),
    (
        "new_helper",
        calc(
            "    return _double(a + b) + OFFSET\n",
            bottom="\n\ndef _double(x: int) -> int:\n    return x * 2\n",
        ),
        "add",
        (2, 5),
        14,
        ["add"],
    ),
    (
        "annotation_spelled_differently",
        calc("    return a + b + OFFSET + 3\n", add_def='def add(a: "int", b: int) -> "int":'),
        "add",
        (2, 5),
        10,
        ["add"],
    ),
    (
        "comment_only",
        calc(ADD_BODY.replace("    return total", "    # a comment\n    return total")),
        "add",
        (2, 5),
        7,
        [],
    ),
]


@pytest.mark.parametrize(
    ("source", "function", "args", "expected", "changed"),
    [case[1:] for case in SUPPORTED],
    ids=[case[0] for case in SUPPORTED],
)
def test_supported_change_is_seen_through_binding_and_held_reference(
    running: Running,
    source: str,
    function: str,
    args: tuple[Any, ...],
    expected: Any,
    changed: list[str],
) -> None:
    module = running.module()
    refs = {"add": module.add, "describe": module.describe}  # `from calc import add` style
    event = running.save(source)
    assert event["version"] == 2
    assert event["changed"] == changed
    assert event["rebound"] == []
    assert call_both(running, refs, function, *args) == (expected, expected)
    assert running.server.version("calc") == 2


def test_print_added_then_removed(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    add = running.module().add
    running.save(calc('    print(f"DEBUG: Adding {a} + {b}")\n    return a + b + OFFSET\n'))
    assert running.binding().add(5, 3) == 8
    assert add(1, 1) == 2
    assert capsys.readouterr().out == "DEBUG: Adding 5 + 3\nDEBUG: Adding 1 + 1\n"
    running.save(calc("    return a + b + OFFSET\n"), version=3)
    assert add(5, 3) == 8
    assert capsys.readouterr().out == ""


def test_logging_added(running: Running, caplog: pytest.LogCaptureFixture) -> None:
    add = running.module().add
    running.save(
        calc(
            '    log.warning("adding %s + %s", a, b)\n    return a + b + OFFSET\n',
            top='import logging\n\nlog = logging.getLogger("calc")\n',
        )
    )
    with caplog.at_level(logging.WARNING, logger="calc"):
        assert add(2, 3) == 5
        assert running.binding().add(4, 4) == 8
    assert [r.getMessage() for r in caplog.records] == ["adding 2 + 3", "adding 4 + 4"]


def test_docstring_change_is_applied(running: Running) -> None:
    add = running.module().add
    event = running.save(calc('    """Add two numbers."""\n' + ADD_BODY))
    assert event["changed"] == ["add"]
    assert add.__doc__ == "Add two numbers."
    assert running.binding().add(1, 2) == 3


def test_new_public_function_is_accepted_but_not_exported(running: Running) -> None:
    event = running.save(
        calc(bottom="\n\ndef subtract(a: int, b: int) -> int:\n    return a - b\n")
    )
    assert event["added"] == ["subtract"]
    assert running.module().subtract(5, 3) == 2
    with pytest.raises(AttributeError) as error:
        running.binding().subtract  # noqa: B018
    message = str(error.value)
    assert "'calc' does not export 'subtract'" in message
    assert "[modules.calc.exports]" in message
    assert "hotreload freeze calc" in message
    # Announced once: the next reload does not list it again.
    assert (
        running.save(
            calc(offset=1) + "\n\ndef subtract(a: int, b: int) -> int:\n    return a - b\n"
        )["added"]
        == []
    )


def test_identical_save_is_reported_unchanged(running: Running) -> None:
    event = running.save(calc(), expect="reload.unchanged")
    assert event["version"] == 1
    assert running.server.version("calc") == 1


# -- rejections -----------------------------------------------------------------------------

UNSUPPORTED = [
    # (id, new source, reason, function named in the first violation)
    (
        "export_removed",
        calc(describe=DESCRIBE).split("def describe")[0],
        "export_removed",
        "describe",
    ),
    ("function_renamed", calc(add_def="def plus(a: int, b: int) -> int:"), "export_removed", "add"),
    (
        "parameter_added",
        calc(add_def="def add(a: int, b: int, c: int) -> int:"),
        "parameters_changed",
        "add",
    ),
    (
        "parameter_removed",
        calc("    return a\n", add_def="def add(a: int) -> int:"),
        "parameters_changed",
        "add",
    ),
    (
        "parameter_renamed",
        calc("    return x + b\n", add_def="def add(x: int, b: int) -> int:"),
        "parameters_changed",
        "add",
    ),
    (
        "default_added",
        calc(add_def="def add(a: int, b: int = 0) -> int:"),
        "parameters_changed",
        "add",
    ),
    (
        "parameter_type_changed",
        calc(add_def="def add(a: int, b: str) -> int:"),
        "parameter_type_changed",
        "add",
    ),
    (
        "return_type_changed",
        calc(add_def="def add(a: int, b: int) -> str:"),
        "return_type_changed",
        "add",
    ),
    (
        "async_changed",
        calc(add_def="async def add(a: int, b: int) -> int:"),
        "async_changed",
        "add",
    ),
]


@pytest.mark.parametrize(
    ("source", "reason", "function"),
    [case[1:] for case in UNSUPPORTED],
    ids=[case[0] for case in UNSUPPORTED],
)
def test_unsupported_change_is_rejected_and_the_old_version_serves(
    running: Running, source: str, reason: str, function: str
) -> None:
    add = running.module().add
    event = running.save(source, expect="reload.rejected")
    assert event["reason"] == reason
    assert event["version"] == 1
    assert event["violations"][0]["code"] == reason
    assert event["violations"][0]["function"] == function
    assert function in event["message"]
    assert running.binding().add(2, 5) == 7
    assert add(2, 5) == 7
    assert running.server.version("calc") == 1
    # The next valid save is applied as usual.
    event = running.save(calc(offset=10))
    assert event["version"] == 2
    assert running.binding().add(2, 5) == 17


def test_every_violation_is_reported(running: Running) -> None:
    source = calc(add_def="def add(a: int, b: str) -> str:").split("def describe")[0]
    event = running.save(source, expect="reload.rejected")
    codes = [(v["code"], v["function"]) for v in event["violations"]]
    assert codes == [
        ("parameter_type_changed", "add"),
        ("return_type_changed", "add"),
        ("export_removed", "describe"),
    ]


def test_syntax_error_is_rejected_with_line_and_column(running: Running) -> None:
    source = calc("    total = a + * b\n    return total\n")
    with pytest.raises(SyntaxError) as expected:
        ast.parse(source)
    event = running.save(source, expect="reload.rejected")
    assert event["reason"] == "syntax_error"
    assert (event["line"], event["column"]) == (expected.value.lineno, expected.value.offset)
    assert event["line"] == 7
    assert f"calc.py:{event['line']}:{event['column']}" in event["message"]
    assert running.binding().add(2, 5) == 7
    assert running.save(calc(offset=1))["version"] == 2


def test_file_that_is_not_utf8_is_rejected(running: Running) -> None:
    path = running.project.path("calc")
    mark = running.events.mark()
    temp = path.with_name(".calc.py.tmp")
    temp.write_bytes(b"# caf\xe9\n" + calc().encode())
    os.replace(temp, path)
    event = running.events.wait_for("reload.rejected", after=mark)
    assert event["reason"] == "decode_error"
    assert "UTF-8" in event["message"]
    assert running.binding().add(2, 5) == 7
    assert running.save(calc(offset=1))["version"] == 2


def test_deleted_file_is_rejected_and_restoring_it_is_applied(running: Running) -> None:
    mark = running.events.mark()
    running.project.path("calc").unlink()
    event = running.events.wait_for("reload.rejected", after=mark)
    assert event["reason"] == "file_missing"
    assert "does not exist" in event["message"]
    assert running.binding().add(2, 5) == 7
    # Restored as it was: nothing to apply, and the event says so.
    running.save(calc(), expect="reload.unchanged")
    assert running.server.version("calc") == 1
    mark = running.events.mark()
    running.project.path("calc").unlink()
    running.events.wait_for("reload.rejected", after=mark, reason="file_missing")
    # Restored with an edit: applied.
    assert running.save(calc(offset=1))["version"] == 2
    assert running.binding().add(2, 5) == 8


def test_rejected_version_top_level_code_never_runs(running: Running) -> None:
    marker = running.project.root / "top-level-ran"
    source = calc(
        top=f"open({str(marker)!r}, 'w').close()\n",
        add_def="def add(a: int, b: int, c: int) -> int:",
    )
    event = running.save(source, expect="reload.rejected")
    assert event["reason"] == "parameters_changed"
    assert not marker.exists()


# -- execution failures and rollback -------------------------------------------------------


@pytest.mark.parametrize(
    "raising",
    ["RuntimeError('no database')", "SystemExit(3)", "KeyboardInterrupt()"],
    ids=["RuntimeError", "SystemExit", "KeyboardInterrupt"],
)
def test_module_raising_at_import_leaves_the_namespace_exactly_as_it_was(
    running: Running, raising: str
) -> None:
    module = running.module()
    running.binding().add(1, 1)
    before = list(vars(module).items())
    code = module.add.__code__
    source = calc(
        "    return -1\n",
        offset=99,
        top="import json\nNEW_NAME = 1\n",
        bottom=f"\n\ndef extra() -> None:\n    pass\n\n\nhistory = []\nraise {raising}\n",
    )
    event = running.save(source, expect="reload.rejected")
    assert event["reason"] == "exec_error"
    assert event["line"] == source.count("\n")
    assert raising.split("(")[0] in event["message"]
    after = list(vars(module).items())
    assert [name for name, _ in after] == [name for name, _ in before]
    assert all(new is old for (_, new), (_, old) in zip(after, before, strict=True))
    assert module.add.__code__ is code
    assert running.binding().add(2, 5) == 7
    assert module.history == [2, 7]
    assert running.save(calc(offset=1))["version"] == 2


@pytest.mark.parametrize(
    "loop",
    [
        "while True:\n    pass\n",
        # Module code that swallows Exception must not swallow the deadline too.
        "while True:\n    try:\n        sum(range(1000))\n    except Exception:\n        pass\n",
    ],
    ids=["busy_loop", "loop_swallowing_exceptions"],
)
def test_module_running_too_long_at_import_is_stopped_and_rolled_back(
    project: Project, start: Start, loop: str
) -> None:
    r = run(project, start, {"calc": calc()}, EXPORTS, exec_timeout=0.5)
    before = list(vars(r.module()).items())
    event = r.save(calc(offset=5, bottom="\n" + loop), expect="reload.rejected")
    assert event["reason"] == "exec_timeout"
    assert [k for k, _ in vars(r.module()).items()] == [k for k, _ in before]
    assert r.binding().add(2, 5) == 7
    assert r.save(calc(offset=1))["version"] == 2


# -- identity, keep, stale names ------------------------------------------------------------


def test_functions_keep_their_identity(running: Running) -> None:
    module = running.module()
    add, describe = module.add, module.describe
    running.save(calc("    return a * b\n", describe='"described"'))
    assert module.add is add
    assert module.describe is describe
    assert add(2, 5) == 10


def test_keep_names_keep_their_state_other_globals_take_new_values(running: Running) -> None:
    module = running.module()
    history = module.history
    running.binding().add(1, 2)
    running.binding().add(3, 4)
    running.save(calc(offset=100))
    assert module.history is history
    assert module.OFFSET == 100
    running.binding().add(0, 0)
    assert history == [3, 7, 100]


def test_keep_name_dropped_from_the_source_survives(project: Project, start: Start) -> None:
    r = run(project, start, {"calc": calc()}, EXPORTS, keep={"calc": ["history"]})
    history = r.module().history
    event = r.save(calc().replace("history: list[int] = []\n", ""))
    assert event["removed"] == []
    assert r.module().history is history


def test_stale_top_level_names_are_removed(running: Running) -> None:
    module = running.module()
    running.save(
        calc(
            top=(
                "LEGACY = 1\n"
                "SQUARES = [k * k for k in range(3)]\n"  # `k` is not a module global
                "import json as legacy_json\n"
                "for entry in range(2):\n"
                "    LAST = entry\n"
            ),
            bottom="\n\ndef _old_helper() -> None:\n    pass\n",
        ),
    )
    module.set_by_host = True  # not defined by the source: never removed
    event = running.save(calc(top="CUBES = [n**3 for n in range(3)]\n"), version=3)
    assert event["removed"] == ["LAST", "LEGACY", "SQUARES", "_old_helper", "entry", "legacy_json"]
    for name in event["removed"]:
        assert not hasattr(module, name)
    assert module.CUBES == [0, 1, 8]
    assert module.set_by_host is True


# -- batches --------------------------------------------------------------------------------

TWO = {
    "beta": {"b": "() -> str"},
    "alpha": {"a": "() -> str"},
}


def run_two(project: Project, start: Start) -> Running:
    """Modules alpha and beta (beta first in the manifest), each exporting one function."""
    sources = {
        "alpha": "def a() -> str:\n    return 'a1'\n",
        "beta": "def b() -> str:\n    return 'b1'\n",
    }
    # One batch even on a slow machine: the two saves of a test are microseconds apart.
    return run(project, start, sources, TWO, debounce_ms=300)


def test_two_modules_saved_together_are_applied_in_manifest_order(
    project: Project, start: Start
) -> None:
    r = run_two(project, start)
    mark = r.events.mark()
    project.write("alpha", "def a() -> str:\n    return 'a2'\n")
    project.write("beta", "def b() -> str:\n    return 'b2'\n")
    second = r.events.wait_for("reload.accepted", after=mark, module="alpha")
    first = r.events.wait_for("reload.accepted", after=mark, module="beta")
    assert first["seq"] + 1 == second["seq"]  # beta is listed first in the manifest
    assert (r.binding("alpha").a(), r.binding("beta").b()) == ("a2", "b2")


def test_one_bad_module_in_a_batch_does_not_stop_the_other(project: Project, start: Start) -> None:
    r = run_two(project, start)
    mark = r.events.mark()
    project.write("alpha", "def a(x: int) -> str:\n    return 'a2'\n")
    project.write("beta", "def b() -> str:\n    return 'b2'\n")
    rejected = r.events.wait_for("reload.rejected", after=mark, module="alpha")
    accepted = r.events.wait_for("reload.accepted", after=mark, module="beta")
    assert accepted["seq"] + 1 == rejected["seq"]
    assert rejected["reason"] == "parameters_changed"
    assert (r.binding("alpha").a(), r.binding("beta").b()) == ("a1", "b2")


# -- the seed's own examples ----------------------------------------------------------------

SEED_CALCULATOR = """
def add(a: int, b: int) -> int:
    return a + b

def multiply(a: int, b: int) -> int:
    return a * b

def describe_operation(operation: str) -> str:
    return f"Performing {operation} operation"
"""

SEED_CALCULATOR_EDITED = """
def add(a: int, b: int) -> int:
    # Hot reload change - add logging
    result = a + b
    print(f"DEBUG: Adding {a} + {b} = {result}")
    return result

def multiply(a: int, b: int) -> int:
    return a * b

def describe_operation(operation: str) -> str:
    # Hot reload change - enhanced description
    return f"🔥 Hot reloaded: Performing {operation} operation with CSnakes!"
"""

SEED_PROCESSOR = """
def process_data(items: list[int]) -> list[int]:
    return [x * 2 for x in items]
"""

SEED_PROCESSOR_EDITED = """
def process_data(items: list[int]) -> list[int]:
    # New logic with filtering and transformation
    filtered = [x for x in items if x > 0]
    result = [x * 3 + 1 for x in filtered]  # Changed formula
    print(f"Processed {len(filtered)} items")  # Added logging
    return result
"""


def test_the_seed_examples_of_supported_changes_are_applied(
    project: Project, start: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(
        project,
        start,
        {"calculator": SEED_CALCULATOR, "processor": SEED_PROCESSOR},
        {
            "calculator": {
                "add": "(a: int, b: int) -> int",
                "multiply": "(a: int, b: int) -> int",
                "describe_operation": "(operation: str) -> str",
            },
            "processor": {"process_data": "(items: list[int]) -> list[int]"},
        },
    )
    calc_binding, processor = r.binding("calculator"), r.binding("processor")
    assert (calc_binding.add(5, 3), processor.process_data([1, -2, 3])) == (8, [2, -4, 6])
    event = r.save(SEED_CALCULATOR_EDITED, module="calculator")
    assert event["changed"] == ["add", "describe_operation"]
    r.save(SEED_PROCESSOR_EDITED, module="processor")
    assert calc_binding.add(5, 3) == 8
    assert calc_binding.multiply(5, 3) == 15
    assert calc_binding.describe_operation("addition") == (
        "🔥 Hot reloaded: Performing addition operation with CSnakes!"
    )
    assert processor.process_data([1, -2, 3]) == [4, 10]
    assert capsys.readouterr().out == "DEBUG: Adding 5 + 3 = 8\nProcessed 2 items\n"


def test_the_seed_examples_of_unsupported_changes_are_rejected(
    project: Project, start: Start
) -> None:
    r = run(
        project,
        start,
        {
            "calc": "def calculate(a: int, b: int) -> int:\n    return a + b\n\n"
            "def get_result() -> int:\n    return 42\n"
        },
        {"calc": {"calculate": "(a: int, b: int) -> int", "get_result": "() -> int"}},
    )
    added_parameter = (
        "def calculate(a: int, b: int, c: int) -> int:\n    return a + b + c\n\n"
        "def get_result() -> int:\n    return 42\n"
    )
    changed_return = (
        "def calculate(a: int, b: int) -> int:\n    return a + b\n\n"
        'def get_result() -> str:\n    return "42"\n'
    )
    assert r.save(added_parameter, expect="reload.rejected")["reason"] == "parameters_changed"
    assert r.save(changed_return, expect="reload.rejected")["reason"] == "return_type_changed"
    assert (r.binding().calculate(1, 2), r.binding().get_result()) == (3, 42)


def test_a_version_checked_early_is_applied_only_for_the_bytes_it_was_checked_on(
    project: Project, start: Start
) -> None:
    """The watcher hands the server a burst's first files while it waits for the rest
    (`Batches.prepare_early`): the batch takes that check where it reads the same bytes against
    the same running version, and checks afresh what was saved since."""
    r = run(project, start, {"calc": calc()}, EXPORTS, keep={"calc": ["history"]}, env="production")
    batches = r.server._reloading.batches
    path = project.path("calc")
    live = batches.modules.at(path)
    assert live is not None

    project.write("calc", calc(offset=1))
    batches.prepare_early([path])
    early = batches._early[path].result
    [outcome] = r.server.reload([path])
    assert outcome.kind == "accepted" and live.current is early
    assert r.binding().add(1, 2) == 4

    project.write("calc", calc(offset=2))
    batches.prepare_early([path])
    project.write("calc", calc(offset=3))  # saved again before the batch is handled
    [outcome] = r.server.reload([path])
    assert outcome.kind == "accepted"
    assert r.binding().add(1, 2) == 6

    # The same bytes, checked against a version that no longer runs: checked afresh.
    project.write("calc", calc(offset=5))
    assert isinstance(early, Candidate)
    batches._early[path] = Early(path.read_bytes(), early, early, file_mark(path), time.time_ns())
    [outcome] = r.server.reload([path])
    assert outcome.kind == "accepted" and live.current is not early
    assert r.binding().add(1, 2) == 8


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic_rename", "in_place_write"])
def test_a_save_made_after_the_early_check_read_the_file_is_the_one_applied(
    project: Project, start: Start, atomic: bool
) -> None:
    """The batch takes the bytes the watcher's early check read (no second read) only where no
    event of the file came after that read. Here every early read is followed at once by
    another save of the file, inside the same burst: the version applied is the one on disk at
    the end, and the module answers as a fresh import of that file does."""
    r = run(project, start, {"calc": calc()}, EXPORTS)
    watcher = r.server._reloading.watcher
    assert watcher is not None
    check_early = watcher.on_early
    assert check_early is not None
    saves_after_reads = [calc(offset=offset) for offset in (2, 3, 4)]

    def check_then_save_again(paths: list[Path]) -> None:
        check_early(paths)
        if saves_after_reads:
            project.write("calc", saves_after_reads.pop(0), atomic=atomic)

    watcher.on_early = check_then_save_again
    mark = r.events.mark()
    project.write("calc", calc(offset=1), atomic=atomic)
    accepted = r.events.wait_for("reload.accepted", after=mark, module="calc")
    on_disk = project.path("calc").read_bytes()
    assert saves_after_reads != [calc(offset=offset) for offset in (2, 3, 4)]  # it ran
    assert accepted["digest"] == hashlib.sha256(on_disk).hexdigest()[:16]
    fresh = subprocess.run(
        [sys.executable, "-c", "import calc; print(calc.add(1, 2))"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert str(r.binding().add(1, 2)) == fresh


def test_a_save_back_to_the_running_version_after_an_early_check_changes_nothing(
    project: Project, start: Start
) -> None:
    """An early check of one save is forgotten when the file is checked again in the same
    burst, also where that second check keeps nothing (the file is back to the version that
    runs): the batch then reads the file, and leaves the module as it is."""
    r = run(project, start, {"calc": calc()}, EXPORTS)
    watcher = r.server._reloading.watcher
    assert watcher is not None
    check_early, handle_batch = watcher.on_early, watcher.on_batch
    assert check_early is not None
    handled = threading.Event()
    running = calc()

    def check_then_save_back(paths: list[Path]) -> None:
        check_early(paths)
        if project.path("calc").read_text(encoding="utf-8") != running:
            project.write("calc", running)

    def handle_then_say(*batch: Any) -> None:
        handle_batch(*batch)
        handled.set()

    watcher.on_early, watcher.on_batch = check_then_save_back, handle_then_say
    mark = r.events.mark()
    project.write("calc", calc(offset=1))
    assert handled.wait(EVENT_TIMEOUT)
    assert [e["event"] for e in r.events.events[mark:]] == ["reload.unchanged"]
    assert r.binding().add(1, 2) == 3  # as the file on disk says: OFFSET = 0
