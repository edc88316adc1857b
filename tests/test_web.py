"""Web apps under `hotreload up`: the example served by uvicorn in the child, a real HTTP client."""

from __future__ import annotations

import shutil
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import httpx
import pytest
from child import REPO, WAIT, Child
from conftest import Project
from test_cli import edit, validate_events

pytestmark = pytest.mark.timeout(120)

EXAMPLE = REPO / "examples" / "webapp"
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]


def free_port() -> int:
    """A port nothing listens on now: the OS picks it, so parallel runs never collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    """A copy of examples/webapp that a test may edit."""
    target = tmp_path / "webapp"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def up(directory: Path, *args: str, model_seconds: float = 0.2) -> Child:
    port = free_port()
    env = {"WEBAPP_MODEL_SECONDS": str(model_seconds)}
    return Child("up", "--log-format", "json", "--port", str(port), *args, cwd=directory, env=env)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=WAIT) as http:
        yield http


def get(http: httpx.Client, url: str) -> Any:
    response = http.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_handler_edit_reaches_the_next_response_and_start_up_state_is_kept(
    webapp: Path, client: httpx.Client
) -> None:
    with up(webapp) as child:
        url = child.wait_for("app.serving", kind="asgi", reload=True)["url"]
        assert get(client, f"{url}/greet/ada") == {"message": "Hello, ada!"}
        before = get(client, f"{url}/predict?text=one+two")
        mark = child.mark()
        edit(webapp / "handlers.py", ('f"Hello, {name}!"', 'f"Howdy, {name}!"'))
        child.wait_for("reload.accepted", after=mark, module="handlers", changed=["greet"])
        assert get(client, f"{url}/greet/ada") == {"message": "Howdy, ada!"}
        after = get(client, f"{url}/predict?text=one+two")
        assert after["model_loaded_at"] == before["model_loaded_at"]  # not loaded again
        assert child.stdout.count("webapp: loading the model (0.2 s)") == 1
        assert child.stop() == 0
        assert child.bad_lines == []  # uvicorn's own lines are events too, in JSON mode
        validate_events(child.events)
        logged = [e for e in child.events if e["event"] == "app.log"]
        assert {e["logger"] for e in logged} == {"uvicorn.error"}  # no access log by default
        assert child.events[-1]["reason"] == "interrupted"


def test_a_signature_breaking_edit_is_rejected_and_the_old_handler_keeps_answering(
    webapp: Path, client: httpx.Client
) -> None:
    with up(webapp) as child:
        url = child.wait_for("app.serving")["url"]
        mark = child.mark()
        edit(
            webapp / "handlers.py",
            (
                "def greet(name: str)",
                "def greet(name: str, punctuation: str)",
            ),  # callers must pass it
            ('f"Hello, {name}!"', 'f"Hello, {name}{punctuation}"'),
        )
        rejected = child.wait_for("reload.rejected", after=mark, module="handlers")
        assert rejected["reason"] == "parameters_changed"
        assert get(client, f"{url}/greet/ada") == {"message": "Hello, ada!"}
        assert child.stop() == 0


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_while_serving_stops_cleanly(webapp: Path, client: httpx.Client, sig: int) -> None:
    with up(webapp) as child:
        url = child.wait_for("app.serving")["url"]
        assert get(client, f"{url}/health") == {"status": "ok"}
        assert child.stop(sig) == 0
        stopped = child.events[-1]
        assert (stopped["event"], stopped["reason"]) == ("server.stopped", "interrupted")
        assert stopped["message"] == f"{signal.Signals(sig).name} received"
        assert "Shutting down" in [e.get("message") for e in child.events]  # graceful


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_while_the_app_still_starts_up_stops_cleanly(webapp: Path, sig: int) -> None:
    with up(webapp, model_seconds=60) as child:
        child.wait_stdout("webapp: loading the model (60 s)")
        assert child.stop(sig) == 0
        stopped = child.events[-1]
        assert (stopped["event"], stopped["reason"]) == ("server.stopped", "interrupted")
        assert stopped["message"] == f"{signal.Signals(sig).name} received during start-up"
        assert "app.serving" not in [e["event"] for e in child.events]


SLOW_RELOAD_S = 1.0
HEALTH_BOUND_MS = 50.0


def test_an_unrelated_async_route_answers_while_a_request_awaits_a_held_binding(
    webapp: Path,
) -> None:
    """The async gate under a real server: /predict awaits a 1 s reload, /health does not."""
    with up(webapp) as child:
        url = child.wait_for("app.serving")["url"]
        with httpx.Client(timeout=WAIT) as http:
            get(http, f"{url}/health")  # warm: connection set up, routes compiled
            get(http, f"{url}/predict?text=warm")
        mark = child.mark()
        edit(
            webapp / "handlers.py",
            (
                "import asyncio\n",
                "import asyncio\nimport time\n\n"
                f'print("RELOADING", flush=True)\ntime.sleep({SLOW_RELOAD_S})\n',
            ),
            ('"label": "long"', '"label": "LONG"'),
        )
        child.wait_stdout("RELOADING", after=mark)  # the reload holds the gate from here
        held: dict[str, Any] = {}

        def slow_request() -> None:
            began = time.perf_counter()
            with httpx.Client(timeout=WAIT) as http:
                held["body"] = get(http, f"{url}/predict?text=a+b+c+d+e")
            held["seconds"] = time.perf_counter() - began

        thread = threading.Thread(target=slow_request, daemon=True)
        thread.start()
        latencies: list[float] = []
        try:
            with httpx.Client(timeout=WAIT) as http:
                # Every request sent while /predict waits counts, however long it then takes.
                while thread.is_alive() and len(latencies) < 200:
                    began = time.perf_counter()
                    assert get(http, f"{url}/health") == {"status": "ok"}
                    latencies.append((time.perf_counter() - began) * 1000)
        finally:
            thread.join(WAIT)
        child.wait_for("reload.accepted", after=mark, module="handlers")
        assert held["body"]["label"] == "LONG"  # it waited, then ran the new version wholly
        assert held["seconds"] > SLOW_RELOAD_S / 4, held  # it was held by the reload
        # A blocked event loop answers a request sent meanwhile only after the reload (about
        # 1 s later); the median of the answers is what a user sees.
        assert len(latencies) >= 5, latencies
        assert statistics.median(latencies) < HEALTH_BOUND_MS, latencies
        print(
            f"/health while /predict waited {held['seconds'] * 1000:.0f} ms: "
            f"n={len(latencies)} median={statistics.median(latencies):.1f} ms "
            f"max={max(latencies):.1f} ms"
        )
        assert child.stop() == 0


def test_production_serves_the_same_app_with_no_watcher_and_an_access_log(
    webapp: Path, client: httpx.Client
) -> None:
    with up(webapp, "--env", "production") as child:
        serving = child.wait_for("app.serving")
        assert serving["reload"] is False
        started = child.wait_for("server.started")
        assert started["reload"] is False
        assert get(client, f"{serving['url']}/greet/ada") == {"message": "Hello, ada!"}
        access = child.wait_for("app.log", logger="uvicorn.access")
        assert '"GET /greet/ada HTTP/1.1" 200' in access["message"]
        assert child.stop() == 0
        assert child.bad_lines == []


WORKERS_HOST = """
import uvicorn


