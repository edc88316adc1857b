"""Tests for hotreload.freeze: rewriting exports and types in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotreload.errors import ManifestError
from hotreload.freeze import FreezeChange, freeze
from hotreload.manifest import load_manifest

MANIFEST = """\
#:schema ./schemas/hotreload.schema.json
# The demo's contract.
[project]
name = "calculator-demo"
root = "."                    # where module names resolve

[modules.calculator]          # dotted import name
keep = ["history"]
[modules.calculator.exports]
# what the host calls
add = "(a: int, b: int) -> int"   # the classic
multiply = "(a: int, b: int) -> int"
describe_operation = "(operation: str) -> str"

[env.development]
reload = true
debounce_ms = 50

[app]                         # run in-process
entry = "app:main"
"""

CALCULATOR = """\
history = []

def add(a: int, b: int, c: int = 0) -> int:
    return a + b + c

def describe_operation(operation: str) -> str:
    return operation

def subtract(a: int, b: int) -> int:
    return a - b

def _helper() -> None:
    pass

async def fetch(url: str) -> bytes:
    return b""
"""


def write_project(tmp_path: Path, manifest: str = MANIFEST, **sources: str) -> Path:
    """A project directory with a manifest and one file per module (default: calculator)."""
    for name, text in (sources or {"calculator": CALCULATOR}).items():
        (tmp_path / f"{name}.py").write_text(text)
    path = tmp_path / "hotreload.toml"
    path.write_text(manifest)
    return path


def test_freeze_rewrites_only_exports_and_keeps_comments_blank_lines_and_order(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path)
    freeze(path)
    expected = MANIFEST.replace(
        'add = "(a: int, b: int) -> int"   # the classic\n'
        'multiply = "(a: int, b: int) -> int"\n'
        'describe_operation = "(operation: str) -> str"\n',
        'add = "(a: int, b: int, c: int = 0) -> int"   # the classic\n'
        'describe_operation = "(operation: str) -> str"\n'
        'subtract = "(a: int, b: int) -> int"\n'
        'fetch = "async (url: str) -> bytes"\n',
    )
    assert path.read_text() == expected


def test_freeze_reports_added_removed_and_changed_exports(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    assert freeze(path) == [
        FreezeChange(
            "calculator",
            "add",
            "changed",
            "(a: int, b: int) -> int",
            "(a: int, b: int, c: int = 0) -> int",
        ),
        FreezeChange("calculator", "multiply", "removed", "(a: int, b: int) -> int", None),
        FreezeChange("calculator", "subtract", "added", None, "(a: int, b: int) -> int"),
        FreezeChange("calculator", "fetch", "added", None, "async (url: str) -> bytes"),
    ]


def test_second_freeze_reports_nothing_and_does_not_rewrite_the_file(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    freeze(path)
    before, inode = path.read_bytes(), path.stat().st_ino
    assert freeze(path) == []
    assert path.read_bytes() == before
    assert path.stat().st_ino == inode  # an atomic write would have made a new file


def test_freeze_keeps_a_signature_spelled_with_different_spacing(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('"(operation: str) -> str"', '"(operation:str)->str"')
    path = write_project(tmp_path, manifest)
    changes = freeze(path)
    assert "describe_operation" not in {change.function for change in changes}
    assert 'describe_operation = "(operation:str)->str"' in path.read_text()


def test_freeze_of_named_modules_leaves_the_others_alone(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "two"\n\n'
        '[modules.first.exports]\nold = "() -> None"\n\n'
        '[modules.second.exports]\nold = "() -> None"\n'
    )
    new = "def new() -> int:\n    return 1\n"
    path = write_project(tmp_path, manifest, first=new, second=new)
    changes = freeze(path, ["second"])
    assert {(c.module, c.function, c.action) for c in changes} == {
        ("second", "old", "removed"),
        ("second", "new", "added"),
    }
    assert load_manifest(path).manifest.modules["first"].exports == {"old": "() -> None"}
    assert load_manifest(path).manifest.modules["second"].exports == {"new": "() -> int"}


def test_unknown_module_is_an_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    with pytest.raises(ManifestError, match=r"'calcluator'.*known modules: calculator"):
        freeze(path, ["calcluator"])
    assert path.read_text() == MANIFEST


def test_freeze_reads_the_source_without_executing_it(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = f"open({str(marker)!r}, 'w').close()\n\ndef add(a: int, b: int) -> int:\n    pass\n"
    path = write_project(tmp_path, calculator=source)
    freeze(path)
    assert not marker.exists()


def test_syntax_error_names_file_line_and_column_and_leaves_the_manifest(tmp_path: Path) -> None:
    path = write_project(tmp_path, calculator="def add(a: int, b: int) -> int:\n    return (\n")
    with pytest.raises(ManifestError) as caught:
        freeze(path)
    assert f"{(tmp_path / 'calculator.py').resolve()}:2:12:" in str(caught.value)
    assert path.read_text() == MANIFEST


def test_module_without_exports_gets_a_table_below_its_keys(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "x"\n\n[modules.calculator]\nkeep = []\n\n[env.development]\n'
        "reload = true\n"
    )
    path = write_project(tmp_path, manifest, calculator="def add(a: int) -> int:\n    pass\n")
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\nkeep = []\n\n'
        '[modules.calculator.exports]\nadd = "(a: int) -> int"\n\n'
        "[env.development]\nreload = true\n"
    )
    assert freeze(path) == []


def test_inline_exports_table_stays_inline(tmp_path: Path) -> None:
    manifest = (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports = { gone = "() -> None", add = "(a) -> int" }  # inline\n'
    )
    path = write_project(tmp_path, manifest, calculator="def add(a: int) -> int:\n    pass\n")
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports = { add = "(a: int) -> int" }  # inline\n'
    )
    assert freeze(path) == []


def test_dotted_key_exports_are_edited_as_dotted_keys(tmp_path: Path) -> None:
    manifest = '[project]\nname = "x"\n\n[modules.calculator]\nexports.add = "(a) -> int"\n'
    source = "def add(a: int) -> int:\n    pass\n\ndef sub(a: int) -> int:\n    pass\n"
    path = write_project(tmp_path, manifest, calculator=source)
    freeze(path)
    assert path.read_text() == (
        '[project]\nname = "x"\n\n[modules.calculator]\n'
        'exports.add = "(a: int) -> int"\nexports.sub = "(a: int) -> int"\n'
    )


def test_freeze_keeps_crlf_line_endings(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    path.write_bytes(MANIFEST.replace("\n", "\r\n").encode())
    freeze(path)
    data = path.read_bytes()
    assert b"subtract" in data
    assert data.count(b"\n") == data.count(b"\r\n")


# -- types ----------------------------------------------------------------------------------------

SHAPES = """\
import dataclasses
import enum


