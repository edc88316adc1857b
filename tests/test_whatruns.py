"""What runs on a save: nothing but new code for a body edit, only the touched statements for
other edits, the whole module where a diff cannot be trusted; every imported project module
reloads; batches apply in import order; exports stay the functions the contract checked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EventRecorder, Project
from support import Running, dedent, run

from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

# A model that takes half a second to load, counted in a file the test reads.
MODEL = """
import time

LOADS_FILE = {loads!r}


def _load():
    time.sleep(0.5)
    with open(LOADS_FILE, "a") as f:
        f.write("{load_mark}")
    return {{"weights": [1, 2, 3]}}


MODEL = _load()


def predict(x: int) -> int:
    return x * {factor} + len(MODEL["weights"])
"""

EXPORTS = {"model": {"predict": "(x: int) -> int"}}


def model_source(loads: Path, *, factor: int = 1, load_mark: str = "x") -> str:
    return MODEL.format(loads=str(loads), factor=factor, load_mark=load_mark)


@pytest.fixture
def heavy(project: Project, start: Start) -> tuple[Running, Path]:
    loads = project.root / "loads.txt"
    r = run(project, start, {"model": model_source(loads)}, EXPORTS)
    assert loads.read_text() == "x"
    return r, loads


def test_a_body_edit_runs_no_module_code(heavy: tuple[Running, Path]) -> None:
    r, loads = heavy
    predict, model = r.module("model").predict, r.module("model").MODEL
    event = r.save(model_source(loads, factor=10), module="model")
    assert event["ran"] == "code"
    assert event["statements"] == []
    assert event["changed"] == ["predict"]
    assert loads.read_text() == "x"  # _load did not run again
    assert r.module("model").MODEL is model
    assert r.module("model").predict is predict
    assert predict(2) == 23
    assert r.binding("model").predict(2) == 23


def test_editing_the_loader_runs_it_and_what_calls_it_once(heavy: tuple[Running, Path]) -> None:
    r, loads = heavy
    event = r.save(model_source(loads, load_mark="y"), module="model")
    assert event["ran"] == "statements"
    assert [s.split(": ", 1)[1] for s in event["statements"]] == ["MODEL = _load()"]
    assert loads.read_text() == "xy"


def test_editing_the_line_that_calls_the_loader_runs_it_once(heavy: tuple[Running, Path]) -> None:
    r, loads = heavy
    source = model_source(loads).replace("MODEL = _load()", "MODEL = _load() | {'v': 2}")
    event = r.save(source, module="model")
    assert event["ran"] == "statements"
    assert [s.split(": ", 1)[1] for s in event["statements"]] == ["MODEL = _load() | {'v': 2}"]
    assert loads.read_text() == "xx"
    assert r.module("model").MODEL["v"] == 2


def test_a_changed_constant_runs_its_line_and_the_lines_that_read_it(
    project: Project, start: Start
) -> None:
    source = """
        import time

        RATE = 2
        TABLE = [RATE * n for n in range(3)]
        STARTED = time.monotonic()


        def price(n: int) -> int:
            return TABLE[n]
        """
    r = run(project, start, {"shop": source}, {"shop": {"price": "(n: int) -> int"}})
    started = r.module("shop").STARTED
    event = r.save(dedent(source).replace("RATE = 2", "RATE = 5"), module="shop")
    assert event["ran"] == "statements"
    assert [s.split(": ", 1)[1] for s in event["statements"]] == [
        "RATE = 5",
        "TABLE = [RATE * n for n in range(3)]",
    ]
    assert r.binding("shop").price(2) == 10
    assert r.module("shop").STARTED == started  # a line that reads nothing changed kept its value


def test_a_keep_name_statement_never_runs_again(project: Project, start: Start) -> None:
    source = """
        CONNECTIONS = ["opened"]


        def count() -> int:
            return len(CONNECTIONS)
        """
    r = run(
        project,
        start,
        {"pool": source},
        {"pool": {"count": "() -> int"}},
        keep={"pool": ["CONNECTIONS"]},
    )
    connections = r.module("pool").CONNECTIONS
    event = r.save(dedent(source).replace('["opened"]', '["opened", "again"]'), module="pool")
    assert event["ran"] == "code"  # the only changed statement binds a `keep` name
    assert r.module("pool").CONNECTIONS is connections
    assert r.binding("pool").count() == 1


def test_a_decorator_wrapper_edit_applies_without_decorating_again(
    project: Project, start: Start
) -> None:
    source = """
        import functools

        REGISTERED = []


        def register(f):
            REGISTERED.append(f.__name__)

            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs) {extra}

            return wrapper


        @register
        def add(a: int, b: int) -> int:
            return a + b
        """
    exports = {"reg": {"add": "(a: int, b: int) -> int"}}
    r = run(project, start, {"reg": source.format(extra="")}, exports)
    event = r.save(source.format(extra="* 100"), module="reg")
    assert event["ran"] == "code"
    assert r.module("reg").REGISTERED == ["add"]
    assert r.binding("reg").add(1, 2) == 300
    # Editing what the decorator does when it decorates would run the decorated def again and
    # register it a second time, where a fresh start registers it once (issue 21): the save
    # needs a restart, and nothing of it applies.
    changed = source.format(extra="* 100").replace(
        "REGISTERED.append(f.__name__)", "REGISTERED.append(f.__name__.upper())"
    )
    event = r.save(changed, module="reg", expect="reload.restart_needed")
    assert event["reason"] == "side_effect"
    assert r.module("reg").REGISTERED == ["add"]
    assert r.binding("reg").add(1, 2) == 300


def test_a_module_that_writes_its_own_globals_runs_whole(project: Project, start: Start) -> None:
    source = """
        for _name, _value in {{"A": {a}, "B": 2}}.items():
            globals()[_name] = _value


        def total() -> int:
            return A + B
        """
    r = run(project, start, {"dyn": source.format(a=1)}, {"dyn": {"total": "() -> int"}})
    event = r.save(source.format(a=40), module="dyn")
    assert event["ran"] == "module"
    assert r.binding("dyn").total() == 42


def test_a_statement_that_raises_leaves_the_module_and_its_functions_as_they_were(
    heavy: tuple[Running, Path],
) -> None:
    r, loads = heavy
    module = r.module("model")
    before = dict(vars(module))
    code = module.predict.__code__
    broken = model_source(loads, factor=7) + "\nCONFIG = {}['missing']\n"
    event = r.save(broken, module="model", expect="reload.rejected")
    assert event["reason"] == "exec_error"
    assert "KeyError" in event["message"]
    assert module.predict.__code__ is code  # the swapped body is swapped back
    assert dict(vars(module)) == before
    assert r.binding("model").predict(2) == 5


# -- every imported project module --------------------------------------------------------

HOST = """
import helpers