def main(server):
    uvicorn.run("webapp:app", host="127.0.0.1", port={port}, workers=2, log_config=None)
"""


def test_uvicorn_workers_are_refused_with_the_reason(webapp: Path) -> None:
    (webapp / "serve.py").write_text(WORKERS_HOST.format(port=free_port()), encoding="utf-8")
    manifest = webapp / "hotreload.toml"
    text = manifest.read_text(encoding="utf-8").replace(
        'asgi = "webapp:app"', 'entry = "serve:main"'
    )
    manifest.write_text(text, encoding="utf-8")
    with Child("up", "--log-format", "json", cwd=webapp) as child:
        assert child.wait() == 2
        stopped = child.events[-1]
        assert (stopped["event"], stopped["reason"]) == ("server.stopped", "entry_failed")
        message = stopped["message"]
        assert message.startswith("hotreload up refused to start a worker process")
        assert "a worker process would keep serving the code it started with" in message
        assert "reload = false" in message
        assert child.stderr[-1] == f"hotreload: error: {message}"


def test_module_code_that_forks_at_start_up_is_refused(project: Project) -> None:
    project.write("forker", "import os\n\nos.fork()\n\n\ndef f() -> int:\n    return 1\n")
    project.manifest('[project]\nname = "f"\n[modules.forker.exports]\nf = "() -> int"\n')
    with Child("up", "--log-format", "json", cwd=project.root) as child:
        assert child.wait() == 1
        failed = child.events[-1]
        assert (failed["event"], failed["reason"]) == ("server.failed", "import_error")
        assert "refused to start a worker process (os.fork())" in failed["message"]


FLASK_APP = """
from flask import Flask

