"""Save-to-live latency: hotreload, a bare watcher (the floor) and a restart reloader.

Every contender is timed the same way: a separate writer process saves the module (as an
editor would) and reports ``time.monotonic_ns()`` taken right after the save; the contender
reports the monotonic time at which the new result was first seen. CLOCK_MONOTONIC is one
clock for every process on Linux, so the difference is the save-to-live latency, and the host's
threads never delay the save's timestamp (they would if the writer shared their GIL).
"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from benchmarks.projects import SaveStyle, big_module, write_big_project
from benchmarks.stats import summary
from hotreload.words import DEFAULT_DEBOUNCE_MS

HostMode = Literal["poll", "busy"]
Kind = Literal["accept", "reject"]

POLL_INTERVAL_S = 0.0002  # the polling host's pause between calls: "tight-ish", GIL-friendly
GAP_S = (0.03, 0.08)  # pause after a save is seen, so every save starts a fresh batch
RESTART_GAP_S = (0.1, 0.2)
# hotreload's development default (debounce_ms -> the watcher's step), so the floor has its settings
STEP_MS = DEFAULT_DEBOUNCE_MS
BATCH_CAP_MS = 500
RESTART_IMPORTS = (
    "asyncio",
    "decimal",
    "email.parser",
    "http.client",
    "json",
    "logging",
    "urllib.request",
)
WARMUP_S = 0.3


class HostPoller:
    """A host thread calling an export over and over; notes when each new result first shows.

    ``interval_s`` > 0 sleeps between calls (a host that also waits on I/O, as servers do);
    0 spins without pause, holding the GIL as a CPU-bound host does.
    """

    def __init__(self, call: Callable[[], Any], *, interval_s: float) -> None:
        self._call = call
        self._interval = interval_s
        self._seen: dict[Any, int] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.calls = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="bench-host", daemon=True)

    def start(self) -> HostPoller:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        call, interval, stop = self._call, self._interval, self._stop
        last: Any = object()
        calls = 0
        while not stop.is_set():
            try:
                value = call()
            except Exception:  # a call must never fail; count it, the run reports errors
                self.errors += 1
                value = None
            calls += 1
            if value != last:
                now = time.monotonic_ns()
                with self._cond:
                    self._seen.setdefault(value, now)
                    self._cond.notify_all()
                last = value
            if interval:
                time.sleep(interval)
        self.calls = calls

    def wait_for(self, value: Any, timeout: float) -> int | None:
        """When ``value`` was first returned (monotonic ns), or None if not within ``timeout``."""
        with self._cond:
            self._cond.wait_for(lambda: value in self._seen, timeout)
            return self._seen.get(value)


class EventClock:
    """An ``on_event`` listener that notes when each event arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []
        self._cond = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        now = time.monotonic_ns()
        with self._cond:
            self.events.append((now, event))
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def wait(self, name: str, *, after: int, timeout: float) -> tuple[int, dict[str, Any]] | None:
        """The first ``name`` event after position ``after`` (arrival ns, event), or None."""

        def find() -> tuple[int, dict[str, Any]] | None:
            return next((e for e in self.events[after:] if e[1]["event"] == name), None)

        with self._cond:
            self._cond.wait_for(lambda: find() is not None, timeout)
            return find()

    def since(self, after: int) -> list[dict[str, Any]]:
        with self._cond:
            return [e for _, e in self.events[after:]]