def answer() -> str:
    return helpers.greeting("world")
"""

HELPERS = """
PREFIX = "hello"


def greeting(name: str) -> str:
    return f"{PREFIX}, {name}"
"""


def test_a_helper_the_exports_import_reloads_without_a_contract(
    project: Project, start: Start
) -> None:
    project.write("helpers", HELPERS)
    r = run(project, start, {"host": HOST}, {"host": {"answer": "() -> str"}})
    loaded = r.events.wait_for("module.loaded", module="helpers")
    assert loaded["contract"] is False
    assert r.events.wait_for("module.loaded", module="host")["contract"] is True
    assert r.server.modules == ["host", "helpers"]
    event = r.save(
        dedent(HELPERS).replace('return f"{PREFIX}, {name}"', 'return f"{PREFIX}, {name}!"'),
        module="helpers",
    )
    assert (event["contract"], event["ran"], event["changed"]) == (False, "code", [])
    assert r.binding("host").answer() == "hello, world!"
    # A helper has no contract: a new parameter is accepted.
    event = r.save(
        dedent(HELPERS).replace("(name: str)", "(name: str, mark: str = '?')"),
        module="helpers",
        version=3,
    )
    assert event["contract"] is False
    assert r.binding("host").answer() == "hello, world"


def test_a_helper_imported_after_start_reloads_too(project: Project, start: Start) -> None:
    project.write("helpers", HELPERS)
    lazy = """
        def answer() -> str:
            import helpers

            return helpers.greeting("lazy")
        """
    r = run(project, start, {"host": lazy}, {"host": {"answer": "() -> str"}})
    assert "helpers" not in r.server.modules
    assert r.binding("host").answer() == "hello, lazy"
    assert r.events.wait_for("module.loaded", module="helpers")["contract"] is False
    r.save(dedent(HELPERS).replace('"hello"', '"hi"'), module="helpers")
    assert r.binding("host").answer() == "hi, lazy"


def test_a_project_file_never_imported_is_never_run(project: Project, start: Start) -> None:
    marker = project.root / "ran.txt"
    r = run(project, start, {"host": HOST, "helpers": HELPERS}, {"host": {"answer": "() -> str"}})
    mark = r.events.mark()
    project.write("unused", f"open({str(marker)!r}, 'w').close()\n")
    r.save(dedent(HELPERS).replace('"hello"', '"hey"'), module="helpers")  # a later event
    assert not marker.exists()
    assert "unused" not in r.server.modules
    assert all(e.get("module") != "unused" for e in r.events.events[mark:])


def test_manifest_scope_reloads_only_the_manifest_modules(project: Project, start: Start) -> None:
    project.write("helpers", HELPERS)
    project.write("host", HOST)
    project.manifest(
        """
        [project]
        name = "scoped"
        [modules.host.exports]
        answer = "() -> str"
        [env.development]
        reload = true
        debounce_ms = 5
        reload_scope = "manifest"
        """
    )
    server, events = start()
    assert server.modules == ["host"]
    mark = events.mark()
    project.write("helpers", dedent(HELPERS).replace('"hello"', '"hey"'))
    project.write("host", dedent(HOST) + "\n# touched\n")
    events.wait_for("reload.accepted", after=mark, module="host")
    assert all(e.get("module") != "helpers" for e in events.events[mark:])


# -- batches in import order ----------------------------------------------------------------

UTIL_V1 = """
def double(x: int) -> int:
    return 2 * x
