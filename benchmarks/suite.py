"""The benchmark sections, run from the parent process: each starts fresh child processes."""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.field import CONTENDERS, Contender, save_timeout
from benchmarks.proc import (
    REPO_ROOT,
    ChildError,
    Spawned,
    child_env,
    cpu_seconds,
    job_command,
    run_job,
)
from benchmarks.projects import (
    BIG_MODULE,
    FIELD_KINDS,
    SAVE_STYLES,
    FieldKind,
    Project,
    scale_module_name,
    write_big_project,
    write_field_project,
    write_heap_project,
    write_scale_project,
    write_startup_project,
)
from benchmarks.stats import summary

Log = Callable[[str], None]

ACCEPT_TIMEOUT_S = 2.0  # a save not live within this is counted as missed
RESTART_TIMEOUT_S = 5.0  # a restart takes ~0.5 s; allow for a loaded machine


@dataclass(frozen=True)
class Plan:
    """How much of each measurement a run does."""

    name: str
    edits: int  # hotreload and floor, per save style
    restart_edits: int  # the restart reloader, per save style
    reject_edits: int
    busy_edits: int  # hotreload and floor with a busy-spinning host, per save style
    call_rounds: int
    call_seconds: float  # per timing of one variant
    sizes: tuple[int, ...]
    scale_edits: int
    startup_repeats: int
    check_repeats: int
    memory_reloads: int
    watcher_edits: int
    idle_seconds: float
    field_kinds: tuple[FieldKind, ...]  # the field's module kinds
    field_edits: int  # per contender, kind and save style
    field_restart_edits: int  # the same for a restart reloader (uvicorn --reload)
    field_heavy_edits: int  # the same on the heavy-init module (a reload may take 1 s)
    field_all_settings: bool  # also a tool's second setting (jurigged's default debounce)
    web_edits: int  # hotreload up serving examples/webapp
    web_restart_edits: int  # uvicorn --reload and uvicorn-hmr: each save costs a 2 s start-up
    web_turns: int  # the restarters' saves are taken in this many turns each
    export_calls: int  # HTTP round trips per contender of the exports section
    heap_objects: int  # live objects of the big-heap runs (the other runs: none)
    heap_edits: int  # per edit kind, heap size and save style
    startup_modules: int  # project modules the start-up app imports
    startup_runs: int  # of each: plain Python, `hotreload up`, `import hotreload`


FULL = Plan(
    name="full",
    edits=40,
    restart_edits=30,
    reject_edits=30,
    busy_edits=20,
    call_rounds=7,
    call_seconds=0.1,
    sizes=(10, 100, 1000),
    scale_edits=30,
    startup_repeats=3,
    check_repeats=3,
    memory_reloads=1000,
    watcher_edits=100,
    idle_seconds=10.0,
    field_kinds=FIELD_KINDS,
    field_edits=20,
    field_restart_edits=10,
    field_heavy_edits=8,
    field_all_settings=True,
    web_edits=30,
    web_restart_edits=10,
    web_turns=2,
    export_calls=5000,
    heap_objects=5_000_000,
    heap_edits=20,
    startup_modules=1000,
    startup_runs=15,  # the ratio to plain Python moves by 0.1 between runs of 7 on 2 cores
)
QUICK = Plan(
    name="quick",
    edits=15,
    restart_edits=2,
    reject_edits=10,
    busy_edits=8,
    call_rounds=1,
    call_seconds=0.03,
    sizes=(10, 100, 1000),
    scale_edits=5,
    startup_repeats=1,
    check_repeats=1,
    memory_reloads=100,
    watcher_edits=20,
    idle_seconds=1.5,
    field_kinds=("small",),
    field_edits=3,
    field_restart_edits=1,
    field_heavy_edits=2,
    field_all_settings=False,
    # The web section's restart reloaders pay the example's 2 s start-up at every save: one each
    # keeps the quick run under a minute.
    web_edits=5,
    web_restart_edits=1,
    web_turns=1,
    export_calls=1000,
    heap_objects=5_000_000,
    heap_edits=5,
    startup_modules=1000,
    startup_runs=2,
)


