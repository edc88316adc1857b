"""The differential harness of issue 21: a save applied to a live process (hotreload in-process)
and the same files imported by a fresh interpreter, compared by the same probe.

A case (freshcases.py) is a small project written into a directory: its files, the modules the host
imports, a probe (Python expressions over its modules) and its edits. Per case the harness starts
one FRESH server (``fresh_runner.py``) that forks a plain-Python import of the project as it is on
disk whenever asked, so a fresh start's probe costs a fork, not an interpreter's start-up.

Each edit then gets a LIVE host of its own (``live_driver.py``: ``hotreload.up`` + plain imports,
events and probes as JSON lines), forked by a zygote that imported hotreload once (one zygote per
worker thread): its probe at start-up must equal the fresh one. The harness writes the edit's
files as an editor does (temp files renamed over them, all in one go), waits for the terminal event
of every changed module the host tracks, probes both sides and judges; the host is then killed. No
edit shares a live process with another: the engine keeps state across saves (a module it analysed
for an earlier reload is followed later, one it never analysed is not), so a shared host would make
an edit's verdict depend on the edits before it.

Verdict of a save: PASS if every outcome is ``reload.accepted`` / ``reload.unchanged`` and the live
probe equals the fresh one (``kept`` names excepted: those equal their value before), or if the
outcome is ``reload.restart_needed`` (or, for an edit that must be rejected, a rejection with an
expected reason) and the live probe equals the probe before the save: nothing changed. FAIL
otherwise, with the differing keys and the events. Only the public API is used, never the package's
internals: the children talk JSON lines over pipes.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIVE_DRIVER = HERE / "live_driver.py"
FRESH_RUNNER = HERE / "fresh_runner.py"

WAIT = 15.0  # upper bound for one awaited line or process; a passing wait returns at once
TERMINAL = ("reload.accepted", "reload.rejected", "reload.unchanged", "reload.restart_needed")
RETRIED = "(tried again when another module of the project changes)"  # engine's wording
TROUBLE = ("watcher.error", "listener.error", "server.failed", "server.stopped")
DEBOUNCE_MS = 20  # a multi-file edit is renamed into place within microseconds: one batch


@dataclass(frozen=True)
class Edit:
    """One save (or a short sequence of saves, each compared) of a case.

    ``saves``: each a mapping of file path (relative to the project) to its new text, or None to
    delete it. ``reject``: the edit makes a version a fresh process could not import, or one the
    contract refuses; a rejection with one of these reasons (or ``reload.restart_needed``) that
    changed nothing is right, an acceptance is wrong. ``fails_today``: what differs with today's
    engine (the test is a strict xfail until a fix makes it pass).
    """

    name: str
    saves: tuple[Mapping[str, str | None], ...]
    reject: tuple[str, ...] = ()
    fails_today: str | None = None


@dataclass(frozen=True)
class Case:
    """A small project and the edits tried on it (each in a live host of its own)."""

    group: str
    name: str
    files: Mapping[str, str]
    probe: tuple[str, ...]
    edits: tuple[Edit, ...]
    imports: tuple[str, ...] = ()  # what the host imports after hotreload.up(), in order
    main: str | None = None  # the module a probe names ``m``; default: the last import
    manifest: str = ""  # TOML after an empty [modules]: [modules.X] tables, if any
    manifest_modules: tuple[str, ...] = ()  # the manifest's modules, loaded by the server first
    kept: tuple[str, ...] = ()  # "module:name" keys (and probe expressions) kept across saves
    setup: tuple[str, ...] = ()  # statements run in the live host before the edit (kept state)

    @property
    def main_module(self) -> str | None:
        if self.main is not None:
            return self.main
        return (self.imports or self.manifest_modules or (None,))[-1]

    def spec(self, *, fresh: bool) -> dict[str, Any]:
        imports = list(self.imports)
        if fresh:  # the server imports the manifest's modules first; a fresh start does too
            imports = [*self.manifest_modules, *imports]
        return {"imports": imports, "main": self.main_module, "probe": list(self.probe)}

    def manifest_text(self) -> str:
        return (
            f'[project]\nname = "freshstart-{self.name}"\n\n[modules]\n{self.manifest}\n'
            f"[env.development]\nreload = true\ndebounce_ms = {DEBOUNCE_MS}\n"
        )


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTRELOAD_", "PYTHON"))}
    if "HOTRELOAD_CACHE_DIR" in os.environ:  # the test session's manifest cache (conftest)
        env["HOTRELOAD_CACHE_DIR"] = os.environ["HOTRELOAD_CACHE_DIR"]
    env["PYTHONPATH"] = str(REPO)  # the code under test, whatever is installed
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a same-size edit in the same second must not hit a .pyc
    env["PYTHONHASHSEED"] = "0"  # set and dict reprs of str keys are ordered alike on both sides
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_atomic(root: Path, relative: str, text: str) -> None:
    """Save a file as editors do: a temp file beside it renamed over it."""
    save_files(root, {relative: text}, set())


def module_name(relative: str) -> str:
    parts = list(Path(relative).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class HarnessError(Exception):
    """The harness could not get an answer (a child died, a wait timed out): always a failure."""


class ForkedHost:
    """A live host forked by a zygote: not our child, so it is known by its pid and its pipes; it
    is dead once its stdout is closed (the zygote reaps it)."""

    def __init__(self, pid: int, stdin: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.stdin = open(stdin, "w", encoding="utf-8")  # closed by JsonChild.close
        self.stdout = open(stdout, encoding="utf-8")
        self.stderr = open(stderr, encoding="utf-8")
        self.returncode: int | None = None
        self.ended = threading.Event()  # set by the reader of stdout at its end

    def poll(self) -> int | None:
        return 0 if self.ended.is_set() else None

    def kill(self) -> None:
        if not self.ended.is_set():  # never signal a pid that may have been reused
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> int | None:
        if not self.ended.wait(timeout):
            raise HarnessError(f"live host {self.pid} still runs {timeout} s after SIGKILL")
        return self.returncode


class Zygote:
    """``live_driver.py --zygote``: imports hotreload once and forks a live host per request, so
    that every edit gets a host of its own for the cost of a fork."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = ours
        self._socket.settimeout(WAIT)
        self.proc = subprocess.Popen(
            [sys.executable, str(LIVE_DRIVER), "--zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()

    def spawn(self, root: Path, case: Case) -> ForkedHost:
        request = json.dumps({"root": str(root), "spec": case.spec(fresh=False)}).encode()
        pipes = [os.pipe() for _ in range(3)]  # the host's stdin, stdout, stderr
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0]]
        try:
            socket.send_fds(self._socket, [request], theirs)
            answer = json.loads(self._socket.recv(65536) or b"{}")
        except (OSError, ValueError) as error:
            answer = {"error": str(error)}
        finally:
            for fd in theirs:  # the host has its own copies now (or there is no host)
                os.close(fd)
        if "pid" not in answer:
            for fd in ours:
                os.close(fd)
            raise HarnessError(f"the zygote did not fork a live host: {answer}")
        return ForkedHost(answer["pid"], *ours)

    def close(self) -> None:
        self._socket.close()  # the zygote ends at the end of its socket
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


