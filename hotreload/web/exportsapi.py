"""The exports API as an ASGI app: ``POST /call/{module}/{function}``, ``GET /openapi.json``,
``GET /events``; errors as RFC 9457 problem details.

Calls go through the server's bindings, so each runs wholly on one version of its module: an
``async`` export is awaited on the event loop, a sync one runs on a worker thread, so a slow call
holds up neither the other calls nor a reload (which waits only for calls in flight, never for
a client: the body is read before the call starts and the answer written after it ends).
"""

from __future__ import annotations

import asyncio
import hmac
import queue
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol

import pydantic_core
from pydantic import ValidationError

from hotreload.web.codec import BadJson, Call, ResultInvalid
from hotreload.web.eventstream import EventHub, Message, Receive, Scope, Send

JSON = b"application/json"
PROBLEM = b"application/problem+json"
PROBLEM_TYPE = "urn:hotreload:exports:"  # + a code: the kind of problem, as a URI
_PACKAGE = str(Path(__file__).resolve().parents[1])  # hotreload/: left out of tracebacks


@dataclass(frozen=True)
class Export:
    """One served export: how its arguments and result cross, and the binding's callable."""

    call: Call
    function: Callable[..., Any]
    is_async: bool


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20
    body_timeout: float = 10.0  # a client sending its body slower than this is answered 408
    threads: int = 64  # sync calls running at once; more wait for a thread