class Workspace:
    """The run's scratch directory: generated projects, made once and shared by sections."""

    def __init__(self, root: Path, baseline: Path | None = None) -> None:
        self.root = root
        # Another checkout whose `hotreload up` runs beside this one's (`--baseline`).
        self.baseline = baseline
        self._scale: dict[int, Project] = {}

    def big(self, name: str) -> Project:
        return write_big_project(self.root / name)

    def scale(self, size: int) -> Project:
        if size not in self._scale:
            self._scale[size] = write_scale_project(self.root / f"scale-{size}", size)
        return self._scale[size]


def _job_timeout(saves: int, per_save: float) -> float:
    return 120 + saves * per_save


def latency_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Save-to-live for hotreload, the floor and the restart reloader; then rejections."""
    styles = list(SAVE_STYLES)
    common = {"module": BIG_MODULE, "export": "current_value", "styles": styles, "seed": 1}
    runs: list[tuple[str, dict[str, Any], int]] = [
        ("hotreload", {"contender": "hotreload", "kind": "accept", "host": "poll"}, plan.edits),
        ("floor", {"contender": "floor", "host": "poll"}, plan.edits),
        ("floor_inotify", {"contender": "inotify_floor", "host": "poll"}, plan.edits),
        ("restart", {"contender": "restart"}, plan.restart_edits),
        ("rejection", {"contender": "hotreload", "kind": "reject", "host": "poll"}, 0),
        (
            "hotreload_busy",
            {"contender": "hotreload", "kind": "accept", "host": "busy"},
            plan.busy_edits,
        ),
        ("floor_busy", {"contender": "floor", "host": "busy"}, plan.busy_edits),
    ]
    results: dict[str, Any] = {}
    for name, options, edits in runs:
        edits = plan.reject_edits if name == "rejection" else edits
        timeout = RESTART_TIMEOUT_S if name == "restart" else ACCEPT_TIMEOUT_S
        log(f"latency: {name} ({edits} saves x {len(styles)} styles)")
        project = work.big(f"latency-{name}")
        args = {
            **common,
            **options,
            "root": str(project.root),
            "edits": edits,
            "timeout": timeout,
            "generator": "big",
        }
        results[name] = run_job(
            "latency", args, timeout=_job_timeout(edits * len(styles), timeout + 0.5)
        )
    return results


def calls_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """ns per call in the development and the production profile (one child each)."""
    project = work.big("calls")
    results = {}
    for env in ("development", "production"):
        log(f"calls: {env}")
        args = {
            "root": str(project.root),
            "env": env,
            "rounds": plan.call_rounds,
            "seconds": plan.call_seconds,
        }
        results[env] = run_job("calls", args, timeout=300)
    return results


def _wall(command: list[str], *, timeout: float = 120) -> float:
    """Wall seconds of a command that must succeed."""
    began = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise ChildError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def scale_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Start-up, `hotreload check` and one module's change latency for growing projects."""
    results: dict[str, Any] = {"sizes": {}}
    baseline = [
        _wall([sys.executable, "-c", "import hotreload.cli"]) for _ in range(plan.check_repeats)
    ]
    results["python_import_cli_s"] = statistics.median(baseline)
    for size in plan.sizes:
        log(f"scale: {size} modules")
        project = work.scale(size)
        index = size // 2
        module = scale_module_name(index)
        runs = []
        for repeat in range(plan.startup_repeats):
            edits = plan.scale_edits if repeat == 0 else 0
            args = {
                "root": str(project.root),
                "module": module,
                "export": "f0",
                "styles": ["atomic"] if edits else [],
                "edits": edits,
                "kind": "accept",
                "host": "poll",
                "timeout": ACCEPT_TIMEOUT_S,
                "seed": 2,
                "generator": "scale",
                "index": index,
            }
            runs.append(run_job("startup", args, timeout=_job_timeout(edits, 3) + size * 0.1))
        checks = [
            _wall([sys.executable, "-m", "hotreload", "check", "-m", str(project.manifest)])
            for _ in range(plan.check_repeats)
        ]
        first = runs[0]
        results["sizes"][str(size)] = {
            "modules": size,
            "exports": size * 10,
            "up_ms": statistics.median(r["up_ms"] for r in runs),
            "up_ms_runs": [r["up_ms"] for r in runs],
            "import_ms": statistics.median(r["import_ms"] for r in runs),
            "check_s": statistics.median(checks),
            "check_s_runs": checks,
            "change": first["styles"].get("atomic"),
            "host_errors": first.get("host_errors", 0),
        }
    return results