import hotreload

views = hotreload.current().module("views")
app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name):
    return {"text": views.hello(name)}
"""

FLASK_MANIFEST = """
[project]
name = "flask-demo"

[modules.views.exports]
hello = "(name: str) -> str"

[env.development]
reload = true

[app]
wsgi = "site_app:app"
"""


def test_a_flask_app_is_served_as_wsgi_and_reloads(project: Project, client: httpx.Client) -> None:
    project.write("views", "def hello(name: str) -> str:\n    return f'hi {name}'\n")
    project.write("site_app", FLASK_APP)
    project.manifest(FLASK_MANIFEST)
    with Child("up", "--log-format", "json", "--port", str(free_port()), cwd=project.root) as child:
        url = child.wait_for("app.serving", kind="wsgi")["url"]
        assert get(client, f"{url}/hello/ada") == {"text": "hi ada"}
        mark = child.mark()
        project.write("views", "def hello(name: str) -> str:\n    return f'hello {name}'\n")
        child.wait_for("reload.accepted", after=mark, module="views")
        assert get(client, f"{url}/hello/ada") == {"text": "hello ada"}
        assert child.stop() == 0
        assert child.bad_lines == []


def test_the_default_install_has_no_web_dependencies() -> None:
    """uvicorn and friends come only with the `web` extra (and the tests' extra)."""
    web = {"uvicorn", "a2wsgi", "fastapi", "flask", "starlette", "httpx"}
    declared = requires("hotreload-contract") or []
    unconditional = [r for r in declared if "extra ==" not in r]
    names = {
        r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip() for r in unconditional
    }
    assert names and not names & web, unconditional
    in_web = [r for r in declared if 'extra == "web"' in r]
    assert any(r.startswith("uvicorn") for r in in_web), declared
    assert any(r.startswith("a2wsgi") for r in in_web), declared


# -- errors before anything serves: in-process, exact exit codes and messages ----------------

TINY = """
async def app(scope, receive, send):
    raise RuntimeError("never called here")


def plain(name):
    return name


def create_app():
    return app


def make_nothing():
    return 42
"""


@pytest.fixture
def tiny(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    project.write("calc", "def add(a: int, b: int) -> int:\n    return a + b\n")
    project.write("tiny", TINY)
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("HOTRELOAD_ENV", raising=False)
    return project


def serve_manifest(app: str) -> str:
    calc = '[modules.calc.exports]\nadd = "(a: int, b: int) -> int"\n'
    return f'[project]\nname = "t"\n{calc}[app]\n{app}\n'


def up_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any], str]:
    from test_cli import json_events

    from hotreload.cli import main

    code = main(["up", "--log-format", "json", "--port", str(free_port()), *args])
    err = capsys.readouterr().err
    return code, json_events(err), err.splitlines()[-1]


