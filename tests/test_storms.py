"""Edit storms and concurrency: many saves, half-written files, checkouts, calls during reloads."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import Running, dedent, run, wait_until

from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]


def digest(data: bytes) -> str:
    """The digest events carry (first 16 hex digits of the SHA-256)."""
    return hashlib.sha256(data).hexdigest()[:16]


def write(path: Path, data: bytes, *, atomic: bool) -> None:
    """Save as an editor does: a temp file renamed over the module, or a plain in-place write."""
    if atomic:
        temp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        temp.write_bytes(data)
        os.replace(temp, path)
    else:
        with open(path, "wb") as f:
            f.write(data)


def settle(r: Running, finals: dict[str, bytes]) -> None:
    """Wait for each module's decision on its final bytes, then decide once more, in sync.

    Once the final bytes have been decided, no later event can be about other bytes; the extra
    synchronous decision makes sure the last event is one taken after the storm.
    """
    for module, data in finals.items():
        wait_for_digest(r.events, module, digest(data))
    r.server.reload([r.project.path(m) for m in finals])


def wait_for_digest(events: EventRecorder, module: str, wanted: str) -> dict[str, Any]:
    """The first decision (accepted, rejected or unchanged) on the bytes with this digest."""
    found: list[dict[str, Any]] = []

    def decided() -> bool:
        found[:] = [
            e
            for e in list(events.events)
            if e.get("module") == module and e.get("digest") == wanted
        ]
        return bool(found)

    wait_until(decided)
    return found[0]


def assert_seq_has_no_gap(events: EventRecorder) -> None:
    assert [e["seq"] for e in events.events] == list(range(1, len(events.events) + 1))


# -- a half-written file --------------------------------------------------------------------

HEADER = dedent(
    """
    def add(a: int, b: int) -> int:
        return a + b + VALUE


    def tag() -> int:
        return VALUE


    """
)
TAGGED = {"calc": {"add": "(a: int, b: int) -> int", "tag": "() -> int"}}


def test_file_written_in_pieces_is_decided_only_once_whole(project: Project, start: Start) -> None:
    """An in-place writer that flushes line by line: every prefix is a valid module (and one
    that defines no VALUE at all), yet no prefix may ever be applied; only the whole file is."""
    r = run(project, start, {"calc": HEADER + "VALUE = -1\n"}, TAGGED, debounce_ms=50)
    path = project.path("calc")
    pause = threading.Event()  # never set: its wait() is the writer's pause between pieces
    for round_ in range(3):
        mark = r.events.mark()
        lines = [f"VALUE = {i}\n" for i in range(40)] + [f"ROUND = {round_}\n"]
        whole = (HEADER + "".join(lines)).encode()
        with open(path, "w", encoding="utf-8") as f:
            f.write(HEADER)
            f.flush()
            for line in lines:
                # 5 ms pauses, well inside the 50 ms quiet time; the whole write (~250 ms)
                # outlasts several watchfiles steps, so batches arrive mid-write.
                pause.wait(0.005)
                f.write(line)
                f.flush()
        settle(r, {"calc": whole})
        decided = [e for e in r.events.events[mark:] if e.get("module") == "calc"]
        assert [e["digest"] for e in decided] == [digest(whole)] * len(decided)
        assert decided[0]["event"] == "reload.accepted"
        assert {e["event"] for e in decided[1:]} <= {"reload.unchanged"}
        assert r.binding().tag() == 39
    assert_seq_has_no_gap(r.events)


# -- a storm of saves -----------------------------------------------------------------------

STORM_EXPORTS = {
    m: {"add": "(a: int, b: int) -> int", "tag": "() -> int"} for m in ("alpha", "beta", "gamma")
}


def version_source(tag: int, kind: str = "valid") -> bytes:
    """One save of a storm module; every save is unique (its tag), so its digest names it."""
    signature = "def tag(x: int) -> int:" if kind == "contract" else "def tag() -> int:"
    source = dedent(
        f"""
        TAG = {tag}


        {signature}
            return TAG


        def add(a: int, b: int) -> int:
            return a + b + TAG
        """
    )
    if kind == "syntax":
        source += "\ndef broken(:\n"
    elif kind == "exec":
        source += "\nraise RuntimeError('storm')\n"
    return source.encode()


KINDS = ["valid", "valid", "valid", "syntax", "contract", "exec"]


def test_storm_of_mixed_saves_ends_on_the_last_valid_content(
    project: Project, start: Start
) -> None:
    """Hundreds of saves to three modules, valid and invalid, atomic and in place, some as one
    checkout: afterwards every module runs the last valid content decided, and the events
    account for everything without a gap and without a version that was never saved whole."""
    modules = list(STORM_EXPORTS)
    sources = {m: version_source(0).decode() for m in modules}
    r = run(project, start, sources, STORM_EXPORTS, debounce_ms=10)
    mark = r.events.mark()
    rng = random.Random(4)
    pause = threading.Event()  # never set: its wait() paces the storm
    saved: dict[str, dict[str, tuple[int, str]]] = {m: {} for m in modules}  # digest -> (tag, kind)
    last: dict[str, bytes] = {}

    def save(module: str, tag: int, kind: str, atomic: bool) -> None:
        data = version_source(tag, kind)
        write(r.project.path(module), data, atomic=atomic)
        saved[module][digest(data)] = (tag, kind)
        last[module] = data

    tag = 0
    for step in range(300):
        tag += 1
        if step % 50 == 49:  # a checkout: every module rewritten at once
            for module in modules:
                save(module, tag, rng.choice(KINDS), atomic=True)
                tag += 1
        else:
            save(rng.choice(modules), tag, rng.choice(KINDS), atomic=rng.random() < 0.5)
        pause.wait(rng.choice([0, 0, 0.002, 0.01, 0.02]))  # bursts and gaps: ~2 s in all
    # The tail makes "the last valid content" exact: a valid save decided, then (for two of
    # the modules) a broken one that must not replace it.
    finals = {"alpha": "syntax", "beta": "valid", "gamma": "exec"}
    expected: dict[str, int] = {}
    for module, kind in finals.items():
        tag += 1
        save(module, tag, "valid", atomic=False)
        wait_for_digest(r.events, module, digest(last[module]))
        expected[module] = tag
        if kind != "valid":
            tag += 1
            save(module, tag, kind, atomic=True)
    settle(r, last)

    for module in modules:
        decided = [e for e in r.events.events[mark:] if e.get("module") == module]
        accepted = [e for e in decided if e["event"] == "reload.accepted"]
        # Only valid saves were applied. A read that caught an in-place write in the middle
        # (the writer thread stalled for longer than the quiet period: it happens on a loaded
        # machine, see README "Guarantees") may be decided, but only ever rejected.
        torn = [e for e in decided if e["digest"] not in saved[module]]
        assert all(e["event"] == "reload.rejected" for e in torn), torn
        decided = [e for e in decided if e not in torn]
        assert all(saved[module][e["digest"]][1] == "valid" for e in accepted), module
        assert all(
            saved[module][e["digest"]][1] != "valid"
            for e in decided
            if e["event"] == "reload.rejected"
        )
        # Versions count the acceptances, and the module runs the last one, which is the last
        # valid content saved.
        assert [e["version"] for e in accepted] == list(range(2, len(accepted) + 2))
        assert r.server.version(module) == len(accepted) + 1
        assert saved[module][accepted[-1]["digest"]][0] == expected[module]
        assert r.binding(module).tag() == expected[module]
        assert r.binding(module).add(1, 1) == expected[module] + 2
        # The last event is about the bytes the file holds now.
        assert decided[-1]["digest"] == digest(last[module])
    assert len(r.events.events) - mark > 30  # the storm was decided in many batches, not one
    assert_seq_has_no_gap(r.events)
    assert r.server.watching


# -- calls during many reloads --------------------------------------------------------------

PROBE = """
VERSION = {v}
TABLE = [{v}] * 3


