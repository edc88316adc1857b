"""Small adapters for the frameworks an app is written with: Flask, and Starlette/FastAPI.

Chosen by what the served app is (the module of its type, read without running its code); no
framework is imported here at module level, so the core never depends on one. What they do:

- templates: in a reloading profile, Jinja environments check their files at each render
  (Flask's `jinja_env.auto_reload` and `TEMPLATES_AUTO_RELOAD`; every Starlette/FastAPI
  `Jinja2Templates` a project module holds), so a template edit shows on the next request, as
  `flask --debug` does. A production profile is left exactly as the app set it.
- Flask's logs: the app's logger writes to the WSGI error stream by default (stdout under
  a2wsgi); its records become `app.log` events of the server instead.
"""

from __future__ import annotations

import logging
import os
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hotreload.events import AppLog, EventLog
from hotreload.lookup import class_qualname, instance_dict, type_module, type_modules

Adapter = Callable[[Any], None]


def framework_of(app: object) -> str | None:
    """``"flask"``, ``"starlette"`` (FastAPI too) or None, from the app's type alone."""
    for module in type_modules(app):
        top = module.partition(".")[0]
        if top == "flask":
            return "flask"
        if top in ("starlette", "fastapi"):
            return "starlette"
    return None


def adapt(
    app: object,
    *,
    reload: bool,
    log_handler: logging.Handler,
    modules: Iterable[types.ModuleType],
) -> str | None:
    """Adapt the served app to the profile; returns the framework found (None: nothing done)."""
    framework = framework_of(app)
    if framework == "flask":
        _flask_logs(app, log_handler)
        if reload:
            _flask_templates(app)
    if reload:
        for templates in _starlette_templates(modules):
            _auto_reload(templates)
    return framework


CONFIG_SUFFIXES = (".py", ".cfg", ".toml", ".json", ".ini")


def config_files(app: object) -> list[Path]:
    """Files the app reads its configuration from at start, whose save a reload cannot apply:
    for Flask, the instance folder's config files (`config.py`, the tutorial's, even before it
    exists, and any other with a config suffix); nothing for other apps."""
    if framework_of(app) != "flask":
        return []
    instance = getattr(app, "instance_path", None)
    if not isinstance(instance, str) or not os.path.isdir(instance):
        return []
    folder = Path(instance)
    found = {folder / "config.py"}
    found.update(p for p in folder.iterdir() if p.suffix in CONFIG_SUFFIXES and p.is_file())
    return sorted(found)


def _flask_templates(app: Any) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    app.jinja_env.auto_reload = True


def _flask_logs(app: Any, handler: logging.Handler) -> None:
    """Flask's default handler (to `wsgi.errors`) replaced by the server's events; handlers
    the app configured itself are left alone."""
    from flask.logging import default_handler

    logger: logging.Logger = app.logger
    if default_handler in logger.handlers:
        logger.removeHandler(default_handler)
        logger.addHandler(handler)


def _starlette_templates(modules: Iterable[types.ModuleType]) -> list[Any]:
    """Every `Jinja2Templates` a module of the project holds at top level (looked at by type)."""
    found: list[Any] = []
    for module in modules:
        namespace = instance_dict(module) or {}
        for value in list(namespace.values()):
            kind = type(value)
            if class_qualname(kind) == "Jinja2Templates" and type_module(value).startswith(
                ("starlette.", "fastapi.")
            ):
                found.append(value)
    return found


def _auto_reload(templates: Any) -> None:
    environment = getattr(templates, "env", None)
    if environment is not None:
        environment.auto_reload = True


class ErrorStream:
    """A WSGI `wsgi.errors` stream whose lines become `app.log` events (a2wsgi passes stdout)."""

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._say(line)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._say(self._pending)
        self._pending = ""

    def _say(self, line: str) -> None:
        if line.strip():
            self.events.emit(AppLog, level="error", logger="wsgi.errors", message=line)


def with_error_stream(app: Callable[..., Any], stream: ErrorStream) -> Callable[..., Any]:
    """The WSGI app, its `wsgi.errors` being ``stream``."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["wsgi.errors"] = stream
        return app(environ, start_response)

    return wsgi
