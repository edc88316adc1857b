"""The benchmark harness imports and its pure parts work: stats, generated projects, the field's
bookkeeping and every table. No contender runs here (figures belong in `python -m benchmarks`)."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import child, field, fieldreport, report, run, sidevenv, suite
from benchmarks.field import FileTail, Seen, measure
from benchmarks.projects import (
    BIG_MODULE,
    FIELD_KINDS,
    SAVE_STYLES,
    SaveStyle,
    field_module,
    save,
    write_field_project,
)
from benchmarks.stats import percentile, summary
from hotreload.cli import main as hotreload_main


def test_every_job_and_section_is_registered() -> None:
    assert {"field", "web", "frameworks"} <= set(child.JOBS)
    assert list(suite.SECTIONS)[-3:] == ["field", "web", "frameworks"]
    assert suite.QUICK.field_kinds == ("small",)  # the quick run stays under a minute
    assert set(suite.FULL.field_kinds) == set(FIELD_KINDS)
    names = [c.name for c in field.CONTENDERS]
    assert len(names) == len(set(names))
    assert {c.observe for c in field.CONTENDERS} == set(field.RUNNERS)
    for c in field.CONTENDERS:
        assert c.package is None or c.package in sidevenv.CONTENDER_PACKAGES


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [([1.0], 50, 1.0), ([1.0, 3.0], 50, 2.0), ([4.0, 1.0, 3.0, 2.0], 100, 4.0), ([], 50, math.nan)],
)
def test_percentile(samples: list[float], q: float, expected: float) -> None:
    got = percentile(samples, q)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_summary_with_and_without_samples() -> None:
    s = summary([10.0, 20.0, 30.0], missed=1)
    assert (s["n"], s["missed"], s["min"], s["p50"], s["max"], s["mean"]) == (3, 1, 10, 20, 30, 20)
    empty = summary([], missed=4)
    assert empty["n"] == 0 and empty["missed"] == 4 and empty["p50"] is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("3.13.0", (3, 13, 0)), ("3.12", (3, 12)), ("3.13-dev", None), ("pypy3.10-7.3", None)],
)
def test_parse_version(name: str, expected: tuple[int, ...] | None) -> None:
    assert sidevenv.parse_version(name) == expected


def _returned(source: str) -> int:
    """What ``current_value()`` returns in a generated module, read without running it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "current_value":
            value = node.body[-1]
            assert isinstance(value, ast.Return) and isinstance(value.value, ast.Constant)
            return int(value.value.value)
    raise AssertionError("no current_value()")


@pytest.mark.parametrize("kind", FIELD_KINDS)
def test_field_module_edits_only_the_exports_body(kind: Any) -> None:
    one, two = field_module(kind, 1001), field_module(kind, 1002)
    assert (_returned(one), _returned(two)) == (1001, 1002)
    assert "STATE = " in one
    changed = [(a, b) for a, b in zip(one.splitlines(), two.splitlines(), strict=True) if a != b]
    assert changed == [("    return 1001", "    return 1002")]  # a body edit, nothing else
    assert ("MODEL = _load()" in one) == (kind == "heavy")


