"""The HTTP-level differential harness of issue 16: after every save, the live server against a
fresh `hotreload up` on the same files.

How one edit is judged
----------------------
A live `hotreload up` (the real CLI in a child process, JSON events on stderr, a port the OS
picks) serves a copy of the example in tmp_path. The app's edits are applied to that copy in
order, each saved as an editor saves (a temporary file renamed over the original; an edit of
several files saves them one after the other). After a save the harness waits, bounded, for the
save's outcome: for every changed Python file the process has imported, its `reload.accepted`,
`reload.rejected`, `reload.unchanged` or `reload.restart_needed` event, or `server.restarting`
followed by `app.serving`; a `watcher.error` ends the wait too. A template, or a Python file the
process never imported, gets no event: the very next request must show it.

Then the app's request script runs against the live server and against a FRESH `hotreload up`
started on the same files after the save, and the answers are compared: status, the
Content-Type, Location and Allow headers and the app's own X- headers, and the body (JSON is
pretty-printed for the diff; `/openapi.json` and `/docs` are requests of the FastAPI script).
Two things are normalised: the order of the methods in Allow (werkzeug joins a set, whose order
follows the process's hash seed), and in an HTML page the values of the browser reload script's
`data-hotreload-run` and `data-hotreload-generation` (which server run built the page, after how
many saves: the live and the fresh server differ there by design). Every request carries the
same Host header, so absolute URLs are equal; nothing else these apps answer depends on the
process.

The database
------------
Each server has its own SQLite file, named by an environment variable the app reads. The fresh
server's file is a copy of the live server's (sqlite3's backup API, taken between requests) made
after the save and before either script runs, so both scripts start from the same rows, ids
included, and write the same ones. The live server's history (what the script wrote after the
earlier edits) is the fresh server's history too, as a restarted dev server keeps its dev
database. The script registers, logs in, writes and reads through the app, as a browser or a
client does; the apps have no route for tests.

Verdicts
--------
PASS when the answers are equal, in place or after one automatic restart. When the old version
must keep serving (an edit expected to be rejected, such as a syntax error, or
`reload.restart_needed` with `restart: "never"`), the fresh server runs the files as they were
before the save, and the live server must answer as it does. Anything else FAILS with the events
the save caused, what the live server wrote on stdout meanwhile, and a unified diff per request
that differs. An outcome is wrong even when the answers are equal if it is a `watcher.error`, no
outcome in time, a valid save rejected, a save the old version must survive not rejected, or a
line on stdout (these apps never print, and the server never may). A fresh server that itself
answers 5xx means the edit's data is wrong, and fails the edit too.

After a failed edit the fresh server becomes the live one (it serves the current files, and has
run the same requests on the same rows: it is what a restart would give), so that one failure does
not decide the verdicts of the edits after it. A live server that starts otherwise (the first, or
after a `-k` selection skipped edits) runs the script once before it is judged, so that its
templates are loaded and its routes served, as after real use.

Edits that fail today carry `fails_today` in the data: they are `xfail(strict=True)`, so the
suite stays green and a fix turns the edit into a strict XPASS failure that asks for the mark
to be removed. `WEBDIFF_REPORT=FILE` appends one JSON line per judged edit to FILE.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import signal
import sqlite3
import textwrap
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from _pytest.mark.structures import ParameterSet
from child import REPO, Child

EXAMPLES = REPO / "examples"
HOST = "webdiff.test"  # the Host header of every request: absolute URLs are equal on every server
START_WAIT = 40.0  # from spawn to app.serving on a loaded 2-core machine (about 1 s idle)
EVENT_WAIT = 10.0  # from a save to its outcome (milliseconds when all is well)
REQUEST_WAIT = 10.0
TERMINAL = {"reload.accepted", "reload.rejected", "reload.unchanged", "reload.restart_needed"}
SHOWN = TERMINAL | {"watcher.error", "server.restarting", "server.started", "server.failed"}
COMPARED_HEADERS = {"content-type", "location", "allow"}  # and the app's own X- headers
IGNORED_COPY = shutil.ignore_patterns("__pycache__", "*.sqlite", "*.sqlite-journal", ".*.tmp")


# -- the data: edits and request scripts ----------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One file saved: ``old`` replaced by ``new`` (``old`` must occur exactly once), or the
    whole file written (``old`` None)."""

    path: str
    old: str | None
    new: str

    def apply(self, directory: Path) -> None:
        target = directory / self.path
        if self.old is None:
            text = self.new
        else:
            current = target.read_text(encoding="utf-8")
            count = current.count(self.old)
            if count != 1:
                raise AssertionError(
                    f"edit data: {self.old!r} occurs {count} times in {self.path}, not once"
                )
            text = current.replace(self.old, self.new)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_text(text, encoding="utf-8")
        temp.replace(target)  # atomic, as editors save


