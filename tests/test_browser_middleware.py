"""The browser reload middleware, called in-process as a server calls it: what it adds to HTML
pages, what it leaves byte for byte, its reserved endpoints, the page state, the app's folders."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Project

from hotreload.events import AppLog, AssetChanged, EventLog, ReloadAccepted
from hotreload.web.assets import AssetFolder, asset_folders, classify
from hotreload.web.browser import BrowserReload, PageState, insert
from hotreload.web.eventstream import EventHub

Message = dict[str, Any]
App = Callable[..., Awaitable[None]]


def responding(*messages: Message) -> App:
    """An ASGI app that answers every request with exactly these messages."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        for message in messages:
            await send(message)

    return app


def start(status: int = 200, **headers: str) -> Message:
    pairs = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http.response.start", "status": status, "headers": pairs}


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


def middleware(app: App, state: PageState | None = None) -> BrowserReload:
    events = EventLog("development")
    return BrowserReload(app, EventHub(events), state or PageState())


def request(
    app: Any, path: str = "/", method: str = "GET", headers: tuple[tuple[bytes, bytes], ...] = ()
) -> list[Message]:
    """One request with an empty body, as uvicorn sends it; every message the app sent."""
    sent: list[Message] = []
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def headers_of(message: Message) -> dict[bytes, bytes]:
    return dict(message["headers"])


def whole_body(sent: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


PAGE = b"<!doctype html><html><body><h1>Hi</h1></body></html>"


def test_an_html_page_gets_the_script_before_body_and_a_corrected_length() -> None:
    app = middleware(
        responding(
            start(
                content_type="text/html; charset=utf-8", content_length=str(len(PAGE)), x_app="kept"
            ),
            body(PAGE),
        )
    )
    sent = request(app)
    tag = app.tag("")
    assert whole_body(sent) == PAGE.replace(b"</body>", tag + b"</body>")
    headers = headers_of(sent[0])
    assert headers[b"content-length"] == str(len(PAGE) + len(tag)).encode()
    assert headers[b"x-app"] == b"kept"
    assert b'src="/__hotreload/reload.js"' in tag and b"data-hotreload-generation=" in tag


def test_a_page_sent_in_chunks_with_a_length_is_held_until_complete() -> None:
    parts = [PAGE[:20], PAGE[20:40], PAGE[40:]]
    app = middleware(
        responding(
            start(content_type="text/html", content_length=str(len(PAGE))),
            *(body(p, more=i < 2) for i, p in enumerate(parts)),
        )
    )
    sent = request(app)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert whole_body(sent) == PAGE.replace(b"</body>", app.tag("") + b"</body>")


def test_insert_places_the_tag_before_the_last_closing_body_else_at_the_end() -> None:
    assert insert(b"<p>x</p></BODY></html>", b"T") == b"<p>x</p>T</BODY></html>"
    assert insert(b"<p>x</p></html>", b"T") == b"<p>x</p>T</html>"
    assert insert(b"<p>x</p>", b"T") == b"<p>x</p>T"
    assert insert(b"<!-- </body> -->x</body>", b"T") == b"<!-- </body> -->xT</body>"


def test_a_streamed_page_passes_chunk_by_chunk_and_gets_the_script_after_the_last() -> None:
    app = middleware(
        responding(start(content_type="text/html"), body(b"<p>one</p>", True), body(b"<p>2</p>"))
    )
    sent = request(app)
    assert sent[1] == body(b"<p>one</p>", True)
    assert sent[2]["body"] == b"<p>2</p>" + app.tag("")
    assert b"content-length" not in headers_of(sent[0])


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param(
            [
                start(content_type="text/html", content_encoding="br", content_length="31"),
                body(b"\x1b\x2a\x00brotli-bytes"),
            ],
            id="brotli-html",
        ),
        pytest.param(
            [start(content_type="text/html", content_encoding="gzip"), body(gzip.compress(PAGE))],
            id="gzip-html-stream",
        ),
        pytest.param(
            [start(content_type="application/json", content_length="2"), body(b"{}")],
            id="json",
        ),
        pytest.param(
            [start(content_type="text/css"), body(b"h1{}", True), body(b"")], id="streamed-css"
        ),
        pytest.param([start(304, content_type="text/html")], id="not-modified"),
        pytest.param(
            [
                start(content_type="text/html; charset=utf-16", content_length="8"),
                body("<p>".encode("utf-16")),
            ],
            id="utf-16-html",
        ),
        pytest.param([start(content_type="image/png"), body(b"\x89PNG\r\n")], id="no-length"),
    ],
)
def test_every_other_response_passes_byte_for_byte(messages: list[Message]) -> None:
    assert request(middleware(responding(*messages))) == messages


