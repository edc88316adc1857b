"""Flask and FastAPI apps as their users write them, under `hotreload up`, over real HTTP: a
handler's body applies in place, a template on the next request, and what cannot apply in place
(a new route, the app factory, a pydantic or SQLAlchemy model) restarts into the new code."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from child import WAIT, Child
from test_cli import edit, validate_events
from test_web import free_port

pytestmark = pytest.mark.timeout(150)

FLASK_INIT = '''
"""flaskr, as Flask's tutorial writes it: an app factory and a blueprint."""

from flask import Flask


def create_app():
    app = Flask(__name__)
    app.config.from_mapping(SECRET_KEY="dev", GREETING="Hello")

    from . import blog

    app.register_blueprint(blog.bp)

    @app.route("/ping")
    def ping():
        return "pong"

    return app
'''

FLASK_BLOG = """
from flask import Blueprint, current_app, g, render_template, request, session

bp = Blueprint("blog", __name__)


@bp.before_app_request
def load_user():
    g.user = request.args.get("user", "nobody")
    session["seen"] = True


@bp.route("/")
def index():
    return render_template("index.html", user=g.user, greeting=current_app.config["GREETING"])


@bp.route("/boom")
def boom():
    raise RuntimeError("boom in a handler")
"""

FLASK_TEMPLATE = "{{ greeting }}, {{ user }}!\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def manifest(app: str) -> str:
    return (
        '[project]\nname = "frameworks"\n\n[modules]\n\n'
        # The pages are compared as the app renders them: no browser reload script added.
        "[env.development]\nreload = true\ndebounce_ms = 3\nbrowser_reload = false\n\n"
        "[env.production]\nreload = false\n\n"
        f"[app]\n{app}\n"
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=WAIT) as client:
        yield client


def up(directory: Path, *args: str) -> Child:
    port = str(free_port())
    return Child("up", "--log-format", "json", "--port", port, *args, cwd=directory)


@pytest.fixture
def flaskr(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "flaskr/__init__.py": FLASK_INIT,
            "flaskr/blog.py": FLASK_BLOG,
            "flaskr/templates/index.html": FLASK_TEMPLATE,
            "hotreload.toml": manifest('wsgi = "flaskr:create_app"\nfactory = true'),
        },
    )


def test_flaskr_edits_apply_in_place_or_restart_into_the_new_code(
    flaskr: Path, http: httpx.Client
) -> None:
    child = up(flaskr)
    try:
        url = child.wait_for("app.serving", kind="wsgi")["url"]
        assert http.get(f"{url}/?user=ada").text == "Hello, ada!"
        # A module that holds werkzeug's proxies (request, g, session, current_app) reloads.
        mark = child.mark()
        edit(flaskr / "flaskr/blog.py", ('request.args.get("user", "nobody")', '"someone"'))
        accepted = child.wait_for("reload.accepted", after=mark, module="flaskr.blog")
        assert accepted["ran"] == "code"
        assert http.get(f"{url}/?user=ada").text == "Hello, someone!"
        # A template edit shows on the next request.
        (flaskr / "flaskr/templates/index.html").write_text("{{ greeting }} there, {{ user }}.\n")
        assert http.get(f"{url}/").text == "Hello there, someone."
        # A handler's error is an app.log event with its traceback, never stdout.
        assert http.get(f"{url}/boom").status_code == 500
        logged = child.wait_for("app.log", logger="flaskr")
        assert "RuntimeError: boom in a handler" in logged["exception"]
        # A new route cannot be added in place after the first request: a restart.
        mark = child.mark()
        edit(
            flaskr / "flaskr/blog.py",
            (
                '@bp.route("/boom")',
                '@bp.route("/new")\ndef new():\n    return "new"\n\n\n@bp.route("/boom")',
            ),
        )
        needed = child.wait_for("reload.restart_needed", after=mark, module="flaskr.blog")
        assert needed["reason"] == "side_effect" and needed["restart"] == "auto"
        child.wait_for("server.started", after=mark, restarted=True)
        child.wait_for("app.serving", after=mark)
        assert http.get(f"{url}/new").text == "new"
        assert http.get(f"{url}/").text == "Hello there, someone."
        # A blueprint made anew would not be the one the app registered: a restart.
        mark = child.mark()
        edit(
            flaskr / "flaskr/blog.py",
            ('Blueprint("blog", __name__)', 'Blueprint("blog", __name__, url_prefix="/blog")'),
        )
        needed = child.wait_for("reload.restart_needed", after=mark, module="flaskr.blog")
        assert (needed["reason"], needed["causes"][0]["name"]) == ("identity_lost", "bp")
        child.wait_for("app.serving", after=mark)
        assert http.get(f"{url}/blog/new").text == "new"
        assert http.get(f"{url}/new").status_code == 404
        mark = child.mark()
        edit(flaskr / "flaskr/blog.py", (', url_prefix="/blog")', ")"))
        child.wait_for("app.serving", after=mark)
        assert http.get(f"{url}/new").text == "new"
        mark = child.mark()
        # The factory's module changed: the app it built is built again, in a restart.
        mark = child.mark()
        edit(flaskr / "flaskr/__init__.py", ('GREETING="Hello"', 'GREETING="Howdy"'))
        needed = child.wait_for("reload.restart_needed", after=mark, module="flaskr")
        assert needed["reason"] == "app_factory_changed"
        child.wait_for("app.serving", after=mark)
        assert http.get(f"{url}/").text == "Howdy there, someone."
        assert child.stop() == 0
        assert not [line for line in child.stdout if "Traceback" in line or "boom" in line]
        validate_events(child.events)
    finally:
        child.kill()


def test_production_leaves_flask_templates_as_the_app_set_them(
    flaskr: Path, http: httpx.Client
) -> None:
    child = up(flaskr, "--env", "production")
    try:
        url = child.wait_for("app.serving", reload=False)["url"]
        assert http.get(f"{url}/?user=ada").text == "Hello, ada!"
        (flaskr / "flaskr/templates/index.html").write_text("changed\n")
        assert http.get(f"{url}/?user=ada").text == "Hello, ada!"  # cached, as Flask does
        assert child.stop() == 0
    finally:
        child.kill()


FASTAPI_MODELS = """
from pydantic import BaseModel
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Todo(Base):
    __tablename__ = "todos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String)


class TodoOut(BaseModel):
    id: int
    title: str
"""

FASTAPI_MAIN = """
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from models import Base, Todo, TodoOut

engine = create_engine(
    "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
)
Base.metadata.create_all(engine)
with Session(engine) as db:
    db.add(Todo(id=1, title="write tests"))
    db.commit()

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
app = FastAPI()


@app.get("/todos/{todo_id}", response_model=TodoOut)
def get_todo(todo_id: int) -> Todo:
    with Session(engine) as db:
        todo = db.get(Todo, todo_id)
        assert todo is not None
        db.expunge(todo)
        return todo


@app.get("/page")
def page(request: Request):
    return templates.TemplateResponse(request, "page.html", {"title": "todos"})
"""


@pytest.fixture
def todos(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "models.py": FASTAPI_MODELS,
            "main.py": FASTAPI_MAIN,
            "templates/page.html": "<h1>{{ title }}</h1>\n",
            "hotreload.toml": manifest('asgi = "main:app"'),
        },
    )


def test_fastapi_templates_and_models_follow_the_saves(todos: Path, http: httpx.Client) -> None:
    child = up(todos)
    try:
        url = child.wait_for("app.serving", kind="asgi")["url"]
        assert http.get(f"{url}/todos/1").json() == {"id": 1, "title": "write tests"}
        assert http.get(f"{url}/page").text == "<h1>todos</h1>"
        (todos / "templates/page.html").write_text("<h2>{{ title }}</h2>\n")
        assert http.get(f"{url}/page").text == "<h2>todos</h2>"
        # A field of the response model, a column of the table: restarts, and serves them.
        mark = child.mark()
        edit(
            todos / "models.py",
            (
                "    title: Mapped[str] = mapped_column(String)\n",
                "    title: Mapped[str] = mapped_column(String)\n"
                "    done: Mapped[bool] = mapped_column(default=False)\n",
            ),
            ("    title: str\n", "    title: str\n    done: bool = False\n"),
        )
        needed = child.wait_for("reload.restart_needed", after=mark, module="models")
        assert needed["reason"] == "side_effect"
        assert {c["name"] for c in needed["causes"]} >= {"Todo"}
        child.wait_for("app.serving", after=mark)
        assert http.get(f"{url}/todos/1").json() == {"id": 1, "title": "write tests", "done": False}
        assert child.stop() == 0
    finally:
        child.kill()