class Problem(Exception):
    """An answer that is not 200: its status, a code (in ``type``), a message, extra members."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Iterable[tuple[bytes, bytes]] = (),
        **members: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = tuple(headers)
        self.members = members

    def body(self) -> bytes:
        document = {
            "type": PROBLEM_TYPE + self.code,
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            **self.members,
        }
        return pydantic_core.to_json(document)


class Workers:
    """Daemon threads for sync calls, started as needed up to a limit.

    Not a ThreadPoolExecutor: the interpreter joins its threads at exit, so one export stuck
    in a loop would keep `hotreload up` from ever exiting after Ctrl+C.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._idle == 0 and self._threads < self.limit:
                self._threads += 1
                name = f"hotreload-export-{self._threads}"
                threading.Thread(target=self._work, name=name, daemon=True).start()
        self._jobs.put((loop, future, function, args, kwargs))
        return await future

    def close(self) -> None:
        with self._lock:
            for _ in range(self._threads):
                self._jobs.put(None)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            loop, future, function, args, kwargs = job
            try:
                outcome: tuple[Any, BaseException | None] = (function(*args, **kwargs), None)
            except BaseException as error:  # the export's own: it goes to the caller
                outcome = (None, error)
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:  # the loop is closed: the server stopped meanwhile
                pass
            del job, outcome, args, kwargs


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class ExportsApp:
    """The ASGI app of the exports API; its lifespan runs the MCP endpoint's, if there is one."""

    def __init__(
        self,
        exports: Mapping[tuple[str, str], Export],
        openapi: bytes,
        hub: EventHub,
        *,
        token: str | None = None,
        limits: Limits = Limits(),
        tracebacks: bool = False,
        mcp: McpHandler | None = None,
    ) -> None:
        self.exports = exports
        self.mcp = mcp
        self.openapi = openapi
        self.hub = hub
        self.limits = limits
        self.tracebacks = tracebacks
        self._token = None if token is None else f"Bearer {token}".encode()
        self._workers = Workers(limits.threads)

    def close(self) -> None:
        """End every event stream now and let the worker threads go (calls in flight finish)."""
        self.hub.close()
        self._workers.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: uvicorn answers 403 when the app does not accept
        try:
            await self._route(scope, receive, send)
        except Problem as problem:
            await _answer(send, problem.status, problem.body(), PROBLEM, problem.headers)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._token is not None and not self._authorized(scope):
            raise Problem(
                401,
                "unauthorized",
                "this server requires a bearer token: send `Authorization: Bearer <token>`, "
                "the token from the environment variable the profile's token_env names",
                headers=[(b"www-authenticate", b"Bearer")],
            )
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/openapi.json":
            _allow(method, "GET", "HEAD")
            await _answer(send, 200, self.openapi, JSON)  # uvicorn sends no body for HEAD
        elif path == "/events":
            _allow(method, "GET")
            await self.hub.respond(scope, receive, send)
        elif path.startswith("/call/"):
            export = self._export(path)
            _allow(method, "POST")
            await self._call(export, scope, receive, send)
        elif path == "/mcp" and self.mcp is not None:
            await self.mcp.handle(scope, receive, send)
        else:
            raise Problem(
                404,
                "not_found",
                f"no such path {path!r}: calls are POST /call/{{module}}/{{function}}; the "
                "contract is GET /openapi.json, the server's events GET /events",
            )

    def _authorized(self, scope: Scope) -> bool:
        assert self._token is not None
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        return hmac.compare_digest(given, self._token)

    def _export(self, path: str) -> Export:
        module, _, function = path.removeprefix("/call/").rpartition("/")
        export = self.exports.get((module, function))
        if export is None:
            served = ", ".join(f"{m}.{f}" for m, f in self.exports) or "none"
            raise Problem(
                404,
                "unknown_export",
                f"no export {module}.{function} is served; served exports: {served}",
            )
        return export

    async def _call(self, export: Export, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._body(scope, receive)
        if body is None:
            return  # the client left
        try:
            args, kwargs = export.call.arguments(body)
        except BadJson as e:
            raise Problem(400, "bad_json", f"the body is not valid JSON: {e}") from None
        except ValidationError as e:
            errors = pydantic_core.from_json(e.json(include_url=False, include_context=False))
            raise Problem(
                422,
                "invalid_arguments",
                f"{e.error_count()} invalid argument(s) for {export.call.operation.module}."
                f"{export.call.operation.function}; see errors",
                errors=errors,
            ) from None
        try:
            value = await self.invoke(export, args, kwargs)
        except Exception as e:
            raise self._raised(export, e) from None
        try:
            answer = export.call.result(value)
        except ResultInvalid as e:
            operation = export.call.operation
            raise Problem(
                500,
                "result_invalid",
                f"{operation.module}.{operation.function} returned a value that does not match "
                f"its frozen return type: {e}",
            ) from None
        await _answer(send, 200, answer, JSON)

    async def invoke(self, export: Export, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call an export: an async one awaited here, a sync one on a worker thread."""
        if export.is_async:
            return await export.function(*args, **kwargs)
        return await self._workers.run(export.function, args, kwargs)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Start-up and shutdown of what runs beside the routes (the MCP session manager)."""
        await receive()  # lifespan.startup
        try:
            async with self.mcp.running() if self.mcp is not None else _nothing():
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except Exception as e:
            await send({"type": "lifespan.startup.failed", "message": str(e)})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        headers = dict(scope["headers"])
        limit = self.limits.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        try:
            body = await asyncio.wait_for(_read(receive, limit), self.limits.body_timeout)
        except TimeoutError:
            raise Problem(
                408,
                "body_timeout",
                f"the body did not arrive within {self.limits.body_timeout:g} s",
                headers=[(b"connection", b"close")],
            ) from None
        if body and not _is_json(headers.get(b"content-type", b"")):
            given = headers.get(b"content-type", b"none").decode("latin-1")
            raise Problem(
                415,
                "unsupported_media_type",
                f"the body must be application/json (the arguments as a JSON object), not {given}",
            )
        return body

    def _raised(self, export: Export, error: Exception) -> Problem:
        operation = export.call.operation
        kind = type(error).__qualname__
        members: dict[str, Any] = {"exception": kind}
        if self.tracebacks:
            members["traceback"] = _traceback(error)
        return Problem(
            500,
            "export_raised",
            f"{operation.module}.{operation.function} raised {kind}: {error}",
            **members,
        )


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The request body; None if the client left; a 413 Problem once it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "body_too_large",
        f"the body is over the server's limit of {limit} bytes (the profile's max_body_bytes)",
        headers=[(b"connection", b"close")],
    )


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise Problem(
            405,
            "method_not_allowed",
            f"{method} is not allowed here; use {' or '.join(allowed)}",
            headers=[(b"allow", ", ".join(allowed).encode())],
        )


def _traceback(error: BaseException) -> str:
    """The traceback from the export's own frames (the server's are left out)."""
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(_PACKAGE)
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "Traceback (most recent call last):\n" + "".join(lines)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


class McpHandler(Protocol):
    """What the exports app needs of the MCP endpoint (`mcptools`, imported only for MCP)."""

    def running(self) -> AbstractAsyncContextManager[None]: ...

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None: ...