def replace(path: str, old: str, new: str) -> Change:
    return Change(path, old, new)


def write(path: str, text: str) -> Change:
    return Change(path, None, textwrap.dedent(text).lstrip("\n"))


@dataclass(frozen=True)
class Edit:
    """An everyday edit: its files, and what the live server must then equal."""

    id: str
    what: str
    changes: tuple[Change, ...]
    expect: Literal["new", "old"] = "new"  # "old": the old version must keep serving
    fails_today: str | None = None  # what differs today: the edit is xfail(strict=True)


def edit(
    id: str,
    what: str,
    *changes: Change,
    expect: Literal["new", "old"] = "new",
    fails_today: str | None = None,
) -> Edit:
    return Edit(id, what, changes, expect, fails_today)


@dataclass(frozen=True)
class Step:
    """One request of a script: a JSON body or a form, or neither."""

    method: str
    path: str
    json: Any = None
    form: dict[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class App:
    """An example app under test: its directory, its database variable, its request script."""

    name: str
    db_variable: str
    script: tuple[Step, ...]
    prepare: Callable[[Path], None] = lambda _directory: None  # adjust the copy (a shim, ...)


def params(
    edits: Sequence[Edit], *, gate: str | None = None, unsettled: Collection[str] = ()
) -> list[ParameterSet]:
    """One pytest param per edit; ``gate`` (a reason every edit fails for today) marks them all;
    an edit in ``unsettled`` fails only sometimes today: its mark is not strict."""
    result = []
    for item in edits:
        reasons = [reason for reason in (gate, item.fails_today) if reason]
        strict = item.id not in unsettled
        marks = (
            [pytest.mark.xfail(strict=strict, reason="issue 16: " + "; ".join(reasons))]
            if reasons
            else []
        )
        result.append(pytest.param(item, id=item.id, marks=marks))
    return result


# -- servers --------------------------------------------------------------------------------------


class StartFailed(Exception):
    """`hotreload up` ended, or did not serve, before `app.serving`."""

    def __init__(self, output: str, manifest_error: bool) -> None:
        super().__init__(output)
        self.output = output
        self.manifest_error = manifest_error


class Server(Child):
    """`hotreload up --log-format json --port 0` on a directory, with its own database file."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        super().__init__("up", "--log-format", "json", "--port", "0", cwd=directory, env=env)
        self.directory = directory
        self.url = ""

    def wait_serving(self) -> str:
        try:
            self.url = self.wait_for("app.serving", timeout=START_WAIT)["url"]
        except AssertionError as e:
            failed = [event for event in self.events if event.get("event") == "server.failed"]
            manifest = any(event.get("reason") == "manifest_error" for event in failed)
            raise StartFailed(str(e), manifest) from None
        return self.url

    def watched(self) -> set[str]:
        """The files of the modules the process imported, and those whose save restarts it
        (`app.serving` names them): the ones whose saves get an event."""
        with self._cond:
            modules = {e["path"] for e in self.events if e.get("event") == "module.loaded"}
            return modules | {
                path
                for e in self.events
                if e.get("event") == "app.serving"
                for path in e.get("restart_files", [])
            }

    def wait_outcome(self, after: tuple[int, int], paths: set[str]) -> tuple[list[dict], bool]:
        """The events of a save, once each of ``paths`` has its outcome (or a watcher.error, or
        a restart that serves again); and whether the wait timed out."""

        def done() -> bool | None:
            events = self.events[after[0] :]
            names = [e.get("event") for e in events]
            if "watcher.error" in names:
                return True
            if "server.restarting" in names:
                restart = names.index("server.restarting")
                return True if "app.serving" in names[restart:] else None
            if any(
                e.get("event") == "reload.restart_needed" and e.get("restart") == "auto"
                for e in events
            ):
                return None  # the restart it announces comes next
            seen = {e.get("path") for e in events if e.get("event") in TERMINAL}
            return True if paths <= seen else None

        timed_out = False
        if paths:
            try:
                self._wait(done, f"the outcome of saving {sorted(paths)}", EVENT_WAIT)
            except AssertionError:
                timed_out = True
        with self._cond:
            return list(self.events[after[0] :]), timed_out

    def events_since(self, after: tuple[int, int]) -> list[dict[str, Any]]:
        with self._cond:
            return self.events[after[0] :]

    def stdout_since(self, after: tuple[int, int]) -> list[str]:
        with self._cond:
            return self.stdout[after[1] :]


def backup(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, taken between requests (sqlite3's backup API)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# -- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    step: str
    text: str  # status, headers compared, body: what the diff shows


# The browser reload script's tag in a page: its run and generation differ between servers.
_BROWSER_TAG = re.compile(r'(data-hotreload-(?:run|generation))="[^"]*"')


def _body(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            return json.dumps(response.json(), indent=1, ensure_ascii=False)
        except ValueError:
            pass
    if response.headers.get("content-type", "").startswith("text/html"):
        return _BROWSER_TAG.sub(r'\1="..."', response.text)
    return response.text


def run_script(url: str, script: Iterable[Step]) -> list[Answer]:
    """The script's requests in order, one client (its cookie jar keeps a login's session).

    A connection a request per: uvicorn closes a connection after an app raised, and a request
    sent on it meanwhile would fail for a reason that is not the app's answer."""
    answers = []
    headers = {"Host": HOST, "Connection": "close"}
    with httpx.Client(
        base_url=url, headers=headers, timeout=REQUEST_WAIT, follow_redirects=False
    ) as http:
        for step in script:
            try:
                response = http.request(step.method, step.path, json=step.json, data=step.form)
            except httpx.HTTPError as e:
                answers.append(Answer(str(step), f"no answer: {type(e).__name__}: {e}"))
                continue
            lines = [f"{response.status_code} {response.reason_phrase}"]
            for header, value in response.headers.items():
                if header == "allow":  # werkzeug joins a set: its order is the process's hash seed
                    value = ", ".join(sorted(value.split(", ")))
                if header in COMPARED_HEADERS or header.startswith("x-"):
                    lines.append(f"{header}: {value}")
            answers.append(Answer(str(step), "\n".join([*lines, "", _body(response)])))
    return answers


