"""Child-side measurements: call overhead, start-up with one change, memory over many reloads."""

from __future__ import annotations

import gc
import importlib.util
import random
import sys
import tempfile
import time
import timeit
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.latency import (
    POLL_INTERVAL_S,
    HostPoller,
    Writer,
    hotreload_run,
)
from benchmarks.proc import rss_bytes
from benchmarks.projects import BIG_MODULE, big_module
from benchmarks.stats import summary


def _import_plain(source: str, directory: Path) -> ModuleType:
    """The same source as a plain module, imported the ordinary way: the baseline."""
    path = directory / "plain_target.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("plain_target", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calls_run(args: dict[str, Any]) -> dict[str, Any]:
    """ns per call of ``compute(3, 4)``: plain, through hotreload's module, through a binding.

    Variants are timed in shuffled rounds (the best round counts, as timeit advises) so drift
    on a busy machine hits them alike. ``net`` subtracts timeit's empty-loop cost.
    args: root, env, rounds, seconds (per timing).
    """
    from hotreload import up
    from hotreload.bindings import gated_export

    root = Path(args["root"])
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="hotreload-bench-plain-") as scratch:
        plain = _import_plain(big_module(0, field=True), Path(scratch))
        with up(root / "hotreload.toml", env=args["env"], stderr=False) as server:
            live = sys.modules[BIG_MODULE]
            binding = server.module(BIG_MODULE)
            # A coroutine export, driven to its end without an event loop (send(None) until
            # StopIteration), so the figure is the gate's cost, not asyncio's.
            coroutine_ns = {"acompute": _acompute}
            gated = gated_export(coroutine_ns, "acompute", server.gate)
            variants: dict[str, tuple[str, dict[str, Any]]] = {
                "empty": ("pass", {}),
                "coroutine_plain": ("drive(f(3, 4))", {"f": _acompute, "drive": _drive}),
                "coroutine_binding": ("drive(f(3, 4))", {"f": gated, "drive": _drive}),
                "plain_direct": ("f(3, 4)", {"f": plain.compute}),
                "plain_attr": ("m.compute(3, 4)", {"m": plain}),
                "export_direct": ("f(3, 4)", {"f": live.compute}),
                "export_attr": ("m.compute(3, 4)", {"m": live}),
                "binding": ("b.compute(3, 4)", {"b": binding}),
                # A host may take the export once and call it in a hot loop.
                "binding_reference": ("f(3, 4)", {"f": binding.compute}),
            }
            assert binding.compute(3, 4) == plain.compute(3, 4)
            timers = {k: timeit.Timer(stmt, globals=g) for k, (stmt, g) in variants.items()}
            numbers: dict[str, int] = {}
            for name, timer in timers.items():  # each timing lasts about `seconds`
                elapsed = max(timer.timeit(2000), 1e-6)  # a first estimate, not timeit's 0.2 s
                numbers[name] = max(1000, int(2000 * float(args["seconds"]) / elapsed))
            best: dict[str, float] = {}
            order = list(timers)
            for _ in range(int(args["rounds"])):
                rng.shuffle(order)
                for name in order:
                    number = numbers[name]
                    ns = timers[name].timeit(number) / number * 1e9
                    best[name] = min(best.get(name, ns), ns)
            watching = server.watching
    empty = best.pop("empty")
    return {
        "env": args["env"],
        "watching": watching,
        "numbers": numbers,
        "loop_ns": empty,
        "raw_ns": best,
        "net_ns": {name: ns - empty for name, ns in best.items()},
    }


async def _acompute(x: int, y: int = 3) -> int:
    return x + y


def _drive(coroutine: Any) -> Any:
    """Run a coroutine that never suspends to its end: what an event loop's first step does."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the coroutine suspended")


def startup_run(args: dict[str, Any]) -> dict[str, Any]:
    """Import time, ``hotreload.up`` time and RSS of a project, then the latency of changes.

    args: as for ``latency.hotreload_run`` (root, module, export, styles, edits, ...).
    """
    began = time.perf_counter()
    import hotreload  # noqa: F401 - timed: what a host pays before up()

    import_ms = (time.perf_counter() - began) * 1000
    rss_before = rss_bytes()
    result = hotreload_run(args)
    return {**result, "import_ms": import_ms, "rss_before_up_mb": rss_before / 2**20}


def _rss_mb() -> float:
    gc.collect()
    return rss_bytes() / 2**20


def memory_run(args: dict[str, Any]) -> dict[str, Any]:
    """RSS after N accepted reloads of the 500-line module.

    mode "direct": write the file, call ``server.reload([path])`` (the transaction the watcher
    drives) under a reload-off profile, so no watcher races the driver. mode "watcher": real
    saves from the writer process, each waited for through a polling host. RSS is read after
    ``gc.collect()``. args: root, mode, reloads, checkpoints, timeout.
    """
    from hotreload import up

    root = Path(args["root"])
    path = root / f"{BIG_MODULE}.py"
    checkpoints = sorted(int(c) for c in args["checkpoints"])
    total = int(args["reloads"])
    timeout = float(args.get("timeout", 2.0))
    rss: dict[str, float] = {"0": 0.0}
    accepted = 0
    missed = 0
    durations: list[float] = []
    direct = args["mode"] == "direct"
    writer = None if direct else Writer()
    server = up(root / "hotreload.toml", env="direct" if direct else "development", stderr=False)
    poller: HostPoller | None = None
    try:
        binding = server.module(BIG_MODULE)
        if not direct:
            poller = HostPoller(binding.current_value, interval_s=POLL_INTERVAL_S).start()
        rss["0"] = _rss_mb()
        for n in range(1, total + 1):
            value = 10_000 + n
            if writer is None:
                path.write_text(big_module(value, field=True), encoding="utf-8")
                began = time.perf_counter()
                outcomes = server.reload([path])
                durations.append((time.perf_counter() - began) * 1000)
                ok = bool(outcomes) and outcomes[0].kind == "accepted"
                ok = ok and binding.current_value() == value
            else:
                assert poller is not None
                writer.save(path, big_module(value, field=True), "atomic")
                ok = poller.wait_for(value, timeout) is not None
                time.sleep(0.02)
            accepted += ok
            missed += not ok
            if n in checkpoints:
                rss[str(n)] = _rss_mb()
        if str(total) not in rss:
            rss[str(total)] = _rss_mb()
    finally:
        if poller is not None:
            poller.stop()
        server.stop()
        if writer is not None:
            writer.close()
    return {
        "mode": args["mode"],
        "reloads": total,
        "accepted": accepted,
        "missed": missed,
        "rss_mb": rss,
        "reload_ms": summary(durations) if durations else None,
    }
