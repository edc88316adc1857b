"""The version gate: calls never mix versions, reloads are never starved, nothing deadlocks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import EVENT_TIMEOUT, EventRecorder, Project
from support import Running, dedent, in_thread, run, wait_until

from hotreload.engine.gate import VersionGate
from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

pytestmark = pytest.mark.timeout(30)  # every wait is bounded; a hang fails fast


# -- the gate on its own --------------------------------------------------------------------


def test_reload_waits_for_calls_in_flight_and_holds_new_calls_back() -> None:
    gate = VersionGate(patience=EVENT_TIMEOUT)  # no letting calls in: strict order
    order: list[str] = []
    gate.enter()
    writer, _ = in_thread(lambda: _exclusive(gate, lambda: order.append("reload")))
    wait_until(lambda: gate.reload_waiting)

    def late_call() -> None:
        gate.enter()
        order.append("late call")
        gate.exit()

    caller, _ = in_thread(late_call)
    order.append("call in flight ends")
    gate.exit()
    writer.join(EVENT_TIMEOUT)
    caller.join(EVENT_TIMEOUT)
    assert order == ["call in flight ends", "reload", "late call"]
    assert gate.active_calls == 0


def _exclusive(gate: VersionGate, body: Callable[[], object]) -> None:
    with gate.exclusive():
        body()


def test_nested_call_enters_while_a_reload_waits() -> None:
    gate = VersionGate(patience=EVENT_TIMEOUT)  # the nested call must not need the patience
    gate.enter()
    writer, _ = in_thread(lambda: _exclusive(gate, lambda: None))
    wait_until(lambda: gate.reload_waiting)
    gate.enter()  # a binding calling a binding in the same thread: never blocks
    gate.exit()
    gate.exit()
    writer.join(EVENT_TIMEOUT)
    assert not writer.is_alive()


def test_reload_thread_may_call_through_the_gate() -> None:
    """Module code run by a reload may call a binding: the writer's own calls pass."""
    gate = VersionGate()
    with gate.exclusive():
        gate.enter()
        gate.exit()
    assert gate.active_calls == 0


def test_call_waiting_on_another_thread_does_not_deadlock_a_reload() -> None:
    gate = VersionGate()
    gate.enter()
    writer, _ = in_thread(lambda: _exclusive(gate, lambda: None))
    wait_until(lambda: gate.reload_waiting)

    def other_call() -> str:
        gate.enter()
        gate.exit()
        return "done"

    helper, result = in_thread(other_call)
    helper.join(EVENT_TIMEOUT)  # the call in flight waits on a thread held back by the reload
    assert result == ["done"]
    gate.exit()
    writer.join(EVENT_TIMEOUT)
    assert not writer.is_alive()


def test_steady_stream_of_long_calls_cannot_starve_a_reload() -> None:
    gate = VersionGate(patience=0.02)
    stop = threading.Event()
    started = threading.Barrier(4)

    def caller(index: int) -> None:
        started.wait()
        stop.wait(0.03 * index)  # staggered: some call is always in flight, none end together
        while not stop.is_set():
            gate.enter()
            try:
                stop.wait(0.1)  # the call's work: longer than the gate's patience
            finally:
                gate.exit()

    callers = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(3)]
    for thread in callers:
        thread.start()
    started.wait()
    wait_until(lambda: gate.active_calls == 3)
    reloaded = threading.Event()
    writer, _ = in_thread(lambda: _exclusive(gate, reloaded.set))
    try:
        assert reloaded.wait(EVENT_TIMEOUT), "the reload starved"
    finally:
        stop.set()
        for thread in [*callers, writer]:
            thread.join(EVENT_TIMEOUT)
    assert gate.active_calls == 0


# -- through a running server ---------------------------------------------------------------

CONC = """
    import asyncio
    from collections.abc import Callable

    VERSION = {v}


    def _tag() -> int:
        return {v}


    def probe() -> list[int]:
        first = VERSION
        total = 0
        for i in range(50):  # widen the window in which a reload could land mid-call
            total += i
        return [first, _tag(), VERSION]


    def call_with(fn: Callable[[], object]) -> object:
        return fn()


    def version() -> int:
        return VERSION


    def fail() -> int:
        raise ValueError(f"failed on {{VERSION}}")


    async def relay(arrived: asyncio.Event, release: asyncio.Event) -> int:
        before = VERSION
        arrived.set()
        await release.wait()
        return before
    """

