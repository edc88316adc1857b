"""Serving ``[app] asgi``/``wsgi`` with uvicorn in this process, its logs as the server's events."""

from __future__ import annotations

import contextlib
import errno
import importlib
import inspect
import logging
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from hotreload.errors import AppError, PortInUse, ServerError
from hotreload.events import AppLog, AppServing, EventLog
from hotreload.manifest import EnvProfile, LoadedManifest, split_target
from hotreload.saveverdicts import RestartCause, RestartNeeded
from hotreload.server import Server
from hotreload.web.frameworks import ErrorStream, adapt, config_files, with_error_stream
from hotreload.words import AppKind, Level, article

GRACEFUL_S = 5.0  # a restart gives requests in flight this long to finish
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS["error"] = logging.ERROR


@dataclass(frozen=True)
class WebApp:
    """The app the manifest asks `hotreload up` to serve, and where."""

    kind: AppKind
    path: str  # "module:attribute"
    host: str
    port: int
    factory: bool = False  # the attribute is a zero-argument callable that returns the app

    @property
    def key(self) -> str:
        """How the manifest names it, for messages: ``[app] asgi = "webapp:app"``."""
        return f'[app] {self.kind} = "{self.path}"'


def web_app(
    manifest: LoadedManifest, profile: EnvProfile, *, host: str | None, port: int | None
) -> WebApp | None:
    """The app to serve, if the manifest names one; ``host``/``port`` override the profile's."""
    app = manifest.manifest.app
    if app is None or (app.asgi is None and app.wsgi is None):
        return None
    kind: AppKind = "asgi" if app.asgi is not None else "wsgi"
    path = app.asgi or app.wsgi
    assert path is not None
    return WebApp(
        kind,
        path,
        host if host is not None else profile.host,
        port if port is not None else profile.port,
        factory=app.factory,
    )


def require_extra(app: WebApp) -> None:
    """Fail with what to install when the web extra is missing (before any module code runs)."""
    needed = ["uvicorn"] + (["a2wsgi"] if app.kind == "wsgi" else [])
    for name in needed:
        try:
            importlib.import_module(name)
        except ImportError as e:
            # The packages by their own names: hotreload's distribution is not on the package
            # index yet (it is installed from a checkout), so "NAME[web]" would not resolve.
            raise AppError(
                f"{app.key} is served by uvicorn, and {name} is not installed: pip install "
                f"{' '.join(needed)} (what hotreload's web extra installs)"
            ) from e


def bind(app: WebApp) -> socket.socket:
    """The listening address, bound now: a port in use fails before any module code runs."""
    return bind_address(app.host, app.port, app.key)