@pytest.mark.parametrize("kind", FIELD_KINDS)
def test_field_project_passes_hotreload_check(
    kind: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_field_project(tmp_path / kind, kind)
    # `check` reads signatures without running module code, so the heavy module does not sleep
    assert hotreload_main(["check", "-m", str(project.manifest)]) == 0, capsys.readouterr()
    ast.parse((project.root / "webapp.py").read_text(encoding="utf-8"))


class _SeesOnly:
    """An observer that sees saves of one style, with a fresh STATE token on every save, like a
    tool that re-runs the module."""

    def __init__(self, path: Path, style: SaveStyle) -> None:
        self.path, self.style = path, style
        self.saved: list[SaveStyle] = []

    def expect(self, value: int) -> int:
        return value

    def wait(self, token: int, timeout: float) -> Seen | None:
        if self.saved[-1] != self.style:
            return None
        assert _returned(self.path.read_text(encoding="utf-8")) == token  # the save is on disk
        return Seen(token, 10**18, born=token, pid=1)

    def errors(self) -> int:
        return 0


class _Writer:
    """Saves for real, in this process, and tells the observer which style it used."""

    def __init__(self, observer: _SeesOnly) -> None:
        self.observer = observer

    def save(self, path: Path, text: str, style: SaveStyle) -> int:
        self.observer.saved.append(style)
        return save(path, text, style)


def test_measure_counts_misses_stops_early_and_checks_state(tmp_path: Path) -> None:
    path = tmp_path / f"{BIG_MODULE}.py"
    path.write_text(field_module("small", 0), encoding="utf-8")
    observer = _SeesOnly(path, "inplace")
    out = measure(
        observer,
        _Writer(observer),
        path,
        kind="small",
        styles=list(SAVE_STYLES),
        edits=5,
        timeout=0.01,
        gap=(0, 0),
        seed=1,
        initial=Seen(0, 0, born=0, pid=1),
    )
    assert out["warmup_tries"] == 1 and out["warmup_ms"] is not None
    atomic, inplace = out["styles"]["atomic"], out["styles"]["inplace"]
    assert (atomic["n"], atomic["missed"], atomic["tried"]) == (0, 2, 2)
    assert atomic["stopped_early"] and atomic["p50"] is None
    assert (inplace["n"], inplace["missed"], inplace["tried"]) == (5, 0, 5)
    assert inplace["state"] == {"kept": 0, "lost": 5, "restarted": 0}


def test_file_tail_reads_whole_lines_and_counts_failed_calls(tmp_path: Path) -> None:
    out = tmp_path / "seen.txt"
    tail = FileTail(out, alive=lambda: True)
    assert tail.wait(0, 0) is None  # no file yet
    out.write_text("0 100 7 42\nE:AttributeError 150 -1 42\n1001 200 7 4", encoding="ascii")
    assert tail.wait(0, 0) == Seen(0, 100, 7, 42)
    assert tail.wait(1001, 0) is None  # its line is not finished yet
    with open(out, "a", encoding="ascii") as f:
        f.write("2\n")
    assert tail.wait(1001, 0) == Seen(1001, 200, 7, 42)
    assert tail.errors() == 1


def _cell(p50: float | None, *, missed: int = 0, kept: int = 0, lost: int = 0) -> dict[str, Any]:
    n = 0 if p50 is None else 4
    return {
        "n": n,
        "missed": missed,
        "tried": n + missed,
        "stopped_early": n == 0,
        "min": p50,
        "p50": p50,
        "p90": p50,
        "p99": p50,
        "max": p50,
        "state": {"kept": kept, "lost": lost, "restarted": 0},
        "host_errors": 0,
    }


def _styles(atomic: dict[str, Any], inplace: dict[str, Any]) -> dict[str, Any]:
    return {"warmup_ms": 1.0, "warmup_tries": 1, "styles": {"atomic": atomic, "inplace": inplace}}


def _results() -> dict[str, Any]:
    """A results file as a quick run writes it, with the field only."""
    return {
        "plan": "quick",
        "machine": {
            "date": "2026-01-01T00:00:00Z",
            "cpu": "Test CPU",
            "cores": 2,
            "python": "3.11.7",
            "implementation": "CPython",
            "platform": "Linux-test",
            "hotreload": "0.1.0",
            "watchfiles": "1.3.0",
            "revision": "abc1234",
            "load_average": [0.5, 0.4, 0.3],
        },
        "errors": {},
        "duration_s": 12.0,
        "load_average_end": [0.6, 0.4, 0.3],
        "field": {
            "python": "3.13.0",
            "packages": {"jurigged": "0.6.1", "watchfiles": "1.3.0"},
            "skipped": {"uvicorn-hmr": "pip install uvicorn-hmr==0.1.1.8 failed: no"},
            "errors": {},
            "plan": {"edits": 4, "restart_edits": 2, "heavy_edits": 2},
            "kinds": {
                "small": {
                    "hotreload": _styles(_cell(10.0, lost=4), _cell(10.0, lost=4)),
                    "floor": _styles(_cell(8.0), _cell(7.5)),
                    "jurigged": _styles(_cell(None, missed=2), _cell(5.0, kept=4)),
                    "hmr": _styles(_cell(80.0, lost=4), _cell(90.0, lost=4)),
                }
            },
        },
    }


def test_readme_table_shows_misses_ratios_state_and_machine() -> None:
    lines = fieldreport.readme_table(_results())
    text = "\n".join(lines)
    assert "| **hotreload** | 10.0 / 10.0 | no: the module re-runs |" in lines
    assert "| jurigged (`--debounce 0.001`) | missed 2 of 2 / 5.0 | yes |" in lines
    assert "| bare watchfiles watcher (floor) | 8.0 / 7.5 | \u2013 |" in lines
    assert "| uvicorn-hmr (web) | skipped: pip install uvicorn-hmr==0.1.1.8 failed: no | |" in lines
    assert "| hmr (`hmr host.py`, loop in a thread) | 8.00\u00d7 / 9.00\u00d7 |" in lines
    assert "| jurigged (`--debounce 0.001`) | missed / 0.50\u00d7 |" in lines
    assert "small module +2.0 / +2.5 ms" in text
    machine = lines[-1]
    assert machine.startswith("Measured 2026-01-01T00:00:00Z on Test CPU, 2 cores")
    assert "Python 3.13.0" in machine and "jurigged 0.6.1" in machine
    assert "`python -m benchmarks --quick`" in machine


def test_issue11_verdicts_judge_the_field() -> None:
    verdicts = {v["target"]: v for v in fieldreport.issue11_verdicts(_results())}
    assert verdicts["field: hotreload sees every save"]["status"] == "PASS"
    ahead = verdicts["field: hotreload ahead of every contender that sees every save (p50)"]
    assert ahead["status"] == "MISS" and "jurigged small inplace 0.50" in ahead["measured"]
    heavy = [v for t, v in verdicts.items() if t.startswith("heavy-init")]
    assert heavy and all(v["status"] == "SKIP" for v in heavy)  # the heavy module did not run


def test_render_and_render_only_regenerate_every_table(tmp_path: Path) -> None:
    results = _results()
    results["derived"] = report.derived(results)
    results["targets"] = report.verdict_dicts(results)
    results["targets_issue11"] = fieldreport.issue11_verdicts(results)
    text = report.render(results)
    assert "## 7. The field" in text and "### The README table" in text
    assert "## Targets (issue 11)" in text
    source = tmp_path / "latest.json"
    source.write_text(json.dumps(_results()), encoding="utf-8")
    assert run.main(["--render", str(source), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "latest.md").read_text(encoding="utf-8") == text


def test_render_only_names_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert run.main(["--render", str(missing), "--out", str(tmp_path)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_scale_sections_render_side_by_side_with_their_baselines() -> None:
    """Issue 19: start-up against plain Python, the big heap against an empty process."""
    from benchmarks import scalereport

    startup = {
        "modules": 1000,
        "bytecode_written": False,
        "runs": {
            name: {"wall_s": wall, "peak_mb": peak}
            for name, wall, peak in (
                ("bare_python", 0.03, 10.0),
                ("import_hotreload", 0.04, 11.0),
                ("plain", 0.40, 19.0),
                ("hotreload_up", 0.80, 40.0),
            )
        },
    }

    def run(p50: float) -> dict[str, Any]:
        return {"styles": {s: {"p50": p50, "p99": p50 * 2} for s in ("atomic", "inplace")}}

    heap = {
        "objects": 5_000_000,
        "runs": {
            "body-0": run(2.0),
            "body-5000000": run(2.2),
            "closure-0": run(2.0),
            "closure-5000000": run(3.0),
        },
    }
    results: dict[str, Any] = {"startup": startup, "heap": heap}
    text = "\n".join(scalereport.startup_lines(results) + scalereport.heap_lines(results))
    assert "| plain Python, the app | 400 | 19.0 |" in text
    assert "2.00x wall time, 2.11x peak memory" in text
    assert "| closure | atomic | 2.0 / 4.0 | 3.0 / 6.0 | 1.50x |" in text
    verdicts = {v["target"]: v["status"] for v in scalereport.issue19_verdicts(results)}
    assert verdicts["`import hotreload` under 150 ms (over a bare interpreter's start)"] == "PASS"
    assert verdicts["`hotreload up` of the app within 1.5x plain Python's wall time"] == "MISS"
    body = "body edit with 5,000,000 objects within 1.3x of an empty process at p50 (atomic)"
    assert verdicts[body] == "PASS"


def test_a_baseline_checkout_renders_beside_this_one_and_the_restart_target_is_judged() -> None:
    """`--baseline DIR`: the other checkout's rows, CPU time, and issue 19's restart target."""
    from benchmarks import scalereport
    from benchmarks.report import _web_lines

    startup = {
        "modules": 1000,
        "bytecode_written": False,
        "runs": {
            name: {"wall_s": wall, "peak_mb": peak, "cpu_s": wall * 0.9}
            for name, wall, peak in (
                ("bare_python", 0.03, 10.0),
                ("import_hotreload", 0.04, 11.0),
                ("plain", 0.40, 19.0),
                ("hotreload_up", 0.60, 30.0),
                ("hotreload_up_baseline", 0.80, 40.0),
                ("plain_one_module", 0.02, 12.0),
                ("hotreload_up_one_module", 0.10, 18.0),
            )
        },
    }

    def web_run(p50: float, refused: int) -> dict[str, Any]:
        kinds = {
            "RemoteDisconnected": 3,
            **({"ConnectionRefusedError": refused} if refused else {}),
        }
        return {
            "n": 2,
            "missed": 0,
            **{k: p50 for k in ("min", "p50", "p90", "max")},
            "state_kept": False,
            "poll_errors": sum(kinds.values()),
            "poll_error_kinds": kinds,
        }

    web = {
        "model_seconds": 2.0,
        "hotreload_restart": web_run(2500.0, 0),
        "hotreload_restart_baseline": web_run(2800.0, 0),
        "uvicorn_reload": web_run(2600.0, 2),
    }
    results: dict[str, Any] = {"startup": startup, "web": web}
    text = "\n".join(scalereport.startup_lines(results) + _web_lines(web, {}))
    assert "| `hotreload up` of the baseline checkout | 800 | 40.0 | 720 |" in text
    assert "1.50x wall time, 1.58x peak memory, 1.50x CPU time" in text
    assert "the baseline's `hotreload up` / plain: 2.00x wall time" in text
    assert "| `hotreload up`, an app of 1 module | 100 | 18.0 | 90 |" in text
    assert "whatever the app's size (the app of 1 module): 80.0 ms wall time, 72.0 ms CPU" in text
    assert "0.96x `uvicorn --reload`'s p50 (2,500 / 2,600 ms)" in text
    assert "(3 RemoteDisconnected; refused: 0)" in text
    verdicts = {v["target"]: v for v in scalereport.issue19_verdicts(results)}
    restart = "save -> new response through a restart no slower than `uvicorn --reload` (p50)"
    assert verdicts[restart]["status"] == "PASS"
    assert verdicts["0 connections refused during the restarts"]["status"] == "PASS"