class Box:
    tag = {v}

    def get(self) -> int:
        return {v}


def _tag() -> int:
    return {v}


def probe(n: int) -> list[int]:
    first = VERSION
    total = 0
    for i in range(n):  # widen the window in which a reload could land mid-call
        total += i
    return [first, _tag(), Box.tag, Box().get(), TABLE[-1], VERSION]


def nested() -> list[int]:
    return probe(10) + [VERSION]
"""
PROBE_EXPORTS = {"probe": {"probe": "(n: int) -> list[int]", "nested": "() -> list[int]"}}
FAILING = "\nfor _ in range(2000):\n    pass\nraise RuntimeError('half-way')\n"


def test_calls_through_bindings_never_see_two_versions_or_a_failed_one(
    project: Project, start: Start
) -> None:
    """Four threads call while the module is reloaded over a hundred times, every fifth version
    failing after it has redefined everything: no call mixes versions, none sees a failed
    version, and nothing raises that the module itself would not."""
    r = run(project, start, {"probe": dedent(PROBE.format(v=1))}, PROBE_EXPORTS)
    binding = r.binding("probe")
    path = project.path("probe")
    stop = threading.Event()
    bad: list[Any] = []
    seen: set[int] = set()
    counts = [0] * 4
    failing = set(range(5, 130, 5))

    def caller(index: int) -> None:
        while not stop.is_set():
            try:
                results = [binding.probe(200), binding.nested()]
            except BaseException as error:
                bad.append(error)
                return
            for result in results:
                if len(set(result)) != 1 or result[0] in failing:
                    bad.append(result)
                seen.add(result[0])
            counts[index] += 1

    callers = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(4)]
    interval = sys.getswitchinterval()
    # Switch threads fifty times as often: many more chances for a reload to land mid-call (and
    # a reload's file reads do not each wait 5 ms for the GIL behind four busy callers).
    sys.setswitchinterval(1e-4)
    for thread in callers:
        thread.start()
    try:
        wait_until(lambda: all(counts))
        for version in range(2, 130):
            source = dedent(PROBE.format(v=version))
            write(path, (source + FAILING if version in failing else source).encode(), atomic=True)
            [outcome] = r.server.reload([path])
            expected = {"rejected"} if version in failing else {"accepted", "unchanged"}
            assert outcome.kind in expected, (version, outcome.failure)
            if version % 10 == 0:  # let calls through between some reloads
                mark = sum(counts)
                wait_until(lambda mark=mark: sum(counts) > mark + 4)
    finally:
        stop.set()
        for thread in callers:
            thread.join(EVENT_TIMEOUT)
        sys.setswitchinterval(interval)
    assert bad == []
    assert len(seen) > 10
    assert binding.probe(1) == [129] * 6
    assert_seq_has_no_gap(r.events)


# -- checkouts ------------------------------------------------------------------------------


def branch_source(branch: str, module: str, switch: int) -> bytes:
    return version_source(switch * 100 + (1 if branch == "a" else 2)).replace(
        b"TAG = ", f"BRANCH = {branch!r}  # {module}\nTAG = ".encode()
    )


def test_checkouts_switching_branches_end_on_the_last_branch(
    project: Project, start: Start
) -> None:
    """Eight modules rewritten together, back and forth between two branches, without waiting:
    every module ends on the last branch's content, and its last event says so."""
    modules = [f"mod{i}" for i in range(8)]
    exports = {m: STORM_EXPORTS["alpha"] for m in modules}
    r = run(project, start, {m: version_source(0).decode() for m in modules}, exports)
    mark = r.events.mark()
    last: dict[str, bytes] = {}
    for switch in range(1, 21):
        branch = "ab"[switch % 2]
        for module in modules:
            last[module] = branch_source(branch, module, switch)
            write(project.path(module), last[module], atomic=True)
    settle(r, last)
    for module in modules:
        decided = [e for e in r.events.events[mark:] if e.get("module") == module]
        assert decided[-1]["digest"] == digest(last[module])
        assert r.binding(module).tag() == 20 * 100 + 1
    assert_seq_has_no_gap(r.events)


