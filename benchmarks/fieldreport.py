"""The field's tables, the README table (ratios and machine line), and issue 11's targets.

Pure functions of a results dict (what ``latest.json`` holds), so ``python -m benchmarks
--render latest.json`` regenerates every table without running anything.
"""

from __future__ import annotations

from typing import Any

from benchmarks.field import CONTENDERS, Contender, contender
from benchmarks.projects import FIELD_KIND_LABELS, FIELD_KINDS, SAVE_STYLES, FieldKind

# Issue 11's figures; thresholds the issue leaves open are marked "(ours)".
P50_MS = 10.0
P99_MS = 25.0
FLOOR_SLACK_MS = 2.0  # "within 2 ms of the bare watcher with the same settings"
HEAVY_SLACK_MS = 2.0  # heavy-init body edit "as fast as" a small module's: within this (ours)
BINDING_NS = 250.0
PRODUCTION_RATIO = 1.05  # 1.00x within timing noise (as for issue 5)

Cell = dict[str, Any]
DASH = "\u2013"  # an en dash: "not measured", as the README's tables write it
TIMES = "\u00d7"  # a multiplication sign, for ratios


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def fmt_ms(value: float | None) -> str:
    """Milliseconds as the README writes them: 9.7, 77.0, 1,011."""
    if value is None:
        return DASH
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.2f}{TIMES}" if value < 10 else f"{value:,.0f}{TIMES}"


def cell(kind: str, name: str, style: str, results: dict[str, Any]) -> Cell | None:
    """One contender's figures on one module kind and save style, if it ran."""
    found: Cell | None = _get(results, "field", "kinds", kind, name, "styles", style)
    return found


def saw_every_save(c: Cell | None) -> bool:
    return c is not None and not c.get("missed") and bool(c.get("n"))


def p50(c: Cell | None) -> float | None:
    """The p50 of a cell that saw every save; None otherwise (misses are shown, not a time)."""
    return float(c["p50"]) if saw_every_save(c) and c is not None else None


def show(c: Cell | None) -> str:
    """A cell's p50, or its misses: a contender that misses saves shows its misses."""
    if c is None:
        return DASH
    if c.get("missed"):
        return f"missed {c['missed']} of {c.get('tried', c['missed'] + c['n'])}"
    return fmt_ms(c.get("p50"))


def baseline(c: Contender) -> str:
    """Whom a contender is compared with: web tools with hotreload serving the same app."""
    return "hotreload-web" if c.observe == "http" else "hotreload"


def ratio(kind: str, c: Contender, style: str, results: dict[str, Any]) -> float | None:
    """The contender's p50 over hotreload's (same kind, style and case); > 1: hotreload faster."""
    mine = p50(cell(kind, c.name, style, results))
    base = p50(cell(kind, baseline(c), style, results))
    return mine / base if mine is not None and base else None


def state_kept(name: str, results: dict[str, Any]) -> str:
    """Whether the module's state survived the saves, over every kind and style."""
    kept = lost = restarted = 0
    for kind in FIELD_KINDS:
        for style in SAVE_STYLES:
            state = _get(cell(kind, name, style, results), "state") or {}
            kept += int(state.get("kept", 0))
            lost += int(state.get("lost", 0))
            restarted += int(state.get("restarted", 0))
    if kept + lost == 0:
        return DASH
    if lost == 0:
        return "yes"
    if kept == 0:
        return "no: the process restarts" if restarted == lost else "no: the module re-runs"
    return f"{kept} of {kept + lost} saves"


def _ran(results: dict[str, Any]) -> list[FieldKind]:
    kinds = _get(results, "field", "kinds") or {}
    return [k for k in FIELD_KINDS if k in kinds]


def machine_line(results: dict[str, Any]) -> str:
    """Where, when and with what the field ran: the line the README quotes under its table."""
    m = results["machine"]
    field = results.get("field") or {}
    packages = field.get("packages") or {}
    tools = ", ".join(f"{name} {v}" for name, v in sorted(packages.items()))
    plan = field.get("plan") or {}
    end = results.get("load_average_end") or [float("nan")]
    command = "python -m benchmarks" + (" --quick" if results.get("plan") == "quick" else "")
    return (
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['platform']}; load average "
        f"{m['load_average'][0]:.2f} at start, {end[0]:.2f} at end. Every contender on Python "
        f"{field.get('python', '?')} (the side venv): {tools or 'no contender packages'}; "
        f"hotreload {m['hotreload']} (revision {m['revision']}). {plan.get('edits', '?')} saves "
        f"per tool, module and save style ({plan.get('restart_edits', '?')} for a restart "
        f"reloader, {plan.get('heavy_edits', '?')} on the heavy-init module), after one "
        f"unmeasured warm-up save. `{command}`."
    )