"""
UTIL_V2 = (
    UTIL_V1
    + """

def triple(x: int) -> int:
    return 3 * x
"""
)
SUB_V1 = """
from util import double


def compute(x: int) -> int:
    return double(x)
"""
SUB_V2 = """
from util import double, triple


def compute(x: int) -> int:
    return double(x) + triple(x)
"""


@pytest.mark.parametrize(
    "order", [["sub", "util"], ["util", "sub"]], ids=["sub_first", "util_first"]
)
def test_files_saved_together_apply_in_import_order(
    project: Project, start: Start, order: list[str]
) -> None:
    exports = {
        "sub": {"compute": "(x: int) -> int"},
        "util": {"double": "(x: int) -> int"},
    }
    exports = {name: exports[name] for name in order}
    r = run(project, start, {"util": UTIL_V1, "sub": SUB_V1}, exports, debounce_ms=300)
    mark = r.events.mark()
    project.write("sub", SUB_V2)  # the importer first, as a checkout might write them
    project.write("util", UTIL_V2)
    util = r.events.wait_for("reload.accepted", after=mark, module="util")
    sub = r.events.wait_for("reload.accepted", after=mark, module="sub")
    assert util["seq"] < sub["seq"]
    assert "reload.rejected" not in r.events.names()[mark:]
    assert r.binding("sub").compute(2) == 10


@pytest.mark.parametrize("debounce_ms", [1, 200], ids=["split_batches", "one_batch"])
def test_twenty_files_of_a_branch_switch_all_apply(
    project: Project, start: Start, debounce_ms: int
) -> None:
    """m00 imports a name that m01 only now defines, m01 one from m02, and so on."""
    count = 20

    def source(i: int, version: int) -> str:
        lines = []
        if i + 1 < count:
            lines.append(f"from m{i + 1:02d} import value_{i + 1:02d}_v{version}")
        lines += [f"def value_{i:02d}_v{version}() -> int:", f"    return {version}", ""]
        lines += ["def read() -> int:", f"    return value_{i:02d}_v{version}()", ""]
        return "\n".join(lines)

    sources = {f"m{i:02d}": source(i, 1) for i in range(count)}
    exports = {name: {"read": "() -> int"} for name in sources}
    r = run(project, start, sources, exports, debounce_ms=debounce_ms)
    mark = r.events.mark()
    pace = threading.Event()
    for i in range(count):  # importers first: the worst order for the watcher
        project.write(f"m{i:02d}", source(i, 2))
        pace.wait(0.002 if debounce_ms < 5 else 0)  # a checkout writing file after file
    for i in range(count):
        r.events.wait_for("reload.accepted", after=mark, module=f"m{i:02d}")
    assert [r.binding(f"m{i:02d}").read() for i in range(count)] == [2] * count
    assert all(r.server.version(f"m{i:02d}") == 2 for i in range(count))


def test_a_name_taken_with_from_import_follows_its_module(project: Project, start: Start) -> None:
    config = "TIMEOUT = 5\n"
    client = """
        from config import TIMEOUT


        def timeout() -> int:
            return TIMEOUT
        """
    project.write("config", config)
    r = run(project, start, {"client": client}, {"client": {"timeout": "() -> int"}})
    mark = r.events.mark()
    r.save("TIMEOUT = 10\n", module="config")
    followed = r.events.wait_for("reload.accepted", after=mark, module="client")
    assert followed["ran"] == "statements"
    assert [s.split(": ", 1)[1] for s in followed["statements"]] == ["from config import TIMEOUT"]
    assert r.binding("client").timeout() == 10


# -- exports verified -----------------------------------------------------------------------

CALC = """
import functools