def differences(live: list[Answer], fresh: list[Answer], *, limit: int = 60) -> list[str]:
    """A unified diff per request whose answers differ (live first, the reference second)."""
    out = []
    for mine, theirs in zip(live, fresh, strict=True):
        if mine.text == theirs.text:
            continue
        diff = list(
            difflib.unified_diff(
                theirs.text.splitlines(),
                mine.text.splitlines(),
                "fresh",
                "live",
                lineterm="",
                n=2,
            )
        )
        shown = diff[:limit] + (
            [f"... {len(diff) - limit} more lines"] if len(diff) > limit else []
        )
        out.append(f"== {mine.step}\n" + "\n".join(shown))
    return out


def first_lines(live: list[Answer], fresh: list[Answer]) -> str:
    """One line: which requests differ, with the live and the fresh status."""
    parts = []
    for mine, theirs in zip(live, fresh, strict=True):
        if mine.text == theirs.text:
            continue
        a, b = mine.text.split("\n\n", 1)[0], theirs.text.split("\n\n", 1)[0]
        status, other = a.split("\n", 1)[0], b.split("\n", 1)[0]
        if status != other:
            parts.append(f"{mine.step}: live {status}, fresh {other}")
        else:
            parts.append(f"{mine.step}: {'headers' if a != b else 'body'}")
    return "; ".join(parts)