def test_package_directory_removed_and_brought_back_is_watched_again(
    project: Project, start: Start
) -> None:
    """A checkout of a branch without the package, then back: the watch on the removed directory
    is gone for good, so the watcher watches afresh and decides the file once it is back."""
    project.write("pkg.__init__", "")
    r = run(
        project,
        start,
        {"pkg.calc": version_source(1).decode(), "top": version_source(1).decode()},
        {"pkg.calc": STORM_EXPORTS["alpha"], "top": STORM_EXPORTS["alpha"]},
    )
    package = project.root / "pkg"
    mark = r.events.mark()
    shutil.rmtree(package)
    r.events.wait_for("reload.rejected", after=mark, module="pkg.calc", reason="file_missing")
    assert r.binding("pkg.calc").tag() == 1
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    back = version_source(2)
    write(project.path("pkg.calc"), back, atomic=False)
    wait_for_digest(r.events, "pkg.calc", digest(back))
    assert r.binding("pkg.calc").tag() == 2
    # The fresh watch sees later saves, in the package and beside it.
    for module in ("pkg.calc", "top"):
        event = r.save(version_source(3).decode(), module=module)
        assert event["digest"] == digest(version_source(3))
        assert r.binding(module).tag() == 3
    assert_seq_has_no_gap(r.events)