def test_a_gzip_page_of_the_apps_gzip_middleware_is_opened_given_the_script_and_closed() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    page = b"<html><body>" + b"<p>compressible</p>" * 100 + b"</body></html>"
    html = responding(start(content_type="text/html", content_length=str(len(page))), body(page))
    app = middleware(GZipMiddleware(html, minimum_size=10))
    sent = request(app, headers=((b"accept-encoding", b"gzip"),))
    headers = headers_of(sent[0])
    assert headers[b"content-encoding"] == b"gzip"
    assert headers[b"content-length"] == str(len(whole_body(sent))).encode()
    assert gzip.decompress(whole_body(sent)) == page.replace(b"</body>", app.tag("") + b"</body>")


def test_head_gets_the_length_a_get_would_have_and_no_body() -> None:
    app = middleware(responding(start(content_type="text/html", content_length="54"), body(b"")))
    sent = request(app, method="HEAD")
    assert headers_of(sent[0])[b"content-length"] == str(54 + len(app.tag(""))).encode()
    assert whole_body(sent) == b""


def test_other_scopes_go_straight_to_the_app() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    wrapped = middleware(app)
    asyncio.run(wrapped({"type": "lifespan"}, None, None))
    asyncio.run(wrapped({"type": "websocket", "path": "/__hotreload/events"}, None, None))
    assert seen == ["lifespan", "websocket"]


def test_the_reserved_paths_serve_the_script_and_the_state_and_name_themselves() -> None:
    state = PageState()
    app = middleware(responding(start(404), body(b"app")), state)
    script = request(app, "/__hotreload/reload.js")
    assert headers_of(script[0])[b"content-type"].startswith(b"text/javascript")
    assert b"EventSource" in whole_body(script)
    snapshot = json.loads(whole_body(request(app, "/__hotreload/state")))
    assert snapshot == {"run": state.run, "generation": 0, "problems": []}
    missing = request(app, "/__hotreload/nope")
    assert missing[0]["status"] == 404
    assert whole_body(missing) == (
        b"/__hotreload/nope: not a hotreload endpoint (reload.js, events, state)\n"
    )
    assert request(app, "/__hotreload/state", method="POST")[0]["status"] == 405
    assert whole_body(request(app, "/other")) == b"app"  # the app's own paths are the app's


def accepted(module: str = "handlers") -> dict[str, Any]:
    return {"event": "reload.accepted", "module": module}


def test_the_page_state_counts_page_changing_saves_and_keeps_rejections_until_fixed() -> None:
    state = PageState()
    rejected = {"event": "reload.rejected", "module": "handlers", "reason": "exec_error"}
    state.listen(rejected)
    state.listen({"event": "reload.rejected", "module": "views", "reason": "syntax_error"})
    state.listen({"event": "asset.changed", "kind": "stylesheet"})  # swapped, not reloaded
    assert state.snapshot()["generation"] == 0
    assert [p["module"] for p in state.snapshot()["problems"]] == ["handlers", "views"]
    state.listen(accepted("handlers"))
    state.listen({"event": "reload.unchanged", "module": "views"})  # back to what runs
    state.listen({"event": "asset.changed", "kind": "template"})
    assert state.snapshot()["problems"] == []
    assert state.snapshot()["generation"] == 2
    assert PageState().run != state.run  # each run (a restart) has its own