# -- the harness ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    edit: str
    passed: bool
    reference: Literal["new", "old"]
    outcome: str  # the save's events, in one line
    summary: str  # what differs, in one line
    details: str = ""
    stdout: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "PASS" if self.passed else "FAIL"
        return f"{state} {self.edit}: [{self.outcome}] {self.summary}"


def describe(events: list[dict[str, Any]], timed_out: bool) -> str:
    shown = []
    for event in events:
        name = event.get("event")
        if name not in SHOWN:
            continue
        module = event.get("module")
        extra = event.get("reason") or event.get("ran") or ""
        text = f"{name} {module or ''} {extra}".split()
        if name in {"reload.rejected", "reload.restart_needed", "watcher.error"}:
            text.append(repr((event.get("message") or "")[:160]))
        shown.append(" ".join(text))
    if timed_out:
        shown.append(f"no outcome within {EVENT_WAIT:g} s")
    return "; ".join(shown) or "no event"


def wrong_outcome(
    events: list[dict[str, Any]], paths: set[str], timed_out: bool, *, expect_old: bool
) -> str:
    """What is wrong with a save's events ("" when nothing): a `watcher.error` (a failed reload
    names its file and module), no outcome in time, a valid save rejected, or no rejection of a
    save the old version must survive."""
    names = [e.get("event") for e in events]
    if "watcher.error" in names:
        return "a watcher.error instead of the module's outcome"
    if timed_out:
        return "no outcome in time"
    if "server.restarting" in names or "reload.restart_needed" in names:
        return ""
    rejected = [e for e in events if e.get("event") == "reload.rejected" and e.get("path") in paths]
    if expect_old and paths and not rejected:
        return "the save was not rejected"
    if not expect_old and rejected:
        return "a valid save was rejected"
    return ""