CONC_EXPORTS = {
    "conc": {
        "probe": "() -> list[int]",
        "call_with": "(fn: Callable[[], object]) -> object",
        "version": "() -> int",
        "fail": "() -> int",
        "relay": "async (arrived: asyncio.Event, release: asyncio.Event) -> int",
    }
}


def conc(version: int) -> str:
    return dedent(CONC.format(v=version))


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    return run(project, start, {"conc": conc(1)}, CONC_EXPORTS)


def test_calls_never_mix_two_versions_during_many_reloads(running: Running) -> None:
    probe = running.binding("conc").probe
    stop = threading.Event()
    mixed: list[list[int]] = []
    errors: list[BaseException] = []
    seen: set[int] = set()
    counts = [0, 0, 0]

    def caller(index: int) -> None:
        while not stop.is_set():
            try:
                result = probe()
            except BaseException as error:
                errors.append(error)
                return
            if len(set(result)) != 1:
                mixed.append(result)
            seen.add(result[0])
            counts[index] += 1

    callers = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(3)]
    for thread in callers:
        thread.start()
    try:
        wait_until(lambda: all(counts))
        for version in range(2, 12):
            running.save(conc(version), module="conc", version=version)
        wait_until(lambda: 11 in seen)
    finally:
        stop.set()
        for thread in callers:
            thread.join(EVENT_TIMEOUT)
    assert errors == []
    assert mixed == []
    assert len(seen) >= 2
    assert probe() == [11, 11, 11]


def test_export_that_raises_releases_the_gate(running: Running) -> None:
    with pytest.raises(ValueError, match="failed on 1"):
        running.binding("conc").fail()
    assert running.server.gate.active_calls == 0
    running.save(conc(2), module="conc")
    with pytest.raises(ValueError, match="failed on 2"):
        running.binding("conc").fail()


def test_nested_binding_call_during_a_reload_does_not_deadlock(running: Running) -> None:
    binding = running.binding("conc")
    inside = threading.Event()

    def host_callback() -> int:
        inside.set()
        wait_until(lambda: running.server.gate.reload_waiting)
        return binding.version()  # a binding call inside a binding call, reload pending

    call, result = in_thread(lambda: binding.call_with(host_callback))
    assert inside.wait(EVENT_TIMEOUT)
    mark = running.events.mark()
    running.project.write("conc", conc(2))
    call.join(EVENT_TIMEOUT)
    assert result == [1]  # the whole call ran on the version it started on
    running.events.wait_for("reload.accepted", after=mark, version=2)
    assert binding.version() == 2


def test_call_waiting_on_another_threads_call_during_a_reload_does_not_deadlock(
    running: Running,
) -> None:
    binding = running.binding("conc")
    inside = threading.Event()

    def host_callback() -> object:
        inside.set()
        wait_until(lambda: running.server.gate.reload_waiting)
        helper, result = in_thread(binding.version)  # held back by the pending reload...
        helper.join(EVENT_TIMEOUT)  # ...while this call, in flight, waits for it
        return result

    call, result = in_thread(lambda: binding.call_with(host_callback))
    assert inside.wait(EVENT_TIMEOUT)
    mark = running.events.mark()
    running.project.write("conc", conc(2))
    call.join(EVENT_TIMEOUT)
    assert result == [[1]]
    running.events.wait_for("reload.accepted", after=mark, version=2)
    assert binding.version() == 2


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop running in its own thread, as in an async host."""
    event_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=event_loop.run_forever, daemon=True)
    thread.start()
    yield event_loop
    event_loop.call_soon_threadsafe(event_loop.stop)
    thread.join(EVENT_TIMEOUT)
    event_loop.close()


async def make_events() -> tuple[asyncio.Event, asyncio.Event]:
    """Two events made on the loop's own thread, as asyncio requires."""
    return asyncio.Event(), asyncio.Event()


def test_async_export_suspended_at_an_await_does_not_block_a_reload(
    running: Running, loop: asyncio.AbstractEventLoop
) -> None:
    binding = running.binding("conc")

    arrived, release = asyncio.run_coroutine_threadsafe(make_events(), loop).result(EVENT_TIMEOUT)
    pending = asyncio.run_coroutine_threadsafe(binding.relay(arrived, release), loop)
    asyncio.run_coroutine_threadsafe(arrived.wait(), loop).result(EVENT_TIMEOUT)
    # The coroutine sleeps at its await; the reload must not wait for it.
    running.save(conc(2), module="conc", version=2)
    assert not pending.done()
    loop.call_soon_threadsafe(release.set)
    assert pending.result(EVENT_TIMEOUT) == 1  # read before the reload, returned after it
    assert running.server.gate.active_calls == 0

    arrived, release = asyncio.run_coroutine_threadsafe(make_events(), loop).result(EVENT_TIMEOUT)
    loop.call_soon_threadsafe(release.set)
    fresh = asyncio.run_coroutine_threadsafe(binding.relay(arrived, release), loop)
    assert fresh.result(EVENT_TIMEOUT) == 2