def readme_table(results: dict[str, Any]) -> list[str]:
    """The field in the README's shape: p50 per tool and module, state kept, the ratios, and
    the machine line."""
    kinds = _ran(results)
    if not kinds:
        return []
    field = results["field"]
    head = " | ".join(FIELD_KIND_LABELS[k] for k in kinds)
    lines = [
        f"| save-to-live p50, ms (atomic / in-place) | {head} | state kept |",
        "|---|" + "---|" * len(kinds) + "---|",
    ]
    shown = [c for c in CONTENDERS if c.name not in field.get("skipped", {})]
    for c in shown:
        cells = " | ".join(
            " / ".join(show(cell(k, c.name, s, results)) for s in SAVE_STYLES) for k in kinds
        )
        label = f"**{c.label}**" if c.name.startswith("hotreload") else c.label
        lines.append(f"| {label} | {cells} | {state_kept(c.name, results)} |")
    for name, why in field.get("skipped", {}).items():
        lines.append(f"| {contender(name).label} | skipped: {why} |" + " |" * len(kinds))
    lines += [
        "",
        f"| p50 ÷ hotreload's p50 (atomic / in-place) | {head} |",
        "|---|" + "---|" * len(kinds),
    ]
    for c in shown:
        if c.name in ("hotreload", "hotreload-web"):
            continue
        cells = " | ".join(
            " / ".join(
                "missed" if _get(cell(k, c.name, s, results), "missed") else
                fmt_ratio(ratio(k, c, s, results))
                for s in SAVE_STYLES
            )
            for k in kinds
        )  # fmt: skip
        versus = ", vs hotreload + uvicorn" if baseline(c) == "hotreload-web" else ""
        lines.append(f"| {c.label}{versus} | {cells} |")
    added = []
    for k in kinds:
        pairs = []
        for s in SAVE_STYLES:
            hot, floor = (p50(cell(k, n, s, results)) for n in ("hotreload", "floor"))
            pairs.append(DASH if hot is None or floor is None else f"{hot - floor:+,.1f}")
        added.append(f"{FIELD_KIND_LABELS[k]} {' / '.join(pairs)} ms")
    lines += [
        "",
        "hotreload over the bare watcher at p50 (atomic / in-place): " + "; ".join(added) + ".",
        "",
        machine_line(results),
    ]
    return lines


def field_lines(results: dict[str, Any]) -> list[str]:
    """The field's section of latest.md: every figure, the settings, skips and failures."""
    field = results.get("field")
    if not field:
        return []
    lines = [
        "",
        "## 7. The field: hotreload and the tools people use instead, one run",
        "",
        "A writer process saves the module (atomic = temp file + os.replace; in-place = "
        "truncate + write + close); each tool's host sees the new result (in-process: a thread "
        "calling the export every 0.2 ms; web: a client polling GET / every 0.2 ms). Every "
        "edit is a body edit of the export `current_value()`. A save not seen within the "
        "timeout is missed; a cell whose first two saves are missed stops there. state kept = "
        "the module's top-level token is the same after the save. host errors = failed calls "
        "or requests during the saves (a restarting server refuses connections).",
        "",
    ]
    for kind in _ran(results):
        lines += [
            f"### {FIELD_KIND_LABELS[kind]} (ms)",
            "",
            "| contender | save | n | missed | min | p50 | p90 | p99 | max | state kept "
            "| host errors | ÷ hotreload p50 |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
        ]
        for c in CONTENDERS:
            for style in SAVE_STYLES:
                s = cell(kind, c.name, style, results)
                if s is None:
                    continue
                times = " | ".join(fmt_ms(s.get(k)) for k in ("min", "p50", "p90", "p99", "max"))
                state = s.get("state") or {}
                total = int(state.get("kept", 0)) + int(state.get("lost", 0))
                kept = f"{state.get('kept', 0)}/{total}" if total else DASH
                missed = f"{s['missed']}" + (" (stopped)" if s.get("stopped_early") else "")
                versus = DASH if c.name.startswith("hotreload") else fmt_ratio(
                    ratio(kind, c, style, results)
                )  # fmt: skip
                save = "in-place" if style == "inplace" else style
                lines.append(
                    f"| {c.label} | {save} | {s['n']} | {missed} | {times} | {kept} "
                    f"| {s.get('host_errors', 0)} | {versus} |"
                )
        lines.append("")
    lines += ["Settings (each tool's fastest sensible settings, from its own code):", ""]
    for c in CONTENDERS:
        lines.append(f"- {c.label}: {c.settings}")
    for name, why in (field.get("skipped") or {}).items():
        lines.append(f"- skipped {name}: {why}")
    for where, error in (field.get("errors") or {}).items():
        last = error.strip().splitlines()[-1] if error.strip() else "?"
        lines.append(f"- FAILED {where}: {last} (full text in latest.json)")
    lines += ["", "### The README table", "", *readme_table(results)]
    return lines