class Harness:
    """One live server per app, its edits applied in order, a fresh server per edit."""

    def __init__(self, app: App, tmp: Path, edits: Sequence[Edit]) -> None:
        self.app = app
        self.tmp = tmp
        self.edits = list(edits)
        self.live_dir = tmp / "live"
        shutil.copytree(EXAMPLES / app.name, self.live_dir, ignore=IGNORED_COPY)
        app.prepare(self.live_dir)
        (tmp / "db").mkdir()
        self.db = tmp / "db" / "live.sqlite"
        self.live: Server | None = None
        self.applied = 0  # edits whose files are on disk
        self.start_failure: StartFailed | None = None  # a manifest error: every start fails
        self.fresh_count = 0
        self._reapers: list[threading.Thread] = []
        self._spawned: list[Server] = []  # every child, killed at close() whatever happened
        self.verdicts: list[Verdict] = []

    # servers

    def _spawn(self, directory: Path, db: Path) -> Server:
        server = Server(directory, {self.app.db_variable: str(db)})
        self._spawned.append(server)
        return server

    def ensure_live(self) -> Server:
        """The live server; a new one (its caches warmed by one run of the script) if there is
        none or it exited."""
        if self.start_failure is not None:
            raise self.start_failure
        if self.live is not None and self.live.proc.poll() is None:
            return self.live
        if self.live is not None:
            self._stop_later(self.live)
        self.live = self._spawn(self.live_dir, self.db)
        try:
            url = self.live.wait_serving()
        except StartFailed as e:
            if e.manifest_error:
                self.start_failure = e
            self._stop_later(self.live)
            self.live = None
            raise
        run_script(url, self.app.script)  # templates loaded, routes served: as after real use
        return self.live

    def _drop_live(self) -> None:
        if self.live is not None:
            self._stop_later(self.live)
            self.live = None

    def _stop_later(self, server: Server) -> None:
        def stop() -> None:
            try:
                server.stop(signal.SIGTERM)
            except AssertionError:
                pass  # it did not stop in time: kill() below ends it
            finally:
                server.kill()

        reaper = threading.Thread(target=stop, daemon=True)
        reaper.start()
        self._reapers.append(reaper)

    def close(self) -> None:
        self._drop_live()
        for reaper in self._reapers:
            reaper.join(60)
        for server in self._spawned:
            server.kill()
        report = os.environ.get("WEBDIFF_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as f:
                for verdict in self.verdicts:
                    row = {"app": self.app.name, "edit": verdict.edit, "passed": verdict.passed}
                    row |= {"outcome": verdict.outcome, "summary": verdict.summary}
                    row["stdout"] = verdict.stdout[-5:]
                    f.write(json.dumps(row) + "\n")

    # edits

    def catch_up(self, index: int) -> None:
        """Put the files of every edit before ``index`` on disk (a test run with -k skips some),
        and let a new live server serve them."""
        if self.applied > index:
            pytest.fail(f"edit {index} runs after edit {self.applied - 1}: run them in order")
        if self.applied < index:
            for item in self.edits[self.applied : index]:
                for change in item.changes:
                    change.apply(self.live_dir)
            self.applied = index
            self._drop_live()

    def judge(self, item: Edit | None) -> Verdict:
        """Save ``item`` (None: no edit, the baseline) and compare the live server with a fresh."""
        name = item.id if item is not None else "baseline"
        if item is not None:
            self.catch_up(self.edits.index(item))
        try:
            live = self.ensure_live()
        except StartFailed as e:
            if item is not None:
                for change in item.changes:
                    change.apply(self.live_dir)
                self.applied += 1
            verdict = Verdict(name, False, "new", "the live server did not start", "", e.output)
            return self._record(verdict)
        changes = item.changes if item is not None else ()
        before = {c.path: self._read(c.path) for c in changes}
        watched = live.watched()
        mark = live.mark()
        for change in changes:
            change.apply(self.live_dir)
        if item is not None:
            self.applied += 1
        paths = {str((self.live_dir / c.path).resolve()) for c in changes} & watched
        events, timed_out = live.wait_outcome(mark, paths)
        never = any(
            e.get("event") == "reload.restart_needed" and e.get("restart") == "never"
            for e in events
        )
        reference: Literal["new", "old"] = (
            "old" if never or (item is not None and item.expect == "old") else "new"
        )
        outcome = describe(events, timed_out)
        serving = [e for e in events if e.get("event") == "app.serving"]
        if serving:  # it restarted (on the same socket, by design; its event says where)
            live.url = serving[-1]["url"]
        fresh, fresh_dir, fresh_db = self._start_fresh(reference, before)
        try:
            live_answers = run_script(live.url, self.app.script)
            try:
                fresh_answers = run_script(fresh.wait_serving(), self.app.script)
                fresh_output = ""
            except StartFailed as e:
                fresh_answers = [
                    Answer(str(s), "fresh server did not start") for s in self.app.script
                ]
                fresh_output = e.output
        except BaseException:
            self._stop_later(fresh)
            raise
        stdout = live.stdout_since(mark)
        died = live.proc.poll() is not None
        if died:
            outcome += f"; the live server exited ({live.proc.returncode})"
        diffs = differences(live_answers, fresh_answers)
        wrong = wrong_outcome(events, paths, timed_out, expect_old=reference == "old")
        if stdout and not wrong:  # these apps never print: the lines are the server's
            wrong = "the live server wrote on stdout"
        if wrong:
            outcome += f" ({wrong})"
        broken = [a.step for a in fresh_answers if a.text[:1] == "5" or not a.text[:1].isdigit()]
        if broken:
            wrong = "the fresh server itself fails (the edit's data is wrong): " + ", ".join(broken)
            outcome += f" ({wrong})"
        passed = not diffs and not died and not wrong
        summary = first_lines(live_answers, fresh_answers) or "equal"
        details = "\n\n".join(diffs)
        errors = [
            "\n".join([str(e.get("message")), *str(e.get("exception") or "").splitlines()[-4:]])
            for e in live.events_since(mark)
            if e.get("event") in {"app.log", "watcher.error"} and e.get("level") == "error"
        ]
        if errors:
            details += "\n\n--- errors the live server logged meanwhile\n" + "\n".join(
                dict.fromkeys(errors)
            )
        if fresh_output:
            details += "\n\n--- the fresh server\n" + fresh_output
        verdict = Verdict(name, passed, reference, outcome, summary, details, stdout)
        self._after(verdict, fresh, fresh_dir, fresh_db, started=not fresh_output, restart=never)
        return self._record(verdict)

    def _after(
        self,
        verdict: Verdict,
        fresh: Server,
        fresh_dir: Path,
        fresh_db: Path,
        *,
        started: bool,
        restart: bool = False,
    ) -> None:
        """Keep the live server when it is right; else the fresh one, which serves the current
        files and has run the same requests on the same rows, becomes the live one (as a
        restart would); after a wrong outcome of an edit the old version had to survive, the
        next edit starts a new live server. A right `reload.restart_needed` with `restart:
        "never"` is followed by the restart it asks for: the next edit starts a new live
        server on the current files, as the user who restarts gets."""
        if verdict.passed and restart:
            self._stop_later(fresh)
            self._drop_live()
        elif verdict.passed:
            self._stop_later(fresh)
        elif verdict.reference == "new" and started:
            self._drop_live()
            self.live, self.live_dir, self.db = fresh, fresh_dir, fresh_db
        else:
            self._stop_later(fresh)
            self._drop_live()

    def _record(self, verdict: Verdict) -> Verdict:
        self.verdicts.append(verdict)
        return verdict

    def _read(self, path: str) -> str | None:
        target = self.live_dir / path
        return target.read_text(encoding="utf-8") if target.exists() else None

    def _start_fresh(
        self, reference: Literal["new", "old"], before: dict[str, str | None]
    ) -> tuple[Server, Path, Path]:
        """A fresh server on a copy of the files (as they were before the save, for "old"),
        with a copy of the live database taken now: both scripts start from the same rows."""
        self.fresh_count += 1
        fresh_dir = self.tmp / f"fresh-{self.fresh_count}"
        shutil.copytree(self.live_dir, fresh_dir, ignore=IGNORED_COPY)
        if reference == "old":
            for path, text in before.items():
                target = fresh_dir / path
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    target.write_text(text, encoding="utf-8")
        fresh_db = self.tmp / "db" / f"fresh-{self.fresh_count}.sqlite"
        backup(self.db, fresh_db)
        return self._spawn(fresh_dir, fresh_db), fresh_dir, fresh_db


def check(verdict: Verdict) -> None:
    """Fail the test with the verdict's events, stdout and diffs."""
    if verdict.passed:
        return
    stdout = "\n".join(verdict.stdout[-20:])
    message = [verdict.line(), f"reference: the files {verdict.reference}"]
    if stdout:
        message.append("--- the live server's stdout meanwhile\n" + stdout)
    message.append(verdict.details)
    pytest.fail("\n".join(message), pytrace=False)


def dry_run(app: App, edits: Sequence[Edit], tmp: Path) -> None:
    """Apply the edits to a copy, no server: each one's text is found, and after every edit
    meant to apply, every Python file of the app compiles."""
    directory = tmp / app.name
    shutil.copytree(EXAMPLES / app.name, directory, ignore=IGNORED_COPY)
    app.prepare(directory)
    for item in edits:
        for change in item.changes:
            change.apply(directory)
        if item.expect == "old":
            continue
        for source in directory.rglob("*.py"):
            compile(source.read_text(encoding="utf-8"), str(source), "exec")