class Counter:
    def inc(self) -> int:
        return 1

    def reset(self) -> None:
        pass


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Color(enum.Enum):
    RED = 1
    GREEN = 2


def make() -> Counter:
    return Counter()


def paint(color: Color, at: Point) -> None:
    pass
"""

WITHOUT_TYPES = """\
[project]
name = "shapes"

[modules.shapes]              # the shapes
keep = []
[modules.shapes.exports]
make = "() -> Counter"        # the host's
paint = "(color: Color, at: Point) -> None"

[env.development]
reload = true
"""

TYPES_TABLES = """\

[modules.shapes.types.Counter.methods]
inc = "(self) -> int"
reset = "(self) -> None"

[modules.shapes.types.Point.fields]
x = "int"
y = "int = 0"

[modules.shapes.types.Color]
members = ["RED", "GREEN"]
"""


def test_freeze_adds_types_below_the_exports_and_keeps_the_rest(tmp_path: Path) -> None:
    """A manifest written before types existed: freeze adds them, nothing else moves."""
    path = write_project(tmp_path, WITHOUT_TYPES, shapes=SHAPES)
    changes = freeze(path)
    assert path.read_text() == WITHOUT_TYPES.replace(
        'at: Point) -> None"\n', 'at: Point) -> None"\n' + TYPES_TABLES
    )
    assert [(c.function, c.action, c.new) for c in changes] == [
        ("types.Counter.methods.inc", "added", "(self) -> int"),
        ("types.Counter.methods.reset", "added", "(self) -> None"),
        ("types.Point.fields.x", "added", "int"),
        ("types.Point.fields.y", "added", "int = 0"),
        ("types.Color.members", "added", '["RED", "GREEN"]'),
    ]
    before = path.read_bytes()
    assert freeze(path) == []
    assert path.read_bytes() == before


def test_freeze_edits_types_in_place_keeping_comments(tmp_path: Path) -> None:
    manifest = WITHOUT_TYPES.replace(
        'at: Point) -> None"\n',
        'at: Point) -> None"\n'
        + TYPES_TABLES.replace('inc = "(self) -> int"', 'inc = "(self) -> int"  # the counter')
        + '\n[modules.shapes.types.Gone]\nmembers = ["A"]\n',
    )
    source = (
        SHAPES.replace("def inc(self) -> int:", "def inc(self, k: int = 1) -> int:")
        .replace("    def reset(self) -> None:\n        pass\n", "")
        .replace("    y: int = 0\n", "    y: float = 0.0\n    z: int = 0\n")
        .replace("    GREEN = 2\n", "    BLUE = 3\n")
    )
    path = write_project(tmp_path, manifest, shapes=source)
    changes = freeze(path)
    assert [(c.function, c.action, c.old, c.new) for c in changes] == [
        ("types.Gone", "removed", "class with members A", None),
        ("types.Counter.methods.inc", "changed", "(self) -> int", "(self, k: int = 1) -> int"),
        ("types.Counter.methods.reset", "removed", "(self) -> None", None),
        ("types.Point.fields.y", "changed", "int = 0", "float = 0.0"),
        ("types.Point.fields.z", "added", None, "int = 0"),
        ("types.Color.members", "changed", '["RED", "GREEN"]', '["RED", "BLUE"]'),
    ]
    text = path.read_text()
    assert 'inc = "(self, k: int = 1) -> int"  # the counter\n' in text
    assert "reset" not in text and "Gone" not in text
    assert 'x = "int"\ny = "float = 0.0"\nz = "int = 0"\n' in text
    assert 'members = ["RED", "BLUE"]' in text
    assert freeze(path) == []


def test_inline_type_tables_stay_inline_and_spellings_that_parse_the_same_stay(
    tmp_path: Path,
) -> None:
    """The shape DESIGN.md sketches: inline tables; spacing the user chose is theirs."""
    manifest = WITHOUT_TYPES.replace(
        'at: Point) -> None"\n',
        'at: Point) -> None"\n\n'
        "[modules.shapes.types.Counter]\n"
        'methods = { inc = "(self)->int", gone = "(self) -> None" }\n'
        "[modules.shapes.types.Point]\n"
        'fields = { x = "int", y = "int=0" }\n'
        "[modules.shapes.types.Color]\n"
        'members = ["RED", "GREEN"]\n',
    )
    path = write_project(tmp_path, manifest, shapes=SHAPES)
    changes = freeze(path)
    assert [(c.function, c.action) for c in changes] == [
        ("types.Counter.methods.gone", "removed"),
        ("types.Counter.methods.reset", "added"),
    ]
    text = path.read_text()
    assert 'methods = { inc = "(self)->int", reset = "(self) -> None" }\n' in text
    assert 'fields = { x = "int", y = "int=0" }\n' in text
    assert freeze(path) == []


def test_freeze_follows_the_source_order_of_fields(tmp_path: Path) -> None:
    path = write_project(tmp_path, WITHOUT_TYPES, shapes=SHAPES)
    freeze(path)
    path.parent.joinpath("shapes.py").write_text(
        SHAPES.replace("    x: int\n    y: int = 0\n", "    y: int = 0\n    x: int = 1\n")
    )
    changes = freeze(path)
    assert [(c.function, c.action, c.old, c.new) for c in changes] == [
        ("types.Point.fields.x", "changed", "int", "int = 1"),
        ("types.Point.fields", "changed", "x, y", "y, x"),
    ]
    assert 'y = "int = 0"\nx = "int = 1"\n' in path.read_text()
    assert freeze(path) == []


# -- types of another manifest module ------------------------------------------------------------

PACKAGE_MANIFEST = """\
[project]
name = "shop"

