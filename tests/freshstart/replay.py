"""The replay of real history (issue 21): consecutive released versions of a package, each written
over the previous into ONE running process, and the package's own test suite run in that process
and in a fresh interpreter on the same files, version after version.

Per version, the files change as a ``git checkout`` changes them (new files added, removed files
deleted, all renamed into place in one go); the harness waits for hotreload's decision on every
module of the package that changed, then takes from both sides a fingerprint of every module
(freshprobe.py) and the outcome of every test. The verdict of a version:

- ``equal``: every changed module accepted (or unchanged), and fingerprints and outcomes equal;
- ``restart_needed``: a module said ``reload.restart_needed``; the host is then restarted on that
  version (what ``restart = "auto"`` does) and must equal the fresh interpreter;
- ``rejected``: a module was rejected and a fresh interpreter could not import that version
  either (the rejection was right; the host is restarted so that the next version starts even);
- ``disagreement``: anything else: an accepted save that differs from the fresh interpreter, or a
  rejection of a version a fresh interpreter imports. Each is a bug (or a known gap): minimized
  into tests/freshstart/cases_replay.py. The host is then restarted, so that one difference does
  not hide the versions after it; the count of restarts is in the report.

``python tests/freshstart/replay.py [PACKAGE ...]`` prints the report; the tests
(test_replay.py, ``pytest -m replay``) hold the counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script too

from freshharness import (
    TROUBLE,
    HarnessError,
    JsonChild,
    LiveChild,
    child_env,
    event_line,
    module_name,
)
from replay_sources import PACKAGES, Package, versions

HERE = Path(__file__).resolve().parent
CHILD = HERE / "replay_child.py"
SUITE_WAIT = 120.0  # one run of a package's suite; they take a few seconds
DEBOUNCE_MS = 20  # a version is renamed into place within a millisecond: one batch
REPORTS: list[Replay] = []  # what this process replayed, for pytest's summary (conftest.py)

MANIFEST = """\
[project]
name = "replay-{name}"
root = "src"

[modules]