def memory_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """RSS after many accepted reloads: driven directly, then through the real watcher."""
    total = plan.memory_reloads
    log(f"memory: {total} reloads via server.reload()")
    checkpoints = sorted({10, 100, total} | {n for n in (300, 1000) if n <= total})
    direct = run_job(
        "memory",
        {
            "root": str(work.big("memory-direct").root),
            "mode": "direct",
            "reloads": total,
            "checkpoints": checkpoints,
        },
        timeout=_job_timeout(total, 0.2),
    )
    edits = plan.watcher_edits
    log(f"memory: {edits} saves via the watcher")
    watcher = run_job(
        "memory",
        {
            "root": str(work.big("memory-watcher").root),
            "mode": "watcher",
            "reloads": edits,
            "checkpoints": [10, edits],
            "timeout": ACCEPT_TIMEOUT_S,
        },
        timeout=_job_timeout(edits, ACCEPT_TIMEOUT_S + 0.1),
    )
    return {"direct": direct, "watcher": watcher}


def _wait_for_text(path: Path, text: str, child: Spawned, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            tail = path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise ChildError(f"the child exited ({child.process.returncode}) early:\n{tail}")
        if text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)
    raise ChildError(f"{text!r} did not appear in {path} within {timeout:g} s")


def _cpu_percent(pid: int, seconds: float) -> dict[str, float]:
    cpu_before, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu_after, ended = cpu_seconds(pid), time.monotonic()
    used = cpu_after - cpu_before
    return {"cpu_s": used, "wall_s": ended - began, "percent": 100 * used / (ended - began)}


def idle_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """CPU of an idle `hotreload up` watching the largest project, against a bare watcher."""
    size = max(plan.sizes)
    project = work.scale(size)
    results: dict[str, Any] = {"modules": size, "directories": len(project.directories)}
    log(f"idle: hotreload up on {size} modules for {plan.idle_seconds:g} s")
    events = work.root / "idle-events.jsonl"
    with open(events, "wb") as sink:
        command = [sys.executable, "-m", "hotreload", "up", "-m", str(project.manifest)]
        with Spawned([*command, "--log-format", "json"], stderr=sink) as up:
            _wait_for_text(events, '"server.started"', up, timeout=180)
            time.sleep(0.5)  # let start-up's last allocations and threads settle
            results["hotreload"] = _cpu_percent(up.pid, plan.idle_seconds)
    log(f"idle: bare watchfiles.watch on the same directories for {plan.idle_seconds:g} s")
    ready = work.root / "idle-floor.txt"
    with open(ready, "wb") as sink:
        dirs = [str(d) for d in project.directories]
        with Spawned(job_command("idle-floor", {"dirs": dirs}), stdout=sink) as floor:
            _wait_for_text(ready, "READY", floor, timeout=60)
            time.sleep(0.5)
            results["floor"] = _cpu_percent(floor.pid, plan.idle_seconds)
    return results


def _field_edits(plan: Plan, c: Contender, kind: FieldKind) -> int:
    if kind == "heavy":
        return plan.field_heavy_edits
    return plan.field_restart_edits if c.restarts else plan.field_edits


