"""The field: hotreload against the tools people use instead, side by side, in one run.

Every contender is timed by one loop (``measure``): a writer process saves the module the way an
editor does and reports ``time.monotonic_ns()`` right after the save; an *observer* reports when
the new result was first seen, with the module's ``STATE`` token and the process id that served
it. CLOCK_MONOTONIC is one clock for every process on Linux, so the difference is the
save-to-live latency whatever process saw it. Observers:

- a thread in this process calling the export (hotreload, in-process);
- a bare watchfiles watcher in this process (the floor: save -> batch yielded);
- a host script run by the tool's own CLI that writes each new result to a file (jurigged, hmr);
- a client polling the web app over HTTP (hotreload + uvicorn, uvicorn-hmr, uvicorn --reload).

A save not seen within the timeout is *missed*; a cell whose first saves are all missed stops
early (a tool that never sees atomic saves would otherwise cost a timeout per save). "State
kept" compares the token before and after each save: the same token means nothing re-ran the
module's top level; another process id means the process was restarted.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from benchmarks.projects import (
    BIG_MODULE,
    HEAVY_INIT_S,
    WEBAPP_MODULE,
    FieldKind,
    SaveStyle,
    field_module,
)
from benchmarks.stats import summary
from hotreload.words import DEFAULT_DEBOUNCE_MS

Observe = Literal["inprocess", "floor", "file", "http"]

POLL_INTERVAL_S = 0.0002  # every host (and the HTTP client) pauses this long between calls
GAP_S = (0.03, 0.08)  # after a save is seen, so every save starts a fresh batch
RESTART_GAP_S = (0.1, 0.2)  # a restarted server gets a moment to settle
MISS_STREAK = 2  # a cell whose first saves are all missed stops after this many
READY_TIMEOUT_S = 60.0  # start-up, a heavy import included, on a loaded machine
FILE_POLL_S = 0.002  # how often the results file is read (the timestamps are the host's own)
WARMUP_VALUE = 1000  # unmeasured saves first (999, 998, ...): the tool is live and warm
WARMUP_TRIES = 10
FIRST_VALUE = 1000


@dataclass(frozen=True)
class Contender:
    """One tool of the field: how it is driven, and what its row says about the settings."""

    name: str
    label: str
    observe: Observe
    settings: str
    package: str | None = None  # the side venv's distribution it needs
    restarts: bool = False  # a restart reloader: longer timeouts and gaps
    full_only: bool = False  # a second setting of a tool, in the full run only


CONTENDERS: tuple[Contender, ...] = (
    Contender(
        "hotreload",
        "hotreload",
        "inprocess",
        f"`hotreload.up()` in the host process, development defaults (`debounce_ms = "
        f"{DEFAULT_DEBOUNCE_MS}`); a host "
        "thread calls the export through its binding every 0.2 ms",
    ),
    Contender(
        "floor",
        "bare watchfiles watcher (floor)",
        "floor",
        f"`watchfiles.watch` with hotreload's settings (step {DEFAULT_DEBOUNCE_MS} ms, batch cap "
        "500 ms, "
        "non-recursive); save -> batch yielded, nothing loaded",
    ),
    Contender(
        "jurigged",
        "jurigged (`--debounce 0.001`)",
        "file",
        "`jurigged --debounce 0.001 -w DIR host.py`: the smallest debounce its CLI takes (0 "
        "falls back to the 50 ms default; its API takes 0, but then the truncation of an "
        "in-place save is applied as an empty file); watchdog (inotify) watcher",
        package="jurigged",
    ),
    Contender(
        "jurigged-default",
        "jurigged (default debounce)",
        "file",
        "`jurigged -w DIR host.py`: debounce 50 ms",
        package="jurigged",
        full_only=True,
    ),
    Contender(
        "hmr",
        "hmr (`hmr host.py`, loop in a thread)",
        "file",
        "`hmr host.py`: the host's call loop runs in a thread started once (hmr re-runs the "
        "entry file after a change); no settings (watchfiles defaults: step 50 ms)",
        package="hmr",
    ),
    Contender(
        "hotreload-web",
        "hotreload + uvicorn (web)",
        "http",
        "`hotreload.up()` then `uvicorn.run(app)` in one process (development defaults); a "
        "client polls the endpoint every 0.2 ms over a keep-alive connection",
        package="uvicorn",
    ),
    Contender(
        "uvicorn-hmr",
        "uvicorn-hmr (web)",
        "http",
        "`uvicorn-hmr webapp:app --log-level warning`; no watcher settings (watchfiles "
        "defaults: step 50 ms)",
        package="uvicorn-hmr",
    ),
    Contender(
        "uvicorn-reload",
        "uvicorn --reload (web)",
        "http",
        "`uvicorn webapp:app --reload --reload-delay 0 --reload-dir DIR --log-level warning`: "
        "no pause between watcher polls (default 0.25 s); watchfiles defaults otherwise",
        package="uvicorn",
        restarts=True,
    ),
)
CONTENDER_NAMES = tuple(c.name for c in CONTENDERS)


def contender(name: str) -> Contender:
    for c in CONTENDERS:
        if c.name == name:
            return c
    raise KeyError(f"no field contender named {name!r}; known: {', '.join(CONTENDER_NAMES)}")


def save_timeout(c: Contender, kind: FieldKind, base_s: float, restart_s: float) -> float:
    """How long a save may take before it counts as missed: a heavy top level may run again."""
    timeout = restart_s if c.restarts else base_s
    return timeout + (2 * HEAVY_INIT_S if kind == "heavy" else 0.0)


class Seen(NamedTuple):
    """A new result as an observer first saw it."""

    value: int
    seen_ns: int
    born: int | None  # the module's STATE token, None where nothing is loaded (the floor)
    pid: int | None


class Observer(Protocol):
    def expect(self, value: int) -> Any:
        """Called right before the save of ``value``; returns what ``wait`` waits on."""

    def wait(self, token: Any, timeout: float) -> Seen | None: ...

    def errors(self) -> int:
        """How many failed calls the host has seen so far."""


class ThreadPoller:
    """A thread calling ``probe()`` over and over; notes when each new value first shows.

    ``probe`` returns (value, STATE token, pid) and may raise: a failed call is counted (a
    restarting server refuses connections for a while, a tool may delete a function for a
    moment) and the loop goes on.
    """

    def __init__(self, probe: Callable[[], tuple[int, int, int]]) -> None:
        self._probe = probe
        self._seen: dict[int, Seen] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._errors = 0
        self._thread = threading.Thread(target=self._run, name="bench-field-host", daemon=True)

    def start(self) -> ThreadPoller:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        probe, stop = self._probe, self._stop
        last: int | None = None
        while not stop.is_set():
            try:
                value, born, pid = probe()
            except Exception:  # counted and reported as host errors; the loop must go on
                with self._cond:
                    self._errors += 1
                last = None
                time.sleep(0.002)  # do not spin against a server that is restarting
                continue
            if value != last:
                now = time.monotonic_ns()
                with self._cond:
                    self._seen.setdefault(value, Seen(value, now, born, pid))
                    self._cond.notify_all()
                last = value
            time.sleep(POLL_INTERVAL_S)

    def expect(self, value: int) -> int:
        return value

    def wait(self, token: int, timeout: float) -> Seen | None:
        with self._cond:
            self._cond.wait_for(lambda: token in self._seen, timeout)
            return self._seen.get(token)

    def errors(self) -> int:
        with self._cond:
            return self._errors


class FileTail:
    """Reads the lines a host process writes (``value seen_ns born pid``, or ``E:Name ...`` for
    a failed call); the times in them are the host's own, so reading late costs no accuracy."""

    def __init__(self, path: Path, alive: Callable[[], bool]) -> None:
        self._path = path
        self._alive = alive
        self._offset = 0
        self._partial = ""
        self._seen: dict[int, Seen] = {}
        self._errors = 0

    def _read(self) -> None:
        try:
            with open(self._path, encoding="ascii") as f:
                f.seek(self._offset)
                chunk = f.read()
                self._offset = f.tell()
        except FileNotFoundError:
            return
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        for line in lines:
            parts = line.split()
            if len(parts) != 4:
                continue
            if parts[0].startswith("E:"):
                self._errors += 1
                continue
            value = int(parts[0])
            born = int(parts[2])
            seen = Seen(value, int(parts[1]), born if born >= 0 else None, int(parts[3]))
            self._seen.setdefault(value, seen)

    def expect(self, value: int) -> int:
        return value

    def wait(self, token: int, timeout: float) -> Seen | None:
        deadline = time.monotonic() + timeout
        while True:
            self._read()
            if token in self._seen or time.monotonic() >= deadline or not self._alive():
                return self._seen.get(token)
            time.sleep(FILE_POLL_S)

    def errors(self) -> int:
        self._read()
        return self._errors


