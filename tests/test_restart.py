"""`hotreload up` restarts itself into a save that cannot apply in place: same process, same
socket (no connection refused), and a restart whose start-up fails waits for the next save."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from child import WAIT, Child
from test_cli import edit, validate_events
from test_web import free_port

pytestmark = pytest.mark.timeout(120)

APP = '''
"""A FastAPI app as its users write it."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/a")
def a() -> dict[str, str]:
    return {"route": "a"}
'''

ROUTE_B = """

@app.get("/b")
def b() -> dict[str, str]:
    return {"route": "b"}
"""


def manifest(restart: str | None = None) -> str:
    policy = f'restart = "{restart}"\n' if restart else ""
    return (
        '[project]\nname = "restarts"\n\n[modules]\n\n'
        f"[env.development]\nreload = true\ndebounce_ms = 3\n{policy}\n"
        '[app]\nasgi = "main:app"\n'
    )


def project(tmp_path: Path, restart: str | None = None) -> Path:
    (tmp_path / "main.py").write_text(APP.lstrip(), encoding="utf-8")
    (tmp_path / "hotreload.toml").write_text(manifest(restart), encoding="utf-8")
    return tmp_path


def up(directory: Path, *args: str) -> Child:
    port = str(free_port())
    return Child("up", "--log-format", "json", "--port", port, *args, cwd=directory)


class Hammer:
    """New connections, one after another, against the server while it restarts: each refused
    connection counts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.refused = 0
        self.answered = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(WAIT)

    def wait_answers(self, count: int) -> None:
        deadline = time.monotonic() + WAIT
        while self.answered < count:
            assert time.monotonic() < deadline, f"{self.answered} answers, {self.errors}"
            self._stop.wait(0.01)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with httpx.Client(timeout=WAIT) as http:  # a new connection each time
                    response = http.get(f"{self.url}/a")
                assert response.status_code == 200, response.text
                self.answered += 1
            except httpx.ConnectError as e:
                self.refused += 1
                self.errors.append(repr(e))
            except (httpx.HTTPError, AssertionError) as e:
                self.errors.append(repr(e))


def test_a_new_route_restarts_the_server_in_the_same_process_and_refuses_no_connection(
    tmp_path: Path,
) -> None:
    directory = project(tmp_path)
    child = up(directory)
    try:
        url = child.wait_for("app.serving")["url"]
        pid = child.proc.pid
        with Hammer(url) as hammer:
            hammer.wait_answers(3)  # it runs before the save
            mark = child.mark()
            edit(
                directory / "main.py",
                ('    return {"route": "a"}\n', '    return {"route": "a"}\n' + ROUTE_B),
            )
            needed = child.wait_for("reload.restart_needed", after=mark, module="main")
            assert (needed["reason"], needed["restart"]) == ("side_effect", "auto")
            assert needed["causes"][0]["statement"] == "13: def b"
            restarting = child.wait_for("server.restarting", after=mark)
            assert (restarting["module"], restarting["reason"]) == ("main", "side_effect")
            started = child.wait_for("server.started", after=mark, restarted=True)
            assert started["duration_ms"] > 0
            child.wait_for("app.serving", after=mark)
            hammer.wait_answers(hammer.answered + 3)  # and after the restart
        assert hammer.refused == 0, hammer.errors
        # A connection the old server accepted in the instant it stopped accepting can be closed
        # unanswered by uvicorn's shutdown (as under any graceful stop): once at most.
        assert len(hammer.errors) <= 1, hammer.errors
        assert all("disconnected without sending a response" in e for e in hammer.errors)
        assert child.proc.pid == pid and child.proc.poll() is None  # the same process serves
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/b").json() == {"route": "b"}
            # A handler's body edit applies in place: no restart.
            mark = child.mark()
            edit(directory / "main.py", ('{"route": "b"}', '{"route": "B"}'))
            accepted = child.wait_for("reload.accepted", after=mark, module="main")
            assert accepted["ran"] == "code"
            assert http.get(f"{url}/b").json() == {"route": "B"}
            # A syntax error never restarts.
            mark = child.mark()
            edit(directory / "main.py", ('{"route": "B"}', '{"route": "B"'))
            child.wait_for("reload.rejected", after=mark, module="main", reason="syntax_error")
            assert http.get(f"{url}/b").json() == {"route": "B"}
        assert child.stop() == 0
        names = [e["event"] for e in child.events]
        assert names.count("server.restarting") == 1
        assert names.count("server.stopped") == 1  # the restart is not a stop
        validate_events(child.events)
    finally:
        child.kill()


def test_a_restart_whose_start_up_fails_waits_for_the_next_save(tmp_path: Path) -> None:
    directory = project(tmp_path)
    log = tmp_path / "events.jsonl"
    child = up(directory, "--log-file", str(log))
    try:
        url = child.wait_for("app.serving")["url"]
        mark = child.mark()
        edit(
            directory / "main.py",
            ("app = FastAPI()\n", "app = FastAPI()\n" + ROUTE_B + "\n1 / 0\n"),
        )
        child.wait_for("server.restarting", after=mark)
        failed = child.wait_for("server.failed", after=mark)
        assert failed["waiting"] is True and "ZeroDivisionError" in failed["message"]
        assert child.proc.poll() is None  # it waits, it does not exit
        mark = child.mark()
        edit(directory / "main.py", ("\n1 / 0\n", "\n"))
        child.wait_for("server.started", after=mark, restarted=True)
        child.wait_for("app.serving", after=mark)
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/b").json() == {"route": "b"}
        assert child.stop() == 0
        # The log file has every run's events, each run's written out before the next began.
        logged = [json.loads(line)["event"] for line in log.read_text().splitlines()]
        assert logged == [e["event"] for e in child.events]
        assert logged.count("server.started") == 2 and "server.restarting" in logged
    finally:
        child.kill()


BLOCKED_IMPORT = """
import pathlib
import time

_here = pathlib.Path(__file__).parent
(_here / "importing.flag").write_text("1")
_until = time.monotonic() + 60
while not (_here / "go.flag").exists() and time.monotonic() < _until:
    time.sleep(0.01)
1 / 0
"""


def test_a_save_made_while_a_failing_restart_started_restarts_it_at_once(tmp_path: Path) -> None:
    """No watcher runs during a restart's start-up: the files' modification times say, when
    it fails, that a save came after the exec, and the fixed version starts without another."""
    directory = project(tmp_path)
    child = up(directory)
    try:
        url = child.wait_for("app.serving")["url"]
        mark = child.mark()
        # A new route (a restart), and an import that, once the file was read, waits until
        # told to fail.
        blocked = "app = FastAPI()\n" + ROUTE_B + BLOCKED_IMPORT
        edit(directory / "main.py", ("app = FastAPI()\n", blocked))
        child.wait_for("server.restarting", after=mark)
        flag = directory / "importing.flag"
        deadline = time.monotonic() + WAIT
        while not flag.exists():
            assert time.monotonic() < deadline, "the restarted run never imported main.py"
            time.sleep(0.01)
        # Saved while that start-up runs: the fix (no wait, no error) and route b.
        (directory / "main.py").write_text(APP.lstrip() + ROUTE_B, encoding="utf-8")
        (directory / "go.flag").write_text("1")
        failed = child.wait_for("server.failed", after=mark)
        assert failed["waiting"] is True and "ZeroDivisionError" in failed["message"]
        child.wait_for("server.started", after=mark, restarted=True)
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/b").json() == {"route": "b"}
        assert child.stop() == 0
    finally:
        child.kill()


def test_with_restart_never_the_event_says_so_and_the_old_version_serves(tmp_path: Path) -> None:
    directory = project(tmp_path, restart="never")
    child = up(directory)
    try:
        url = child.wait_for("app.serving")["url"]
        mark = child.mark()
        edit(
            directory / "main.py",
            ('    return {"route": "a"}\n', '    return {"route": "A"}\n' + ROUTE_B),
        )
        needed = child.wait_for("reload.restart_needed", after=mark, module="main")
        assert needed["restart"] == "never" and "restart" in needed["message"]
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/b").status_code == 404
            assert http.get(f"{url}/a").json() == {"route": "a"}  # nothing of the save applied
        assert child.stop() == 0
        assert "server.restarting" not in [e["event"] for e in child.events]
    finally:
        child.kill()


TABLE_APP = """
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()


def define(md: MetaData) -> list[str]:
    table = Table("todos", md, Column("id", Integer, primary_key=True))
    return [c.name for c in table.columns]


COLUMNS = define(metadata)
app = FastAPI()


@app.get("/columns")
def columns() -> list[str]:
    return COLUMNS
"""


def test_a_statement_that_raises_when_run_again_in_place_restarts(tmp_path: Path) -> None:
    """`COLUMNS = define(metadata)` runs again when `define` changed, and raises there (the
    MetaData has that table already): a fresh start does not, so the save restarts into it."""
    directory = project(tmp_path)
    (directory / "main.py").write_text(TABLE_APP.lstrip(), encoding="utf-8")
    child = up(directory)
    try:
        url = child.wait_for("app.serving")["url"]
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/columns").json() == ["id"]
            mark = child.mark()
            edit(
                directory / "main.py",
                ("primary_key=True))", 'primary_key=True), Column("title", String))'),
            )
            needed = child.wait_for("reload.restart_needed", after=mark, module="main")
            assert needed["reason"] == "exec_error_in_place"
            assert "already defined" in needed["message"]
            assert needed["causes"][0]["statement"] == "12: COLUMNS = define(metadata)"
            child.wait_for("app.serving", after=mark)
            assert http.get(f"{url}/columns").json() == ["id", "title"]
        assert child.stop() == 0
    finally:
        child.kill()


def test_the_served_app_made_anew_restarts_into_it(tmp_path: Path) -> None:
    """uvicorn holds the app object it started with: `app = FastAPI(title=...)` run again in
    place would make an app that never answers, so the save restarts (identity_lost)."""
    directory = project(tmp_path)
    child = up(directory)
    try:
        url = child.wait_for("app.serving")["url"]
        mark = child.mark()
        edit(directory / "main.py", ("app = FastAPI()", 'app = FastAPI(title="Todos")'))
        needed = child.wait_for("reload.restart_needed", after=mark, module="main")
        assert needed["reason"] == "identity_lost"
        assert needed["causes"][0]["name"] == "app"
        child.wait_for("app.serving", after=mark)
        with httpx.Client(timeout=WAIT) as http:
            assert http.get(f"{url}/openapi.json").json()["info"]["title"] == "Todos"
            assert http.get(f"{url}/a").json() == {"route": "a"}
        assert child.stop() == 0
    finally:
        child.kill()
