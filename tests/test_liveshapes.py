"""Tests for hotreload.contract.liveshapes: frozen types checked on live classes."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
from support import dedent
from test_typerules import BASE

from hotreload.contract.liveshapes import annotation_text, loose_annotation, verify_class
from hotreload.contract.signatures import parse_signature
from hotreload.contract.typeshapes import TypeShape, parse_field, read_types


def run_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, name: str = "live_shapes"
) -> types.ModuleType:
    """Run a module's source from a real file, as an import would (registered in sys.modules,
    where pydantic and dataclasses look up the module's names)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def frozen_shapes(source: str) -> dict[str, TypeShape]:
    return {name: found.shape for name, found in read_types(ast.parse(source)).items()}


KINDS = BASE + dedent(
    '''
    import functools


    def logged(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            return function(*args, **kwargs)

        return wrapper


    class Rich:
        """Every way a class can hold a method, a property, a default."""

        limit = 3

        def __init__(self, start: int = 0, *, label: str = "x", **extra: object) -> None:
            self.n = start

        def __len__(self) -> int:
            return self.n

        @logged
        def wrapped(self, k: int = 1) -> int:
            return k

        async def fetch(self, url: str, /) -> bytes:
            return b""

        @staticmethod
        def make(*items: int) -> "Rich":
            return Rich()

        @classmethod
        def parse(cls, text: str = "") -> Rich:
            return cls()

        @functools.cached_property
        def label(self) -> str:
            return ""

        def tags(self) -> list[Tag] | None:
            return None


    @dataclasses.dataclass
    class Made:
        items: list[int] = dataclasses.field(default_factory=list)
        mode: str = dataclasses.field(default="fast")
        pair: Pair | None = None
    '''
)


@pytest.mark.parametrize("future", [False, True], ids=["annotations-as-objects", "as-strings"])
def test_classes_that_match_their_source_have_no_violations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, future: bool
) -> None:
    """No false alarms: every kind of class, run for real, matches the shape read from source."""
    source = ("from __future__ import annotations\n" if future else "") + KINDS
    module = run_module(tmp_path, monkeypatch, source)
    shapes = frozen_shapes(source)
    assert set(shapes) >= {"Counter", "Tag", "Item", "Point", "Color", "Pair", "Move", "Rich"}
    for name, shape in shapes.items():
        assert verify_class(name, getattr(module, name), shape) == [], name


def test_a_class_decorator_that_returns_something_else_is_type_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = dedent(
        """
        def registered(cls):
            return cls.__name__  # a registry decorator that forgot to return the class

        @registered
        class Counter:
            def inc(self) -> int:
                return 1
        """
    )
    module = run_module(tmp_path, monkeypatch, source)
    [violation] = verify_class("Counter", module.Counter, frozen_shapes(source)["Counter"])
    assert (violation.code, violation.function, violation.type) == (
        "type_replaced",
        "Counter",
        "Counter",
    )
    assert violation.actual == "a str"
    assert "a class decorator that returns something else" in violation.message


def test_a_class_decorator_that_drops_or_rewraps_methods_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = dedent(
        """
        def meddle(cls):
            del cls.reset
            inner = cls.inc
            cls.inc = lambda self, k: inner(self) + k   # a wrapper that changes the signature
            cls.total = lambda self: 0                  # a property turned into a method
            return cls

        @meddle
        class Counter:
            def inc(self) -> int:
                return 1

            def reset(self) -> None:
                pass

            @property
            def total(self) -> int:
                return 0
        """
    )
    module = run_module(tmp_path, monkeypatch, source)
    violations = verify_class("Counter", module.Counter, frozen_shapes(source)["Counter"])
    assert [(v.code, v.function, v.member) for v in violations] == [
        ("method_changed", "Counter.inc", "inc"),
        ("method_changed", "Counter.inc", "inc"),
        ("method_removed", "Counter.reset", "reset"),
        ("property_changed", "Counter.total", "total"),
    ]
    assert violations[0].message == (
        "Counter.inc: parameters changed: expected (self), found (self, k)"
    )