@pytest.mark.parametrize(
    ("app", "code", "reason", "message"),
    [
        (
            'asgi = "nowhere:app"',
            2,
            "app_error",
            "cannot import [app] asgi = \"nowhere:app\": no module named 'nowhere' under "
            "project.root ({root}); check the module name",
        ),
        (
            'asgi = "tiny:ap"',
            2,
            "app_error",
            "cannot serve [app] asgi = \"tiny:ap\": module 'tiny' ({root}/tiny.py) has no 'ap'",
        ),
        (
            'asgi = "tiny:plain"',
            2,
            "app_error",
            'cannot serve [app] asgi = "tiny:plain": it is the function plain(name), not an ASGI '
            "app: expected an async callable app(scope, receive, send), such as a FastAPI app",
        ),
        (
            'asgi = "tiny:create_app"',
            2,
            "app_error",
            'cannot serve [app] asgi = "tiny:create_app": it is the function create_app(), not an '
            "ASGI app: expected an async callable app(scope, receive, send), such as a FastAPI "
            "app; it looks like an app factory (a function that returns the app): add "
            "factory = true under [app]",
        ),
        (
            'asgi = "tiny:plain"\nfactory = true',
            2,
            "app_error",
            'cannot serve [app] asgi = "tiny:plain" with factory = true: it is the function '
            "plain(name), not a function that takes no arguments and returns the app; name such "
            "a function (Flask's create_app), or remove factory = true to serve the object itself",
        ),
        (
            'wsgi = "tiny:make_nothing"\nfactory = true',
            2,
            "app_error",
            'cannot serve [app] wsgi = "tiny:make_nothing": its factory returned an int, not a '
            "WSGI app: expected a callable app(environ, start_response), such as a Flask app",
        ),
        (
            'wsgi = "tiny:app"',
            2,
            "app_error",
            'cannot serve [app] wsgi = "tiny:app": it is the function app(scope, receive, send), '
            "not a WSGI app: expected a callable app(environ, start_response), such as a Flask "
            "app; it looks like an ASGI app: use [app] asgi",
        ),
    ],
)
def test_an_app_that_cannot_be_served_fails_before_the_watcher_starts(
    tiny: Project,
    capsys: pytest.CaptureFixture[str],
    app: str,
    code: int,
    reason: str,
    message: str,
) -> None:
    tiny.manifest(serve_manifest(app))
    exit_code, events, last_line = up_in_process(capsys)
    expected = message.format(root=tiny.root)
    assert exit_code == code
    # calc, then the app's own module if it imports (it reloads too, without a contract); no
    # server.started.
    names = [e["event"] for e in events]
    assert names in (
        ["module.loaded", "server.failed"],
        ["module.loaded", "module.loaded", "server.failed"],
    )
    assert events[0]["module"] == "calc"
    assert all((e["module"], e["contract"]) == ("tiny", False) for e in events[1:-1])
    assert (events[-1]["reason"], events[-1]["message"]) == (reason, expected)
    assert last_line == f"hotreload: error: {expected}"
    validate_events(events)


