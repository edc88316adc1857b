"""Closures made at run time are found where they live, without a walk of the whole heap, and
through the collector whenever that search cannot account for every one."""

from __future__ import annotations

import gc
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import EventRecorder, Project

from hotreload.engine import closures
from hotreload.engine.closures import closures_of
from hotreload.engine.codeswap import index_code
from hotreload.server import Server

SOURCE = """
class Router:
    def __init__(self):
        self.routes = []

    def add(self, function):
        self.routes.append({"path": "/" + function.__name__, "endpoint": function})


APP = Router()
REGISTRY = {}


def main():
    def health():
        return "ok"

    def status():
        return "fine"

    APP.add(health)
    REGISTRY["status"] = status
    return health
"""


def load(source: str) -> tuple[dict[str, Any], types.CodeType]:
    namespace: dict[str, Any] = {"__name__": "demo"}
    code = compile(source, "demo.py", "exec")
    exec(code, namespace)
    return namespace, code


def nested(namespace: dict[str, Any], module_code: types.CodeType) -> list[types.CodeType]:
    index = index_code([module_code])
    return [code for key, code in index.by_key.items() if "<locals>" in key[0]]


@pytest.fixture
def referrer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How often the collector is asked, and for how many objects (it still answers)."""
    calls: list[int] = []
    real = gc.get_referrers

    def counting(*objects: Any) -> list[Any]:
        calls.append(len(objects))
        return real(*objects)

    monkeypatch.setattr(closures.gc, "get_referrers", counting)
    yield calls


def find(namespace: dict[str, Any], module_code: types.CodeType) -> list[types.FunctionType]:
    index = index_code([module_code])
    codes = [code for key, code in index.by_key.items() if "<locals>" in key[0]]
    known = [namespace["main"]]
    return closures_of(codes, namespace, known, (index.by_key,))


def test_closures_in_the_module_s_objects_are_found_without_the_collector(
    referrer_calls: list[int],
) -> None:
    namespace, module_code = load(SOURCE)
    index = index_code([module_code])
    namespace["main"].__code__ = index.by_key[("main", 0)]  # as a loaded module's function is
    namespace["main"]()
    namespace["main"]()  # two of each: every call makes new ones
    found = closures_of(
        [code for key, code in index.by_key.items() if "<locals>" in key[0]],
        namespace,
        [namespace["main"]],
        (index.by_key,),
    )
    expected = [r["endpoint"] for r in namespace["APP"].routes] + [namespace["REGISTRY"]["status"]]
    assert {id(f) for f in found} == {id(f) for f in expected}
    assert len(found) == 3
    assert referrer_calls == []


def test_a_closure_kept_where_the_search_does_not_look_is_found_by_the_collector(
    referrer_calls: list[int],
) -> None:
    namespace, module_code = load(SOURCE)
    index = index_code([module_code])
    namespace["main"].__code__ = index.by_key[("main", 0)]
    elsewhere = [namespace["main"]()]  # held by this test only: not reachable from the module
    namespace["APP"].routes.clear()
    namespace["REGISTRY"].clear()
    found = closures_of(
        [code for key, code in index.by_key.items() if "<locals>" in key[0]],
        namespace,
        [namespace["main"]],
        (index.by_key,),
    )
    assert [id(f) for f in found] == [id(elsewhere[0])]
    assert referrer_calls == [1]  # only the code left unexplained is asked about


def test_a_closure_running_in_another_thread_is_still_found() -> None:
    source = SOURCE.replace('        return "ok"', "        STARTED.set()\n        GO.wait(10)")
    namespace, module_code = load(source)
    namespace["STARTED"], namespace["GO"] = threading.Event(), threading.Event()
    index = index_code([module_code])
    namespace["main"].__code__ = index.by_key[("main", 0)]
    health = namespace["main"]()
    runner = threading.Thread(target=health)
    runner.start()
    try:
        assert namespace["STARTED"].wait(10)
        found = closures_of(
            [code for key, code in index.by_key.items() if "<locals>" in key[0]],
            namespace,
            [namespace["main"]],
            (index.by_key,),
        )
        assert health in found
    finally:
        namespace["GO"].set()
        runner.join(10)


def test_a_big_container_is_not_walked_and_its_closures_still_found(
    referrer_calls: list[int],
) -> None:
    namespace, module_code = load(SOURCE)
    index = index_code([module_code])
    namespace["main"].__code__ = index.by_key[("main", 0)]
    namespace["DATA"] = [*range(closures.MAX_ITEMS + 1)]
    namespace["DATA"].append(namespace["main"]())
    namespace["APP"].routes.clear()  # in the big list only
    namespace["REGISTRY"].clear()
    found = closures_of(
        [code for key, code in index.by_key.items() if "<locals>" in key[0]],
        namespace,
        [namespace["main"]],
        (index.by_key,),
    )
    assert namespace["DATA"][-1] in found
    assert referrer_calls == [1]


class Proxy:
    """An object whose every attribute access runs code: a search must never touch it."""

    def __getattribute__(self, name: str) -> Any:
        raise AssertionError(f"the search read {name!r} of a proxy")


def test_the_search_runs_no_code_of_the_objects_it_looks_into() -> None:
    namespace, module_code = load(SOURCE)
    namespace["request"] = Proxy()
    index = index_code([module_code])
    namespace["main"].__code__ = index.by_key[("main", 0)]
    namespace["main"]()
    found = closures_of(
        [code for key, code in index.by_key.items() if "<locals>" in key[0]],
        namespace,
        [namespace["main"]],
        (index.by_key,),
    )
    assert len(found) == 2


CLOSURE_MODULE = """
REGISTRY = {}


def install():
    def current():
        return "old"

    REGISTRY["current"] = current


install()


def value() -> str:
    return REGISTRY["current"]()
"""

CLOSURE_MANIFEST = """
[project]
name = "closures"

[modules.routes.exports]
value = "() -> str"

[env.development]
reload = true
debounce_ms = 5
"""


def test_a_real_save_of_a_closure_finds_it_without_the_collector(
    project: Project,
    start: Callable[..., tuple[Server, EventRecorder]],
    referrer_calls: list[int],
) -> None:
    """The whole reload of a closure's edit (read, index, plan, swap), not the search alone: no
    holder the engine keeps of the old code objects may go uncounted, or every such save walks
    the whole heap (a per-statement cache of nested code objects once did)."""
    project.write("routes", CLOSURE_MODULE)
    project.manifest(CLOSURE_MANIFEST)
    server, events = start()
    routes = server.module("routes")
    assert routes.value() == "old"
    mark = events.mark()
    for text in ("new", "newer"):  # the second save's old code was the first save's new code
        project.write("routes", CLOSURE_MODULE.replace('"old"', f'"{text}"'))
        accepted = events.wait_for("reload.accepted", after=mark)
        mark = events.mark()
        assert accepted["module"] == "routes"
        assert routes.value() == text
    assert referrer_calls == []
