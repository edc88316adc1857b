"""Finding the app in a project's source, never importing it: app objects before factories
before entries, the shallowest module first; tests and environments are not looked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import dedent

from hotreload import appscan
from hotreload.appscan import find_apps


def write(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(source), encoding="utf-8")
    return path


def settings(root: Path) -> list[tuple[str, str, bool]]:
    return [(found.key, found.target, found.factory) for found in find_apps(root).found]


def test_a_module_level_app_object_is_found_through_any_import_spelling(tmp_path: Path) -> None:
    write(tmp_path, "main.py", "from fastapi import FastAPI as API\n\napp = API(title='x')\n")
    write(
        tmp_path, "shop/__init__.py", "import flask\n\nweb: flask.Flask = flask.Flask(__name__)\n"
    )
    write(
        tmp_path,
        "service/asgi.py",
        "import starlette.applications\n\napplication = starlette.applications.Starlette()\n",
    )
    assert settings(tmp_path) == [
        ("asgi", "main:app", False),
        ("wsgi", "shop:web", False),
        ("asgi", "service.asgi:application", False),
    ]
    chosen = find_apps(tmp_path).chosen
    assert chosen is not None
    assert (chosen.what, chosen.where(tmp_path)) == ("the FastAPI app", "main.py:3")


def test_a_factory_is_found_and_an_object_it_builds_is_preferred(tmp_path: Path) -> None:
    factory_only = dedent(
        """
        from flask import Flask


        def create_app(config: str = "dev") -> Flask:
            app = Flask(__name__)
            return app
        """
    )
    write(tmp_path / "one", "shop/__init__.py", factory_only)
    assert settings(tmp_path / "one") == [("wsgi", "shop:create_app", True)]
    chosen = find_apps(tmp_path / "one").chosen
    assert chosen is not None and chosen.what == "create_app(), which builds a Flask app"
    assert chosen.setting() == 'wsgi = "shop:create_app", factory = true'

    write(tmp_path / "two", "shop/__init__.py", factory_only + "\n\napp = create_app()\n")
    assert settings(tmp_path / "two") == [
        ("wsgi", "shop:app", False),
        ("wsgi", "shop:create_app", True),
    ]
    chosen = find_apps(tmp_path / "two").chosen
    assert chosen is not None and chosen.what == "the Flask app that create_app() builds"


def test_a_factory_that_needs_arguments_or_returns_nothing_is_not_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        "web.py",
        """
        from fastapi import FastAPI


        def make(settings):
            return FastAPI()


        def setup() -> None:
            FastAPI()
        """,
    )
    assert settings(tmp_path) == []


def test_main_is_an_entry_when_hotreload_up_can_call_it(tmp_path: Path) -> None:
    write(tmp_path, "run.py", "def main():\n    pass\n")
    write(tmp_path, "host.py", "def main(server):\n    pass\n")
    write(tmp_path, "cli.py", "def main(argv=None):\n    pass\n")  # would get the server
    write(tmp_path, "loop.py", "async def main():\n    pass\n")  # a coroutine nobody awaits
    assert settings(tmp_path) == [("entry", "host:main", False), ("entry", "run:main", False)]


def test_an_app_beats_an_entry_and_a_usual_name_beats_another(tmp_path: Path) -> None:
    write(tmp_path, "tool.py", "def main():\n    pass\n")
    write(tmp_path, "zeta.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    write(tmp_path, "app.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    assert [target for _, target, _ in settings(tmp_path)] == ["app:app", "zeta:app", "tool:main"]


def test_tests_environments_hidden_folders_and_unimportable_names_are_skipped(
    tmp_path: Path,
) -> None:
    app = "from fastapi import FastAPI\napp = FastAPI()\n"
    write(tmp_path, "tests/test_api.py", app)
    write(tmp_path, "conftest.py", app)
    write(tmp_path, "test_main.py", app)
    write(tmp_path, ".cache/web.py", app)
    write(tmp_path, "env/lib/web.py", app)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    write(tmp_path, "my-scripts/web.py", app)
    write(tmp_path, "node_modules/x/web.py", app)
    write(tmp_path, "broken.py", "from fastapi import FastAPI\napp = FastAPI(\n")
    write(tmp_path, "site/__init__.py", app)  # the standard library's `site` is imported instead
    assert settings(tmp_path) == []


def test_a_big_tree_is_looked_at_in_part_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(appscan, "MAX_FILES", 2)
    for name in ("a", "b", "c"):
        write(tmp_path, f"{name}.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    scan = find_apps(tmp_path)
    assert scan.truncated
    assert [found.target for found in scan.found] == ["a:app", "b:app"]
