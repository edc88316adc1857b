"""Browser reload: an ASGI middleware that adds a small script to the served app's HTML pages
and answers the script under ``/__hotreload/`` (the script, the event stream, the page state).

The script reloads a page after an accepted save, a template edit or a restart, swaps a changed
stylesheet in place, and shows why a save was rejected. Everything the app sends that is not an
HTML page (plain, or gzip with a length) goes through byte for byte; a WSGI app is wrapped as the
ASGI app that a2wsgi makes of it.
"""

from __future__ import annotations

import gzip
import html
import json
import secrets
import threading
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from hotreload.events import AssetChanged, EventLog, WatcherError
from hotreload.web.assets import AssetChange, AssetWatcher, asset_folders
from hotreload.web.eventstream import EventHub

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/__hotreload/"
SCRIPT = "reload.js"
EVENTS = "events"
STATE = "state"

# What the page needs to hear; the rest (app.log per request, module.loaded) stays server-side.
PAGE_EVENTS = frozenset(
    {
        "reload.accepted",
        "reload.rejected",
        "reload.restart_needed",
        "reload.unchanged",
        "asset.changed",
        "server.restarting",
        "server.failed",
        "server.stopped",
    }
)
# Outcomes a page shows in its overlay until the same module's next accepted (or unchanged) save.
PROBLEMS = frozenset({"reload.rejected", "reload.restart_needed", "server.failed"})
_NO_INJECTION_STATUS = frozenset({204, 205, 304})  # no body to add to
_UNSAFE_CHARSETS = ("utf-16", "utf-32", "utf16", "utf32")


def _reloads_page(record: dict[str, Any]) -> bool:
    """A save after which a page is out of date (it reloads); a stylesheet is swapped in place."""
    if record["event"] == "reload.accepted":
        return True
    return record["event"] == "asset.changed" and record.get("kind") != "stylesheet"


class PageState:
    """What a page asks for when it connects or reconnects: which server run it talks to, how
    many page-changing saves there were (a page built before one is out of date), and the saves
    that are rejected now. Fed by the event log from any thread."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(8)  # a new process (a restart) has a new one
        self._lock = threading.Lock()
        self._generation = 0
        self._problems: dict[str, dict[str, Any]] = {}

    def listen(self, record: dict[str, Any]) -> None:
        """The event log's listener: never raises, never blocks for long."""
        name = record["event"]
        key = str(record.get("module") or "server")
        with self._lock:
            if _reloads_page(record):
                self._generation += 1
            if name in PROBLEMS:
                self._problems[key] = record
            elif name in ("reload.accepted", "reload.unchanged"):
                self._problems.pop(key, None)

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "run": self.run,
                "generation": self._generation,
                "problems": list(self._problems.values()),
            }