class JsonChild:
    """A child process of the harness talking JSON lines: commands on stdin, messages on stdout
    (read by a thread into a queue), stderr kept for the report. Every wait is bounded."""

    def __init__(self, proc: subprocess.Popen[str] | ForkedHost, name: str) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.proc = proc
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._messages.put(json.loads(line))
            except ValueError:
                self.stderr.append(f"[stdout, not JSON] {line.rstrip()}")
        if isinstance(self.proc, ForkedHost):
            self.proc.ended.set()
        self._messages.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def _next(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        try:
            message = self._messages.get(timeout=max(remaining, 0.0))
        except queue.Empty:
            tail = "\n".join(self.stderr[-20:])
            raise HarnessError(
                f"no {waiting_for} from the {self.name} by the deadline; its stderr's end:\n{tail}"
            ) from None
        if message is None:
            self.proc.wait(timeout=WAIT)
            tail = "\n".join(self.stderr[-20:])
            raise HarnessError(
                f"the {self.name} exited ({self.proc.returncode}) before {waiting_for}:\n{tail}"
            )
        if "event" in message:
            self.events.append(message)
        return message

    def until_driver(self, kind: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            message = self._next(deadline, f'"{kind}"')
            if message.get("driver") == "failed":
                raise HarnessError(f"the {self.name} failed to start:\n{message.get('error')}")
            if message.get("driver") == kind:
                return message

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """Kill it (a test child has nothing to save: its graceful stop would cost a third of a
        second a process) and reap it, with its reader threads and pipes."""
        try:
            if self.proc.poll() is None:
                self.proc.kill()
        finally:
            self.proc.wait(timeout=WAIT)
            for thread in self._threads:
                thread.join(timeout=WAIT)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass


class FreshServer(JsonChild):
    """``fresh_runner.py``: one process per case that forks a fresh import of the project for each
    probe (see its docstring)."""

    def __init__(self, root: Path, case: Case) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(FRESH_RUNNER), json.dumps(case.spec(fresh=True))],
            cwd=root,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        super().__init__(proc, "fresh interpreter")
        self.until_driver("ready")

    def probe(self) -> dict[str, str]:
        """The probe of a fresh start on the files as they are now; an import that fails is the
        single key ``import``."""
        self.send("probe")
        message = self.until_driver("probe")
        if "import" in message:
            return {"import": message["import"]}
        result: dict[str, str] = message["result"]
        return result


class LiveChild(JsonChild):
    """The live host: ``live_driver.py`` (hotreload.up + plain imports) in the project directory."""

    def __init__(self, zygote: Zygote, root: Path, case: Case) -> None:
        super().__init__(zygote.spawn(root, case), "live host")

    def probe(self) -> dict[str, str]:
        self.send("probe")
        result: dict[str, str] = self.until_driver("probe")["result"]
        return result

    def run(self, code: str) -> None:
        self.send("exec " + json.dumps(code))
        error = self.until_driver("done")["error"]
        if error:
            raise HarnessError(f"set-up statement {code!r} raised {error}")

    def wait_decided(self, modules: Sequence[str], after: int) -> dict[str, dict[str, Any]]:
        """The terminal event of each module (events from position ``after`` on). A rejection that
        says it will be tried again is not the last word once another module of the same save
        was decided after it: the retry's event follows."""
        deadline = time.monotonic() + WAIT

        def decided() -> dict[str, tuple[int, dict[str, Any]]] | None:
            last: dict[str, tuple[int, dict[str, Any]]] = {}
            for index, event in enumerate(self.events[after:]):
                if event.get("event") in TERMINAL and event.get("module") in modules:
                    last[event["module"]] = (index, event)
            if set(last) != set(modules):
                return None
            for index, event in last.values():
                retried = str(event.get("message", "")).endswith(RETRIED)
                if retried and any(other > index for other, _ in last.values()):
                    return None
            return last

        while (last := decided()) is None:
            missing = sorted(set(modules) - {e.get("module") for e in self.events[after:]})
            self._next(deadline, f"a decision on {missing or list(modules)}")
        return {module: event for module, (_, event) in last.items()}

    def tracked(self) -> set[str]:
        return {e["module"] for e in self.events if e.get("event") == "module.loaded"}


@dataclass
class SaveResult:
    index: int
    files: list[str]
    outcomes: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    before: dict[str, str]
    live: dict[str, str]
    fresh: dict[str, str]


@dataclass
class Report:
    ok: bool
    text: str
    saves: list[SaveResult] = field(default_factory=list)


def _short(value: str | None, limit: int = 300) -> str:
    if value is None:
        return "(absent)"
    return value if len(value) <= limit else value[:limit] + "..."


def diff(left: Mapping[str, str], right: Mapping[str, str], names: tuple[str, str]) -> list[str]:
    lines = []
    for key in sorted(set(left) | set(right), key=lambda k: (not k.startswith("probe"), k)):
        a, b = left.get(key), right.get(key)
        if a != b:
            lines.append(f"  {key}")
            lines.append(f"    {names[0]:>6}: {_short(a)}")
            lines.append(f"    {names[1]:>6}: {_short(b)}")
    return lines


def _is_kept(key: str, kept: tuple[str, ...]) -> bool:
    if key.startswith("probe: "):
        return any(k.partition(":")[2] in key for k in kept)
    return key in kept


def event_line(event: Mapping[str, Any]) -> str:
    parts = [str(event.get("event")), str(event.get("module", ""))]
    for key in ("reason", "ran", "statements", "changed", "rebound", "removed", "message"):
        value = event.get(key)
        if value not in (None, [], ""):
            parts.append(
                f"{key}={_short(json.dumps(value) if not isinstance(value, str) else value)}"
            )
    return " ".join(p for p in parts if p)


def judge_save(case: Case, edit: Edit, save: SaveResult) -> tuple[bool, list[str]]:
    """PASS/FAIL of one save, and the lines that say why."""
    kinds = {m: e["event"] for m, e in save.outcomes.items()}
    head = [f"save {save.index + 1} of edit {edit.name!r} ({', '.join(save.files)}):"]
    head += [
        f"  event: {event_line(e)}" for e in save.events if e.get("event", "") != "module.loaded"
    ]
    trouble = [e for e in save.events if e.get("event") in TROUBLE]
    if trouble:
        return False, [*head, "  FAIL: the server reported trouble (see the events above)"]
    rejected = {m: e for m, e in save.outcomes.items() if e["event"] == "reload.rejected"}
    restart = {m for m, kind in kinds.items() if kind == "reload.restart_needed"}
    if rejected:
        wrong = {
            m: e.get("reason") for m, e in rejected.items() if e.get("reason") not in edit.reject
        }
        if wrong:
            expected = f"a rejection for {', '.join(edit.reject)}, " if edit.reject else ""
            return False, [
                *head,
                f"  FAIL: rejected ({wrong}); expected {expected}an "
                "acceptance equal to a fresh start, or restart_needed",
            ]
    if rejected or restart:
        # Nothing of a module that was not applied may change; an accepted module of the same
        # batch must equal a fresh start on its own keys.
        applied = {
            m for m, kind in kinds.items() if kind in ("reload.accepted", "reload.unchanged")
        }
        expected = dict(save.before)
        for key, value in save.fresh.items():
            if key.partition(":")[0] in applied and not key.startswith("probe"):
                expected[key] = value
        lines = diff(save.live, expected, ("live", "before"))
        if lines:
            return False, [*head, "  FAIL: not applied, yet the live process changed:", *lines]
        return True, head
    if edit.reject:
        said = f"a fresh start fails: {save.fresh['import']}" if "import" in save.fresh else ""
        lines = (
            [] if said else ["  live vs fresh:", *diff(save.live, save.fresh, ("live", "fresh"))]
        )
        return False, [
            *head,
            f"  FAIL: applied a version that must be rejected ({', '.join(edit.reject)}) "
            f"or need a restart; {said}",
            *lines,
        ]
    if "import" in save.fresh:
        return False, [*head, f"  FAIL: applied, but a fresh start fails: {save.fresh['import']}"]
    expected = {}  # a fresh start's values, and the value before for what is kept on purpose
    for key in set(save.live) | set(save.fresh):
        source = save.before if _is_kept(key, case.kept) else save.fresh
        if key in source:
            expected[key] = source[key]
    lines = diff(save.live, expected, ("live", "fresh"))
    if lines:
        return False, [
            *head,
            "  FAIL: applied, and the live process differs from a fresh start:",
            *lines,
        ]
    return True, head


def reset_project(root: Path, case: Case) -> None:
    """The case's "before" files and manifest, and nothing else an earlier edit wrote."""
    root.mkdir(parents=True, exist_ok=True)
    wanted = {root / relative for relative in case.files} | {root / "hotreload.toml"}
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
    for relative, text in case.files.items():
        if not (root / relative).is_file() or (root / relative).read_text("utf-8") != text:
            write_atomic(root, relative, text)
    (root / "hotreload.toml").write_text(case.manifest_text(), encoding="utf-8")


def save_files(root: Path, files: Mapping[str, str | None], tracked: set[str]) -> None:
    """Write files as an editor's "save all" does: every new text to a temp file first, then all
    renamed into place back to back (files no running module tracks first, so that a module that
    starts to import a new file finds it), so that the watcher sees one batch."""
    order = sorted(files, key=lambda r: module_name(r) in tracked)
    temps: dict[str, Path] = {}
    for relative in order:
        text = files[relative]
        if text is not None:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            temps[relative] = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
            temps[relative].write_text(text, encoding="utf-8")
    for relative in order:
        if relative in temps:
            os.replace(temps[relative], root / relative)
        else:
            (root / relative).unlink(missing_ok=True)


def run_edit(
    zygote: Zygote,
    root: Path,
    case: Case,
    edit: Edit,
    fresh: FreshServer,
    fresh_start: dict[str, str],
) -> Report:
    """One edit in a live host of its own, started on the "before" files; killed at the end."""
    lines = [f"case {case.group}/{case.name}, edit {edit.name!r}"]
    reset_project(root, case)
    live: LiveChild | None = None
    saves: list[SaveResult] = []
    try:
        live = LiveChild(zygote, root, case)
        live.until_driver("ready")
        start = live.probe()
        startup = diff(start, fresh_start, ("live", "fresh"))
        if startup:
            lines += ["FAIL: at start-up the live process differs from a fresh start:", *startup]
            lines += ["events:", *(f"  {event_line(e)}" for e in live.events)]
            return Report(False, "\n".join(lines))
        for statement in case.setup:
            live.run(statement)
        before = live.probe() if case.setup else start
        for index, files in enumerate(edit.saves):
            tracked = live.tracked()
            after = len(live.events)
            save_files(root, files, tracked)
            changed = sorted({module_name(r) for r in files} & tracked)
            outcomes = live.wait_decided(changed, after)
            now = live.probe()
            events = live.events[after:]
            result = SaveResult(index, sorted(files), outcomes, events, before, now, fresh.probe())
            saves.append(result)
            ok, said = judge_save(case, edit, result)
            lines += said
            if not ok:
                return Report(False, "\n".join(lines), saves)
            before = now
        return Report(True, "\n".join(lines), saves)
    except HarnessError as error:
        lines.append(f"HARNESS: {error}")
        if live is not None:
            lines += ["events:", *(f"  {event_line(e)}" for e in live.events)]
            lines += ["live stderr (last lines):", *live.stderr[-30:]]
        return Report(False, "\n".join(lines), saves)
    finally:
        if live is not None:
            live.close()


def run_case(
    zygote: Zygote, root: Path, case: Case, deliver: Callable[[Edit, Report], None]
) -> None:
    """Every edit of a case, in order, each in its own live host and reported through ``deliver``
    as soon as it is judged; one fresh server for the case."""
    reset_project(root, case)
    fresh = FreshServer(root, case)
    try:
        fresh_start = fresh.probe()
        for edit in case.edits:
            if "import" in fresh_start:
                said = f"the 'before' files do not import: {fresh_start['import']}"
                deliver(edit, Report(False, said))
            else:
                deliver(edit, run_edit(zygote, root, case, edit, fresh, fresh_start))
    finally:
        fresh.close()


class SessionPool:
    """Runs the cases on a few worker threads, each with a zygote of its own, in the order the
    tests ask for them; a test waits for its own edit's report."""

    def __init__(self, base: Path, workers: int) -> None:
        self._base = base
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freshstart")
        self._reports: dict[tuple[str, str], Future[Report]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._zygotes: list[Zygote] = []

    def _zygote(self) -> Zygote:
        zygote: Zygote | None = getattr(self._local, "zygote", None)
        if zygote is None or zygote.proc.poll() is not None:
            zygote = self._local.zygote = Zygote()
            with self._lock:
                self._zygotes.append(zygote)
        return zygote

    def submit(self, case: Case) -> None:
        with self._lock:
            if (case.name, case.edits[0].name) in self._reports:
                return
            futures = {e.name: Future[Report]() for e in case.edits}
            for name, future in futures.items():
                self._reports[(case.name, name)] = future
        root = self._base / f"{case.group}_{case.name}"

        def deliver(edit: Edit, report: Report) -> None:
            futures[edit.name].set_result(report)

        def job() -> None:
            try:
                run_case(self._zygote(), root, case, deliver)
            except BaseException as error:  # surface it in every test still waiting
                for future in futures.values():
                    if not future.done():
                        future.set_exception(error)
                raise

        self._pool.submit(job)

    def result(self, case: Case, edit: Edit) -> Report:
        self.submit(case)
        return self._reports[(case.name, edit.name)].result(timeout=55.0)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for future in self._reports.values():
            future.cancel()
        for zygote in self._zygotes:
            zygote.close()
