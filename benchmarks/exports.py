"""Call round trip over HTTP: the exports API of `hotreload up` ([serve] exports) against a plain
FastAPI endpoint making the same call, both served by uvicorn, one keep-alive connection each.

The export is a sync ``add(a: int, b: int) -> int``; FastAPI's endpoint is a sync function too,
taking a pydantic model of the same two fields, so both validate the same JSON and run the
call on a worker thread. The client (``http.client``, one connection) sends ``calls`` requests
one after another and times each from send to the last byte read.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.proc import Spawned, child_env
from benchmarks.stats import summary
from benchmarks.web import free_port

READY_TIMEOUT_S = 60.0

CALC = "def add(a: int, b: int) -> int:\n    return a + b\n"
MANIFEST = """\
[project]
name = "bench-exports"

[modules.calc.exports]
add = "(a: int, b: int) -> int"

[env.development]
reload = true

[env.production]
reload = false

[serve]
exports = true
"""
FASTAPI_APP = """\
from fastapi import FastAPI
from pydantic import BaseModel

import calc

app = FastAPI()


class Arguments(BaseModel):
    a: int
    b: int


@app.post("/call/calc/add")
def add(arguments: Arguments) -> dict[str, int]:
    return {"result": calc.add(arguments.a, arguments.b)}
"""

CONTENDERS = ("hotreload", "hotreload_production", "fastapi")


def write_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "calc.py").write_text(CALC, encoding="utf-8")
    (root / "hotreload.toml").write_text(MANIFEST, encoding="utf-8")
    (root / "fastapi_app.py").write_text(FASTAPI_APP, encoding="utf-8")
    return root


def command(contender: str, root: Path, port: int) -> list[str]:
    if contender == "fastapi":
        return [
            *(sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(root)),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ]
    env = "production" if contender == "hotreload_production" else "development"
    manifest = str(root / "hotreload.toml")
    return [
        sys.executable,
        "-m",
        "hotreload",
        "up",
        "-m",
        manifest,
        "--env",
        env,
        "--port",
        str(port),
    ]


class Caller:
    """POST /call/calc/add on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.headers = {"content-type": "application/json"}

    def call(self, a: int, b: int) -> int:
        self.conn.request("POST", "/call/calc/add", json.dumps({"a": a, "b": b}), self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {body[:300]!r}")
        result: int = json.loads(body)["result"]
        return result

    def close(self) -> None:
        self.conn.close()


def wait_ready(port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        caller = Caller(port)
        try:
            if caller.call(1, 2) == 3:
                return
        except (OSError, http.client.HTTPException, RuntimeError):
            time.sleep(0.05)
        finally:
            caller.close()
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"no answer within {READY_TIMEOUT_S:g} s:\n{tail}")


def exports_run(args: dict[str, Any]) -> dict[str, Any]:
    """One contender: start it, then time ``calls`` calls after ``warmup`` untimed ones.

    args: contender (one of CONTENDERS), root, calls, warmup.
    """
    contender = args["contender"]
    root = write_project(Path(args["root"]) / contender)
    port = free_port()
    log_path = root / "server.log"
    log = open(log_path, "wb")  # closed in the finally below
    server = Spawned(
        command(contender, root, port), stdout=log, stderr=log, env=child_env(), cwd=root
    )
    samples: list[float] = []
    try:
        wait_ready(port, log_path)
        caller = Caller(port)
        try:
            for i in range(int(args["warmup"])):
                caller.call(i, 1)
            for i in range(int(args["calls"])):
                began = time.perf_counter_ns()
                result = caller.call(i, 1)
                samples.append((time.perf_counter_ns() - began) / 1e6)
                if result != i + 1:
                    raise RuntimeError(f"add({i}, 1) answered {result}")
        finally:
            caller.close()
    finally:
        server.stop()
        log.close()
    return {"contender": contender, **summary(samples), "samples_ms": samples}