class _LiveStop:
    """A stop_event for watchfiles whose first poll says the Rust watcher is live."""

    def __init__(self) -> None:
        self.stopped = False
        self.live = threading.Event()

    def is_set(self) -> bool:
        self.live.set()
        return self.stopped


class FloorWatch:
    """The floor: a bare ``watchfiles.watch`` with hotreload's settings; a save is "seen" when
    its batch is yielded. Nothing is loaded, so there is no state to keep."""

    def __init__(self, path: Path) -> None:
        from benchmarks.latency import BATCH_CAP_MS, STEP_MS

        self._path = os.path.normpath(path)
        self._step, self._cap = STEP_MS, BATCH_CAP_MS
        self._batches: list[int] = []
        self._cond = threading.Condition()
        self._signal = _LiveStop()
        self._thread = threading.Thread(target=self._watch, name="bench-field-floor", daemon=True)

    def _watch(self) -> None:
        import watchfiles

        for _changes in watchfiles.watch(
            os.path.dirname(self._path),
            watch_filter=lambda _change, p: os.path.normpath(p) == self._path,
            debounce=max(self._cap, self._step),
            step=self._step,
            stop_event=self._signal,
            rust_timeout=0,
            recursive=False,
            raise_interrupt=False,
        ):
            now = time.monotonic_ns()
            with self._cond:
                self._batches.append(now)
                self._cond.notify_all()

    def start(self) -> FloorWatch:
        self._thread.start()
        if not self._signal.live.wait(10):
            raise RuntimeError("watchfiles did not start within 10 s")
        return self

    def stop(self) -> None:
        self._signal.stopped = True
        self._thread.join(5)

    def expect(self, value: int) -> tuple[int, int]:
        with self._cond:
            return value, len(self._batches)

    def wait(self, token: tuple[int, int], timeout: float) -> Seen | None:
        value, before = token
        with self._cond:
            self._cond.wait_for(lambda: len(self._batches) > before, timeout)
            if len(self._batches) > before:
                return Seen(value, self._batches[before], None, None)
            return None

    def errors(self) -> int:
        return 0


