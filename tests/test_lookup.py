"""The engine runs no user code it was not asked to run: a module whose globals hold proxies and
lazy objects (werkzeug's `request`, a Django-style lazy object, SQLAlchemy's `scoped_session`,
an object with a slow `__getattr__`) reloads, and none of those objects is ever touched."""

from __future__ import annotations

import abc
import collections
import enum
import functools
import sys
from collections.abc import Callable

import pytest
from conftest import EventRecorder, Project
from support import Running, run

from hotreload.lookup import _type_attr, is_cache_wrapper, static_attr
from hotreload.server import Server

Start = Callable[..., tuple[Server, EventRecorder]]

# A module of the project that the reloaded one imports: its traps count every access.
TRAPS = '''
"""Objects whose every access is user code that must not run during a reload."""

import threading

touched: list[str] = []


class Lazy:
    """Django's LazyObject in miniature: any access, even __class__, builds (here: raises)."""

    def __getattribute__(self, name):
        touched.append(f"lazy.{name}")
        raise RuntimeError("lazy object accessed")

    def __eq__(self, other):
        touched.append("lazy.__eq__")
        raise RuntimeError("lazy object compared")

    def __hash__(self):
        touched.append("lazy.__hash__")
        raise RuntimeError("lazy object hashed")


class Slow:
    """A remote handle: every attribute it does not have costs a round trip."""

    def __getattr__(self, name):
        touched.append(f"slow.{name}")
        threading.Event().wait(0.5)
        raise AttributeError(name)
'''

APP = '''
"""A module as Flask and SQLAlchemy users write it."""

from flask import g, request, session, current_app
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

from traps import Lazy, Slow

Session = scoped_session(sessionmaker(bind=create_engine("sqlite://")))
settings = Lazy()
remote = Slow()


def where() -> str:
    return "{word}"
'''


@pytest.fixture
def running(project: Project, start: Start) -> Running:
    project.write("traps", TRAPS)
    return run(project, start, {"app": APP.format(word="one")}, {"app": {"where": "() -> str"}})


def test_a_module_holding_proxies_and_lazy_objects_reloads_and_touches_none(
    running: Running,
) -> None:
    traps = sys.modules["traps"]
    assert traps.touched == []
    registry_before = sys.modules["app"].Session.registry.has()
    event = running.save(APP.format(word="two"), module="app")
    assert event["changed"] == ["where"]
    assert running.binding("app").where() == "two"
    # A statement run again (the import line) is fine; the objects are only looked at statically.
    event = running.save(APP.format(word="three") + "\nEXTRA = 1\n", module="app")
    assert running.binding("app").where() == "three"
    assert traps.touched == []
    assert sys.modules["app"].Session.registry.has() == registry_before  # no session opened
    assert "watcher.error" not in running.events.names()


def test_a_module_whose_run_breaks_on_a_proxy_is_its_own_rejection(
    running: Running,
) -> None:
    """The user's code touching a proxy (at import time, outside a request) is the module's
    failed reload, with its file and line, never a nameless watcher error."""
    bad = APP.format(word="four") + "\nMETHOD = request.method\n"
    event = running.save(bad, module="app", expect="reload.rejected")
    assert event["reason"] == "exec_error"
    assert event["path"].endswith("app.py")
    assert "outside of request context" in event["message"]
    assert running.binding("app").where() == "one"
    running.save(APP.format(word="five"), module="app")
    assert running.binding("app").where() == "five"
    assert "watcher.error" not in running.events.names()


def test_class_attributes_are_read_as_getattr_static_reads_them() -> None:
    """`is_cache_wrapper` reads a plain class's MRO dicts directly (getattr_static was a fifth
    of every save's search for live functions): the same answers as `static_attr`, for plain
    classes, builtins, classes with a metaclass, and a metaclass that shadows `__dict__`."""

    class Clearing:
        def cache_clear(self) -> None:
            pass

    class Derived(Clearing):
        pass

    class Shadowing(type):
        __dict__ = {"cache_clear": "not the class's"}  # type: ignore[assignment]

    class Odd(metaclass=Shadowing):
        def cache_clear(self) -> None:
            pass

    class Colour(enum.Enum):
        RED = 1

    kinds: list[type] = [int, object, type, Clearing, Derived, Odd, Colour, abc.ABC]
    kinds += [collections.OrderedDict, type(functools.lru_cache(lambda: 1))]
    for kind in kinds:
        for name in ("cache_clear", "__init__", "mro", "__call__", "missing"):
            assert _type_attr(kind, name) is static_attr(kind, name), (kind, name)

    look_alike = Derived()
    look_alike.__wrapped__ = len  # type: ignore[attr-defined]
    assert is_cache_wrapper(functools.lru_cache(lambda: 1))
    assert is_cache_wrapper(functools.cache(lambda: 1))
    assert is_cache_wrapper(look_alike)
    assert not is_cache_wrapper(Derived())  # no `__wrapped__`: not a wrapper
    for value in (1, "s", [], {}, None, len, lambda: 1, functools, Derived):
        assert not is_cache_wrapper(value)