class BrowserReload:
    """The ASGI middleware. ``hub`` streams the server's events; ``state`` answers
    ``/__hotreload/state``. Lifespan and websocket scopes go straight to the app."""

    def __init__(self, app: ASGIApp, hub: EventHub, state: PageState) -> None:
        self.app = app
        self.hub = hub
        self.state = state
        self.script = files("hotreload.web").joinpath("static", SCRIPT).read_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        if path.startswith(root):  # uvicorn keeps root_path in path (ASGI spec 2.x and later)
            path = path[len(root) :]
        if path.startswith(PREFIX):
            await self._reserved(path[len(PREFIX) :], scope, receive, send)
            return
        injection = Injection(send, self.tag(root), head=scope.get("method") == "HEAD")
        await self.app(scope, receive, injection.send)

    def tag(self, root: str) -> bytes:
        """The script element for one page; it says which run and generation built the page."""
        source = html.escape(root + PREFIX + SCRIPT)
        return (
            f'<script src="{source}" data-hotreload-run="{self.state.run}" '
            f'data-hotreload-generation="{self.state.generation}" defer></script>'
        ).encode("ascii")

    async def _reserved(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("GET", "HEAD"):
            await _respond(send, 405, b"text/plain; charset=utf-8", b"GET only\n", allow=b"GET")
        elif name == SCRIPT:
            await _respond(send, 200, b"text/javascript; charset=utf-8", self.script)
        elif name == STATE:
            body = json.dumps(self.state.snapshot(), separators=(",", ":")).encode()
            await _respond(send, 200, b"application/json", body)
        elif name == EVENTS:
            await self.hub.respond(scope, receive, send, select=_for_pages)
        else:
            text = f"{PREFIX}{name}: not a hotreload endpoint ({SCRIPT}, {EVENTS}, {STATE})\n"
            await _respond(send, 404, b"text/plain; charset=utf-8", text.encode())


def _for_pages(record: dict[str, Any]) -> bool:
    return record["event"] in PAGE_EVENTS


async def _respond(
    send: Send, status: int, content_type: bytes, body: bytes, *, allow: bytes | None = None
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if allow is not None:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Injection:
    """Wraps one request's ``send``: adds the script to an HTML page.

    With a Content-Length the body is held until complete, the script goes before ``</body>``
    (else at the end) and the length is corrected; without one (a streamed page) the chunks go
    on as they come and the script follows the last (a parser puts it in the body). A gzip body
    with a length is decompressed and compressed again around it; any other compressed body,
    and every response that is not HTML, passes unchanged. HEAD gets the corrected length.
    """

    def __init__(self, send: Send, tag: bytes, *, head: bool) -> None:
        self._send = send
        self.tag = tag
        self.head = head
        self.mode = "pass"  # or "hold" (a length to correct) or "append" (a stream)
        self.gzip = False  # a held body is gzip-compressed (an app's GZipMiddleware)
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.mode = self._decide(message)
            if self.mode == "hold":
                self._start = message
                return
        elif self.mode == "hold" and kind == "http.response.body":
            self._body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush(message)
            return
        elif self.mode == "hold" and kind == "http.response.pathsend":
            with open(message["path"], "rb") as file:  # a file response: read it, then as above
                self._body.append(file.read())
            await self._flush({"type": "http.response.body"})
            return
        elif self.mode == "append" and kind == "http.response.body":
            if not message.get("more_body", False):
                message = {**message, "body": message.get("body", b"") + self.tag}
        await self._send(message)

    def _decide(self, start: Message) -> str:
        if start.get("status", 200) in _NO_INJECTION_STATUS:
            return "pass"
        headers = {name.lower(): value for name, value in start.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if not content_type.startswith("text/html"):
            return "pass"
        if any(charset in content_type for charset in _UNSAFE_CHARSETS):
            return "pass"  # the tag is ASCII: only ASCII-compatible encodings take it as is
        coding = headers.get(b"content-encoding", b"identity").strip().lower()
        if coding != b"identity":
            # gzip with a length (Starlette's and Flask-Compress's pages) is opened, given the
            # script and compressed again; any other coding, or a compressed stream, is left.
            self.gzip = coding == b"gzip" and b"content-length" in headers and not self.head
            return "hold" if self.gzip else "pass"
        if b"content-length" in headers:
            return "hold"
        return "pass" if self.head else "append"

    async def _flush(self, last: Message) -> None:
        assert self._start is not None
        body = b"".join(self._body)
        if self.head:  # no body, but the length a GET would have
            length = int(_header(self._start, b"content-length") or b"0") + len(self.tag)
        elif self.gzip:
            body = _gzip_insert(body, self.tag)
            length = len(body)
        else:
            body = insert(body, self.tag)
            length = len(body)
        headers = [
            (name, value)
            for name, value in self._start.get("headers", [])
            if name.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(length).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({**last, "type": "http.response.body", "body": body, "more_body": False})


def _header(message: Message, name: bytes) -> bytes | None:
    for key, value in message.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _gzip_insert(body: bytes, tag: bytes) -> bytes:
    """A gzip body with ``tag`` inserted; one that does not decompress goes as it came."""
    try:
        page = gzip.decompress(body)
    except (OSError, EOFError, zlib.error):
        return body
    return gzip.compress(insert(page, tag), compresslevel=6, mtime=0)


def insert(body: bytes, tag: bytes) -> bytes:
    """``body`` with ``tag`` before its last ``</body>`` (or ``</html>``), else at its end."""
    lowered = body.lower()
    for closing in (b"</body", b"</html"):
        at = lowered.rfind(closing)
        if at != -1:
            return body[:at] + tag + body[at:]
    return body + tag


class BrowserReloading:
    """Browser reload for one server run: the page state and the event hub (both fed by the
    server's event log), the watch on the app's static and template folders, and the
    middleware. `close` ends every open event stream at once (a shutdown never waits on a page)
    and stops the watch."""

    def __init__(self, events: EventLog, app: Any, root: Path) -> None:
        self.events = events
        self.state = PageState()
        events.subscribe(self.state.listen)
        self.hub = EventHub(events)
        self.folders = asset_folders(app, root)
        self.assets = AssetWatcher(self.folders, self._changed, self._failed)

    def wrap(self, app: ASGIApp) -> BrowserReload:
        return BrowserReload(app, self.hub, self.state)

    def start(self) -> None:
        self.assets.start()

    def close(self) -> None:
        self.hub.close()
        self.assets.stop()

    def _changed(self, change: AssetChange) -> None:
        self.events.emit(AssetChanged, file=str(change.path), kind=change.kind, url=change.url)

    def _failed(self, error: BaseException) -> None:
        self.events.emit(
            WatcherError, message=f"static/template folders: {type(error).__name__}: {error}"
        )
