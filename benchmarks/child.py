"""Entry point of the benchmark child processes: ``python -m benchmarks.child JOB 'ARGS-JSON'``.

Every measurement that loads hotreload runs in a fresh child, so one benchmark's modules,
threads and memory never colour the next one. Jobs import what they need lazily: the writer
must start fast and stay light.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any


def writer(_args: dict[str, Any]) -> dict[str, Any] | None:
    """The editor: one JSON request a line on stdin (path, text, style), one reply a line."""
    from benchmarks.projects import save

    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if "ping" in request:
            t = 0
        else:
            t = save(Path(request["path"]), request["text"], request["style"])
        out.write(json.dumps({"t": t}) + "\n")
        out.flush()
    return None


def latency(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks import latency as bench

    runs: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "hotreload": bench.hotreload_run,
        "floor": bench.floor_run,
        "inotify_floor": bench.inotify_floor_run,
        "restart": bench.restart_run,
    }
    return runs[args["contender"]](args)


def field(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.field import run

    return run(args)


def restart_supervisor(args: dict[str, Any]) -> dict[str, Any] | None:
    """The restart reloader under test: ``watchfiles.run_process`` (SIGTERM stops it)."""
    from watchfiles import run_process

    run_process(
        args["dir"],
        target=args["command"],
        target_type="command",
        step=int(args["step"]),
        debounce=int(args["debounce"]),
    )
    return None


def calls(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.resources import calls_run

    return calls_run(args)


def startup(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.resources import startup_run

    return startup_run(args)


def memory(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.resources import memory_run

    return memory_run(args)


def web(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.web import web_run

    return web_run(args)


def frameworks(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.frameworks import frameworks_run

    return frameworks_run(args)


def exports(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.exports import exports_run

    return exports_run(args)


def idle_floor(args: dict[str, Any]) -> dict[str, Any] | None:
    """A bare ``watchfiles.watch`` on the given directories, idle until SIGTERM; says READY."""
    import watchfiles

    from benchmarks.latency import BATCH_CAP_MS, STEP_MS, _LiveStop

    stop = _LiveStop()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.stopped = True

    signal.signal(signal.SIGTERM, on_term)

    def watch() -> None:
        for _ in watchfiles.watch(
            *args["dirs"],
            debounce=BATCH_CAP_MS,
            step=STEP_MS,
            stop_event=stop,
            rust_timeout=0,
            recursive=False,
            raise_interrupt=False,
        ):
            pass

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    if stop.live.wait(30):
        print("READY", flush=True)
    thread.join(float(args.get("max_seconds", 600)))
    return None


JOBS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "writer": writer,
    "latency": latency,
    "field": field,
    "restart-supervisor": restart_supervisor,
    "calls": calls,
    "startup": startup,
    "memory": memory,
    "idle-floor": idle_floor,
    "web": web,
    "frameworks": frameworks,
    "exports": exports,
}


def main(argv: list[str]) -> int:
    from benchmarks.proc import die_with_parent, emit_result, exit_on_sigterm

    exit_on_sigterm()
    die_with_parent()
    # A shell may start us with SIGINT ignored (a background job); Ctrl+C must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if len(argv) != 2 or argv[0] not in JOBS:
        sys.stderr.write(f"usage: python -m benchmarks.child {{{','.join(JOBS)}}} ARGS-JSON\n")
        return 2
    result = JOBS[argv[0]](json.loads(argv[1]))
    if result is not None:
        emit_result(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