def _other(a: int, b: int) -> int:
    return a - b


def add(a: int, b: int) -> int:
    return a + b
"""

FALSE_ACCEPTS = [
    ("rebound_to_another_function", CALC + "\nadd = _other\n"),
    ("class_of_the_same_name", CALC + "\n\nclass add:\n    pass\n"),
    (
        "second_def_under_if",
        CALC + "\n\nif True:\n    def add(a: int) -> int:\n        return a\n",
    ),
    ("deleted", CALC + "\ndel add\n"),
    (
        "decorator_forgot_to_return",
        CALC.replace("def add", "def _register(f):\n    pass\n\n\n@_register\ndef add"),
    ),
    (
        "decorator_without_wraps_changes_the_call",
        CALC.replace(
            "def add",
            "def _curry(f):\n    def inner(a):\n        return f(a, 1)\n    return inner\n\n\n"
            "@_curry\ndef add",
        ),
    ),
]


@pytest.mark.parametrize(
    ("source",), [c[1:] for c in FALSE_ACCEPTS], ids=[c[0] for c in FALSE_ACCEPTS]
)
def test_an_export_replaced_by_another_object_is_rejected(
    project: Project, start: Start, source: str
) -> None:
    r = run(project, start, {"calc": CALC}, {"calc": {"add": "(a: int, b: int) -> int"}})
    add = r.module("calc").add
    event = r.save(source, module="calc", expect="reload.rejected")
    assert event["reason"] == "export_replaced"
    assert event["violations"][0]["function"] == "add"
    assert "add" in event["message"]
    assert r.module("calc").add is add
    assert r.binding("calc").add(2, 3) == 5
    assert r.server.version("calc") == 1


def test_a_decorator_that_keeps_the_call_is_accepted(project: Project, start: Start) -> None:
    r = run(project, start, {"calc": CALC}, {"calc": {"add": "(a: int, b: int) -> int"}})
    passthrough = CALC.replace(
        "def add",
        "def _log(f):\n    def inner(*args, **kwargs):\n        return f(*args, **kwargs)\n"
        "    return inner\n\n\n@_log\ndef add",
    )
    event = r.save(passthrough, module="calc")
    assert event["rebound"] == ["add"]
    assert r.binding("calc").add(2, 3) == 5
    cached = CALC + "\nadd = functools.cache(add)\n"
    r.save(cached, module="calc", version=3)
    assert r.binding("calc").add(2, 3) == 5


# -- a real web app -----------------------------------------------------------------------

FASTAPI_APP = """
from fastapi import FastAPI