def test_fields_and_members_a_decorator_changed_are_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = run_module(
        tmp_path,
        monkeypatch,
        dedent(
            """
            import dataclasses, enum

            @dataclasses.dataclass
            class Point:
                x: float
                z: int = 5

            class Color(enum.Enum):
                RED = 1
            """
        ),
    )
    point = TypeShape(fields=(parse_field("x", "int"), parse_field("y", "int = 0")))
    assert [(v.code, v.member) for v in verify_class("Point", module.Point, point)] == [
        ("field_changed", "x"),
        ("field_removed", "y"),
    ]
    defaults = TypeShape(fields=(parse_field("z", "int = field(default=4)"),))
    [changed] = verify_class("Point", module.Point, defaults)
    assert (changed.code, changed.expected, changed.actual) == (
        "field_changed",
        "int = 4",
        "int = 5",
    )
    color = TypeShape(members=("RED", "GREEN"))
    [removed] = verify_class("Color", module.Color, color)
    assert (removed.code, removed.function) == ("member_removed", "Color.GREEN")


def test_a_method_that_is_not_there_any_more_or_not_callable_is_removed() -> None:
    class Counter:
        inc = 3

    shape = TypeShape(methods={"inc": parse_signature("(self) -> int")})
    [violation] = verify_class("Counter", Counter, shape)
    assert violation.code == "method_removed"


def test_module_prefixes_and_typing_spellings_do_not_count() -> None:
    """The source writes `np.ndarray` or `Optional[Item]`; a live class holds the objects."""
    import collections

    class Holder:
        def get(self, key: collections.OrderedDict[str, int] | None = None) -> list[int]:
            return []

    shape = TypeShape(
        methods={
            "get": parse_signature(
                "(self, key: Optional[odict.OrderedDict[str, int]] = None) -> List[int]"
            )
        }
    )
    assert verify_class("Holder", Holder, shape) == []


@pytest.mark.parametrize(
    ("annotation", "text"),
    [
        (int, "int"),
        (None, "None"),
        ("Item", "Item"),
        (list[int], "list[int]"),
        (int | None, "int | None"),
    ],
)
def test_annotation_text_renders_live_annotations_as_source_does(
    annotation: object, text: str
) -> None:
    assert annotation_text(annotation) == text


def test_loose_annotation_cuts_modules_after_normalising() -> None:
    assert loose_annotation("typing.Optional[numpy.ndarray]") == "ndarray | None"
    assert loose_annotation("np.ndarray | None") == "ndarray | None"
    assert loose_annotation(None) is None


AS_WRITTEN = dedent(
    """
    import dataclasses
    from typing import Annotated, Generic, TypeVar

    Money = float
    T = TypeVar("T")
    DEFAULT_RATE = 0.2


    @dataclasses.dataclass
    class Price:
        amount: Money
        count: Annotated[int, "at least one"] = 1
        rate: float = DEFAULT_RATE

        def taxed(self, rate: float = DEFAULT_RATE) -> Money:
            return self.amount * (1 + rate)


    @dataclasses.dataclass
    class Box(Generic[T]):
        item: T
    """
)


def test_start_up_compares_the_frozen_source_as_the_module_evaluates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: `check` passes exactly when `up` starts: aliases, Annotated, TypeVars and
    defaults that name a constant compare as the module's code evaluates them."""
    module = run_module(tmp_path, monkeypatch, AS_WRITTEN)
    shapes = frozen_shapes(AS_WRITTEN)
    for name in ("Price", "Box"):
        assert verify_class(name, getattr(module, name), shapes[name], vars(module)) == [], name
    # A real change is still one.
    changed = AS_WRITTEN.replace("amount: Money", "amount: int")
    module = run_module(tmp_path, monkeypatch, changed)
    [violation] = verify_class("Price", module.Price, shapes["Price"], vars(module))
    assert violation.member == "amount"