def _verdict(target: str, measured: str, ok: bool | None) -> dict[str, str]:
    status = "SKIP" if ok is None else ("PASS" if ok else "MISS")
    return {"target": target, "measured": measured, "status": status}


def issue11_verdicts(results: dict[str, Any]) -> list[dict[str, str]]:
    """Issue 11's targets judged against this run (SKIP where this run did not measure it)."""
    found: list[dict[str, str]] = []
    latency = results.get("latency") or {}
    derived = results.get("derived") or {}
    for style in SAVE_STYLES if latency else ():
        s = _get(latency, "hotreload", "styles", style) or {}
        lo, hi = s.get("p50"), s.get("p99")
        ok = None if lo is None or hi is None else lo < P50_MS and hi < P99_MS
        found.append(
            _verdict(
                f"500-line module, defaults: p50 < {P50_MS:g} ms, p99 < {P99_MS:g} ms ({style})",
                f"p50 {fmt_ms(lo)}, p99 {fmt_ms(hi)} ms",
                ok,
            )
        )
        added = derived.get(f"added_over_floor_p50_ms_{style}")
        found.append(
            _verdict(
                f"within {FLOOR_SLACK_MS:g} ms of the bare watcher at p50 ({style})",
                DASH if added is None else f"{added:+.1f} ms",
                None if added is None else added <= FLOOR_SLACK_MS,
            )
        )
    for style in SAVE_STYLES:
        small = p50(cell("small", "hotreload", style, results))
        heavy = p50(cell("heavy", "hotreload", style, results))
        if small is None and heavy is None:
            continue
        ok = None if small is None or heavy is None else heavy <= small + HEAVY_SLACK_MS
        found.append(
            _verdict(
                f"heavy-init body edit as fast as a small module's (p50 within "
                f"{HEAVY_SLACK_MS:g} ms, ours) ({style})",
                f"{fmt_ms(heavy)} vs {fmt_ms(small)} ms",
                ok,
            )
        )
    calls = derived.get("calls")
    if calls:
        extra = calls["development_binding_overhead_ns"]
        found.append(
            _verdict(
                f"development binding call <= {BINDING_NS:g} ns over a plain call (sync)",
                f"+{extra:.0f} ns",
                extra <= BINDING_NS,
            )
        )
        coroutine = calls.get("development_coroutine_overhead_ns")
        found.append(
            _verdict(
                "development binding call measured for coroutines (no target)",
                DASH if coroutine is None else f"+{coroutine:.0f} ns",
                None,
            )
        )
        reference = calls["production_reference_ratio"]
        found.append(
            _verdict(
                f"production `f = binding.f` 1.00{TIMES} (<= {PRODUCTION_RATIO:.2f})",
                f"{reference:.2f}{TIMES}",
                reference <= PRODUCTION_RATIO,
            )
        )
    kinds = _ran(results)
    if kinds:
        missed = sum(
            int(_get(cell(k, n, s, results), "missed") or 0)
            for k in kinds
            for n in ("hotreload", "hotreload-web")
            for s in SAVE_STYLES
        )
        found.append(_verdict("field: hotreload sees every save", f"{missed} missed", missed == 0))
        behind = []
        for k in kinds:
            for c in CONTENDERS:
                if c.name in ("hotreload", "hotreload-web", "floor"):
                    continue
                for s in SAVE_STYLES:
                    r = ratio(k, c, s, results)
                    if r is not None and r < 1:
                        behind.append(f"{c.name} {k} {s} {r:.2f}{TIMES}")
        found.append(
            _verdict(
                "field: hotreload ahead of every contender that sees every save (p50)",
                "; ".join(behind) if behind else "ahead everywhere",
                not behind,
            )
        )
    return found