def test_cancelled_async_export_releases_the_gate(
    running: Running, loop: asyncio.AbstractEventLoop
) -> None:
    binding = running.binding("conc")

    arrived, release = asyncio.run_coroutine_threadsafe(make_events(), loop).result(EVENT_TIMEOUT)
    pending = asyncio.run_coroutine_threadsafe(binding.relay(arrived, release), loop)
    asyncio.run_coroutine_threadsafe(arrived.wait(), loop).result(EVENT_TIMEOUT)
    pending.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        pending.result(EVENT_TIMEOUT)
    wait_until(lambda: running.server.gate.active_calls == 0)
    running.save(conc(2), module="conc", version=2)


STREAMS = """
    from collections.abc import AsyncIterator, Callable, Iterator

    VERSION = {v}


    def stream(hold: Callable[[], object]) -> Iterator[list[int]]:
        yield [VERSION]
        before = VERSION
        hold()  # the host blocks inside this step
        yield [before, VERSION]


    async def astream(hold: Callable[[], object]) -> AsyncIterator[list[int]]:
        yield [VERSION]
        before = VERSION
        hold()
        yield [before, VERSION]
    """

STREAM_EXPORTS = {
    "streams": {
        "stream": "(hold: Callable[[], object]) -> Iterator[list[int]]",
        "astream": "async (hold: Callable[[], object]) -> AsyncIterator[list[int]]",
    }
}


