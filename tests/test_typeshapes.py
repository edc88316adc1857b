"""Tests for hotreload.contract.typeshapes: class shapes read from source, the classes reached."""

from __future__ import annotations

import ast
import textwrap
from typing import Any

import pytest

from hotreload.contract.signatures import functions_in_tree
from hotreload.contract.typeshapes import (
    FieldShape,
    FoundType,
    TypeShape,
    annotation_names,
    parse_field,
    parse_shape,
    reached_types,
    read_types,
)
from hotreload.errors import SignatureSyntaxError


def read(source: str) -> dict[str, FoundType]:
    return read_types(ast.parse(textwrap.dedent(source)))


def shape(source: str, name: str) -> dict[str, object]:
    return read(source)[name].shape.as_manifest()


def reached(source: str) -> list[str]:
    tree = ast.parse(textwrap.dedent(source))
    exports = [f.signature for f in functions_in_tree(tree).values() if not f.name.startswith("_")]
    return list(reached_types(tree, exports))


# -- kinds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("class C:\n    pass\n", "class"),
        ("@dataclass\nclass C:\n    x: int\n", "dataclass"),
        ("@dataclasses.dataclass(frozen=True)\nclass C:\n    x: int\n", "dataclass"),
        ("@pydantic.dataclasses.dataclass\nclass C:\n    x: int\n", "dataclass"),
        ("class C(BaseModel):\n    x: int\n", "pydantic"),
        ("class C(pydantic.BaseModel):\n    x: int\n", "pydantic"),
        ("class B(BaseModel):\n    x: int\nclass C(B):\n    y: int\n", "pydantic"),
        ("class C(TypedDict, total=False):\n    x: int\n", "typeddict"),
        ("class C(typing.TypedDict):\n    x: int\n", "typeddict"),
        ("class C(NamedTuple):\n    x: int\n", "namedtuple"),
        ("class C(typing.NamedTuple):\n    x: int\n", "namedtuple"),
        ("class C(Enum):\n    A = 1\n", "enum"),
        ("class C(enum.IntEnum):\n    A = 1\n", "enum"),
        ("class C(StrEnum):\n    A = 'a'\n", "enum"),
        ("class C(enum.Flag):\n    A = 1\n", "enum"),
        ("class C(IntFlag):\n    A = 1\n", "enum"),
        ("class B(Enum):\n    def f(self) -> int: ...\nclass C(B):\n    A = 1\n", "enum"),
        ("class C(other.Enum):\n    A = 1\n", "class"),
    ],
)
def test_kind_is_read_from_decorators_and_bases(source: str, kind: str) -> None:
    assert read(source)["C"].kind == kind


# -- methods and properties ---------------------------------------------------------------------

COUNTER = """
class Counter:
    limit: int = 10

    def __init__(self, start: int = 0) -> None:
        self.n = start

    def inc(self, k: int = 1) -> int:
        return self.n

    async def fetch(self) -> bytes:
        return b""

    def _step(self) -> None: ...
    def __secret(self) -> None: ...
    def __len__(self) -> int:
        return self.n

    @staticmethod
    def make() -> "Counter":
        return Counter()

    @classmethod
    def from_text(cls, text: str) -> Counter:
        return cls(int(text))

    @property
    def total(self) -> int:
        return self.n

    @total.setter
    def total(self, value: int) -> None:
        self.n = value

    @functools.cached_property
    def label(self) -> str:
        return ""

    @overload
    def get(self, key: int) -> int: ...
    @overload
    def get(self, key: str) -> str: ...
    def get(self, key):
        return key

    if DEBUG:
        def debug(self) -> None: ...
"""


def test_a_class_freezes_public_and_special_methods_and_properties_as_written() -> None:
    assert shape(COUNTER, "Counter") == {
        "methods": {
            "__init__": "(self, start: int = 0) -> None",
            "inc": "(self, k: int = 1) -> int",
            "fetch": "async (self) -> bytes",
            "__len__": "(self) -> int",
            "make": "() -> 'Counter'",
            "from_text": "(cls, text: str) -> Counter",
            "get": "(self, key)",
        },
        "properties": {"total": "(self) -> int", "label": "(self) -> str"},
    }


def test_pydantic_validators_and_serializers_are_not_the_hosts_to_call() -> None:
    source = """
    class Item(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def strip(cls, value: str) -> str:
            return value.strip()

        @model_serializer
        def dump(self) -> dict: ...

        def total(self) -> float: ...
    """
    assert shape(source, "Item") == {
        "methods": {"total": "(self) -> float"},
        "fields": {"name": "str"},
    }