[modules."shop.api".exports]

[modules."shop.models".exports]
"""

MODELS = """\
import dataclasses

from shop.money import Money


@dataclasses.dataclass
class Price:
    amount: float
    currency: str = "EUR"


@dataclasses.dataclass
class Item:
    name: str
    price: Price


class Unused:
    def hidden(self) -> None: ...
"""

API = """\
from . import models as m
from .models import Item as Thing


def make(name: str) -> Thing:
    return Thing(name, m.Price(1.0))


def reprice(item: "m.Item", to: m.Price) -> Thing:
    return item
"""


def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "money.py").write_text("class Money:\n    pass\n")
    (tmp_path / "shop" / "models.py").write_text(MODELS)
    (tmp_path / "shop" / "api.py").write_text(API)
    path = tmp_path / "hotreload.toml"
    path.write_text(PACKAGE_MANIFEST)
    return path


def test_a_type_another_manifest_module_defines_is_frozen_under_that_module(
    tmp_path: Path,
) -> None:
    """`from .models import Item as Thing` and `m.Price` (through `from . import models as m`)
    in api's exports, and `Price` again through Item's field: all recorded under shop.models,
    which is where a save of models.py is checked. A class no export reaches is not."""
    path = shop(tmp_path)
    freeze(path)
    loaded = load_manifest(path)
    assert loaded.types("shop.api") == {}
    assert list(loaded.types("shop.models")) == ["Price", "Item"]
    assert [f.name for f in loaded.types("shop.models")["Item"].fields] == ["name", "price"]
    assert freeze(path) == []  # a second run has nothing to do


def test_freezing_one_module_writes_the_types_its_exports_take_from_another(
    tmp_path: Path,
) -> None:
    path = shop(tmp_path)
    (tmp_path / "shop" / "models.py").write_text(MODELS + "\n\ndef helper() -> None: ...\n")
    changes = freeze(path, ["shop.api"])
    assert {(c.module, c.function) for c in changes} >= {
        ("shop.models", "types.Item.fields.name"),
        ("shop.models", "types.Price.fields.amount"),
    }
    assert load_manifest(path).signatures("shop.models") == {}  # its exports: not asked for


def test_a_type_a_package_re_exports_is_frozen_where_it_is_defined(tmp_path: Path) -> None:
    path = shop(tmp_path)
    (tmp_path / "shop" / "__init__.py").write_text("from .models import Item\n")
    (tmp_path / "shop" / "api.py").write_text(
        "from shop import Item\n\n\ndef make(name: str) -> Item:\n    return Item(name, None)\n"
    )
    path.write_text(PACKAGE_MANIFEST + "\n[modules.shop.exports]\n")
    freeze(path)
    loaded = load_manifest(path)
    assert loaded.types("shop") == {}
    assert list(loaded.types("shop.models")) == ["Price", "Item"]