def _ms(ns: int) -> float:
    return ns / 1e6


def _save_and_wait(
    observer: Observer,
    writer: Any,
    path: Path,
    kind: FieldKind,
    value: int,
    style: SaveStyle,
    timeout: float,
) -> tuple[int, Seen | None]:
    """Save ``value`` now; (the save's monotonic ns, what the observer saw or None)."""
    token = observer.expect(value)
    saved = int(writer.save(path, field_module(kind, value), style))
    return saved, observer.wait(token, timeout)


def measure(
    observer: Observer,
    writer: Any,
    path: Path,
    *,
    kind: FieldKind,
    styles: list[SaveStyle],
    edits: int,
    timeout: float,
    gap: tuple[float, float],
    seed: int,
    initial: Seen | None,
) -> dict[str, Any]:
    """Save ``edits`` times per style; per style the latency summary, the misses and the state.

    ``initial`` is what the host saw before the first save (None for the floor). Unmeasured
    in-place saves go first until one is seen, so every tool is live and warm before timing.
    """
    rng = random.Random(seed)
    warm, warm_ms, tries = None, None, 0
    while warm is None and tries < WARMUP_TRIES:
        # A tool may start watching only after its host is running (hmr runs the entry file
        # first): save again until one save is seen, within a bound.
        tries += 1
        saved, warm = _save_and_wait(
            observer, writer, path, kind, WARMUP_VALUE - tries, "inplace", timeout / 2
        )
        warm_ms = _ms(warm.seen_ns - saved) if warm else None
    time.sleep(rng.uniform(*gap))
    last = warm or initial
    out: dict[str, Any] = {"warmup_ms": warm_ms, "warmup_tries": tries, "styles": {}}
    value = FIRST_VALUE
    for style in styles:
        samples: list[float] = []
        missed = tried = kept = lost = restarted = 0
        stopped_early = False
        errors_before = observer.errors()
        for _ in range(edits):
            value += 1
            tried += 1
            saved, seen = _save_and_wait(observer, writer, path, kind, value, style, timeout)
            if seen is None:
                missed += 1
                if not samples and missed >= MISS_STREAK:
                    stopped_early = True
                    break
            else:
                samples.append(_ms(seen.seen_ns - saved))
                if seen.born is not None and last is not None and last.born is not None:
                    if seen.born == last.born:
                        kept += 1
                    else:
                        lost += 1
                    if seen.pid != last.pid:
                        restarted += 1
                last = seen
            time.sleep(rng.uniform(*gap))
        out["styles"][style] = {
            **summary(samples, missed=missed),
            "tried": tried,
            "stopped_early": stopped_early,
            "samples_ms": samples,
            "state": {"kept": kept, "lost": lost, "restarted": restarted},
            "host_errors": observer.errors() - errors_before,
        }
    return out