# -- fields -------------------------------------------------------------------------------------


def test_dataclass_fields_in_order_with_defaults_and_without_class_variables() -> None:
    source = """
    @dataclass(kw_only=False)
    class Point:
        x: int
        y: "int" = 0
        tags: list[str] = field(default_factory=list)
        note: str = field(default="")
        origin: ClassVar[Point]
        count: typing.ClassVar[int] = 0
        ratio: float = field(kw_only=True, default=1.0)
        _: KW_ONLY
        label: str | None = None
    """
    found = read(source)["Point"]
    assert found.shape.as_manifest() == {
        "fields": {
            "x": "int",
            "y": "'int' = 0",
            "tags": "list[str] = field(default_factory=list)",
            "note": "str = field(default='')",
            "ratio": "float = field(kw_only=True, default=1.0)",
            "label": "str | None = None",
        }
    }
    assert found.positional == ("x", "y", "tags", "note")
    assert [f.name for f in found.shape.fields if f.required] == ["x"]


def test_keyword_only_dataclass_has_no_positional_fields() -> None:
    found = read("@dataclass(kw_only=True)\nclass P:\n    x: int\n")["P"]
    assert found.positional == ()


def test_pydantic_fields_skip_private_attributes_and_config() -> None:
    source = """
    class Item(BaseModel):
        model_config = ConfigDict(frozen=True)
        name: str
        price: float = Field(0.0, ge=0)
        sku: str = Field(description="stock keeping unit")
        code: str = Field(..., min_length=3)
        tags: list[str] = Field(default_factory=list)
        _cache: dict = {}
    """
    found = read(source)["Item"]
    assert [str(f) for f in found.shape.fields] == [
        "str",
        "float = Field(0.0, ge=0)",
        "str = Field(description='stock keeping unit')",
        "str = Field(..., min_length=3)",
        "list[str] = Field(default_factory=list)",
    ]
    assert [f.name for f in found.shape.fields if f.required] == ["name", "sku", "code"]
    assert found.positional == ()  # pydantic models are built with keywords


def test_typeddict_keys_are_required_unless_not_required_or_total_false() -> None:
    source = """
    class Move(TypedDict):
        dx: int
        dy: NotRequired[int]

    class Partial(TypedDict, total=False):
        dx: int
        dy: Required[int]
    """
    found = read(source)
    assert [(f.name, f.required) for f in found["Move"].shape.fields] == [
        ("dx", True),
        ("dy", False),
    ]
    assert [(f.name, f.required) for f in found["Partial"].shape.fields] == [
        ("dx", False),
        ("dy", True),
    ]


def test_namedtuple_fields_are_positional() -> None:
    found = read("class Pair(NamedTuple):\n    a: int\n    b: str = ''\n")["Pair"]
    assert found.shape.as_manifest() == {"fields": {"a": "int", "b": "str = ''"}}
    assert found.positional == ("a", "b")


def test_a_plain_class_has_no_fields_even_with_annotations() -> None:
    assert shape("class C:\n    x: int = 0\n", "C") == {}


# -- Enum members -------------------------------------------------------------------------------


def test_enum_members_in_order_without_private_names_methods_or_nonmembers() -> None:
    source = """
    class Color(enum.Enum):
        RED = 1
        GREEN = auto()
        CRIMSON = RED
        BLUE: int = 3
        _ignore_ = ["tmp"]
        _private = 4
        helper = enum.nonmember(5)
        to_text = lambda self: str(self)

        def describe(self) -> str:
            return self.name
    """
    assert shape(source, "Color") == {
        "methods": {"describe": "(self) -> str"},
        "members": ["RED", "GREEN", "CRIMSON", "BLUE"],
    }


# -- which classes are reached -------------------------------------------------------------------


def test_reached_types_follow_signatures_generics_unions_and_quoted_names() -> None:
    source = """
    class A: ...
    class B: ...
    class C: ...
    class D: ...
    class Unused: ...

    def f(a: list[A] | None, *, b: "dict[str, B]") -> Optional["C"]: ...
    def g(**kwargs: D) -> None: ...
    def _private(u: Unused) -> None: ...
    """
    assert reached(source) == ["A", "B", "C", "D"]


