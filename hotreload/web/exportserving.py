"""Serving the exports API ([serve] exports) with uvicorn, on a thread of this process.

On its own thread so that it serves the same way beside an ``[app] entry`` (which keeps the main
thread) and alone (the main thread waits for a signal, as without [app]); the main thread's
signal handling stays as it is, and stopping ends every event stream first, so Ctrl+C with
clients connected exits at once.
"""

from __future__ import annotations

import importlib
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hotreload.errors import AppError, ServerError
from hotreload.events import ExportsServing
from hotreload.server import Server
from hotreload.web.codec import Call, ModuleTypes
from hotreload.web.eventstream import EventHub
from hotreload.web.exportsapi import Export, ExportsApp, Limits
from hotreload.web.openapi import openapi_json
from hotreload.web.serving import _uvicorn_server, bind_address, uvicorn_logs
from hotreload.web.wiretypes import Api, read_api

WHAT = "[serve] exports"
MCP_EXTRA = 'pip install "mcp>=2.3" uvicorn'
START_TIMEOUT_S = 30.0
# How long uvicorn waits at shutdown for calls in flight and for clients that stopped reading
# their answer (a connection with unsent bytes cannot close sooner); then it lets them go.
GRACEFUL_S = 3.0


@dataclass(frozen=True)
class ExportsPlan:
    """Where and how the exports are served, decided before any module code runs."""

    host: str
    port: int
    token: str | None
    mcp: bool = False


def exports_plan(
    server: Server, *, host: str | None, port: int | None, environ: Mapping[str, str]
) -> ExportsPlan | None:
    """The plan, if the manifest serves the exports; AppError (exit 2) for a missing token or
    a missing extra. ``host``/``port`` override the profile's."""
    serve = server.manifest.manifest.serve
    if serve is None or not serve.exports:
        return None
    profile = server.profile
    host = host if host is not None else profile.host
    port = port if port is not None else profile.port
    key = f"env.{server.env}.token_env"
    token: str | None = None
    if profile.token_env is not None:
        token = environ.get(profile.token_env) or None
        if token is None:
            raise AppError(
                f"{WHAT}: {key} names the environment variable {profile.token_env}, which is "
                "unset or empty: set it to the bearer token clients must send"
            )
    elif not is_loopback(host):
        raise AppError(
            f"{WHAT} on {host}: serving on any address but a loopback one needs a bearer "
            f"token: set {key} to the name of an environment variable that holds it, or serve "
            "on 127.0.0.1"
        )
    try:
        importlib.import_module("uvicorn")
    except ImportError as e:
        raise AppError(
            f"{WHAT} are served by uvicorn, which is not installed: pip install uvicorn"
        ) from e
    if serve.mcp:
        try:
            importlib.import_module("mcp.server.lowlevel")
        except ImportError as e:
            raise AppError(
                f"[serve] mcp needs the official MCP SDK, which is not installed: {MCP_EXTRA}"
            ) from e
    return ExportsPlan(host, port, token, serve.mcp)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def bind_exports(plan: ExportsPlan) -> socket.socket:
    """Bound before start-up, so a port in use fails before any module code runs."""
    return bind_address(plan.host, plan.port, WHAT)


def served_exports(server: Server, api: Api) -> dict[tuple[str, str], Export]:
    """Each operation's codec and the binding's callable (gated in a reloading profile)."""
    types: dict[str, ModuleTypes] = {}
    exports: dict[tuple[str, str], Export] = {}
    for operation in api.operations:
        module = operation.module
        if module not in types:
            namespace = vars(sys.modules[module])
            types[module] = ModuleTypes(module, api.types[module], namespace)
        function = getattr(server.module(module), operation.function)
        exports[(module, operation.function)] = Export(
            Call(operation, types[module]), function, operation.is_async
        )
    return exports


class ExportsService:
    """The exports API on its thread: `start` returns once it answers, `stop` once it ended."""

    def __init__(self, server: Server, plan: ExportsPlan, sock: socket.socket) -> None:
        self.server = server
        self.plan = plan
        self.sock = sock
        self.app: ExportsApp | None = None
        self._runner: Any = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        """Build the API from the manifest and the loaded modules, and serve it."""
        import uvicorn

        server = self.server
        profile = server.profile
        try:
            api = read_api(server.manifest.manifest)
            exports = served_exports(server, api)
            document = openapi_json(server.manifest.manifest, api)
        except Exception as e:  # a type pydantic cannot build, say: name it, no traceback
            raise ServerError(f"{WHAT} cannot be served: {type(e).__name__}: {e}") from e
        self.app = app = ExportsApp(
            exports,
            document,
            EventHub(server.events),
            token=self.plan.token,
            limits=Limits(max_body_bytes=profile.max_body_bytes),
            tracebacks=profile.reload,
        )
        if self.plan.mcp:
            from hotreload.web.mcptools import McpEndpoint

            app.mcp = McpEndpoint(server.manifest.manifest.project.name, api, exports, app.invoke)
        config = uvicorn.Config(
            self.app,
            log_config=None,  # never configure `logging` globally: see `uvicorn_logs`
            access_log=profile.access_log,
            lifespan="on" if self.plan.mcp else "off",
            interface="asgi3",
            timeout_graceful_shutdown=int(GRACEFUL_S),
        )
        self._runner = _uvicorn_server(
            config, lambda: self._serving(api), lambda _signum: None, self._end_streams
        )
        self._thread = threading.Thread(target=self._serve, name="hotreload-exports", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._started.wait(0.05):
            if self._thread.is_alive() and time.monotonic() < deadline:
                continue
            alive = self._thread.is_alive()
            self.stop()
            why = f": {self._error}" if self._error else "; its app.log events above say why"
            when = f" within {START_TIMEOUT_S:g} s" if alive else ""
            raise ServerError(f"{WHAT} did not start{when}{why}")

    def _end_streams(self) -> None:
        if self.app is not None:
            self.app.close()

    def stop(self) -> None:
        """End the event streams, then uvicorn (calls in flight get `GRACEFUL_S`)."""
        self._end_streams()
        if self._runner is not None:
            self._runner.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(GRACEFUL_S + 2.0)
        self.sock.close()

    def _serve(self) -> None:
        try:
            with uvicorn_logs(self.server.events, self.server.profile):
                self._runner.run(sockets=[self.sock])
        except BaseException as e:  # reported by `start`; a thread has no one else to tell
            self._error = e

    def _serving(self, api: Api) -> None:
        host, port = self.sock.getsockname()[:2]
        url_host = f"[{host}]" if ":" in host else host
        url = f"http://{url_host}:{port}"
        self.server.events.emit(
            ExportsServing,
            level="warning" if api.skipped else "info",
            host=host,
            port=port,
            url=url,
            openapi=f"{url}/openapi.json",
            exports=[f"{o.module}.{o.function}" for o in api.operations],
            skipped=[{"export": name, "reason": why} for name, why in api.skipped],
            mcp=f"{url}/mcp" if self.plan.mcp else None,
            token=self.plan.token is not None,
            reload=self.server.profile.reload,
        )
        self._started.set()