class _Measure(NamedTuple):
    """What every runner passes on to ``measure``."""

    kind: FieldKind
    styles: list[SaveStyle]
    edits: int
    timeout: float
    gap: tuple[float, float]
    seed: int

    @classmethod
    def of(cls, args: dict[str, Any], c: Contender) -> _Measure:
        return cls(
            args["kind"],
            list(args["styles"]),
            int(args["edits"]),
            float(args["timeout"]),
            RESTART_GAP_S if c.restarts else GAP_S,
            int(args.get("seed", 1)),
        )

    def run(self, observer: Observer, writer: Any, path: Path, initial: Seen | None) -> Any:
        return measure(
            observer,
            writer,
            path,
            kind=self.kind,
            styles=self.styles,
            edits=self.edits,
            timeout=self.timeout,
            gap=self.gap,
            seed=self.seed,
            initial=initial,
        )


def _target(args: dict[str, Any]) -> Path:
    return Path(args["root"]) / f"{BIG_MODULE}.py"


def hotreload_run(args: dict[str, Any]) -> dict[str, Any]:
    """hotreload in this process, as a host uses it: ``up()``, a binding, a calling thread."""
    from benchmarks.latency import Writer
    from hotreload import up

    plan = _Measure.of(args, contender("hotreload"))
    writer = Writer()
    poller: ThreadPoller | None = None
    try:
        began = time.perf_counter()
        server = up(Path(args["root"]) / "hotreload.toml", env="development")
    except BaseException:
        writer.close()
        raise
    try:
        up_ms = (time.perf_counter() - began) * 1000
        export = "current_value"
        call = getattr(server.module(BIG_MODULE), export)  # as the latency section calls it
        pid = os.getpid()

        def probe() -> tuple[int, int, int]:
            value = call()
            return value, sys.modules[BIG_MODULE].STATE["born"], pid

        poller = ThreadPoller(probe).start()
        initial = poller.wait(0, READY_TIMEOUT_S)
        result: dict[str, Any] = plan.run(poller, writer, _target(args), initial)
        result["up_ms"] = up_ms
        return result
    finally:
        if poller is not None:
            poller.stop()
        server.stop()
        writer.close()