def test_reached_types_are_transitive_through_fields_methods_properties_and_bases() -> None:
    source = """
    class Base(BaseModel):
        tag: Tag

    class Tag(BaseModel):
        label: str

    class Item(Base):
        owner: Owner | None = None

    class Owner:
        def pet(self) -> Pet: ...
        @property
        def home(self) -> Home: ...

    class Pet: ...
    class Home: ...
    class Stranger: ...

    def create(item: Item) -> None: ...
    """
    assert reached(source) == ["Base", "Tag", "Item", "Owner", "Pet", "Home"]


def test_literal_values_annotated_metadata_and_other_modules_classes_are_not_reached() -> None:
    source = """
    class Mode: ...
    class Meta: ...
    class Item: ...

    def f(m: Literal["Mode"], x: Annotated[int, Meta], y: models.Item) -> None: ...
    """
    assert reached(source) == []


def test_conditional_and_nested_classes_are_not_frozen() -> None:
    source = """
    if TYPE_CHECKING:
        class Hidden: ...

    class Outer:
        class Inner: ...

    def f(h: Hidden, i: Outer.Inner) -> Outer: ...
    """
    assert reached(source) == ["Outer"]


def test_annotation_names_reads_nested_and_quoted_annotations() -> None:
    assert annotation_names("dict[str, list['Item']] | None") == {"dict", "str", "list", "Item"}
    assert annotation_names("Callable[[Item], Awaitable[Result]]") >= {"Item", "Result"}
    assert annotation_names("not an expression (") == set()


# -- manifest strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("str", FieldShape("x", "str")),
        ("float = 0.0", FieldShape("x", "float", "0.0")),
        ("float=0.00", FieldShape("x", "float", "0.0")),
        (
            "list[int] = field(default_factory=list)",
            FieldShape("x", "list[int]", "field(default_factory=list)"),
        ),
        ("str = '#'", FieldShape("x", "str", "'#'")),
        ("Optional['Item'] = None", FieldShape("x", "Optional['Item']", "None")),
    ],
)
def test_parse_field_reads_annotation_and_default(text: str, expected: FieldShape) -> None:
    assert parse_field("x", text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "= 0", "float =", "float # = 0.0", "int\nimport os", "int; x = 1", "int = 0 = 1", "(int"],
)
def test_parse_field_refuses_anything_but_one_annotation_and_default(text: str) -> None:
    with pytest.raises(SignatureSyntaxError, match="is not a valid field"):
        parse_field("x", text)


def test_shape_round_trips_through_the_manifest_form() -> None:
    found = read(COUNTER)["Counter"].shape
    entry: dict[str, Any] = found.as_manifest()
    again = parse_shape(
        entry.get("methods", {}),
        entry.get("properties", {}),
        entry.get("fields", {}),
        entry.get("members", []),
    )
    assert again == found
    assert TypeShape().summary() == "class"
    assert found.summary().startswith("class with methods __init__, inc, fetch")


# -- what a class inherits from the module's own classes -----------------------------------------


def test_inherited_members_follow_the_method_resolution_order() -> None:
    found = read(
        """
        from elsewhere import Mixin

        class A:
            def who(self) -> str: ...
            def a(self) -> int: ...

        class B(A):
            def who(self) -> bytes: ...

        class C(A):
            @property
            def who(self) -> float: ...

        class D(B, C):
            def own(self) -> None: ...

        class E(D, Mixin):
            pass
        """
    )
    d = found["D"].inherited
    assert d is not None
    assert d.ancestry == ("B", "C", "A")  # as Python computes D.__mro__
    assert str(d.methods["who"]) == "(self) -> bytes"  # B's, before C's property
    assert "who" not in d.properties
    assert set(d.methods) == {"who", "a"}  # its own method is not inherited
    assert not d.foreign
    e = found["E"].inherited
    assert e is not None and e.foreign  # Mixin comes from elsewhere


def test_a_dataclass_lineage_is_its_data_bases_most_basic_first() -> None:
    found = read(
        """
        import dataclasses

        @dataclasses.dataclass
        class Base:
            id: int

        class Plain(Base):
            note = "not a field"

        @dataclasses.dataclass
        class Tagged(Plain):
            tag: str = dataclasses.field(default="", kw_only=True)
            size: int = dataclasses.field(init=False)
        """
    )
    tagged = found["Tagged"]
    assert tagged.inherited is not None
    assert [step.name for step in tagged.inherited.lineage] == ["Base", "Tagged"]
    assert tagged.positional == ()  # keyword-only, and not in __init__ at all
    assert [f.required for f in tagged.shape.fields] == [False, False]
