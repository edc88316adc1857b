"""Functions a web framework calls itself, read from a module's source with `ast`: route
handlers, request hooks, dependency providers. They are no exports: exports are what a host
calls, and a framework calls these with what it decides (path parameters, injected objects).

Only the forms the frameworks document are recognised, from the source as written, running
nothing: a decorator `@app.get("/")`, `@router.post(...)`, `@bp.route(...)`,
`@app.exception_handler(...)`, `@app.before_request`, a CLI's `@click.command()`; a
registration call `app.add_api_route("/", handler)`, `app.add_url_rule("/", view_func=index)`,
`app.teardown_appcontext(close_db)`, `app.cli.add_command(cmd)`; a dependency `Depends(get_db)`
/ `Security(...)` anywhere in the module; `FastAPI(lifespan=lifespan)`. A dependency provider
used only by another module (`Depends(database.get_db)` in a router) is not seen from its own.
"""

from __future__ import annotations

import ast

# `@x.get("/path")`: the decorator of a route, always called (with the path).
ROUTE_DECORATORS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "trace",
        "route",
        "api_route",
        "websocket",
        "websocket_route",
    }
)
# `@x.errorhandler(404)` or `@x.before_request`: a hook the framework calls, called or not.
HOOK_DECORATORS = frozenset(
    {
        "exception_handler",
        "middleware",
        "on_event",
        "errorhandler",
        "app_errorhandler",
        "before_request",
        "before_app_request",
        "after_request",
        "after_app_request",
        "teardown_request",
        "teardown_appcontext",
        "context_processor",
        "app_context_processor",
        "url_value_preprocessor",
        "url_defaults",
        "template_filter",
        "template_global",
        "template_test",
        "shell_context_processor",
        "command",  # a CLI's: `@app.cli.command()`, `@click.command()`, Typer's `@app.command()`
    }
)
# `app.add_api_route("/", handler)`: a call that registers its argument (position, keyword).
REGISTRATIONS = {
    "add_api_route": (1, "endpoint"),
    "add_route": (1, "route"),
    "add_api_websocket_route": (1, "endpoint"),
    "add_websocket_route": (1, "route"),
    "add_url_rule": (2, "view_func"),
    "add_exception_handler": (1, "handler"),
    "add_event_handler": (1, "func"),
    "add_command": (0, "cmd"),
}
DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})
APP_HOOK_KEYWORDS = frozenset({"lifespan", "on_startup", "on_shutdown", "exception_handlers"})


def framework_called(tree: ast.Module) -> dict[str, str]:
    """Top-level functions of ``tree`` that a framework calls, each with how the source says
    so (``"route @app.get"``, ``"dependency Depends(get_db)"``), in source order."""
    defined = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    found: dict[str, tuple[int, str]] = {}

    def note(name: str, why: str) -> None:
        if name in defined and name not in found:
            found[name] = (defined[name].lineno, why)

    for node in defined.values():
        for decorator in node.decorator_list:
            why = _decorator_role(decorator)
            if why is not None:
                note(node.name, why)
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        for name, why in _registered(call):
            note(name, why)
    return {name: why for name, (_, why) in sorted(found.items(), key=lambda item: item[1][0])}


def _decorator_role(decorator: ast.expr) -> str | None:
    """What a decorator says of its function: a route or a hook of a framework, or None."""
    called = isinstance(decorator, ast.Call)
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if not isinstance(target, ast.Attribute):
        return None
    text = _dotted(target)
    if called and target.attr in ROUTE_DECORATORS:
        return f"route @{text}"
    if target.attr in HOOK_DECORATORS:
        return f"hook @{text}"
    return None


def _registered(call: ast.Call) -> list[tuple[str, str]]:
    """The local function names a call hands to a framework, with how."""
    name = _callee(call)
    if name in DEPENDENCY_MARKERS:
        given = call.args[0] if call.args else _keyword(call, "dependency")
        if isinstance(given, ast.Name):
            return [(given.id, f"dependency {name}({given.id})")]
        return []
    if name in REGISTRATIONS and isinstance(call.func, ast.Attribute):
        position, keyword = REGISTRATIONS[name]
        given = call.args[position] if len(call.args) > position else _keyword(call, keyword)
        if isinstance(given, ast.Name):
            return [(given.id, f"registered by {_dotted(call.func)}(...)")]
        return []
    if name in HOOK_DECORATORS and isinstance(call.func, ast.Attribute) and call.args:
        given = call.args[-1]  # `app.teardown_appcontext(close_db)`: a hook set by a call
        if isinstance(given, ast.Name) and len(call.args) == 1:
            return [(given.id, f"registered by {_dotted(call.func)}(...)")]
        return []
    return [
        (given, f"{keyword.arg}= of {name}(...)")
        for keyword in call.keywords
        if keyword.arg in APP_HOOK_KEYWORDS
        for given in _names_in(keyword.value)
    ]


def _names_in(value: ast.expr) -> list[str]:
    """`f`, `[f, g]`, `{404: f}`: the plain names a hook argument hands over."""
    if isinstance(value, ast.Dict):
        items: list[ast.expr | None] = list(value.values)
    elif isinstance(value, ast.List | ast.Tuple):
        items = list(value.elts)
    else:
        items = [value]
    return [item.id for item in items if isinstance(item, ast.Name)]


def _callee(call: ast.Call) -> str | None:
    """The called name's last part: `Depends` for `Depends(...)` and `fastapi.Depends(...)`."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _dotted(node: ast.expr) -> str:
    """`app.get`, `api.v1.router.post`: an attribute chain as written (``...`` elsewhere)."""
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "..."