def floor_run(args: dict[str, Any]) -> dict[str, Any]:
    """The bare watcher on the module's directory: the least any watchfiles-based tool costs."""
    from benchmarks.latency import Writer

    plan = _Measure.of(args, contender("floor"))
    writer = Writer()
    floor = FloorWatch(_target(args))
    try:
        floor.start()
        result: dict[str, Any] = plan.run(floor, writer, _target(args), None)
        return result
    finally:
        floor.stop()
        writer.close()


HOST_SCRIPT = """\
\"\"\"Benchmark host: calls the module's export in a thread; writes each new result with the
monotonic time it was first seen, the module's STATE token and this process's id.\"\"\"
import os
import sys
import threading
import time

sys.path.insert(0, {root!r})
import {module} as target


def _poll():
    last = None
    with open({out!r}, "a", encoding="ascii") as out:
        while True:
            try:
                value = str(int(target.current_value()))
            except Exception as e:  # a tool may remove the function for a moment
                value = "E:" + type(e).__name__
            if value != last:
                seen = time.monotonic_ns()
                try:
                    born = int(target.STATE["born"])
                except Exception:
                    born = -1
                out.write(f"{{value}} {{seen}} {{born}} {{os.getpid()}}\\n")
                out.flush()
                last = value
            time.sleep({interval!r})


# hmr runs this entry file again when a module it imported changes: start the loop once.
if not getattr(sys, "_bench_host_started", False):
    sys._bench_host_started = True
    threading.Thread(target=_poll, name="bench-host", daemon=True).start()
if {block!r}:  # jurigged returns when the script ends; hmr must get its main thread back
    while True:
        time.sleep(3600)
"""


def _tool_command(name: str, bin_dir: Path, project: Path, host: Path) -> list[str]:
    if name == "jurigged":
        return [str(bin_dir / "jurigged"), "--debounce", "0.001", "-w", str(project), str(host)]
    if name == "jurigged-default":
        return [str(bin_dir / "jurigged"), "-w", str(project), str(host)]
    if name == "hmr":
        return [str(bin_dir / "hmr"), str(host)]
    raise KeyError(name)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _still_running(c: Contender, child: Any, log_path: Path) -> None:
    """A tool that died during the saves failed: its misses would not be the tool's figures."""
    code = child.process.poll()
    if code is not None:
        raise RuntimeError(f"{c.name} exited ({code}) during the saves:\n{_log_tail(log_path)}")


def tool_run(args: dict[str, Any]) -> dict[str, Any]:
    """jurigged or hmr driven by its own CLI, running a host script that polls the export."""
    from benchmarks.latency import Writer
    from benchmarks.proc import Spawned, child_env

    c = contender(args["contender"])
    plan = _Measure.of(args, c)
    project = Path(args["root"])
    with tempfile.TemporaryDirectory(prefix="hotreload-bench-field-") as scratch:
        outside = Path(scratch)  # not watched: the host's output must not look like a change
        (outside / "out").mkdir()
        results = outside / "out" / "seen.txt"
        host = outside / "host.py"
        block = c.name != "hmr"
        host.write_text(
            HOST_SCRIPT.format(
                root=str(project),
                module=BIG_MODULE,
                out=str(results),
                interval=POLL_INTERVAL_S,
                block=block,
            ),
            encoding="utf-8",
        )
        log_path = outside / "out" / "tool.log"
        command = _tool_command(c.name, Path(args["bin"]), project, host)
        with open(log_path, "wb") as log, ExitStack() as stack:
            writer = Writer()
            stack.callback(writer.close)
            tool = Spawned(command, cwd=project, stdout=log, stderr=log, env=child_env())
            stack.callback(tool.stop)  # stopped first: callbacks run last in, first out
            tail = FileTail(results, alive=lambda: tool.process.poll() is None)
            initial = tail.wait(0, READY_TIMEOUT_S)
            if initial is None:
                raise RuntimeError(
                    f"{c.name} did not run the host within {READY_TIMEOUT_S:g} s "
                    f"(exit {tool.process.poll()}):\n{_log_tail(log_path)}"
                )
            result: dict[str, Any] = plan.run(tail, writer, _target(args), initial)
            _still_running(c, tool, log_path)
            result["command"] = command
            return result


