"""examples/pipeline: the rejections report, run on an event log a real `hotreload up` wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from child import REPO, WAIT, Child, child_env, run

EXAMPLE = REPO / "examples" / "pipeline"
REPORT = EXAMPLE / "rejections.py"
ONE_LINE_JQ = (
    'select(.event == "reload.rejected") | '
    '"\\(.timestamp) \\(.module) v\\(.version) \\(.reason): \\(.message)"'
)


def rejections(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPORT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        env=child_env(),
    )


def save(path: Path, old: str, new: str) -> None:
    """Save an edit as editors do: a temporary file renamed over the original."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text.replace(old, new), encoding="utf-8")
    temp.replace(path)


@pytest.fixture(scope="module")
def event_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example run once: one accepted and one rejected change, then SIGTERM."""
    project = tmp_path_factory.mktemp("pipeline")
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("logs"))
    source = project / "greeter.py"
    args = ("up", "--log-format", "json", "--log-file", "logs/run.jsonl")
    with Child(*args, cwd=project) as child:
        child.wait_for("server.started", reload=True)
        save(source, 'GREETING = "Hello"', 'GREETING = "Hi"')
        child.wait_for("reload.accepted", version=2)
        save(source, "def greet(name: str)", "def greet(name: str, loud: bool)")
        child.wait_for("reload.rejected", reason="parameters_changed")
        assert child.stop() == 0
    return project / "logs" / "run.jsonl"


def test_the_example_manifest_matches_its_module() -> None:
    result = run("check", cwd=EXAMPLE)
    assert (result.returncode, result.stdout) == (
        0,
        "hotreload check: 1 module(s) match hotreload.toml\n",
    )


def test_a_log_with_a_rejection_prints_it_and_exits_1(event_log: Path) -> None:
    result = rejections(str(event_log))
    assert result.returncode == 1, result.stderr
    report, summary = result.stdout.splitlines()
    assert report.endswith(
        "greeter v2 rejected (parameters_changed): greet: parameters changed: expected "
        "(name: str), found (name: str, loud: bool) (restore the frozen signature, or "
        "run `hotreload freeze` and restart the host)"
    )
    assert summary == "1 rejected, 1 accepted, 0 start-up violation(s) in 1 run(s)"


def test_standard_input_works_and_a_log_without_rejections_exits_0(event_log: Path) -> None:
    lines = event_log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    kept = [line for line in lines if '"reload.rejected"' not in line]
    result = rejections(stdin="\n".join(kept) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "0 rejected, 1 accepted, 0 start-up violation(s) in 1 run(s); "
        "1 event(s) lost (gaps in seq)\n"
    )


def test_several_runs_in_one_log_are_counted_apart(event_log: Path) -> None:
    text = event_log.read_text(encoding="utf-8")
    result = rejections(stdin=text + text)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        "2 rejected, 2 accepted, 0 start-up violation(s) in 2 run(s)"
    )


def test_a_start_up_violation_counts_as_a_rejection(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("logs"))
    save(tmp_path / "greeter.py", "def shout(name: str, *,", "def shout(name: str,")
    log = tmp_path / "logs" / "events.jsonl"
    assert run("up", cwd=tmp_path).returncode == 1
    result = rejections(str(log))
    assert result.returncode == 1
    report, summary = result.stdout.splitlines()
    assert "greeter breaks the contract at start-up (parameters_changed): shout:" in report
    assert summary == "0 rejected, 0 accepted, 1 start-up violation(s) in 1 run(s)"


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("not json", "<stdin>:2: not a JSON line"),
        ('{"event": "x", "seq": NaN}', "<stdin>:2: not a JSON line (NaN is not JSON)"),
        ('{"level": "info"}', "<stdin>:2: not a hotreload event (no event or seq)"),
        ("[1, 2]", "<stdin>:2: not a hotreload event"),
    ],
)
def test_a_line_that_is_not_an_event_exits_2_naming_the_line(
    event_log: Path, line: str, complaint: str
) -> None:
    first = event_log.read_text(encoding="utf-8").splitlines()[0]
    result = rejections(stdin=f"{first}\n{line}\n")
    assert result.returncode == 2
    assert result.stderr.startswith(f"rejections: error: {complaint}")


def test_a_missing_log_exits_2(tmp_path: Path) -> None:
    result = rejections(str(tmp_path / "none.jsonl"))
    assert result.returncode == 2
    assert "No such file or directory" in result.stderr


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_readme_jq_recipe_prints_one_line_per_rejection(event_log: Path) -> None:
    assert ONE_LINE_JQ in (EXAMPLE / "README.md").read_text(encoding="utf-8")
    result = subprocess.run(
        ["jq", "-r", ONE_LINE_JQ, str(event_log)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    (line,) = result.stdout.splitlines()
    assert " greeter v2 parameters_changed: greet: parameters changed" in line