import handlers

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {{"message": "{message}"}}


@app.get("/total")
def total(a: int, b: int) -> dict[str, int]:
    return {{"total": handlers.add(a, b)}}
{extra}"""


def test_a_fastapi_route_body_edit_applies_without_registering_it_again(
    project: Project, start: Start
) -> None:
    import importlib

    from fastapi.testclient import TestClient

    project.write("app", FASTAPI_APP.format(message="hello", extra=""))
    r = run(
        project,
        start,
        {"handlers": "def add(a: int, b: int) -> int:\n    return a + b\n"},
        {"handlers": {"add": "(a: int, b: int) -> int"}},
    )
    app = importlib.import_module("app").app
    assert r.events.wait_for("module.loaded", module="app")["contract"] is False
    routes = len(app.routes)
    with TestClient(app) as client:
        assert client.get("/hello").json() == {"message": "hello"}
        event = r.save(FASTAPI_APP.format(message="hot", extra=""), module="app")
        assert event["ran"] == "code"
        assert len(app.routes) == routes
        assert client.get("/hello").json() == {"message": "hot"}
        # A handler of the manifest, called by a route, reloads under its contract.
        r.save("def add(a: int, b: int) -> int:\n    return a + b + 1000\n", module="handlers")
        assert client.get("/total", params={"a": 1, "b": 2}).json() == {"total": 1003}
        # A new route registers with the app: a fresh start would have it in its route table,
        # /openapi.json and /docs; in place it cannot be, so the save asks for a restart, and
        # in-process (restart = "never") nothing of it is applied.
        extra = '\n\n@app.get("/new")\ndef new() -> dict[str, bool]:\n    return {"new": True}\n'
        event = r.save(
            FASTAPI_APP.format(message="hot2", extra=extra),
            module="app",
            expect="reload.restart_needed",
        )
        assert (event["reason"], event["restart"], event["version"]) == ("side_effect", "never", 2)
        [cause] = event["causes"]
        assert cause["statement"].endswith("def new") and cause["name"] == "new"
        assert len(app.routes) == routes
        assert client.get("/new").status_code == 404
        assert client.get("/hello").json() == {"message": "hot"}  # the module is as it was


def test_a_closure_made_at_run_time_takes_the_new_body(project: Project, start: Start) -> None:
    """A route defined inside `main()` and handed to a framework (here: a registry dict) is
    reached through the code object it was made from."""
    source = """
        ROUTES = {{}}


        def main() -> None:
            def health() -> str:
                return "{status}"

            ROUTES["health"] = health


        def call(name: str) -> str:
            return ROUTES[name]()
        """
    r = run(
        project, start, {"app": source.format(status="ok")}, {"app": {"call": "(name: str) -> str"}}
    )
    r.module("app").main()
    health = r.module("app").ROUTES["health"]
    event = r.save(source.format(status="very ok"), module="app")
    assert event["ran"] == "code"
    assert r.module("app").ROUTES["health"] is health
    assert r.binding("app").call("health") == "very ok"


def test_closures_a_decorator_made_follow_its_code_across_saves(
    project: Project, start: Start
) -> None:
    """`login_required`'s inner function, made once per view at import, takes a later edit of
    its body even after an earlier save swapped the decorator's code (flaskr's auth.py)."""
    deco = """
        import functools


        def required(view):
            @functools.wraps(view)
            def wrapped(**kwargs):
                return "{word}"

            return wrapped


        def other():
            return "{other}"
        """
    project.write("deco", deco.format(word="one", other="x"))
    views = "from deco import required\n\n\n@required\ndef create():\n    return 'create'\n"
    r = run(project, start, {"views": views}, {"views": {}})
    import importlib

    create = importlib.import_module("views").create
    assert create() == "one"
    r.save(dedent(deco.format(word="one", other="y")), module="deco")
    r.save(dedent(deco.format(word="two", other="y")), module="deco")
    assert create() == "two"