def _step_spans_a_pending_reload(r: Running, step: Callable[[], list[int]]) -> list[int]:
    """Run ``step`` in a thread while a save waits; return what it yielded."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        release.wait(EVENT_TIMEOUT)

    thread, result = in_thread(lambda: step(hold))
    try:
        assert holding.wait(EVENT_TIMEOUT)
        mark = r.events.mark()
        r.project.write("streams", dedent(STREAMS.format(v=2)))
        # The step is a call in flight: the reload waits for it instead of landing inside it.
        wait_until(lambda: r.server.gate.reload_waiting or len(r.events.events) > mark)
        assert r.events.names()[mark:] == []
    finally:
        release.set()
        thread.join(EVENT_TIMEOUT)
    r.events.wait_for("reload.accepted", after=mark, version=2)
    return result[0]


def test_each_step_of_a_generator_export_runs_on_one_version(
    project: Project, start: Start
) -> None:
    r = run(project, start, {"streams": dedent(STREAMS.format(v=1))}, STREAM_EXPORTS)
    holder: list[Callable[[], object]] = []
    generator = r.binding("streams").stream(lambda: holder[0]())
    assert next(generator) == [1]

    def second_step(hold: Callable[[], object]) -> list[int]:
        holder.append(hold)
        return next(generator)

    assert _step_spans_a_pending_reload(r, second_step) == [1, 1]
    with pytest.raises(StopIteration):
        next(generator)
    assert next(r.binding("streams").stream(lambda: None)) == [2]


def test_each_step_of_an_async_generator_export_runs_on_one_version(
    project: Project, start: Start, loop: asyncio.AbstractEventLoop
) -> None:
    r = run(project, start, {"streams": dedent(STREAMS.format(v=1))}, STREAM_EXPORTS)
    holder: list[Callable[[], object]] = []
    agen = r.binding("streams").astream(lambda: holder[0]())

    def anext_in_loop() -> list[int]:
        return asyncio.run_coroutine_threadsafe(agen.__anext__(), loop).result(EVENT_TIMEOUT)

    assert anext_in_loop() == [1]

    def second_step(hold: Callable[[], object]) -> list[int]:
        holder.append(hold)
        return anext_in_loop()

    assert _step_spans_a_pending_reload(r, second_step) == [1, 1]
    asyncio.run_coroutine_threadsafe(agen.aclose(), loop).result(EVENT_TIMEOUT)
    assert r.server.gate.active_calls == 0


# -- async callers await a pending reload ---------------------------------------------------

SLOW = """
    import time

    VERSION = {v}
    time.sleep({pause})  # top-level code: a reload of this version holds the gate this long


    async def version() -> int:
        return VERSION


    async def count(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield VERSION


    def plain() -> int:
        return VERSION
    """
SLOW_HEAD = "from collections.abc import AsyncIterator\n"
SLOW_EXPORTS = {
    "slow": {
        "version": "async () -> int",
        "count": "async (n: int) -> AsyncIterator[int]",
        "plain": "() -> int",
    }
}
HOLD_S = 1.0


def slow(version: int, pause: float = 0.0) -> str:
    return SLOW_HEAD + dedent(SLOW.format(v=version, pause=pause))


async def _await_while_ticking(call: Callable[[], Any]) -> tuple[Any, float, float, int]:
    """Await ``call()`` while another task ticks; (result, wait s, longest tick gap s, ticks)."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker runs before the call starts
    began = loop.time()
    try:
        result = await call()
    finally:
        waited = loop.time() - began
        stop.set()
        await task
    return result, waited, max(gaps, default=0.0), len(gaps)


@pytest.mark.parametrize("kind", ["coroutine", "async generator"])
def test_async_call_awaits_a_pending_reload_and_the_loop_keeps_running(
    project: Project, start: Start, loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    """A coroutine that meets a 1 s reload awaits it: other tasks of its loop keep running."""
    r = run(project, start, {"slow": slow(1)}, SLOW_EXPORTS)
    binding = r.binding("slow")

    async def first_item() -> int:
        items = binding.count(1)
        value: int = await items.__anext__()
        await items.aclose()
        return value

    call = binding.version if kind == "coroutine" else first_item
    mark = r.events.mark()
    r.project.write("slow", slow(2, pause=HOLD_S))
    wait_until(lambda: r.server.gate.closed)  # the reload runs the module's 1 s top level
    future = asyncio.run_coroutine_threadsafe(_await_while_ticking(call), loop)
    result, waited, longest_gap, ticks = future.result(EVENT_TIMEOUT)
    r.events.wait_for("reload.accepted", after=mark, version=2)
    assert result == 2  # it waited for the reload, and ran wholly on the new version
    # Blocking the loop for the reload would show one gap of about HOLD_S and no ticks; the
    # bound is generous for a loaded machine, and far below what blocking costs.
    assert longest_gap < HOLD_S / 2, (longest_gap, waited, ticks)
    assert ticks >= 5, (longest_gap, waited, ticks)
    assert r.server.gate.active_calls == 0


def test_sync_call_still_blocks_until_a_pending_reload_ends(project: Project, start: Start) -> None:
    r = run(project, start, {"slow": slow(1)}, SLOW_EXPORTS)
    mark = r.events.mark()
    r.project.write("slow", slow(2, pause=HOLD_S))
    wait_until(lambda: r.server.gate.closed)
    assert r.binding("slow").plain() == 2
    r.events.wait_for("reload.accepted", after=mark, version=2)


def test_cancelled_while_awaiting_the_gate_leaves_it_clean(
    project: Project, start: Start, loop: asyncio.AbstractEventLoop
) -> None:
    r = run(project, start, {"slow": slow(1)}, SLOW_EXPORTS)
    binding = r.binding("slow")
    mark = r.events.mark()
    r.project.write("slow", slow(2, pause=HOLD_S))
    wait_until(lambda: r.server.gate.closed)

    async def cancelled() -> bool:
        task = asyncio.ensure_future(binding.version())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run_coroutine_threadsafe(cancelled(), loop).result(EVENT_TIMEOUT)
    r.events.wait_for("reload.accepted", after=mark, version=2)
    assert r.server.gate.active_calls == 0
    assert asyncio.run_coroutine_threadsafe(binding.version(), loop).result(EVENT_TIMEOUT) == 2


def test_coroutine_driven_without_a_loop_waits_by_blocking() -> None:
    """No asyncio loop in the thread (a coroutine stepped by hand): the step blocks instead."""
    from hotreload.bindings import gated_export

    gate = VersionGate()

    async def answer() -> int:
        return 42

    call = gated_export({"answer": answer}, "answer", gate)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with gate.exclusive():
            entered.set()
            release.wait(EVENT_TIMEOUT)

    writer, _ = in_thread(hold)
    assert entered.wait(EVENT_TIMEOUT)
    coroutine = call()

    def step() -> object:
        try:
            coroutine.send(None)
        except StopIteration as stop:
            return stop.value
        return "suspended"

    stepper, result = in_thread(step)
    stepper.join(0.05)
    assert result == []  # still waiting for the reload
    release.set()
    stepper.join(EVENT_TIMEOUT)
    writer.join(EVENT_TIMEOUT)
    assert result == [42]
