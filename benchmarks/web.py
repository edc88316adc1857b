"""Save-to-new-response of examples/webapp: `hotreload up` against `uvicorn --reload` (and
uvicorn-hmr where a side venv has it), the same app and the same edit, one run.

A separate writer process saves handlers.py (atomic: temp file + rename) and reports the
monotonic time right after the save; a client on a keep-alive HTTP connection polls
``GET /greet/bench`` and notes when the response first carries the new text. The app loads
its "model" for ``model_seconds`` at start-up, as the example does (2 s): a reloader that
restarts the app pays it on every save, one that reloads in place does not.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.latency import Writer
from benchmarks.proc import REPO_ROOT, Spawned, child_env
from benchmarks.stats import summary

EXAMPLE = REPO_ROOT / "examples" / "webapp"
GREETING = 'f"Hello, {name}!"'
POLL_PAUSE_S = 0.001  # between two requests of the polling client
GAP_S = (0.1, 0.2)  # after a new response is seen, before the next save
READY_TIMEOUT_S = 90.0
HMR_HINT = (
    "uvicorn-hmr needs Python >= 3.12 here: make a side venv with "
    "`python3.12 -m venv .venv-hmr && .venv-hmr/bin/pip install uvicorn-hmr fastapi` "
    "(or point HOTRELOAD_BENCH_HMR_PYTHON at a Python that has it)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def copy_example(target: Path) -> Path:
    """examples/webapp, plus webapp_plain.py: the same app calling handlers by plain import,
    for the reloaders that run it without hotreload (there is no hotreload server to ask)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("hotreload.toml", "handlers.py", "webapp.py"):
        (target / name).write_text((EXAMPLE / name).read_text(encoding="utf-8"), encoding="utf-8")
    for folder in ("static", "templates"):  # the app mounts and renders them at start-up
        if (EXAMPLE / folder).is_dir():
            shutil.copytree(EXAMPLE / folder, target / folder, dirs_exist_ok=True)
    source = (EXAMPLE / "webapp.py").read_text(encoding="utf-8")
    binding = 'handlers = hotreload.current().module("handlers")\n'
    if binding not in source or "import hotreload\n" not in source:
        raise RuntimeError(f"examples/webapp/webapp.py no longer has {binding.strip()!r}")
    plain = source.replace(binding, "").replace("import hotreload\n", "import handlers\n")
    (target / "webapp_plain.py").write_text(plain, encoding="utf-8")
    return target


