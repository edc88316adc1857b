"""Frozen types, rule by rule and both ways: through `hotreload check` and a running server.

Every case starts from a manifest that `init` wrote for BASE (as a user starts), then saves one
edit. A rejected edit leaves the old version serving; an accepted one may carry a warning.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import Project
from support import Running, dedent

from hotreload.cli import main
from hotreload.contract.typerules import binding_of
from hotreload.init import init_manifest

BASE = dedent(
    '''
    import dataclasses
    import enum
    from typing import NamedTuple, Optional, TypedDict

    from pydantic import BaseModel


    class Counter:
        """A class the host gets from an export and calls methods on."""

        def __init__(self) -> None:
            self.n = 0

        def inc(self) -> int:
            self.n += 1
            return self.n

        def reset(self) -> None:
            self.n = 0

        @property
        def doubled(self) -> int:
            return self.n * 2


    class Tag(BaseModel):
        label: str


    class Item(BaseModel):
        name: str
        tags: list[Tag] = []


    @dataclasses.dataclass
    class Point:
        x: int
        y: int = 0
        note: Optional[str] = None


    class Color(enum.Enum):
        RED = 1
        GREEN = 2


    class Pair(NamedTuple):
        a: int
        b: str = ""


    class Move(TypedDict):
        dx: int


    def make_counter() -> Counter:
        return Counter()


    def create(item: Item) -> Item:
        return item


    def origin() -> Point:
        return Point(0)


    def paint(color: Color) -> str:
        return color.name


    def pair() -> Pair:
        return Pair(1)


    def step(move: Move) -> int:
        return move["dx"]


    @dataclasses.dataclass
    class Base:
        id: int


    @dataclasses.dataclass
    class Tagged(Base):
        tag: str = ""


    @dataclasses.dataclass
    class Record:
        key: str


    @dataclasses.dataclass
    class Stamped(Record):
        pass


    class Shape:
        def area(self) -> float:
            return 0.0


    class Square(Shape):
        def side(self) -> float:
            return 1.0

        def describe(self) -> str:
            return "square"


    def tagged() -> Tagged:
        return Tagged(1, "x")


    def stamped() -> Stamped:
        return Stamped("k")


    def square() -> Square:
        return Square()


    def with_tax(amount: float) -> float:
        return amount * 1.2
    '''
)


def edit(old: str, new: str) -> str:
    """BASE with one edit; the old text must be there, so a typo here cannot pass silently."""
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


@dataclass(frozen=True)
class Rejected:
    code: str
    function: str  # the qualified name the violation carries
    type: str | None  # None for an export
    member: str | None


@dataclass(frozen=True)
class Accepted:
    changed: list[str]  # the frozen types listed in `changed`
    warned: list[tuple[str, str]] = field(default_factory=list)  # (type, field) warned about


COUNTER_INC = "    def inc(self) -> int:\n        self.n += 1\n"
CASES = [
    # -- classes: methods and properties --------------------------------------------------------
    pytest.param(
        edit(COUNTER_INC, "    def inc(self, k: int) -> int:\n        self.n += k\n"),
        Rejected("method_changed", "Counter.inc", "Counter", "inc"),
        id="method-gains-a-parameter",  # the case: the host's c.inc() would crash
    ),
    pytest.param(
        edit("    def inc(self) -> int:\n", "    def inc(self) -> float:\n"),
        Rejected("method_changed", "Counter.inc", "Counter", "inc"),
        id="method-return-type-changed",
    ),
    pytest.param(
        edit("    def inc(self) -> int:\n", "    async def inc(self) -> int:\n"),
        Rejected("method_changed", "Counter.inc", "Counter", "inc"),
        id="method-becomes-async",
    ),
    pytest.param(
        edit("    def reset(self) -> None:\n        self.n = 0\n", ""),
        Rejected("method_removed", "Counter.reset", "Counter", "reset"),
        id="method-removed",
    ),
    pytest.param(
        edit("    def reset(self) -> None:\n", "    def clear(self) -> None:\n"),
        Rejected("method_removed", "Counter.reset", "Counter", "reset"),
        id="method-renamed",
    ),
    pytest.param(
        edit("    def __init__(self) -> None:\n", "    def __init__(self, start: int) -> None:\n"),
        Rejected("method_changed", "Counter.__init__", "Counter", "__init__"),
        id="constructor-gains-a-required-parameter",
    ),
    pytest.param(
        edit("    @property\n    def doubled", "    def doubled"),
        Rejected("property_changed", "Counter.doubled", "Counter", "doubled"),
        id="property-becomes-a-method",
    ),
    pytest.param(
        edit("    def doubled(self) -> int:\n", "    def doubled(self) -> float:\n"),
        Rejected("property_changed", "Counter.doubled", "Counter", "doubled"),
        id="property-type-changed",
    ),
    pytest.param(
        edit("    @property\n    def doubled(self) -> int:\n        return self.n * 2\n", ""),
        Rejected("property_removed", "Counter.doubled", "Counter", "doubled"),
        id="property-removed",
    ),
    pytest.param(
        edit(
            "        self.n += 1\n        return self.n\n",
            "        self.n += 2\n        return self.n\n",
        ),
        Accepted(["Counter"]),
        id="method-body-changed",
    ),
    pytest.param(
        edit(
            "    def reset(self) -> None:\n",
            "    def dec(self) -> int:\n        self.n -= 1\n        return self.n\n\n"
            "    def reset(self) -> None:\n",
        ),
        Accepted(["Counter"]),
        id="method-added",
    ),
    pytest.param(
        edit("    def inc(self) -> int:\n", "    def inc(this) -> 'int':\n        self = this\n"),
        Rejected("method_changed", "Counter.inc", "Counter", "inc"),
        id="self-renamed-counts-as-written",
    ),
    pytest.param(
        edit('class Counter:\n    """A class', 'class Counter:  # still a class\n    """A class'),
        Accepted([]),
        id="comment-changes-nothing",
    ),
    # -- a type as a whole ----------------------------------------------------------------------
    pytest.param(
        edit(
            "def make_counter() -> Counter:\n",
            "Counter = dict\n\n\ndef make_counter() -> Counter:\n",
        ),
        Rejected("type_replaced", "Counter", "Counter", None),
        id="type-rebound-to-something-else",
    ),
    pytest.param(
        edit("class Counter:\n", "if True:\n class Counter:\n"),
        Rejected("type_replaced", "Counter", "Counter", None),
        id="type-defined-under-a-condition",
    ),
    # -- pydantic models ------------------------------------------------------------------------
    pytest.param(
        edit("    name: str\n    tags", "    name: str\n    price: float = 0.0\n    tags"),
        Accepted(["Item"], [("Item", "price")]),
        id="model-gains-a-field-with-a-default",  # the case: accepted, with its warning
    ),
    pytest.param(
        edit("    name: str\n    tags", "    name: str\n    price: float\n    tags"),
        Rejected("required_field_added", "Item.price", "Item", "price"),
        id="model-gains-a-required-field",
    ),
    pytest.param(
        edit("    name: str\n    tags", "    name: str\n    price: float = Field()\n    tags"),
        Rejected("required_field_added", "Item.price", "Item", "price"),
        id="model-gains-a-field-whose-Field-has-no-default",
    ),
    pytest.param(
        edit(
            "    name: str\n    tags: list[Tag] = []\n", "    tags: list[Tag] = []\n    name: str\n"
        ),
        Accepted(["Item"]),
        id="model-fields-reordered-keyword-only",
    ),
    pytest.param(
        edit("    name: str\n    tags", "    title: str\n    tags"),
        Rejected("field_removed", "Item.name", "Item", "name"),
        id="model-field-renamed",
    ),
    pytest.param(
        edit("    tags: list[Tag] = []\n", "    tags: tuple[Tag, ...] = ()\n"),
        Rejected("field_changed", "Item.tags", "Item", "tags"),
        id="model-field-type-changed",
    ),
    pytest.param(
        edit(
            "class Tag(BaseModel):\n    label: str\n", "class Tag(BaseModel):\n    label: bytes\n"
        ),
        Rejected("field_changed", "Tag.label", "Tag", "label"),
        id="reached-type-field-changed",  # Tag is frozen because Item's field names it
    ),
    # -- dataclasses ----------------------------------------------------------------------------
    pytest.param(
        edit("    note: Optional[str] = None\n", "    note: str | None = None\n"),
        Accepted(["Point"]),
        id="dataclass-field-respelled",
    ),
    pytest.param(
        edit("    y: int = 0\n", "    y: int = 1\n"),
        Rejected("field_changed", "Point.y", "Point", "y"),
        id="dataclass-default-changed",
    ),
    pytest.param(
        edit("    y: int = 0\n", ""),
        Rejected("field_removed", "Point.y", "Point", "y"),
        id="dataclass-field-removed",
    ),
    pytest.param(
        edit(
            "    note: Optional[str] = None\n", "    note: Optional[str] = None\n    z: int = 0\n"
        ),
        Accepted(["Point"], [("Point", "z")]),
        id="dataclass-field-added-last-with-a-default",
    ),
    pytest.param(
        edit("    x: int\n    y: int = 0\n", "    x: int\n    z: int = 0\n    y: int = 0\n"),
        Rejected("field_moved", "Point.y", "Point", "y"),
        id="dataclass-field-inserted-before-a-frozen-one",
    ),
    pytest.param(
        edit(
            "    note: Optional[str] = None\n",
            "    note: Optional[str] = None\n    area: int = dataclasses.field(init=False)\n",
        ),
        Accepted(["Point"], [("Point", "area")]),
        id="dataclass-gains-an-init-false-field",  # no caller passes it
    ),
    pytest.param(
        edit(
            "    x: int\n    y: int = 0\n",
            "    x: int\n    z: int = dataclasses.field(init=False)\n    y: int = 0\n",
        ),
        Accepted(["Point"], [("Point", "z")]),
        id="dataclass-init-false-field-before-frozen-ones",  # not an argument: nothing shifts
    ),
    # -- base classes: every frozen subclass's constructor --------------------------------------
    pytest.param(
        edit("class Base:\n    id: int\n", 'class Base:\n    id: int\n    name: str = ""\n'),
        Rejected("field_moved", "Tagged.tag", "Tagged", "tag"),
        id="base-gains-a-field-that-shifts-a-subclass",  # Tagged(1, "x") would set name
    ),
    pytest.param(
        edit(
            "class Base:\n    id: int\n",
            'class Base:\n    id: int\n    name: str = dataclasses.field(default="", '
            "kw_only=True)\n",
        ),
        Accepted(["Base"], [("Base", "name")]),
        id="base-gains-a-keyword-only-field",
    ),
    pytest.param(
        edit("class Record:\n    key: str\n", "class Record:\n    key: str\n    at: int = 0\n"),
        Accepted(["Record"], [("Record", "at")]),
        id="base-gains-a-last-field-its-subclass-adds-none-after",
    ),
    pytest.param(
        edit(
            "class Record:\n    key: str\n", "class Record:\n    at: int = 0\n    key: str = ''\n"
        ),
        Rejected("field_moved", "Stamped.key", "Stamped", "key"),
        id="base-field-inserted-first-moves-the-subclass-too",
    ),
    # -- inherited methods ----------------------------------------------------------------------
    pytest.param(
        edit(
            "    def area(self) -> float:\n        return 0.0\n",
            "    def area(self) -> float:\n        return 0.0\n\n"
            "    def describe(self) -> str:\n        return 'shape'\n",
        ).replace(
            '        return 1.0\n\n    def describe(self) -> str:\n        return "square"\n',
            "        return 1.0\n",
        ),
        Accepted(["Shape", "Square"]),
        id="method-moved-into-a-base-class",  # still Square().describe()
    ),
    pytest.param(
        edit(
            '        return 1.0\n\n    def describe(self) -> str:\n        return "square"\n',
            "        return 1.0\n",
        ),
        Rejected("method_removed", "Square.describe", "Square", "describe"),
        id="method-removed-from-class-and-bases",
    ),
    pytest.param(
        edit(
            "    def area(self) -> float:\n        return 0.0\n",
            "    def area(self) -> float:\n        return 0.0\n\n"
            "    def describe(self) -> int:\n        return 0\n",
        ).replace(
            '        return 1.0\n\n    def describe(self) -> str:\n        return "square"\n',
            "        return 1.0\n",
        ),
        Rejected("method_changed", "Square.describe", "Square", "describe"),
        id="method-moved-into-a-base-with-another-signature",
    ),
    # -- a new parameter every frozen caller survives -------------------------------------------
    pytest.param(
        edit(
            "def with_tax(amount: float) -> float:\n",
            "def with_tax(amount: float, rate: float = 0.2) -> float:\n",
        ),
        Accepted([], [("with_tax", "rate")]),
        id="export-gains-a-trailing-parameter-with-a-default",
    ),
    pytest.param(
        edit(
            "def with_tax(amount: float) -> float:\n",
            "def with_tax(amount: float, *, rate: float = 0.2) -> float:\n",
        ),
        Accepted([], [("with_tax", "rate")]),
        id="export-gains-a-keyword-only-parameter-with-a-default",
    ),
    pytest.param(
        edit(
            "def with_tax(amount: float) -> float:\n",
            "def with_tax(rate: float = 0.2, amount: float = 0.0) -> float:\n",
        ),
        Rejected("parameters_changed", "with_tax", None, None),
        id="export-gains-a-parameter-before-a-frozen-one",
    ),
    pytest.param(
        edit("    def reset(self) -> None:\n", "    def reset(self, to: int = 0) -> None:\n"),
        Accepted(["Counter"], [("Counter.reset", "to")]),
        id="method-gains-a-trailing-parameter-with-a-default",
    ),
    # -- NamedTuple and TypedDict ---------------------------------------------------------------
    pytest.param(
        edit('    a: int\n    b: str = ""\n', '    b: str = ""\n    a: int = 0\n'),
        Rejected("field_moved", "Pair.a", "Pair", "a"),
        id="namedtuple-fields-swapped",
    ),
    pytest.param(
        edit(
            "class Move(TypedDict):\n    dx: int\n",
            "class Move(TypedDict):\n    dx: int\n    dy: int\n",
        ),
        Rejected("required_field_added", "Move.dy", "Move", "dy"),
        id="typeddict-gains-a-required-key",
    ),
    pytest.param(
        edit(
            "class Move(TypedDict):\n    dx: int\n",
            "class Move(TypedDict):\n    dx: int\n    dy: 'NotRequired[int]'\n",
        ),
        Accepted(["Move"], [("Move", "dy")]),
        id="typeddict-gains-an-optional-key",
    ),
    # -- Enums ----------------------------------------------------------------------------------
    pytest.param(
        edit("    RED = 1\n    GREEN = 2\n", "    RED = 1\n"),
        Rejected("member_removed", "Color.GREEN", "Color", "GREEN"),
        id="enum-member-removed",
    ),
    pytest.param(
        edit("    RED = 1\n    GREEN = 2\n", "    RED = 1\n    GREEN = 2\n    BLUE = 3\n"),
        Accepted(["Color"]),
        id="enum-member-added",
    ),
]