def field_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Every contender on every module kind, both save styles, under the side venv's Python.

    A contender whose package did not install, or that fails to run, is recorded with the
    reason and the others go on; the run then exits 1 (a failure is not a figure).
    """
    from benchmarks.sidevenv import ensure

    venv = ensure(log)
    styles = list(SAVE_STYLES)
    results: dict[str, Any] = {
        "python": venv.version,
        "packages": venv.packages,
        "contenders": {
            c.name: {"label": c.label, "settings": c.settings, "observe": c.observe}
            for c in CONTENDERS
        },
        "kinds": {kind: {} for kind in plan.field_kinds},
        "skipped": {},
        "errors": {},
        "plan": {
            "edits": plan.field_edits,
            "restart_edits": plan.field_restart_edits,
            "heavy_edits": plan.field_heavy_edits,
        },
    }
    for c in CONTENDERS:
        if c.full_only and not plan.field_all_settings:
            results["skipped"][c.name] = "full run only"
        elif c.package and not venv.has(c.package):
            results["skipped"][c.name] = venv.failed.get(c.package, f"{c.package} not installed")
    for kind in plan.field_kinds:
        for c in CONTENDERS:
            if c.name in results["skipped"]:
                continue
            edits = _field_edits(plan, c, kind)
            timeout = save_timeout(c, kind, ACCEPT_TIMEOUT_S, RESTART_TIMEOUT_S)
            log(f"field: {c.name} on the {kind} module ({edits} saves x {len(styles)} styles)")
            project = write_field_project(work.root / f"field-{kind}-{c.name}", kind)
            args = {
                "contender": c.name,
                "kind": kind,
                "root": str(project.root),
                "styles": styles,
                "edits": edits,
                "timeout": timeout,
                "bin": str(venv.bin),
                "seed": 3,
            }
            try:
                results["kinds"][kind][c.name] = run_job(
                    "field",
                    args,
                    timeout=_job_timeout(edits * len(styles) + 1, timeout + 0.5),
                    python=venv.python,
                )
            except (ChildError, RuntimeError, OSError) as e:
                # One broken contender must not cost the others' figures.
                results["errors"][f"{kind}/{c.name}"] = f"{type(e).__name__}: {e}"[-2000:]
                log(f"field: {c.name} on the {kind} module failed: {str(e).splitlines()[0]}")
    return results


WEB_MODEL_SECONDS = 2.0  # the example's own start-up: its "model" load


def web_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Save-to-new-response of examples/webapp under `hotreload up`, `uvicorn --reload` and
    uvicorn-hmr (where a side venv has it), one child each, the same app and edit."""
    from benchmarks.web import HMR_HINT, hmr_python

    for needed in ("uvicorn", "fastapi"):
        if importlib.util.find_spec(needed) is None:
            raise RuntimeError(f'{needed} is not installed: pip install -e ".[test]"')
    python = hmr_python()
    # (result key, contender, the checkout whose hotreload it runs, saves, timeout)
    runs: list[tuple[str, str, Path | None, int, float]] = [
        ("hotreload", "hotreload", None, plan.web_edits, ACCEPT_TIMEOUT_S),
    ]
    # The restarters take turns, a few saves at a time, so a busy moment hits each alike.
    turns = max(1, min(plan.web_turns, plan.web_restart_edits))
    restarters: list[tuple[str, str, Path | None]] = [
        ("hotreload_restart", "hotreload_restart", None)
    ]
    if work.baseline is not None:
        restarters.append(("hotreload_restart_baseline", "hotreload_restart", work.baseline))
    restarters.append(("uvicorn_reload", "uvicorn_reload", None))
    for turn in range(turns):
        edits = plan.web_restart_edits // turns + (turn < plan.web_restart_edits % turns)
        runs += [(key, contender, package, edits, 30.0) for key, contender, package in restarters]
    runs.append(("uvicorn_hmr", "uvicorn_hmr", None, plan.web_restart_edits, 30.0))
    results: dict[str, Any] = {"model_seconds": WEB_MODEL_SECONDS}
    errors: dict[str, str] = {}
    for turn, (key, contender, package, edits, timeout) in enumerate(runs):
        if contender == "uvicorn_hmr" and python is None:
            log(f"web: {contender} skipped: {HMR_HINT}")
            results[contender] = {"skipped": HMR_HINT}
            continue
        if key in errors:
            continue
        log(f"web: {key} ({edits} saves)")
        args = {
            "contender": contender,
            "root": str(work.root / f"web-{key}-{turn}"),
            "edits": edits,
            "timeout": timeout,
            "model_seconds": WEB_MODEL_SECONDS,
            "seed": 3 + turn,
            "python": python,
            "package": None if package is None else str(package),
        }
        try:
            run = run_job("web", args, timeout=_job_timeout(edits, timeout + 1))
        except ChildError as e:  # one contender failing must not cost the others' figures
            errors[key] = str(e)[-2000:]
            results.pop(key, None)
            continue
        results[key] = _merged_web_runs(results.get(key), run)
    if errors:
        results["errors"] = errors
    return results


