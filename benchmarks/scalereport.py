"""Issue 19's tables and targets: start-up against plain Python, reload cost against an empty
process, saves against the raw inotify floor, the idle watcher."""

from __future__ import annotations

from typing import Any

from benchmarks.fieldreport import DASH, _verdict
from benchmarks.projects import SAVE_STYLES

STARTUP_RATIO = 1.5  # `hotreload up` within 1.5x plain Python's wall time and peak memory
IMPORT_MS = 150  # `import hotreload`
HEAP_RATIO = 1.3  # save-to-live with a big heap within 1.3x the empty process's
SAVE_P50_MS = 3.0  # both save styles, 500-line module, defaults
IDLE_PERCENT = 0.5  # of one core, 1,000 watched modules


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _x(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}x"


def _ms(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def _added(runs: dict[str, Any], key: str) -> float:
    """Milliseconds `hotreload up` adds to plain Python for the app of one module."""
    return float(runs["hotreload_up_one_module"][key] - runs["plain_one_module"][key]) * 1000


def startup_lines(results: dict[str, Any]) -> list[str]:
    startup = results.get("startup")
    if not startup:
        return []
    runs = startup["runs"]

    cpu = all("cpu_s" in r for r in runs.values())

    def row(label: str, name: str) -> str:
        r = runs[name]
        line = f"| {label} | {r['wall_s'] * 1000:.0f} | {r['peak_mb']:.1f} |"
        return line + (f" {r['cpu_s'] * 1000:.0f} |" if cpu else "")

    plain, up = runs["plain"], runs["hotreload_up"]
    base = runs.get("hotreload_up_baseline")
    bytecode = (
        "written" if startup.get("bytecode_written") else "not written (PYTHONDONTWRITEBYTECODE)"
    )
    own = (
        " hotreload's own modules byte-compiled beforehand, as `pip install` leaves an installed "
        "package."
        if startup.get("hotreload_compiled")
        else ""
    )
    return [
        "",
        f"## 9. Start-up: an app importing {startup['modules']:,} project modules (about 50 lines "
        "each)",
        "",
        "Wall time of the whole process and its peak resident set (VmHWM), median of runs "
        "taken in turns. plain = `python plain.py` (`import app`, which imports every module); "
        "`hotreload up` = the same `app` as its `[app] entry`, with one manifest module, "
        "development profile, JSON events on stderr, the manifest's validation cached (as at "
        f"every start but a project's first). Bytecode of the app: {bytecode}, for all "
        f"alike.{own}",
        "",
        "| process | wall ms | peak MB |" + (" CPU ms |" if cpu else ""),
        "| --- | ---: | ---: |" + (" ---: |" if cpu else ""),
        row("bare interpreter (`python -c pass`)", "bare_python"),
        row("`python -c 'import hotreload'`", "import_hotreload"),
        *(
            [
                row("plain Python, an app of 1 module", "plain_one_module"),
                row("`hotreload up`, an app of 1 module", "hotreload_up_one_module"),
            ]
            if "plain_one_module" in runs
            else []
        ),
        row("plain Python, the app", "plain"),
        row("`hotreload up`, the app", "hotreload_up"),
        *(
            [row("`hotreload up` of the baseline checkout", "hotreload_up_baseline")]
            if base
            else []
        ),
        "",
        *(
            [
                f"- what `hotreload up` adds whatever the app's size (the app of 1 module): "
                f"{_ms(_added(runs, 'wall_s'))} ms wall time, {_ms(_added(runs, 'cpu_s'))} ms "
                "CPU time; the rest of what it adds grows with the modules imported"
            ]
            if "plain_one_module" in runs and cpu
            else []
        ),
        f"- `hotreload up` / plain: {_x(_ratio(up['wall_s'], plain['wall_s']))} wall time, "
        f"{_x(_ratio(up['peak_mb'], plain['peak_mb']))} peak memory"
        + (f", {_x(_ratio(up['cpu_s'], plain['cpu_s']))} CPU time" if cpu else ""),
        *(
            [
                f"- the baseline's `hotreload up` / plain: "
                f"{_x(_ratio(base['wall_s'], plain['wall_s']))} wall time, "
                f"{_x(_ratio(base['peak_mb'], plain['peak_mb']))} peak memory"
                + (f", {_x(_ratio(base['cpu_s'], plain['cpu_s']))} CPU time" if cpu else "")
            ]
            if base
            else []
        ),
    ]


def heap_lines(results: dict[str, Any]) -> list[str]:
    heap = results.get("heap")
    if not heap:
        return []
    objects = heap["objects"]
    lines = [
        "",
        f"## 10. Big heaps: save-to-live (ms, p50 / p99) with {objects:,} live objects",
        "",
        "The 500-line module under `hotreload.up()` (development defaults), the polling host "
        "of section 1. body = an edit of `current_value()`'s body; closure = an edit of a "
        "function made at run time (`install()` defines `current()` and puts it in a registry "
        "at import; `current_value()` calls it). The big heap is a list of small objects the "
        "collector tracks, made before the server starts.",
        "",
        "| edit | save | empty process | big heap | big / empty at p50 |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for edit in ("body", "closure"):
        for style in SAVE_STYLES:
            empty = _get(heap, "runs", f"{edit}-0", "styles", style) or {}
            big = _get(heap, "runs", f"{edit}-{objects}", "styles", style) or {}
            lines.append(
                f"| {edit} | {style} | {_ms(empty.get('p50'))} / {_ms(empty.get('p99'))} | "
                f"{_ms(big.get('p50'))} / {_ms(big.get('p99'))} | "
                f"{_x(_ratio(big.get('p50'), empty.get('p50')))} |"
            )
    tracked = _get(heap, "runs", f"closure-{objects}", "gc_tracked")
    if tracked:
        lines.append(f"\n- objects the collector tracked in the big-heap process: {tracked:,}")
    return lines


def issue19_verdicts(results: dict[str, Any]) -> list[dict[str, str]]:
    """Issue 19's targets judged against this run (sections not run are left out)."""
    found: list[dict[str, str]] = []
    runs = _get(results, "startup", "runs")
    if runs:
        plain, up = runs["plain"], runs["hotreload_up"]
        for what, key in (("wall time", "wall_s"), ("peak memory", "peak_mb")):
            ratio = _ratio(up[key], plain[key])
            found.append(
                _verdict(
                    f"`hotreload up` of the app within {STARTUP_RATIO}x plain Python's {what}",
                    _x(ratio),
                    None if ratio is None else ratio <= STARTUP_RATIO,
                )
            )
        # The package's own import: the process's wall time less a bare interpreter's.
        imported = (runs["import_hotreload"]["wall_s"] - runs["bare_python"]["wall_s"]) * 1000
        found.append(
            _verdict(
                f"`import hotreload` under {IMPORT_MS} ms (over a bare interpreter's start)",
                f"{imported:.0f} ms",
                imported < IMPORT_MS,
            )
        )
    heap = results.get("heap")
    if heap:
        for edit in ("body", "closure"):
            for style in SAVE_STYLES:
                empty = _get(heap, "runs", f"{edit}-0", "styles", style, "p50")
                big = _get(heap, "runs", f"{edit}-{heap['objects']}", "styles", style, "p50")
                ratio = _ratio(big, empty)
                found.append(
                    _verdict(
                        f"{edit} edit with {heap['objects']:,} objects within {HEAP_RATIO}x of an "
                        f"empty process at p50 ({style})",
                        _x(ratio),
                        None if ratio is None else ratio <= HEAP_RATIO,
                    )
                )
    for style in SAVE_STYLES:
        p50 = _get(results, "latency", "hotreload", "styles", style, "p50")
        if p50 is not None:
            found.append(
                _verdict(
                    f"500-line module, defaults: p50 <= {SAVE_P50_MS:g} ms ({style})",
                    f"{p50:.1f} ms",
                    p50 <= SAVE_P50_MS,
                )
            )
    idle = _get(results, "idle", "hotreload", "percent")
    if idle is not None:
        found.append(
            _verdict(
                f"idle `hotreload up`, 1,000 modules: <= {IDLE_PERCENT} % of a core",
                f"{idle:.2f} %",
                idle <= IDLE_PERCENT,
            )
        )
    # The restart path: a save that restarts the web app, against uvicorn --reload's restart.
    restart = _get(results, "web", "hotreload_restart", "p50")
    uvicorn = _get(results, "web", "uvicorn_reload", "p50")
    if restart is not None and uvicorn:
        found.append(
            _verdict(
                "save -> new response through a restart no slower than `uvicorn --reload` (p50)",
                f"{restart / uvicorn:.2f}x ({restart:,.0f} / {uvicorn:,.0f} ms)",
                restart <= uvicorn,
            )
        )
    kinds = _get(results, "web", "hotreload_restart", "poll_error_kinds")
    if kinds is not None:
        refused = kinds.get("ConnectionRefusedError", 0)
        found.append(
            _verdict("0 connections refused during the restarts", str(refused), not refused)
        )
    return found