[env.development]
reload = true
debounce_ms = {debounce}
"""


def replay_env() -> dict[str, str]:
    env = child_env()
    # Both sides alike: only pytest's own plugins, none that happens to be installed here.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


class Host(JsonChild):
    """The live host (replay_child.py live) in the project folder."""

    wait_decided = LiveChild.wait_decided

    def __init__(self, root: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), "live", str(root)],
            cwd=root,
            env=replay_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        super().__init__(proc, "live host")
        try:
            self.first = self.until("ready", SUITE_WAIT)
        except BaseException:
            self.close()
            raise

    def until(self, kind: str, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            message = self._next(deadline, f'"{kind}"')
            if message.get("driver") == "failed":
                raise HarnessError(f"the live host failed:\n{message.get('error')}")
            if message.get("driver") == kind:
                return message

    def loaded(self) -> set[str]:
        """The modules the host runs: each was reported by a `module.loaded` event (one that
        failed to import at start-up was not, and gets no decision when its file changes)."""
        return {str(e["module"]) for e in self.events if e.get("event") == "module.loaded"}

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.until(command, SUITE_WAIT)


class Fresh(JsonChild):
    """Fresh interpreters on the project's files as they are (replay_child.py forks): each
    ``start`` forks one from a process that imported pytest and nothing of the package."""

    def __init__(self, root: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), "forks", str(root)],
            cwd=root,
            env=replay_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        super().__init__(proc, "fresh interpreter")

    def start(self) -> None:
        self.send("fresh")

    def result(self) -> dict[str, Any]:
        deadline = time.monotonic() + SUITE_WAIT
        found: dict[str, Any] | None = None
        while True:
            message = self._next(deadline, "a fresh start's result")
            if message.get("driver") == "fresh":
                found = message
            elif message.get("driver") == "forked":
                if found is None:
                    tail = "\n".join(self.stderr[-30:])
                    raise HarnessError(f"a fresh start gave no result ({message}):\n{tail}")
                return found


def fresh_process(root: Path) -> dict[str, Any]:
    """A fresh start in an interpreter of its own."""
    try:
        done = subprocess.run(
            [sys.executable, str(CHILD), "fresh", str(root)],
            cwd=root,
            env=replay_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=SUITE_WAIT,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"a fresh interpreter took over {SUITE_WAIT} s") from None
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("driver") == "fresh":
            result: dict[str, Any] = message
            return result
    raise HarnessError(f"a fresh interpreter gave no result:\n{done.stderr[-3000:]}")


@dataclass
class VersionResult:
    version: str
    verdict: str  # equal | restart_needed | rejected | disagreement
    decisions: dict[str, str] = field(default_factory=dict)  # module -> event (reason)
    details: list[str] = field(default_factory=list)
    tests: int = 0
    failed: int = 0  # failed or error in the fresh run (the package's own failures, both sides)


@dataclass
class Replay:
    package: str
    first: str = ""
    results: list[VersionResult] = field(default_factory=list)
    restarts: int = 0
    unstable: set[str] = field(default_factory=set)  # keys two fresh starts disagree on
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    def disagreements(self) -> list[str]:
        return [r.version for r in self.results if r.verdict == "disagreement"]

    def summary(self) -> str:
        last = self.results[-1].version if self.results else self.first
        return (
            f"{self.package} {self.first} -> {last}: {len(self.results)} versions written over "
            f"the first; {self.count('equal')} equal, {self.count('restart_needed')} "
            f"restart_needed, {self.count('rejected')} rightly rejected, "
            f"{self.count('disagreement')} disagreements"
            + (f" ({', '.join(self.disagreements())})" if self.disagreements() else "")
            + f"; {self.restarts} host restarts; {self.seconds:.1f} s"
            + (
                f"\n  not compared (two fresh starts differ): {', '.join(sorted(self.unstable))}"
                if self.unstable
                else ""
            )
        )

    def text(self) -> str:
        lines = [self.summary()]
        for r in self.results:
            decided = ", ".join(f"{m}: {e}" for m, e in r.decisions.items()) or "no module changed"
            lines.append(f"  {r.version}: {r.verdict} ({decided}); {r.tests} tests")
            lines += [f"    {d}" for d in r.details]
        return "\n".join(lines)


Diff = dict[str, list[str]]  # a differing key ("fingerprint M:name", "test ID") -> what differs


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _from_difference(a: str, b: str, limit: int = 240) -> tuple[str, str]:
    """Both texts shortened from a little before where they first differ (a long value, a
    class with dozens of members, differs past the first 240 characters)."""
    same = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, same - 60)
    if start < 20:
        return _short(a, limit), _short(b, limit)
    return "..." + _short(a[start:], limit), "..." + _short(b[start:], limit)


def compare(live: Mapping[str, Any], suite: Mapping[str, Any], fresh: Mapping[str, Any]) -> Diff:
    """What differs between the live side (snapshot + suite) and the fresh one, by key."""
    out: Diff = {}
    a, b = live["fingerprint"], fresh["fingerprint"]
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            shown = _from_difference(str(a.get(key, "(absent)")), str(b.get(key, "(absent)")))
            out[f"fingerprint {key}"] = [f"   live: {shown[0]}", f"  fresh: {shown[1]}"]
    if live["import_errors"] != fresh["import_errors"]:
        out["import errors"] = [f"live {live['import_errors']}, fresh {fresh['import_errors']}"]
    x, y = suite["outcomes"], fresh["suite"]["outcomes"]
    for key in sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k)):
        message = suite["messages"].get(key) or fresh["suite"]["messages"].get(key, "")
        out[f"test {key}"] = [f"live {x.get(key)}, fresh {y.get(key)}  {_short(message)}"]
    return out


def lines_of(differences: Diff, limit: int = 20) -> list[str]:
    lines = []
    for key in list(differences)[:limit]:
        lines += [key, *differences[key]]
    if len(differences) > limit:
        lines.append(f"... and {len(differences) - limit} more differences")
    return lines


def _fresh_failed(fresh: Mapping[str, Any]) -> int:
    return sum(1 for o in fresh["suite"]["outcomes"].values() if o in ("failed", "error"))


def write_version(root: Path, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[str]:
    """Lay ``new`` over ``old`` as a checkout does: every new or changed file to a temp file first,
    then all renamed into place back to back (new files first, so that a module that starts to
    import one finds it), then the files ``new`` lacks deleted. The paths that changed."""
    changed = sorted(p for p in new if old.get(p) != new[p])
    removed = sorted(p for p in old if p not in new)
    temps = {}
    for relative in changed:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temps[relative] = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
        temps[relative].write_bytes(new[relative])
    for relative in sorted(changed, key=lambda p: p in old):
        os.replace(temps[relative], root / relative)
    for relative in removed:
        (root / relative).unlink()
    return changed + removed


def _decision(event: Mapping[str, Any]) -> str:
    name = str(event["event"]).removeprefix("reload.")
    return f"{name} ({event['reason']})" if event.get("reason") else name


def replay(
    package: Package,
    workdir: Path,
    log: Any = None,
    history: Sequence[tuple[str, Mapping[str, bytes]]] | None = None,
) -> Replay:
    """Replay every pinned version of ``package`` (or the versions of ``history``: the files
    of each, as replay_sources lays them out) in one live host under ``workdir``."""
    started = time.monotonic()
    if history is None:
        history = versions(package)
    root = workdir / package.project
    root.mkdir(parents=True)
    (root / "hotreload.toml").write_text(
        MANIFEST.format(name=package.project, debounce=DEBOUNCE_MS), encoding="utf-8"
    )
    (root / "pytest.ini").write_text(f"[pytest]\n{package.pytest}", encoding="utf-8")
    first_version, files = history[0]
    write_version(root, {}, files)
    result = Replay(package.project, first_version)
    session = Session(root, result)
    try:
        session.fresh.start()
        suite = session.host.ask("suite")
        fresh = session.fresh.result()
        start = session.settle(compare(session.host.first, suite, fresh), fresh)
        if start:
            raise HarnessError(
                f"at start-up ({first_version}) the live host differs from a fresh start:\n"
                + "\n".join(lines_of(start))
            )
        for version, new in history[1:]:
            result.results.append(session.step(version, files, new))
            files = new
            if log is not None:
                log(f"{package.project} {version}: {result.results[-1].verdict}")
    finally:
        session.close()
    result.seconds = time.monotonic() - started
    return result


class Session:
    """One live host over the versions (restarted where the verdict says so)."""

    def __init__(self, root: Path, result: Replay) -> None:
        self.root, self.result = root, result
        self.fresh = Fresh(root)
        try:
            self.host = Host(root)
        except BaseException:
            self.fresh.close()
            raise

    def close(self) -> None:
        try:
            self.host.close()
        finally:
            self.fresh.close()

    def restart(self) -> None:
        self.host.close()
        self.host = Host(self.root)
        self.result.restarts += 1

    def settle(self, differences: Diff, fresh: Mapping[str, Any]) -> Diff:
        """The differences that are the live process's: a key that two fresh interpreters on the
        same files disagree on (`hash(None)` is an address before Python 3.12; a test that
        depends on timing) is the process's, not the reload's: it is not compared again."""
        unstable = self.result.unstable
        differences = {k: v for k, v in differences.items() if k not in unstable}
        if not differences:
            return differences
        # A process of its own (not a fork: forks share their parent's addresses).
        again = compare(fresh, fresh["suite"], fresh_process(self.root))
        unstable.update(k for k in again if k in differences)
        return {k: v for k, v in differences.items() if k not in unstable}

    def step(
        self, version: str, old: Mapping[str, bytes], new: Mapping[str, bytes]
    ) -> VersionResult:
        """Write ``version`` over the previous one, wait for hotreload's decisions, compare."""
        host = self.host
        after = len(host.events)
        changed = write_version(self.root, old, new)
        loaded = host.loaded()
        expected = sorted(
            m
            for p in changed
            if p.endswith(".py") and (m := module_name(p.removeprefix("src/"))) in loaded
        )
        decided = host.wait_decided(expected, after)
        outcome = VersionResult(version, "equal", {m: _decision(e) for m, e in decided.items()})
        trouble = [e for e in host.events[after:] if e.get("event") in TROUBLE]
        outcome.details += [f"server trouble: {event_line(e)}" for e in trouble]
        events = [e for e in decided.values() if e["event"] != "reload.accepted"]
        outcome.details += [f"event: {event_line(e)}" for e in events]
        gone = {
            module_name(p.removeprefix("src/")) for p in old if p not in new and p.endswith(".py")
        }
        # A module whose file the version deleted is `file_missing`: not a rejection of the
        # version (a fresh start has no such module; the snapshot leaves it out).
        kinds = {
            e["event"]
            for m, e in decided.items()
            if not (m in gone and e.get("reason") == "file_missing")
        }
        if "reload.restart_needed" in kinds:
            outcome.verdict = "restart_needed"  # what restart = "auto" does
            self.restart()
        self.fresh.start()
        snapshot = self.host.ask("snapshot")
        suite = self.host.ask("suite")
        fresh = self.fresh.result()
        outcome.tests, outcome.failed = len(fresh["suite"]["outcomes"]), _fresh_failed(fresh)
        differs = self.settle(compare(snapshot, suite, fresh), fresh)
        if outcome.verdict == "restart_needed":
            if differs:  # after a restart the host must be a fresh start
                outcome.verdict = "disagreement"
                outcome.details += ["after the restart:", *lines_of(differs)]
            return outcome
        if "reload.rejected" in kinds:
            # Right only where a fresh start cannot import a module hotreload rejected: another
            # module's failure (pyparsing.diagram without railroad-diagrams) says nothing of it.
            rejected = {
                m
                for m, e in decided.items()
                if e["event"] == "reload.rejected"
                and not (m in gone and e.get("reason") == "file_missing")
            }
            right = rejected & set(fresh["import_errors"])
            outcome.verdict = "rejected" if right else "disagreement"
        elif differs or trouble:
            outcome.verdict = "disagreement"
        if outcome.verdict == "equal":
            return outcome
        if outcome.verdict == "rejected":
            first = next(m for m in fresh["import_errors"] if m in rejected)
            error = fresh["import_errors"][first]
            outcome.details.append(f"a fresh start fails too: {first}: {_short(error)}")
        else:
            outcome.details += lines_of(differs)
            accepted = [e for e in decided.values() if e["event"] == "reload.accepted"]
            outcome.details += [f"event: {event_line(e)}" for e in accepted]
        # The next version starts from a fresh start again: one difference must not hide the
        # versions after it.
        self.restart()
        return outcome


def replay_all(names: list[str], log: Any = None) -> Iterator[Replay]:
    with tempfile.TemporaryDirectory(prefix="hotreload-replay-") as workdir:
        for name in names:
            yield replay(PACKAGES[name], Path(workdir), log)


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(PACKAGES)
    for report in replay_all(chosen, log=lambda line: print(line, file=sys.stderr, flush=True)):
        print(report.text(), flush=True)