def test_a_port_in_use_exits_1_before_any_module_code_runs(
    tiny: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny.manifest(serve_manifest('asgi = "tiny:app"'))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exit_code, events, last_line = up_in_process(capsys, "--port", str(port))
    assert exit_code == 1
    assert [(e["event"], e["reason"]) for e in events] == [("server.failed", "port_in_use")]
    assert events[0]["message"] == (
        f'cannot serve [app] asgi = "tiny:app" on 127.0.0.1:{port}: the port is in use '
        "(another server, or an earlier `hotreload up` still running?); stop it, or pick "
        "another port with --port or env.<name>.port"
    )
    assert last_line.endswith("--port or env.<name>.port")


def test_without_the_web_extra_the_error_says_what_to_install(
    tiny: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny.manifest(serve_manifest('wsgi = "tiny:plain"'))
    monkeypatch.setitem(sys.modules, "a2wsgi", None)  # what the import system does if absent
    exit_code, events, last_line = up_in_process(capsys)
    assert exit_code == 2
    assert [(e["event"], e["reason"]) for e in events] == [("server.failed", "app_error")]
    assert last_line == (
        'hotreload: error: [app] wsgi = "tiny:plain" is served by uvicorn, and a2wsgi is not '
        "installed: pip install uvicorn a2wsgi (what hotreload's web extra installs)"
    )
    assert "calc" not in sys.modules  # no module code ran


@pytest.mark.parametrize(
    ("app", "found"), [("", "none of them"), ('entry = "a:b"\nasgi = "c:d"', "entry and asgi")]
)
def test_the_manifest_names_exactly_one_app(
    tiny: Project, capsys: pytest.CaptureFixture[str], app: str, found: str
) -> None:
    tiny.manifest(serve_manifest(app))
    exit_code, _, last_line = up_in_process(capsys)
    assert exit_code == 2
    assert last_line == (
        "hotreload: error: hotreload.toml: app: set exactly one of entry (a function to call), "
        f"asgi or wsgi (an app to serve); found {found}"
    )


BROKEN = """
from contextlib import asynccontextmanager

from fastapi import FastAPI

import hotreload

views = hotreload.current().module("views")


@asynccontextmanager
async def lifespan(app):
    if views.fail_start_up():
        raise RuntimeError("the database is not there")
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/boom")
def boom() -> dict[str, str]:
    return {"value": views.boom()}
"""

BROKEN_VIEWS = """
def fail_start_up() -> bool:
    return {fail}


def boom() -> str:
    raise ValueError("handler broke")
"""

BROKEN_MANIFEST = """
[project]
name = "broken"

[modules.views.exports]
fail_start_up = "() -> bool"
boom = "() -> str"

[app]
asgi = "broken:app"
"""


def test_an_exception_in_a_route_is_an_app_log_event_with_its_traceback(
    project: Project, client: httpx.Client
) -> None:
    project.write("views", BROKEN_VIEWS.format(fail=False))
    project.write("broken", BROKEN)
    project.manifest(BROKEN_MANIFEST)
    with Child("up", "--log-format", "json", "--port", str(free_port()), cwd=project.root) as child:
        url = child.wait_for("app.serving")["url"]
        assert client.get(f"{url}/boom").status_code == 500
        error = child.wait_for("app.log", level="error")
        assert error["logger"] == "uvicorn.error"
        assert error["exception"].splitlines()[-1] == "ValueError: handler broke"
        assert child.stop() == 0
        assert child.bad_lines == []


def test_an_app_whose_start_up_fails_exits_1_with_app_failed(project: Project) -> None:
    project.write("views", BROKEN_VIEWS.format(fail=True))
    project.write("broken", BROKEN)
    project.manifest(BROKEN_MANIFEST)
    with Child("up", "--log-format", "json", "--port", str(free_port()), cwd=project.root) as child:
        assert child.wait() == 1
        names = [e["event"] for e in child.events]
        assert "app.serving" not in names
        errors = [e for e in child.events if e["event"] == "app.log" and e["level"] == "error"]
        # uvicorn logs the lifespan's traceback as the message itself
        assert any("RuntimeError: the database is not there" in e["message"] for e in errors)
        stopped = child.events[-1]
        assert (stopped["event"], stopped["reason"]) == ("server.stopped", "app_failed")
        assert stopped["message"].startswith('[app] asgi = "broken:app" failed to start')
        assert [line for line, _ in child.bad_lines] == [f"hotreload: error: {stopped['message']}"]


TAKES_WAKEUP_FD = """
import signal
import socket
from contextlib import asynccontextmanager

from fastapi import FastAPI

import hotreload

views = hotreload.current().module("views")
PAIR = socket.socketpair()
PAIR[1].setblocking(False)


@asynccontextmanager
async def lifespan(app):
    # As uvloop does: the event loop takes the interpreter's signal wakeup fd for itself.
    signal.set_wakeup_fd(PAIR[1].fileno(), warn_on_full_buffer=False)
    yield


app = FastAPI(lifespan=lifespan)
"""


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_is_reported_even_when_the_loop_took_the_wakeup_fd(
    project: Project, sig: int
) -> None:
    project.write("views", BROKEN_VIEWS.format(fail=False))
    project.write("broken", TAKES_WAKEUP_FD)
    project.manifest(BROKEN_MANIFEST)
    with Child("up", "--log-format", "json", "--port", str(free_port()), cwd=project.root) as child:
        child.wait_for("app.serving")
        assert child.stop(sig) == 0
        stopped = child.events[-1]
        assert (stopped["reason"], stopped["message"]) == (
            "interrupted",
            f"{signal.Signals(sig).name} received",
        )


def test_the_profile_names_the_port_and_host_overrides_its_address(
    webapp: Path, client: httpx.Client
) -> None:
    port = free_port()
    manifest = webapp / "hotreload.toml"
    text = manifest.read_text(encoding="utf-8").replace("port = 8000 ", f"port = {port} ")
    manifest.write_text(text, encoding="utf-8")
    env = {"WEBAPP_MODEL_SECONDS": "0.1"}
    with Child("up", "--log-format", "json", "--host", "localhost", cwd=webapp, env=env) as child:
        serving = child.wait_for("app.serving")
        assert (serving["host"], serving["port"]) == ("127.0.0.1", port)  # localhost, resolved
        assert get(client, f"http://localhost:{port}/health") == {"status": "ok"}
        assert child.stop() == 0
