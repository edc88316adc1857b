"""Functions a web framework calls are told from the source alone: routes, hooks, dependency
providers, registrations; a function only a host calls is not one of them."""

from __future__ import annotations

import ast

from support import dedent

from hotreload.contract.framework import framework_called

FASTAPI = dedent(
    """
    from typing import Annotated

    import fastapi
    from fastapi import APIRouter, Depends, FastAPI, Security


    async def lifespan(app):
        yield


    app = FastAPI(lifespan=lifespan)
    router = APIRouter(dependencies=[Depends(verify_token)])


    def get_db() -> dict[str, str]:
        return {}


    def verify_token() -> None:
        pass


    def current_user(token: str = Security(get_token)) -> str:
        return token


    def get_token() -> str:
        return ""


    def price(amount: float) -> float:
        return amount * 1.2


    @app.get("/items/{name}")
    def read_item(name: str, db: Annotated[dict[str, str], Depends(get_db)]) -> dict[str, str]:
        return {"price": str(price(1.0))}


    @router.post("/items")
    async def create_item(user: str = fastapi.Depends(current_user)) -> None:
        pass


    @app.exception_handler(ValueError)
    def on_value_error(request, exc):
        pass


    def listed_by_hand(name: str) -> str:
        return name


    app.add_api_route("/by-hand", listed_by_hand)
    """
)


def test_routes_hooks_dependencies_and_registrations_are_framework_called() -> None:
    called = framework_called(ast.parse(FASTAPI))
    assert called == {
        "lifespan": "lifespan= of FastAPI(...)",
        "get_db": "dependency Depends(get_db)",
        "verify_token": "dependency Depends(verify_token)",
        "current_user": "dependency Depends(current_user)",
        "get_token": "dependency Security(get_token)",
        "read_item": "route @app.get",
        "create_item": "route @router.post",
        "on_value_error": "hook @app.exception_handler",
        "listed_by_hand": "registered by app.add_api_route(...)",
    }
    assert "price" not in called  # what the routes call is the host's kind of function


def test_flask_views_and_hooks_are_framework_called() -> None:
    source = dedent(
        """
        from flask import Blueprint, Flask

        bp = Blueprint("shop", __name__)


        def create_app():
            app = Flask(__name__)
            app.register_blueprint(bp)
            app.add_url_rule("/", "index", view_func=index)
            return app


        @bp.route("/price/<name>")
        def price_view(name):
            return {"price": total(name)}


        @bp.before_app_request
        def load_user():
            pass


        def index():
            return "hi"


        def total(name: str) -> float:
            return 1.0
        """
    )
    called = framework_called(ast.parse(source))
    assert list(called) == ["price_view", "load_user", "index"]
    assert called["load_user"] == "hook @bp.before_app_request"
    assert called["index"] == "registered by app.add_url_rule(...)"


def test_flask_hooks_and_cli_commands_registered_by_a_call_are_framework_called() -> None:
    """flaskr's db.py, as Flask's tutorial writes it."""
    source = dedent(
        """
        import click
        from flask import g


        def get_db():
            return g.db


        def close_db(e=None):
            g.pop("db", None)


        def init_db():
            get_db().executescript("")


        @click.command("init-db")
        def init_db_command():
            init_db()


        def init_app(app):
            app.teardown_appcontext(close_db)
            app.cli.add_command(init_db_command)
        """
    )
    assert framework_called(ast.parse(source)) == {
        "close_db": "registered by app.teardown_appcontext(...)",
        "init_db_command": "hook @click.command",
    }


def test_decorators_and_calls_of_other_kinds_are_not_framework_calls() -> None:
    source = dedent(
        """
        import functools

        cache = {}


        @functools.lru_cache
        def cached(n: int) -> int:
            return n


        @cache.get
        def not_called_decorator(n: int) -> int:
            return n


        @property_like.setter
        def setter(n: int) -> int:
            return n


        def uses(n: int) -> int:
            return cache.get(n, cached(n))
        """
    )
    assert framework_called(ast.parse(source)) == {}