def test_the_event_stream_carries_what_pages_need_and_ends_when_closed() -> None:
    events = EventLog("development")
    hub = EventHub(events)
    app = BrowserReload(responding(), hub, PageState())
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if b"reload.accepted" in message.get("body", b""):
            hub.close()

    async def never() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/__hotreload/events", "root_path": ""}
        task = asyncio.ensure_future(app(scope, never, send))
        while not sent:  # subscribed once the response started
            await asyncio.sleep(0.001)
        events.emit(AppLog, logger="uvicorn.access", message="GET / 200", exception=None)
        events.emit(AssetChanged, file="/p/site.css", kind="stylesheet", url="/static/site.css")
        events.emit(
            ReloadAccepted,
            module="handlers",
            path="/p/handlers.py",
            version=2,
            contract=True,
            digest=None,
            changed=[],
            added=[],
            rebound=[],
            removed=[],
            ran="code",
            statements=[],
            duration_ms=1.0,
        )
        await asyncio.wait_for(task, 5)

    asyncio.run(run())
    stream = whole_body(sent).decode()
    assert "asset.changed" in stream and "reload.accepted" in stream
    assert "app.log" not in stream  # a page does not need uvicorn's access log
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


# -- the app's folders ---------------------------------------------------------------------------

FASTAPI_APP = """
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
app = FastAPI()
app.mount("/assets", StaticFiles(directory=HERE / "public"), name="assets")
app.mount("/outside", StaticFiles(directory="{outside}"), name="outside")
templates = Jinja2Templates(directory=HERE / "pages")
"""


def test_the_folders_of_a_fastapi_app_are_its_static_mounts_and_template_loaders(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    for folder in ("public", "pages"):
        (project.root / folder).mkdir()
    project.write("fastsite", FASTAPI_APP.replace("{outside}", str(outside)))
    sys.path.insert(0, str(project.root))
    import fastsite  # type: ignore[import-not-found]

    root = project.root.resolve()
    folders = asset_folders(fastsite.app, root)
    assert folders == [
        AssetFolder(root / "public", templates=False, url="/assets"),
        AssetFolder(root / "pages", templates=True),
    ]  # the mount outside the project root is not watched
    css = classify(root / "public" / "css" / "site.css", folders)
    assert css is not None and (css.kind, css.url) == ("stylesheet", "/assets/css/site.css")
    page = classify(root / "pages" / "index.html", folders)
    assert page is not None and (page.kind, page.url) == ("template", None)
    assert classify(root / "elsewhere.css", folders) is None


FLASK_SITE = """
from flask import Blueprint, Flask

app = Flask(__name__)
shop = Blueprint("shop", __name__, static_folder="shop_static", url_prefix="/shop")
app.register_blueprint(shop)
"""


def test_the_folders_of_a_flask_app_and_its_blueprints(project: Project) -> None:
    for folder in ("static", "templates", "shop_static"):
        (project.root / folder).mkdir()
    project.write("flasksite", FLASK_SITE)
    sys.path.insert(0, str(project.root))
    import flasksite  # type: ignore[import-not-found]

    root = project.root.resolve()
    assert asset_folders(flasksite.app, root) == [
        AssetFolder(root / "static", templates=False, url="/static"),
        AssetFolder(root / "templates", templates=True),
        AssetFolder(root / "shop_static", templates=False, url="/shop/shop_static"),
    ]


def test_a_flask_page_served_through_a2wsgi_gets_the_script(project: Path) -> None:
    from a2wsgi import WSGIMiddleware
    from flask import Flask

    site = Flask("site")
    site.add_url_rule("/", "page", lambda: "<html><body>flask</body></html>")
    site.add_url_rule("/data", "data", lambda: {"a": 1})
    app = middleware(WSGIMiddleware(site))  # type: ignore[arg-type]
    page = request(app)
    assert whole_body(page) == b"<html><body>flask" + app.tag("") + b"</body></html>"
    assert headers_of(page[0])[b"content-length"] == str(len(whole_body(page))).encode()
    assert json.loads(whole_body(request(app, "/data"))) == {"a": 1}