WEB_HOST_SCRIPT = """\
\"\"\"Benchmark web host: hotreload in-process, then uvicorn serving the app on the loop.\"\"\"
import sys

sys.path.insert(0, {root!r})
import uvicorn

import hotreload

server = hotreload.up({manifest!r}, env="development")
try:
    import {app_module}

    uvicorn.run({app_module}.app, host="127.0.0.1", port={port}, log_level="warning")
finally:
    server.stop()
"""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class HttpProbe:
    """GET / on the app over one keep-alive connection, reconnecting after a failure."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._conn: http.client.HTTPConnection | None = None

    def __call__(self) -> tuple[int, int, int]:
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
            self._conn.request("GET", "/")
            response = self._conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            data = json.loads(body)
            return int(data["value"]), int(data["born"]), int(data["pid"])
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _web_command(name: str, bin_dir: Path, project: Path, host: Path, port: int) -> list[str]:
    address = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    app = f"{WEBAPP_MODULE}:app"
    if name == "hotreload-web":
        return [str(bin_dir / "python"), str(host)]
    if name == "uvicorn-hmr":
        return [str(bin_dir / "uvicorn-hmr"), app, *address]
    if name == "uvicorn-reload":
        reload = ["--reload", "--reload-delay", "0", "--reload-dir", str(project)]
        return [str(bin_dir / "uvicorn"), app, *address, *reload]
    raise KeyError(name)


def web_run(args: dict[str, Any]) -> dict[str, Any]:
    """A web server serving the app; a client polls it and sees each new response."""
    from benchmarks.latency import Writer
    from benchmarks.proc import Spawned, child_env

    c = contender(args["contender"])
    plan = _Measure.of(args, c)
    project = Path(args["root"])
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hotreload-bench-web-") as scratch:
        outside = Path(scratch)
        host = outside / "web_host.py"
        host.write_text(
            WEB_HOST_SCRIPT.format(
                root=str(project),
                manifest=str(project / "hotreload.toml"),
                app_module=WEBAPP_MODULE,
                port=port,
            ),
            encoding="utf-8",
        )
        log_path = outside / "server.log"
        command = _web_command(c.name, Path(args["bin"]), project, host, port)
        probe = HttpProbe(port)
        with open(log_path, "wb") as log, ExitStack() as stack:
            writer = Writer()
            stack.callback(writer.close)
            server = Spawned(command, cwd=project, stdout=log, stderr=log, env=child_env())
            stack.callback(server.stop)
            stack.callback(probe.close)  # once the poller is stopped (the line below)
            poller = ThreadPoller(probe).start()
            stack.callback(poller.stop)
            initial = poller.wait(0, READY_TIMEOUT_S)
            if initial is None:
                raise RuntimeError(
                    f"{c.name} did not answer on port {port} within {READY_TIMEOUT_S:g} s "
                    f"(exit {server.process.poll()}):\n{_log_tail(log_path)}"
                )
            result: dict[str, Any] = plan.run(poller, writer, _target(args), initial)
            _still_running(c, server, log_path)
            result["command"] = command
            return result


RUNNERS: dict[Observe, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "inprocess": hotreload_run,
    "floor": floor_run,
    "file": tool_run,
    "http": web_run,
}


def run(args: dict[str, Any]) -> dict[str, Any]:
    """The child job: one contender on one module kind, every save style.

    args: contender, kind, root, styles, edits, timeout, bin (the side venv's bin), seed.
    """
    return RUNNERS[contender(args["contender"]).observe](args)