def hmr_python() -> str | None:
    """A Python with uvicorn-hmr and FastAPI installed, or None: ``$HOTRELOAD_BENCH_HMR_PYTHON``,
    else ``.venv-hmr/``, else the field's side venv (built on Python >= 3.12 when the machine
    has one)."""
    import subprocess

    from benchmarks.sidevenv import ensure

    explicit = os.environ.get("HOTRELOAD_BENCH_HMR_PYTHON")
    candidates = [Path(explicit)] if explicit else [REPO_ROOT / ".venv-hmr" / "bin" / "python"]
    if not explicit:
        try:
            candidates.append(Path(ensure(lambda _: None).python))
        except RuntimeError:
            pass  # no Python >= 3.12 here: the row is skipped with its note
    for candidate in candidates:
        if not candidate.exists():
            continue
        found = subprocess.run(
            [str(candidate), "-c", "import uvicorn_hmr, fastapi"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if found.returncode == 0:
            return str(candidate)
    return None


def command(contender: str, app_dir: Path, port: int, python: str | None) -> list[str]:
    if contender in ("hotreload", "hotreload_restart"):
        manifest = str(app_dir / "hotreload.toml")
        return [sys.executable, "-m", "hotreload", "up", "-m", manifest, "--port", str(port)]
    if contender == "uvicorn_reload":
        return [
            *(sys.executable, "-m", "uvicorn", "webapp_plain:app", "--reload"),
            *("--app-dir", str(app_dir), "--reload-dir", str(app_dir)),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ]
    assert python is not None
    script = str(Path(python).parent / "uvicorn-hmr")
    return [script, "webapp_plain:app", "--host", "127.0.0.1", "--port", str(port)]


class Poller:
    """GET requests on one keep-alive connection, reconnecting while the server restarts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: http.client.HTTPConnection | None = None
        self.errors = 0  # requests that failed: refused, dropped or timed out
        self.kinds: dict[str, int] = {}  # failed requests by exception (ConnectionRefusedError)

    def text(self, path: str) -> str | None:
        """The body of a 200 answer, or None (another status, or the connection failed)."""
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self._conn.request("GET", path)
            response = self._conn.getresponse()
            body = response.read()
            return body.decode("utf-8", errors="replace") if response.status == 200 else None
        except (OSError, http.client.HTTPException) as e:
            self.errors += 1
            self.kinds[type(e).__name__] = self.kinds.get(type(e).__name__, 0) + 1
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return None

    def get(self, path: str) -> dict[str, Any] | None:
        body = self.text(path)
        try:
            value: dict[str, Any] | None = None if body is None else json.loads(body)
        except ValueError:
            return None
        return value

    def wait_for(self, path: str, check: Any, timeout: float) -> tuple[int, dict[str, Any]] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.get(path)
            if value is not None and check(value):
                return time.monotonic_ns(), value
            time.sleep(POLL_PAUSE_S)
        return None

    def wait_for_text(self, path: str, needle: str, timeout: float) -> int | None:
        """When (monotonic ns) a 200 answer at ``path`` first contains ``needle``, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.text(path)
            if body is not None and needle in body:
                return time.monotonic_ns()
            time.sleep(POLL_PAUSE_S)
        return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _route(value: int, message: str) -> str:
    """A new route for webapp.py: registering it needs a restart."""
    return (
        f'\n\n@app.get("/route{value}")\n'
        f"async def route{value}() -> dict[str, str]:\n"
        f'    return {{"message": "{message}"}}\n'
    )


def web_run(args: dict[str, Any]) -> dict[str, Any]:
    """One contender: start it, save handlers.py ``edits`` times, time each new response.

    args: contender ("hotreload", "hotreload_restart", "uvicorn_reload", "uvicorn_hmr"), root,
    edits, timeout, model_seconds, seed, python (uvicorn-hmr's interpreter), package (another
    checkout whose hotreload runs, or None).

    ``hotreload_restart`` saves a new route into webapp.py instead: a save that cannot apply in
    place, so `hotreload up` restarts into it (and pays the app's start-up, as restarters do).
    """
    contender = args["contender"]
    app_dir = copy_example(Path(args["root"]))
    restarts = contender == "hotreload_restart"
    handlers = app_dir / ("webapp.py" if restarts else "handlers.py")
    original = handlers.read_text(encoding="utf-8")
    port = free_port()
    rng = random.Random(args["seed"])
    env = child_env(WEBAPP_MODEL_SECONDS=str(args["model_seconds"]), PYTHONUNBUFFERED="1")
    if args.get("package") and contender.startswith("hotreload"):  # another checkout's hotreload
        env["PYTHONPATH"] = os.pathsep.join((args["package"], env["PYTHONPATH"]))
    log = open(app_dir / "server.log", "wb")  # closed in the finally below
    writer = Writer()
    server = Spawned(
        command(contender, app_dir, port, args.get("python")),
        stdout=log,
        stderr=log,
        env=env,
        cwd=app_dir,
    )
    poller = Poller(port)
    samples: list[float] = []
    missed = 0
    try:
        began = time.monotonic()
        ready = poller.wait_for(
            "/predict?text=a", lambda v: "model_loaded_at" in v, READY_TIMEOUT_S
        )
        if ready is None:
            tail = (app_dir / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{contender} did not answer within {READY_TIMEOUT_S:g} s:\n{tail}")
        start_up_s = time.monotonic() - began
        poller.errors, poller.kinds = 0, {}  # from here on: failures while saves apply
        loaded_at = ready[1]["model_loaded_at"]
        routes = ""
        for value in range(1, int(args["edits"]) + 1):
            expected = f"Hello {value}, bench!"
            if restarts:
                routes += _route(value, expected)
                text, path = original + routes, f"/route{value}"
            else:
                text = original.replace(GREETING, f'f"Hello {value}, {{name}}!"')
                path = "/greet/bench"
            saved = writer.save(handlers, text, "atomic")
            seen = poller.wait_for(
                path, lambda v, e=expected: v.get("message") == e, float(args["timeout"])
            )
            if seen is None:
                missed += 1
            else:
                samples.append((seen[0] - saved) / 1e6)
            time.sleep(rng.uniform(*GAP_S))
        after = poller.get("/predict?text=a")
        kept = after is not None and after.get("model_loaded_at") == loaded_at
    finally:
        poller.close()
        server.stop()
        writer.close()
        log.close()
    return {
        "contender": contender,
        **summary(samples, missed=missed),
        "samples_ms": samples,
        "start_up_s": start_up_s,
        "model_seconds": args["model_seconds"],
        "state_kept": kept,
        "poll_errors": poller.errors,
        "poll_error_kinds": poller.kinds,
    }