def frameworks_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Save-to-new-response of examples/flaskr and examples/todoapi: a handler's body and a new
    route under `hotreload up`, then the same saves under the restarter each app's users run
    (`flask --debug`, `uvicorn --reload`), one child each."""
    from benchmarks.frameworks import APPS

    for needed in ("uvicorn", "fastapi", "flask", "sqlalchemy"):
        if importlib.util.find_spec(needed) is None:
            raise RuntimeError(f'{needed} is not installed: pip install -e ".[test]"')
    results: dict[str, Any] = {}
    for app in APPS.values():
        for contender in ("hotreload", app.restarter):
            for kind in ("body", "route"):
                in_place = contender == "hotreload" and kind == "body"
                edits = plan.web_edits if in_place else plan.web_restart_edits
                timeout = ACCEPT_TIMEOUT_S if in_place else 30.0
                log(f"frameworks: {app.name}, {contender}, {kind} ({edits} saves)")
                args = {
                    "app": app.name,
                    "contender": contender,
                    "kind": kind,
                    "root": str(work.root / f"frameworks-{app.name}-{contender}-{kind}"),
                    "edits": edits,
                    "timeout": timeout,
                    "seed": 5,
                }
                job_timeout = _job_timeout(edits, timeout + 1)
                results[f"{app.name}/{contender}/{kind}"] = run_job(
                    "frameworks", args, timeout=job_timeout
                )
    return results


def _merged_web_runs(before: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, Any]:
    """One contender's turns as one run: every sample, summarised again."""
    if before is None:
        return run
    samples = before["samples_ms"] + run["samples_ms"]
    missed = before["missed"] + run["missed"]
    return {
        **run,
        **summary(samples, missed=missed),
        "samples_ms": samples,
        "start_up_s": min(before["start_up_s"], run["start_up_s"]),
        "state_kept": before["state_kept"] and run["state_kept"],
        "poll_errors": before["poll_errors"] + run["poll_errors"],
        "poll_error_kinds": {
            kind: before.get("poll_error_kinds", {}).get(kind, 0)
            + run.get("poll_error_kinds", {}).get(kind, 0)
            for kind in {*before.get("poll_error_kinds", {}), *run.get("poll_error_kinds", {})}
        },
    }


def exports_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Call round trip over HTTP: `hotreload up`'s exports API (development and production
    profiles) against a plain FastAPI endpoint making the same call, one child each."""
    from benchmarks.exports import CONTENDERS

    for needed in ("uvicorn", "fastapi"):
        if importlib.util.find_spec(needed) is None:
            raise RuntimeError(f'{needed} is not installed: pip install -e ".[test]"')
    results: dict[str, Any] = {}
    for contender in CONTENDERS:
        log(f"exports: {contender} ({plan.export_calls} calls)")
        args = {
            "contender": contender,
            "root": str(work.root / "exports"),
            "calls": plan.export_calls,
            "warmup": max(100, plan.export_calls // 10),
        }
        results[contender] = run_job("exports", args, timeout=120.0)
    return results


def heap_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Save-to-live of a body edit and of a nested-closure edit (a function made at run time),
    in an empty process and in one holding `plan.heap_objects` live objects."""
    results: dict[str, Any] = {"objects": plan.heap_objects, "runs": {}}
    for objects in (0, plan.heap_objects):
        for edit in ("body", "closure"):
            name = f"{edit}-{objects}"
            log(f"heap: {edit} edit, {objects:,} live objects ({plan.heap_edits} saves x 2)")
            project = write_heap_project(work.root / f"heap-{name}", edit)
            args = {
                "contender": "hotreload",
                "kind": "accept",
                "host": "poll",
                "module": BIG_MODULE,
                "export": "current_value",
                "styles": list(SAVE_STYLES),
                "seed": 4,
                "root": str(project.root),
                "edits": plan.heap_edits,
                "timeout": ACCEPT_TIMEOUT_S,
                "generator": "heap",
                "edit": edit,
                "heap_objects": objects,
            }
            timeout = _job_timeout(plan.heap_edits * 2, ACCEPT_TIMEOUT_S + 0.5) + objects / 1e5
            results["runs"][name] = run_job("latency", args, timeout=timeout)
    return results


