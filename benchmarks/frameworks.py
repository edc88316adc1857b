"""Save-to-new-response of the Flask and FastAPI examples (issue 16): `hotreload up` against the
restarter their users run (`flask --debug`, `uvicorn --reload`), the same app and edits, one run.

Two edits per app. A *body* edit changes what one handler returns (hotreload applies it in
place); a *route* edit adds a new route, which hotreload cannot always apply in place: where it
cannot, `hotreload up` restarts into it (`restart = "auto"`), as the restarters do for every save.
A separate writer process saves the file (atomic: temp file + rename) and reports the monotonic
time right after the save; a client on a keep-alive connection polls the route and notes when
the response first carries the new text. ``poll_errors`` counts requests that failed (a dropped
keep-alive connection, a refused one), ``poll_error_kinds`` them by exception: what a client saw
of a restart.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.latency import Writer
from benchmarks.proc import REPO_ROOT, Spawned, child_env
from benchmarks.stats import summary
from benchmarks.web import GAP_S, READY_TIMEOUT_S, Poller, free_port

EXAMPLES = REPO_ROOT / "examples"


@dataclass(frozen=True)
class Edit:
    """One kind of save: which file, how the n-th save rewrites it, where its result shows."""

    file: str
    old: str  # text of the original file that the body edit replaces ("" for the route edit)
    body: str  # the body edit's replacement, with {n}
    route: str  # the route edit's appended text, with {n}
    body_path: str
    route_path: str  # with {n}
    expect: str  # the text the response carries after the n-th save, with {n}


@dataclass(frozen=True)
class App:
    """An example app, how each contender serves it and what it saves."""

    name: str
    package: str
    database_env: str
    ready_path: str
    restarter: str
    edit: Edit


APPS = {
    "flaskr": App(
        name="flaskr",
        package="flaskr",
        database_env="FLASKR_DATABASE",
        ready_path="/hello",
        restarter="flask_debug",
        edit=Edit(
            file="flaskr/blog.py",
            old='return render_template("blog/index.html", posts=posts)',
            body='return render_template("blog/index.html", posts=posts) + "<!-- bench {n} -->"',
            route='\n\n@bp.route("/bench{n}")\ndef bench{n}():\n    return "<!-- bench {n} -->"\n',
            body_path="/",
            route_path="/bench{n}",
            expect="<!-- bench {n} -->",
        ),
    ),
    "todoapi": App(
        name="todoapi",
        package="todoapi",
        database_env="TODOAPI_DATABASE",
        ready_path="/health",
        restarter="uvicorn_reload",
        edit=Edit(
            file="todoapi/main.py",
            old='return {"status": "ok"}',
            body='return {{"status": "bench {n}"}}',
            route=(
                '\n\n@app.get("/bench{n}")\ndef bench{n}():\n    return {{"status": "bench {n}"}}\n'
            ),
            body_path="/health",
            route_path="/bench{n}",
            expect="bench {n}",
        ),
    ),
}

LABELS = {
    "hotreload": "`hotreload up`",
    "flask_debug": "`flask --debug` (restarts the app)",
    "uvicorn_reload": "`uvicorn --reload` (restarts the app)",
}


def copy_app(app: App, target: Path) -> Path:
    """The example's files (sources, templates, manifest), without its database or caches."""
    source = EXAMPLES / app.name
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or "__pycache__" in relative.parts or relative.parts[0] == "instance":
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(path.read_bytes())
    return target


def command(contender: str, app: App, app_dir: Path, port: int) -> list[str]:
    if contender == "hotreload":
        manifest = str(app_dir / "hotreload.toml")
        return [sys.executable, "-m", "hotreload", "up", "-m", manifest, "--port", str(port)]
    if contender == "flask_debug":
        return [
            *(sys.executable, "-m", "flask", "--app", app.package, "run", "--debug"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ]
    return [
        *(sys.executable, "-m", "uvicorn", f"{app.package}.main:app", "--reload"),
        *("--app-dir", str(app_dir), "--reload-dir", str(app_dir)),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ]


def frameworks_run(args: dict[str, Any]) -> dict[str, Any]:
    """One app, one contender, one kind of edit: start it, save ``edits`` times, time each new
    response. args: app ("flaskr", "todoapi"), contender ("hotreload", "flask_debug",
    "uvicorn_reload"), kind ("body", "route"), root, edits, timeout, seed."""
    app = APPS[args["app"]]
    contender, kind = args["contender"], args["kind"]
    app_dir = copy_app(app, Path(args["root"]))
    target = app_dir / app.edit.file
    original = target.read_text(encoding="utf-8")
    if app.edit.old not in original:
        raise RuntimeError(f"examples/{app.name}/{app.edit.file} no longer has {app.edit.old!r}")
    port = free_port()
    rng = random.Random(args["seed"])
    env = child_env(PYTHONUNBUFFERED="1", **{app.database_env: str(app_dir / "bench.sqlite")})
    log = open(app_dir / "server.log", "wb")  # closed in the finally below
    writer = Writer()
    server = Spawned(
        command(contender, app, app_dir, port), stdout=log, stderr=log, env=env, cwd=app_dir
    )
    poller = Poller(port)
    samples: list[float] = []
    missed = 0
    try:
        began = time.monotonic()
        if poller.wait_for_text(app.ready_path, "", READY_TIMEOUT_S) is None:
            tail = (app_dir / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{contender} did not answer within {READY_TIMEOUT_S:g} s:\n{tail}")
        start_up_s = time.monotonic() - began
        poller.errors, poller.kinds = 0, {}
        routes = ""
        for n in range(1, int(args["edits"]) + 1):
            expected = app.edit.expect.format(n=n)
            if kind == "route":
                routes += app.edit.route.format(n=n)
                text, path = original + routes, app.edit.route_path.format(n=n)
            else:
                text = original.replace(app.edit.old, app.edit.body.format(n=n))
                path = app.edit.body_path
            saved = writer.save(target, text, "atomic")
            seen = poller.wait_for_text(path, expected, float(args["timeout"]))
            if seen is None:
                missed += 1
            else:
                samples.append((seen - saved) / 1e6)
            time.sleep(rng.uniform(*GAP_S))
    finally:
        poller.close()
        server.stop()
        writer.close()
        log.close()
    return {
        "app": app.name,
        "contender": contender,
        "kind": kind,
        **summary(samples, missed=missed),
        "samples_ms": samples,
        "start_up_s": start_up_s,
        "poll_errors": poller.errors,
        "poll_error_kinds": poller.kinds,
    }