class Writer:
    """The editor: a separate process that saves files and reports when they are on disk."""

    def __init__(self) -> None:
        from benchmarks.proc import LineChannel, Spawned, job_command

        self._child = Spawned(
            job_command("writer", {}), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._channel = LineChannel(self._child)
        self._channel.send({"ping": True})
        self._channel.receive(timeout=30)

    def save(self, path: Path, text: str, style: SaveStyle) -> int:
        """Save now; the monotonic ns taken right after the content was on disk."""
        self._channel.send({"path": str(path), "text": text, "style": style})
        return int(self._channel.receive(timeout=10)["t"])

    def close(self) -> None:
        self._child.stop()


class BatchClock:
    """Times the server's batch handler: when the watcher delivered a batch, and how long the
    server took with it (decide, apply, emit; a one- or two-file save was read and checked
    during the burst's wait, before delivery). Instrumentation only: it wraps the
    watcher's ``on_batch`` attribute, and the run goes on without a breakdown if that is not
    there.
    """

    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def attach(self, server: Any) -> bool:
        watcher = getattr(getattr(server, "_reloading", None), "watcher", None)
        inner = getattr(watcher, "on_batch", None)
        if watcher is None or inner is None:
            return False

        def timed(paths: list[Path], *rest: Any) -> None:
            began = time.monotonic_ns()
            try:
                inner(paths, *rest)
            finally:
                ended = time.monotonic_ns()
                with self._lock:
                    self.batches.append((began, ended))

        watcher.on_batch = timed
        return True

    def mark(self) -> int:
        with self._lock:
            return len(self.batches)

    def first_after(self, mark: int) -> tuple[int, int] | None:
        with self._lock:
            return self.batches[mark] if len(self.batches) > mark else None


def _ms(ns: int) -> float:
    return ns / 1e6


def _pause(rng: random.Random, gap: tuple[float, float]) -> None:
    time.sleep(rng.uniform(*gap))


def hotreload_run(args: dict[str, Any]) -> dict[str, Any]:
    """Edits of a module under a real in-process server, seen by a host thread via a binding.

    args: root, module, export, styles, edits, kind ("accept" or "reject"), host ("poll" or
    "busy"), timeout, seed, generator ("big", "scale" or "heap"), index (for "scale"), edit
    (for "heap": "body" or "closure"), heap_objects (live objects made before the server starts,
    default 0).
    """
    from benchmarks.projects import heap_module, scale_module
    from hotreload import up

    heap = make_heap(int(args.get("heap_objects", 0)))

    root = Path(args["root"])
    module, export = args["module"], args["export"]
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    kind: Kind = args["kind"]
    timeout = float(args["timeout"])
    rng = random.Random(args["seed"])
    interval = POLL_INTERVAL_S if args["host"] == "poll" else 0.0

    def text_for(value: int) -> str:
        if args["generator"] == "scale":
            return scale_module(int(args["index"]), value)
        if args["generator"] == "heap":
            return heap_module(value, str(args["edit"]))
        return big_module(value, broken=kind == "reject", field=True)

    clock = EventClock()
    writer = Writer()
    began = time.perf_counter()
    server = up(root / "hotreload.toml", env="development", on_event=clock, stderr=False)
    up_ms = (time.perf_counter() - began) * 1000
    poller: HostPoller | None = None
    results: dict[str, Any] = {"up_ms": up_ms, "styles": {}}
    batch_clock = BatchClock()
    try:
        results["breakdown"] = batch_clock.attach(server)
        call = getattr(server.module(module), export)
        poller = HostPoller(call, interval_s=interval).start()
        value = 1000
        for style in args["styles"]:
            samples: list[float] = []
            to_batch: list[float] = []
            batch_to_live: list[float] = []
            handler: list[float] = []
            missed = 0
            other_events: dict[str, int] = {}
            for _ in range(int(args["edits"])):
                value += 1
                text = text_for(value)
                mark = clock.mark()
                batch_mark = batch_clock.mark()
                saved = writer.save(path, text, style)
                if kind == "accept":
                    seen = poller.wait_for(value, timeout)
                    wanted = "reload.accepted"
                else:
                    found = clock.wait("reload.rejected", after=mark, timeout=timeout)
                    seen = found[0] if found else None
                    wanted = "reload.rejected"
                if seen is None:
                    missed += 1
                else:
                    samples.append(_ms(seen - saved))
                    batch = batch_clock.first_after(batch_mark)
                    if batch is not None:
                        to_batch.append(_ms(batch[0] - saved))
                        batch_to_live.append(_ms(seen - batch[0]))
                        handler.append(_ms(batch[1] - batch[0]))
                _pause(rng, GAP_S)
                for event in clock.since(mark):
                    name = str(event["event"])
                    if name != wanted:
                        other_events[name] = other_events.get(name, 0) + 1
            results["styles"][style] = {
                **summary(samples, missed=missed),
                "samples_ms": samples,
                "save_to_batch_ms": summary(to_batch),
                "batch_to_live_ms": summary(batch_to_live),
                "batch_handler_ms": summary(handler),
                "other_events": other_events,
            }
        results["host_errors"] = poller.errors
        results["heap_objects"] = len(heap)
        results["gc_tracked"] = _tracked()
    finally:
        if poller is not None:
            poller.stop()
        server.stop()
        writer.close()
    return results


class _Small:
    """A small object the collector tracks (a data or ML process holds millions of such)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


def make_heap(count: int) -> list[_Small]:
    return [_Small(i) for i in range(count)]


def _tracked() -> int:
    """How many objects the collector tracks (what a walk of the whole heap goes through)."""
    import gc

    return len(gc.get_objects())


class _LiveStop:
    """A minimal stop_event: records that watchfiles' Rust loop polls it (= watches are live)."""

    def __init__(self) -> None:
        self.stopped = False
        self.live = threading.Event()

    def is_set(self) -> bool:
        if not self.live.is_set():
            self.live.set()
        return self.stopped


def floor_run(args: dict[str, Any]) -> dict[str, Any]:
    """The floor: a bare ``watchfiles.watch`` with hotreload's settings; save -> batch yielded.

    A host thread polls a plain function the same way as in the hotreload run, so both see the
    same competition for the GIL. args: root, module, styles, edits, host, timeout, seed.
    """
    import watchfiles

    root = Path(args["root"])
    path = os.path.normpath(root.joinpath(*args["module"].split(".")).with_suffix(".py"))
    timeout = float(args["timeout"])
    rng = random.Random(args["seed"])
    interval = POLL_INTERVAL_S if args["host"] == "poll" else 0.0
    batches: list[int] = []
    cond = threading.Condition()
    signal = _LiveStop()

    def watch() -> None:
        for _changes in watchfiles.watch(
            os.path.dirname(path),
            watch_filter=lambda _change, p: os.path.normpath(p) == path,
            debounce=max(BATCH_CAP_MS, STEP_MS),
            step=STEP_MS,
            stop_event=signal,
            rust_timeout=0,
            recursive=False,
            raise_interrupt=False,
        ):
            now = time.monotonic_ns()
            with cond:
                batches.append(now)
                cond.notify_all()

    def plain() -> int:
        return 0

    writer = Writer()
    watcher = threading.Thread(target=watch, name="bench-floor", daemon=True)
    poller = HostPoller(plain, interval_s=interval)
    results: dict[str, Any] = {"styles": {}}
    try:
        watcher.start()
        if not signal.live.wait(10):
            raise RuntimeError("watchfiles did not start within 10 s")
        poller.start()
        value = 1000
        for style in args["styles"]:
            samples: list[float] = []
            missed = 0
            extra_batches = 0
            for _ in range(int(args["edits"])):
                value += 1
                text = big_module(value, field=True)
                with cond:
                    before = len(batches)
                saved = writer.save(Path(path), text, style)
                with cond:
                    cond.wait_for(lambda n=before: len(batches) > n, timeout)  # type: ignore[misc]
                    got = batches[before] if len(batches) > before else None
                if got is None:
                    missed += 1
                else:
                    samples.append(_ms(got - saved))
                _pause(rng, GAP_S)
                with cond:
                    extra_batches += max(0, len(batches) - before - 1)
            results["styles"][style] = {
                **summary(samples, missed=missed),
                "samples_ms": samples,
                "extra_batches": extra_batches,
            }
    finally:
        signal.stopped = True
        poller.stop()
        watcher.join(5)
        writer.close()
    return results


def inotify_floor_run(args: dict[str, Any]) -> dict[str, Any]:
    """The raw floor: inotify read with inotify_simple, blocking in poll; save -> the kernel's
    event that the file is whole (IN_CLOSE_WRITE or IN_MOVED_TO of the module) read. The same
    polling host thread. args: root, module, styles, edits, host, timeout, seed."""
    import select

    from inotify_simple import INotify, flags

    root = Path(args["root"])
    path = root.joinpath(*args["module"].split(".")).with_suffix(".py")
    timeout = float(args["timeout"])
    rng = random.Random(args["seed"])
    interval = POLL_INTERVAL_S if args["host"] == "poll" else 0.0
    seen: list[int] = []
    cond = threading.Condition()
    inotify = INotify()
    inotify.add_watch(str(path.parent), flags.CLOSE_WRITE | flags.MOVED_TO)
    wake_read, wake_write = os.pipe()
    stopped = threading.Event()

    def watch() -> None:
        poller = select.poll()
        poller.register(inotify.fileno(), select.POLLIN)
        poller.register(wake_read, select.POLLIN)
        while not stopped.is_set():
            poller.poll()
            for event in inotify.read(timeout=0):
                if event.name == path.name:
                    now = time.monotonic_ns()
                    with cond:
                        seen.append(now)
                        cond.notify_all()

    def plain() -> int:
        return 0

    writer = Writer()
    watcher = threading.Thread(target=watch, name="bench-inotify", daemon=True)
    host = HostPoller(plain, interval_s=interval)
    results: dict[str, Any] = {"styles": {}}
    try:
        watcher.start()
        host.start()
        value = 1000
        for style in args["styles"]:
            samples: list[float] = []
            missed = 0
            for _ in range(int(args["edits"])):
                value += 1
                with cond:
                    before = len(seen)
                saved = writer.save(path, big_module(value, field=True), style)
                with cond:
                    cond.wait_for(lambda n=before: len(seen) > n, timeout)  # type: ignore[misc]
                    got = seen[before] if len(seen) > before else None
                if got is None:
                    missed += 1
                else:
                    samples.append(_ms(got - saved))
                _pause(rng, GAP_S)
            results["styles"][style] = {**summary(samples, missed=missed), "samples_ms": samples}
    finally:
        stopped.set()
        os.write(wake_write, b"x")
        host.stop()
        watcher.join(5)
        writer.close()
        inotify.close()
        os.close(wake_read)
        os.close(wake_write)
    return results


HOST_SCRIPT = """\
import signal, sys, time
started = time.monotonic_ns()
# run_process stops a host with SIGINT; a shell may have started us with SIGINT ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
import {imports}
sys.path.insert(0, {module_dir!r})
import {module}
time.sleep({warmup!r})  # warm-up: a real app loads a model, fills a cache, connects ...
value = {module}.{export}()
seen = time.monotonic_ns()
with open({result!r}, "a") as f:
    f.write(f"{{value}} {{seen}} {{started}}\\n")
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
"""


def _read_lines(path: Path) -> list[tuple[int, int, int]]:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3:
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def _wait_result(path: Path, value: int, timeout: float) -> tuple[int, int] | None:
    """The (seen, started) times the host wrote for ``value``; polls the file every 2 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got, seen, started in _read_lines(path):
            if got == value:
                return seen, started
        time.sleep(0.002)
    return None


def restart_run(args: dict[str, Any]) -> dict[str, Any]:
    """``watchfiles.run_process`` restarting a host that imports the module and warms up.

    The reloader gets hotreload's own step and batch cap (faster than run_process's defaults of
    50 ms and 1600 ms), so the comparison favours it. args: root, module, export, styles,
    edits, timeout, seed.
    """
    from benchmarks.proc import Spawned, job_command

    root = Path(args["root"])
    module, export = args["module"], args["export"]
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    timeout = float(args["timeout"])
    rng = random.Random(args["seed"])
    results: dict[str, Any] = {"styles": {}, "imports": list(RESTART_IMPORTS), "warmup_s": WARMUP_S}
    with tempfile.TemporaryDirectory(prefix="hotreload-bench-restart-") as scratch:
        outside = Path(scratch)  # not watched: the host's output must not trigger a restart
        result_file = outside / "results.txt"
        host = outside / "host.py"
        host.write_text(
            HOST_SCRIPT.format(
                imports=", ".join(RESTART_IMPORTS),
                module_dir=str(root),
                module=module,
                export=export,
                warmup=WARMUP_S,
                result=str(result_file),
            ),
            encoding="utf-8",
        )
        command = shlex.join([sys.executable, str(host)])
        log = open(outside / "supervisor.log", "wb")  # closed in the finally below
        writer = Writer()
        supervisor = Spawned(
            job_command(
                "restart-supervisor",
                {"dir": str(root), "command": command, "step": STEP_MS, "debounce": BATCH_CAP_MS},
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            if _wait_result(result_file, 0, 30) is None:
                raise RuntimeError("the restart reloader's host did not start within 30 s")
            time.sleep(0.3)  # the supervisor's watcher starts after the first host
            value = 1000
            for style in args["styles"]:
                samples: list[float] = []
                to_start: list[float] = []
                missed = 0
                for _ in range(int(args["edits"])):
                    value += 1
                    saved = writer.save(path, big_module(value, field=True), style)
                    got = _wait_result(result_file, value, timeout)
                    if got is None:
                        missed += 1
                    else:
                        samples.append(_ms(got[0] - saved))
                        to_start.append(_ms(got[1] - saved))
                    _pause(rng, RESTART_GAP_S)
                results["styles"][style] = {
                    **summary(samples, missed=missed),
                    "samples_ms": samples,
                    "save_to_process_start": summary(to_start),
                }
        finally:
            supervisor.stop()
            writer.close()
            log.close()
    return results


def write_project(root: Path) -> None:
    """The 500-line module project every latency contender gets a copy of."""
    write_big_project(root, value=0)