def bind_address(host: str, port: int, what: str) -> socket.socket:
    """A listening socket on ``host``:``port`` for ``what`` (named in the errors)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP,
    # and with Nagle on, a keep-alive response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        where = f"{host}:{port}"
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"cannot serve {what} on {where}: the port is in use (another server, or an "
                "earlier `hotreload up` still running?); stop it, or pick another port with "
                "--port or env.<name>.port"
            ) from e
        raise AppError(
            f"cannot serve {what} on {where}: {e.strerror or e}; pick another address with "
            "--host/--port or env.<name>.host/port"
        ) from e
    return sock


def load_app(app: WebApp, root: Path) -> Any:
    """Import the app object and check that it is one of its kind.

    A bad path or a wrong object is an AppError (configuration); the app module's own code
    raising is a ServerError, like a module of the manifest failing to import.
    """
    module_name, attribute = split_target(app.path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name + ".").startswith(e.name + "."):
            raise AppError(
                f"cannot import {app.key}: no module named {e.name!r} under project.root "
                f"({root}); check the module name"
            ) from e
        raise ServerError(f"cannot import {app.key}: {_raised(e)}") from e
    except Exception as e:
        raise ServerError(f"cannot import {app.key}: {_raised(e)}") from e
    try:
        target = getattr(module, attribute)
    except AttributeError as e:
        raise AppError(_no_attribute(app, module, attribute, root)) from e
    if app.factory:
        return _from_factory(app, target)
    if not _is_app(app.kind, target):
        raise AppError(_not_an_app(app, target))
    return target


def _from_factory(app: WebApp, factory: Any) -> Any:
    """Call the factory once (``[app] factory = true``) and check what it returns."""
    if inspect.isclass(factory) or not callable(factory) or not _accepts(factory, 0):
        raise AppError(
            f"cannot serve {app.key} with factory = true: it is {_what(factory)}, not a "
            "function that takes no arguments and returns the app; name such a function "
            "(Flask's create_app), or remove factory = true to serve the object itself"
        )
    try:
        made = factory()
    except Exception as e:
        raise ServerError(f"cannot serve {app.key}: the factory raised: {_raised(e)}") from e
    if not _is_app(app.kind, made):
        raise AppError(_not_an_app(app, made, returned=True))
    return made


def factory_restart(app: WebApp) -> tuple[str, RestartNeeded]:
    """The factory's module, and what every valid save of it is: a restart, as the app the
    factory built at start cannot be rebuilt in place (its module's statements, its routes,
    its configuration, are all part of what the factory made)."""
    module, attribute = split_target(app.path)
    detail = (
        f"{module}.{attribute} built the served app once, at start ([app] factory = true); "
        "a change to its module is applied by building the app again in a fresh process"
    )
    cause = RestartCause("app_factory_changed", detail, None, None, attribute)
    message = f"{module}: {detail}"
    return module, RestartNeeded("app_factory_changed", message, (cause,))


def served_app(app: WebApp) -> tuple[str, str, RestartCause]:
    """The app's module and name, and why binding that name again needs a restart: uvicorn
    serves the object it was given at start, so a new one would never answer."""
    module, attribute = split_target(app.path)
    detail = (
        f"{attribute!r} is the served app ({app.key}): the server keeps serving the object it "
        "started with, so a new one made in place would never answer"
    )
    return module, attribute, RestartCause("identity_lost", detail, None, None, attribute)


def _read_at_start(app: WebApp, path: Path) -> RestartNeeded:
    detail = (
        f"{path.name} is configuration the app read at start ({app.key}); a restart reads it again"
    )
    cause = RestartCause("import_state_changed", detail, None, None, None)
    return RestartNeeded("import_state_changed", f"{path}: {detail}", (cause,))


def _accepts(value: Any, count: int) -> bool:
    """Whether ``value`` can be called with ``count`` positional arguments."""
    try:
        inspect.signature(value).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature to read (a C callable): give it the benefit of the doubt
        return True
    return True


def _what(value: Any) -> str:
    if inspect.isclass(value):
        return f"the class {value!r}"
    if inspect.isroutine(value):
        try:
            return f"the function {value.__name__}{inspect.signature(value)}"
        except (TypeError, ValueError):
            return f"the function {value.__name__}"
    return article(type(value).__name__)


def _no_attribute(app: WebApp, module: Any, attribute: str, root: Path) -> str:
    where = Path(getattr(module, "__file__", None) or "?")
    message = f"cannot serve {app.key}: module {module.__name__!r} ({where}) has no {attribute!r}"
    if not where.resolve().is_relative_to(root):
        return message + (
            f"; that file is not under project.root ({root}): the standard library or an "
            "installed package has a module of that name, and it shadows yours: rename yours"
        )
    apps = [
        name
        for name, value in vars(module).items()
        if not inspect.isroutine(value) and _is_app(app.kind, value)
    ]
    return message + (f"; {app.kind.upper()} apps there: {', '.join(apps)}" if apps else "")


def _raised(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}: " if frames else ""
    return f"{where}module raised {type(error).__name__}: {error}"


def _is_async_callable(value: Any) -> bool:
    return inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(
        getattr(value, "__call__", None)  # noqa: B004 (an instance's async __call__)
    )


def _looks_wsgi(value: Any) -> bool:
    """A Flask app, or a plain callable of two parameters (environ, start_response)."""
    if hasattr(value, "wsgi_app"):
        return True
    return _is_app("wsgi", value)


def _is_app(kind: AppKind, value: Any) -> bool:
    """ASGI: an async callable of (scope, receive, send); WSGI: a callable of (environ,
    start_response) that is not async."""
    if inspect.isclass(value) or inspect.ismodule(value) or not callable(value):
        return False
    if _is_async_callable(value) != (kind == "asgi"):
        return False
    return _accepts(value, 3 if kind == "asgi" else 2)


def _looks_like_a_factory(value: Any) -> bool:
    return inspect.isroutine(value) and not _is_async_callable(value) and _accepts(value, 0)


def _not_an_app(app: WebApp, value: Any, *, returned: bool = False) -> str:
    what = _what(value)
    if app.kind == "asgi":
        expected = "an async callable app(scope, receive, send), such as a FastAPI app"
        other = "wsgi" if _looks_wsgi(value) else None
    else:
        expected = "a callable app(environ, start_response), such as a Flask app"
        other = "asgi" if _is_async_callable(value) else None
    hint = f"; it looks like {_an(other)} app: use [app] {other}" if other else ""
    if not returned and not other and _looks_like_a_factory(value):
        hint = (
            "; it looks like an app factory (a function that returns the app): add "
            "factory = true under [app]"
        )
    it = "its factory returned" if returned else "it is"
    return (
        f"cannot serve {app.key}: {it} {what}, not {_an(app.kind)} app: expected {expected}{hint}"
    )


def _an(kind: str) -> str:
    return article(kind.upper())


# -- uvicorn's logs as events ---------------------------------------------------------------


def _event_level(levelno: int) -> Level:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


class EventHandler(logging.Handler):
    """A logging handler that writes each record as one ``app.log`` event of the server."""

    def __init__(self, events: EventLog) -> None:
        super().__init__()
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_info = record.exc_info
            exception = None
            if exc_info and exc_info[1] is not None:
                exception = "".join(traceback.format_exception(exc_info[1])).rstrip("\n")
            self.events.emit(
                AppLog,
                level=_event_level(record.levelno),
                logger=record.name,
                message=record.getMessage(),
                exception=exception,
            )
        except Exception:
            self.handleError(record)  # logging's own policy: report on stderr, never raise


@contextlib.contextmanager
def uvicorn_logs(events: EventLog, profile: EnvProfile) -> Iterator[None]:
    """Route uvicorn's loggers (only them, nothing global) into the server's events.

    ``uvicorn`` gets our handler and stops propagating, so its records reach neither the root
    logger nor the host's handlers; ``uvicorn.access`` propagates to it only when the profile
    asks for an access log (uvicorn writes access records only if that logger has a handler).
    """
    top, access = logging.getLogger("uvicorn"), logging.getLogger("uvicorn.access")
    saved = (top.handlers[:], top.propagate, top.level, access.handlers[:], access.propagate)
    top.handlers = [EventHandler(events)]
    top.propagate = False
    top.setLevel(_LEVELS[profile.log_level])
    access.handlers = []
    access.propagate = profile.access_log
    try:
        yield
    finally:
        top.handlers, top.propagate, level, access.handlers, access.propagate = saved
        top.setLevel(level)


# -- serving --------------------------------------------------------------------------------


def serve(
    server: Server,
    app: WebApp,
    target: Any,
    sock: socket.socket,
    *,
    on_signal: Callable[[int], None] = lambda _signum: None,
    on_serving: Callable[[Callable[[], None]], None] = lambda _stop: None,
) -> None:
    """Serve ``target`` with uvicorn on ``sock`` until a signal stops it (main thread).

    ``on_signal`` hears of each SIGINT or SIGTERM that stops it; ``on_serving`` gets, before
    serving starts, a function that any thread may call to end serving gracefully (a restart).
    Raises ServerError when the app's own start-up fails (its lifespan handler raised).
    """
    import uvicorn

    restart_files = config_files(target) if server.restart_policy == "auto" else []
    if server.profile.reload:
        server.restart_on_save({path: _read_at_start(app, path) for path in restart_files})
    project = [sys.modules[name] for name in server.modules if name in sys.modules]
    adapt(
        target,
        reload=server.profile.reload,
        log_handler=EventHandler(server.events),
        modules=project,
    )
    asgi = target
    if app.kind == "wsgi":
        # uvicorn's own WSGI middleware is deprecated (it warns and points to a2wsgi).
        from a2wsgi import WSGIMiddleware

        asgi = WSGIMiddleware(with_error_stream(target, ErrorStream(server.events)))
    browser = None
    if server.profile.reload and server.profile.browser_reload:
        from hotreload.web.browser import BrowserReloading

        browser = BrowserReloading(server.events, target, server.manifest.root)
        asgi = browser.wrap(asgi)
    config = uvicorn.Config(
        asgi,
        host=app.host,
        port=app.port,
        log_config=None,  # never configure `logging` globally: see `uvicorn_logs`
        access_log=server.profile.access_log,
        lifespan="auto" if app.kind == "asgi" else "off",
        interface="auto" if app.kind == "asgi" else "asgi3",
    )
    host, port = sock.getsockname()[:2]
    url_host = f"[{host}]" if ":" in host else host

    def started() -> None:
        server.events.emit(
            AppServing,
            app=app.path,
            kind=app.kind,
            host=host,
            port=port,
            url=f"http://{url_host}:{port}",
            reload=server.profile.reload,
            restart_files=[str(p) for p in restart_files] if server.profile.reload else [],
        )

    closing = browser.close if browser is not None else lambda: None
    with uvicorn_logs(server.events, server.profile):
        runner = _uvicorn_server(config, started, on_signal, closing)

        def stop() -> None:
            runner.config.timeout_graceful_shutdown = GRACEFUL_S
            runner.should_exit = True
            runner.wake()  # a restart begins its shutdown now, not at uvicorn's next tick

        on_serving(stop)
        if browser is not None:
            browser.start()
        try:
            runner.run(sockets=[sock])
        except SystemExit as e:  # uvicorn exits when the app's lifespan start-up fails
            raise ServerError(
                f"{app.key} failed to start (uvicorn exited with code {e.code}); "
                "its app.log events above say why"
            ) from e
        finally:
            closing()
    if not runner.started:
        raise ServerError(f"{app.key} did not start; its app.log events above say why")


def _uvicorn_server(
    config: Any,
    on_started: Callable[[], None],
    on_signal: Callable[[int], None],
    on_shutdown: Callable[[], None],
) -> Any:
    """uvicorn.Server with four changes: it reports when it serves; ``on_shutdown`` runs as
    shutdown begins (it ends the browser's event streams, which uvicorn would otherwise wait
    for: they never end by themselves); it handles SIGINT and SIGTERM without raising them
    again once stopped (what uvicorn does there differs between versions), telling
    ``on_signal`` instead; and `wake` (any thread) ends the wait between two of its ticks, so
    a stop asked by a restart begins at once rather than up to a tick (0.1 s) later."""
    import asyncio

    import uvicorn

    def _set(tick: asyncio.Future[None]) -> None:
        if not tick.done():
            tick.set_result(None)

    class Server(uvicorn.Server):
        _loop: asyncio.AbstractEventLoop | None = None
        _tick: asyncio.Future[None] | None = None

        async def main_loop(self) -> None:
            # uvicorn's own loop (a tick every 0.1 s until should_exit), with a wait that
            # `wake` can end: the same timer and future as the asyncio.sleep it replaces.
            loop = self._loop = asyncio.get_running_loop()
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 1) % 864000
                tick = self._tick = loop.create_future()
                timer = loop.call_later(0.1, _set, tick)
                try:
                    await tick
                finally:
                    timer.cancel()
                should_exit = await self.on_tick(counter)

        restarting = False  # `wake` asked for the stop: a restart, on a save's path

        def wake(self) -> None:
            self.restarting = True
            loop, tick = self._loop, self._tick
            if loop is not None and tick is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_set, tick)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_started()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            on_shutdown()
            if not self.restarting or not _restart_shutdown(self):
                await super().shutdown(sockets=sockets)
                return
            await _shutdown_for_restart(self, sockets)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return

            def stop(sig: int, frame: FrameType | None) -> None:
                on_signal(sig)
                self.handle_exit(sig, frame)

            stops = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, stop) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


# What `_shutdown_for_restart` uses of uvicorn.Server (0.30 to 0.55 have them all).
_SHUTDOWN_PARTS = ("servers", "server_state", "lifespan", "force_exit", "_wait_tasks_to_complete")
_CLOSING_S = 0.1  # uvicorn's pause for connections asked to close; a restart waits at most this


def _restart_shutdown(runner: Any) -> bool:
    """Whether this uvicorn has what `_shutdown_for_restart` uses (else its own shutdown)."""
    return all(hasattr(runner, part) for part in _SHUTDOWN_PARTS)


async def _shutdown_for_restart(runner: Any, sockets: list[socket.socket] | None) -> None:
    """uvicorn's graceful shutdown, step for step, except that its fixed 0.1 s pause after asking
    every connection to close ends once they have: a restart is on the save-to-response path.
    Requests in flight still finish (within ``timeout_graceful_shutdown``), then the lifespan's
    shutdown runs."""
    import asyncio

    logging.getLogger("uvicorn.error").info("Shutting down")
    for server in runner.servers:  # accept no more connections
        server.close()
    for sock in sockets or []:
        sock.close()
    state = runner.server_state
    for connection in list(state.connections):
        connection.shutdown()
    loop = asyncio.get_running_loop()
    until = loop.time() + _CLOSING_S
    while state.connections and loop.time() < until:
        await asyncio.sleep(0.002)
    try:
        async with asyncio.timeout(runner.config.timeout_graceful_shutdown):
            await runner._wait_tasks_to_complete()
    except TimeoutError:
        logging.getLogger("uvicorn.error").error(
            "Cancel %s running task(s), timeout graceful shutdown exceeded", len(state.tasks)
        )
        for task in state.tasks:
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
    if not runner.force_exit:
        await runner.lifespan.shutdown()