def expected_outcome(outcome: Rejected | Accepted) -> str:
    return "reload.rejected" if isinstance(outcome, Rejected) else "reload.accepted"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def frozen(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """BASE and the manifest `hotreload init` writes for it, in the current directory."""
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("HOTRELOAD_ENV", raising=False)
    project.write("shapes", BASE)
    init_manifest(project.manifest_path, ["shapes"])
    return project


def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    capsys.readouterr()
    code = main(["check", "--log-format", "json"])
    return code, json_lines(capsys.readouterr().err)


def test_init_freezes_every_type_the_exports_reach(frozen: Project) -> None:
    text = frozen.manifest_path.read_text()
    for table in (
        "[modules.shapes.types.Counter.methods]",
        "[modules.shapes.types.Counter.properties]",
        "[modules.shapes.types.Tag.fields]",
        "[modules.shapes.types.Item.fields]",
        "[modules.shapes.types.Point.fields]",
        "[modules.shapes.types.Color]",
        "[modules.shapes.types.Pair.fields]",
        "[modules.shapes.types.Move.fields]",
    ):
        assert table in text
    assert 'inc = "(self) -> int"' in text
    assert 'tags = "list[Tag] = []"' in text


@pytest.mark.parametrize(("source", "outcome"), CASES)
def test_check(
    frozen: Project,
    capsys: pytest.CaptureFixture[str],
    source: str,
    outcome: Rejected | Accepted,
) -> None:
    assert check(capsys) == (0, [])
    frozen.write("shapes", source)
    code, events = check(capsys)
    if isinstance(outcome, Accepted):
        assert (code, events) == (0, [])
        return
    assert code == 1
    found = [(e["code"], e["function"], e["type"], e["member"]) for e in events]
    assert (outcome.code, outcome.function, outcome.type, outcome.member) in found
    assert all(e["event"] == "contract.violation" and e["line"] for e in events)
    assert all(e["message"].startswith(e["function"] + ": ") for e in events)


@pytest.mark.parametrize(("source", "outcome"), CASES)
def test_running_server(
    frozen: Project,
    start: Any,
    source: str,
    outcome: Rejected | Accepted,
) -> None:
    server, events = start()
    running = Running(frozen, server, events)
    counter = running.binding("shapes").make_counter()
    event = running.save(source, module="shapes", expect=expected_outcome(outcome))
    if isinstance(outcome, Rejected):
        found = [(v["code"], v["function"], v["type"], v["member"]) for v in event["violations"]]
        assert (outcome.code, outcome.function, outcome.type, outcome.member) in found
        assert event["reason"] == event["violations"][0]["code"]
        # The old version keeps serving: the host's objects and calls work as before.
        assert server.version("shapes") == 1
        assert counter.inc() == 1
        assert running.binding("shapes").make_counter().inc() == 1
        return
    assert server.version("shapes") == 2
    assert [n for n in event["changed"] if n[0].isupper()] == outcome.changed
    assert [(w["type"], w["member"]) for w in event["warnings"]] == outcome.warned
    assert event["level"] == ("warning" if outcome.warned else "info")
    assert counter.inc() >= 1  # an object built before the reload still works


# -- the two cases, in full --------------------------------------------------------------


def test_counter_case_is_rejected_and_the_host_keeps_calling_inc(
    frozen: Project, start: Any
) -> None:
    server, events = start()
    running = Running(frozen, server, events)
    counter = running.binding("shapes").make_counter()
    new = edit(COUNTER_INC, "    def inc(self, k: int) -> int:\n        self.n += k\n")
    event = running.save(new, module="shapes", expect="reload.rejected")
    assert event["reason"] == "method_changed"
    assert event["violations"] == [
        {
            "code": "method_changed",
            "function": "Counter.inc",
            "expected": "(self) -> int",
            "actual": "(self, k: int) -> int",
            "line": 14,
            "message": "Counter.inc: parameters changed: expected (self), found (self, k: int)",
            "type": "Counter",
            "member": "inc",
        }
    ]
    assert "Counter.inc: parameters changed" in event["message"]
    assert counter.inc() == 1 and counter.inc() == 2  # the host's c.inc() still works
    assert running.binding("shapes").make_counter().inc() == 1


def test_item_case_is_accepted_with_a_warning_that_says_what_a_restart_is_for(
    frozen: Project, start: Any
) -> None:
    server, events = start()
    running = Running(frozen, server, events)
    new = edit("    name: str\n    tags", "    name: str\n    price: float = 0.0\n    tags")
    event = running.save(new, module="shapes", expect="reload.accepted")
    assert event["level"] == "warning"
    assert event["changed"] == ["Item"]
    [warning] = event["warnings"]
    assert warning["code"] == "field_added"
    assert (warning["type"], warning["member"]) == ("Item", "price")
    message = warning["message"]
    assert message.startswith("Item.price: field added (price: float = 0.0); ")
    assert "objects built before this reload lack it" in message
    assert "FastAPI" in message and "restarts" in message
    # The new version runs: a model built now has the field.
    item = sys.modules["shapes"].Item(name="pen")
    assert running.binding("shapes").create(item).price == 0.0
    # Saved again unchanged in shape: the warning is not repeated (it was said once).
    again = running.save(new.replace("return item", "return item  # same"), module="shapes")
    assert again["warnings"] == [] and again["level"] == "info"


# -- a type the module no longer defines ---------------------------------------------------------


def test_a_type_entry_naming_nothing_is_exit_2_with_key_path_and_fix(
    frozen: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = frozen.manifest_path.read_text()
    frozen.manifest_path.write_text(text.replace("types.Counter.", "types.Conter."))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "hotreload: error: modules.shapes.types.Conter: names nothing shapes.py defines: "
        "defines no Conter (its classes: Counter, Tag, Item, Point, Color, Pair, Move, Base, "
        "Tagged, Record, Stamped, Shape, Square); did you mean 'Counter'?; fix the name, or "
        "remove the entry (`hotreload freeze` records the types the exports use)\n"
    )


def test_a_deleted_class_stops_the_server_from_starting_with_exit_2(
    frozen: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    frozen.write("shapes", BASE.replace("class Move(TypedDict):\n    dx: int\n", ""))
    assert main(["up", "--log-format", "json"]) == 2
    events = json_lines(capsys.readouterr().err)
    assert [(e["event"], e["reason"]) for e in events] == [("server.failed", "manifest_error")]
    assert "modules.shapes.types.Move: names nothing shapes.py defines" in events[0]["message"]


def test_a_class_deleted_while_the_server_runs_is_rejected_as_removed(
    frozen: Project, start: Any
) -> None:
    server, events = start()
    running = Running(frozen, server, events)
    source = BASE.replace("class Color(enum.Enum):\n    RED = 1\n    GREEN = 2\n", "")
    source = source.replace("color: Color", "color: 'Color'")  # the export keeps its spelling
    event = running.save(source, module="shapes", expect="reload.rejected")
    assert [(v["code"], v["type"]) for v in event["violations"]] == [("type_removed", "Color")]
    assert "the module defines no Color" in event["message"]
    assert running.binding("shapes").paint(sys.modules["shapes"].Color.RED) == "RED"


OLD_MANIFEST = (
    '[project]\nname = "old"\n[modules.shapes.exports]\nmake_counter = "() -> Counter"\n'
    "[env.development]\nreload = true\n"
)


def test_check_passes_on_a_manifest_without_types(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Projects written before types existed keep passing `check`, whatever the classes do."""
    monkeypatch.chdir(project.root)
    project.write("shapes", BASE)
    project.manifest(OLD_MANIFEST)
    assert check(capsys) == (0, [])
    project.write("shapes", edit(COUNTER_INC, "    def inc(self, k: int) -> int:\n"))
    assert check(capsys) == (0, [])


def test_reloads_are_decided_as_before_without_types(project: Project, start: Any) -> None:
    project.write("shapes", BASE)
    project.manifest(OLD_MANIFEST)
    server, events = start()
    running = Running(project, server, events)
    new = edit(COUNTER_INC, "    def inc(self, k: int) -> int:\n        self.n += k\n")
    event = running.save(new, module="shapes")
    assert event["changed"] == [] and event["warnings"] == []


# -- what binds a name that is not a class -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Counter = dict\n", ("an assignment", 1)),
        ("from models import Counter\n", ("an import", 1)),
        ("def Counter() -> None: ...\n", ("a function defined", 1)),
        ("class Counter: ...\ndel Counter\n", ("a `del Counter`", 2)),
        ("class Counter: ...\nCounter = total_ordering(Counter)\n", None),
        (
            "try:\n    import x\nexcept ImportError:\n    Counter = None\n",
            ("an assignment under a condition", 4),
        ),
        ("if X:\n    class Counter: ...\n", ("a class defined under a condition", 2)),
        ("x = 1\n", None),
        # One rule with the exports' check (issue 21): a loop target, `with ... as`, a walrus.
        ("class Counter: ...\nfor Counter in range(3):\n    pass\n", ("a `for` loop", 2)),
        ("with open('f') as Counter:\n    pass\n", ("a `with` statement", 1)),
        ("print(Counter := 3)\n", ("an assignment", 1)),
        (
            "try:\n    pass\nexcept OSError as Counter:\n    pass\n",
            ("an `except ... as` under a condition", 3),
        ),
    ],
)
def test_binding_of_says_what_binds_a_name(source: str, expected: tuple[str, int] | None) -> None:
    assert binding_of(ast.parse(source), "Counter") == expected


def test_a_class_decorator_that_replaces_a_frozen_type_is_caught_once_it_ran(
    frozen: Project, start: Any
) -> None:
    """The source shows a class; only running shows that its decorator returns something else."""
    server, events = start()
    running = Running(frozen, server, events)
    counter_class = running.module("shapes").Counter
    new = BASE.replace(
        "class Counter:",
        "def _registered(cls):\n    REGISTRY.append(cls)\n\n\nREGISTRY = []\n\n\n"
        "@_registered\nclass Counter:",
    )
    event = running.save(new, module="shapes", expect="reload.rejected")
    assert event["reason"] == "type_replaced"
    assert event["violations"][0]["type"] == "Counter"
    assert "return the class itself" in event["message"]
    assert running.module("shapes").Counter is counter_class
    assert not hasattr(running.module("shapes"), "REGISTRY")  # nothing of the run is kept
    assert running.binding("shapes").make_counter().inc() == 1