def _run_measured(
    command: list[str],
    cwd: Path,
    *,
    timeout: float = 300,
    package: Path | None = None,
    cache: Path | None = None,
) -> tuple[float, float, float]:
    """Wall seconds, peak resident set (MB, VmHWM) and CPU seconds of a command that must succeed
    (``package``: the checkout whose hotreload it imports, this one's by default; ``cache``: its
    manifest cache, one per checkout: each caches its own validation, and two checkouts taking
    turns in one cache would each find the other's entry)."""
    import os

    env = child_env()
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join((str(package), env["PYTHONPATH"]))
    if cache is not None:
        env["HOTRELOAD_CACHE_DIR"] = str(cache)
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The peak is the process's own VmHWM, read until it ends (it never decreases; the last
    # reading is after exec): ru_maxrss would count the pre-exec copy of this, bigger, process.
    peak_kb = 0
    try:
        deadline = time.monotonic() + timeout
        while True:
            peak_kb = _vm_hwm_kb(process.pid) or peak_kb
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                raise ChildError(f"{' '.join(command)} did not end within {timeout:g} s")
            time.sleep(0.002)
    finally:
        if process.returncode is None and process.poll() is None:
            process.kill()
            process.wait()
    elapsed = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise ChildError(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}")
    # CPU time, all its threads: what the process itself did, which other work on a shared
    # machine stretches far less than the wall time.
    return elapsed, peak_kb / 1024, usage.ru_utime + usage.ru_stime


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _compile_package(checkout: Path) -> bool:
    """Byte-compile a checkout's own ``hotreload`` package, as ``pip install`` does for an
    installed package: under PYTHONDONTWRITEBYTECODE an editable checkout would otherwise compile
    hotreload's modules at every start, which no installed copy does. The app's modules stay
    without bytecode, for plain Python and hotreload alike. True when every module compiled."""
    import compileall

    return bool(compileall.compile_dir(checkout / "hotreload", quiet=1, legacy=False))


def startup_section(plan: Plan, work: Workspace, log: Log) -> dict[str, Any]:
    """Wall time and peak memory of an app importing `plan.startup_modules` project modules:
    plain `python plain.py` against `hotreload up` (its [app] entry imports the same modules);
    the same two for an app of one module (what either pays whatever the app's size); and
    `import hotreload` alone. Taken in turns, so a busy moment hits each alike."""
    size = plan.startup_modules
    project = write_startup_project(work.root / f"startup-{size}", size)
    small = write_startup_project(work.root / "startup-1", 1)
    plain = [sys.executable, "plain.py"]
    up = [sys.executable, "-m", "hotreload", "up", "--log-format", "json"]
    commands: dict[str, tuple[list[str], Path]] = {
        "plain": (plain, project.root),
        "hotreload_up": (up, project.root),
        "plain_one_module": (plain, small.root),
        "hotreload_up_one_module": (up, small.root),
        "import_hotreload": ([sys.executable, "-c", "import hotreload"], project.root),
        "bare_python": ([sys.executable, "-c", "pass"], project.root),
    }
    packages: dict[str, Path | None] = dict.fromkeys(commands)
    if work.baseline is not None:  # the other checkout's `hotreload up`, in the same turns
        commands["hotreload_up_baseline"] = commands["hotreload_up"]
        packages["hotreload_up_baseline"] = work.baseline
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    installed = [
        _compile_package(p if p is not None else REPO_ROOT) for p in set(packages.values())
    ]
    caches = {name: work.root / f"manifest-cache-{name}" for name in commands}
    log(f"startup: {size} modules, {plan.startup_runs} runs of each")
    # One run of each first: the file system's caches warm for all, and each checkout's
    # `hotreload up` has its manifest cached, as at any start but a project's first.
    for name, (command, root) in commands.items():
        _run_measured(command, root, package=packages[name], cache=caches[name])
    for _ in range(plan.startup_runs):
        for name, (command, root) in commands.items():
            runs[name].append(
                _run_measured(command, root, package=packages[name], cache=caches[name])
            )
    return {
        "modules": size,
        "bytecode_written": not sys.dont_write_bytecode,
        "hotreload_compiled": all(installed),
        "runs": {
            name: {
                "wall_s": statistics.median(w for w, _, _ in samples),
                "peak_mb": statistics.median(m for _, m, _ in samples),
                "cpu_s": statistics.median(c for _, _, c in samples),
                "wall_s_runs": [w for w, _, _ in samples],
                "peak_mb_runs": [m for _, m, _ in samples],
                "cpu_s_runs": [c for _, _, c in samples],
            }
            for name, samples in runs.items()
        },
    }


SECTIONS: dict[str, Callable[[Plan, Workspace, Log], dict[str, Any]]] = {
    "latency": latency_section,
    "calls": calls_section,
    "scale": scale_section,
    "memory": memory_section,
    "idle": idle_section,
    "exports": exports_section,
    "heap": heap_section,
    "startup": startup_section,
    "field": field_section,
    "web": web_section,
    "frameworks": frameworks_section,
}
