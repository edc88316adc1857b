"""The shapes of the classes a module's exports take and return, read from source with `ast`.

A shape is what a host relies on when it holds an object of the class: its methods' and
properties' signatures, a data type's fields (dataclass, pydantic model, TypedDict, NamedTuple)
and an Enum's members. Nothing here runs module code.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from hotreload.contract.signatures import Signature, dotted_name, parse_signature, signature_of
from hotreload.errors import SignatureSyntaxError
from hotreload.parsing import parse

TypeKind = Literal["class", "dataclass", "pydantic", "typeddict", "namedtuple", "enum"]

_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"})
_TYPING = ("", "typing.", "typing_extensions.", "t.")
_TYPED_DICT = frozenset(prefix + "TypedDict" for prefix in _TYPING)
_NAMED_TUPLE = frozenset(prefix + "NamedTuple" for prefix in _TYPING)
_BASE_MODEL = frozenset({"BaseModel", "pydantic.BaseModel", "pydantic.main.BaseModel"})
_DATACLASS = frozenset({"dataclass", "dataclasses.dataclass", "pydantic.dataclasses.dataclass"})
FIELD_CALLS = frozenset({"field", "dataclasses.field", "Field", "pydantic.Field"})
_PROPERTY = frozenset({"property", "cached_property", "functools.cached_property"})
_OVERLOAD = frozenset({"overload", "typing.overload", "typing_extensions.overload"})
# Methods pydantic calls itself, never the host: their signatures are pydantic's business.
_PYDANTIC_HOOKS = frozenset(
    {
        "field_validator",
        "model_validator",
        "field_serializer",
        "model_serializer",
        "validator",
        "root_validator",
    }
)
_FIELD_FORM = 'expected "annotation" or "annotation = default", e.g. "str" or "float = 0.0"'


@dataclass(frozen=True)
class FieldShape:
    """One field of a data type; annotation and default are `ast.unparse` text.

    ``required`` (not part of equality) says whether a caller must pass it to build an object:
    no default, a ``field()`` / ``Field()`` without one, or a TypedDict key that is required.
    """

    name: str
    annotation: str
    default: str | None = None
    required: bool = field(default=True, compare=False)

    def __str__(self) -> str:
        return self.annotation + ("" if self.default is None else f" = {self.default}")


@dataclass(frozen=True)
class TypeShape:
    """Everything the contract freezes about one class (see DESIGN.md, "What is frozen")."""

    methods: Mapping[str, Signature] = field(default_factory=dict)
    properties: Mapping[str, Signature] = field(default_factory=dict)
    fields: tuple[FieldShape, ...] = ()
    members: tuple[str, ...] = ()

    def as_manifest(self) -> dict[str, object]:
        """The manifest's form: ``methods``, ``properties``, ``fields``, ``members``, empty ones
        left out (an entry with none still freezes that the class exists)."""
        entry: dict[str, object] = {}
        if self.methods:
            entry["methods"] = {name: str(sig) for name, sig in self.methods.items()}
        if self.properties:
            entry["properties"] = {name: str(sig) for name, sig in self.properties.items()}
        if self.fields:
            entry["fields"] = {f.name: str(f) for f in self.fields}
        if self.members:
            entry["members"] = list(self.members)
        return entry

    def summary(self) -> str:
        """``class with methods inc, reset; fields name, price``: a shape in a few words."""
        parts = [
            f"{what} {', '.join(names)}"
            for what, names in (
                ("methods", list(self.methods)),
                ("properties", list(self.properties)),
                ("fields", [f.name for f in self.fields]),
                ("members", list(self.members)),
            )
            if names
        ]
        return "class" + (" with " + "; ".join(parts) if parts else "")


@dataclass(frozen=True)
class FoundType:
    """A top-level class found in a module's source, and its shape."""

    name: str
    kind: TypeKind
    shape: TypeShape
    line: int
    positional: tuple[str, ...]  # the fields a caller may pass by position, in order
    references: frozenset[str]  # names its bases, fields and signatures mention
    fingerprint: str  # a position-free dump of the class statement: to tell an edited one
    lines: Mapping[str, int] = field(default_factory=dict)  # method, field, member -> its line
    # What it inherits from the module's own classes (see `Inheritance`); nothing for a class
    # read on its own.
    inherited: Inheritance | None = None


@dataclass(frozen=True)
class Lineage:
    """One data class whose fields a dataclass's constructor takes: its own fields as written,
    and which of them a caller may pass by position."""

    name: str
    fields: tuple[FieldShape, ...]
    positional: tuple[str, ...]


@dataclass(frozen=True)
class Inheritance:
    """What a class has from its bases that the module itself defines, read from the source.

    ``ancestry``: those bases in method resolution order; ``methods`` / ``properties``: what
    they define that the class does not (so a method moved into a base is still there);
    ``lineage``: for a dataclass, the data classes whose fields its constructor takes, the most
    basic first and the class itself last (the order `dataclasses` collects them in);
    ``foreign``: some base comes from elsewhere (an import), so the source cannot tell all the
    class inherits, and what it lacks is decided once the module ran.
    """

    ancestry: tuple[str, ...]
    methods: Mapping[str, Signature]
    properties: Mapping[str, Signature]
    lineage: tuple[Lineage, ...]
    foreign: bool


def parse_field(name: str, text: str) -> FieldShape:
    """Parse a manifest field string such as "float = 0.0" (read with `ast`, never run).

    The text must be one annotated assignment once ``_f: `` is put in front: anything more
    (a second statement, a comment hiding the rest) is refused.
    """
    try:
        tree = parse(f"_f: {text}")
    except SyntaxError as e:
        raise _invalid_field(text) from e
    statement = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(statement, ast.AnnAssign) or _has_comment(text):
        raise _invalid_field(text)
    return _field(name, statement.annotation, statement.value)


def _has_comment(text: str) -> bool:
    """A comment would hide the rest of the text from the parser but not from a reader:
    ``"float # = 0.0"`` must not freeze a field without a default that reads as one with."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return True
    return any(token.type == tokenize.COMMENT for token in tokens)


def _invalid_field(text: str) -> SignatureSyntaxError:
    return SignatureSyntaxError(f"{text!r} is not a valid field: {_FIELD_FORM}")


def parse_shape(
    methods: Mapping[str, str],
    properties: Mapping[str, str],
    fields: Mapping[str, str],
    members: Collection[str],
) -> TypeShape:
    """A frozen shape from the manifest's strings (validation already proved they parse)."""
    return TypeShape(
        methods={name: parse_signature(text) for name, text in methods.items()},
        properties={name: parse_signature(text) for name, text in properties.items()},
        fields=tuple(parse_field(name, text) for name, text in fields.items()),
        members=tuple(members),
    )


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a name or attribute chain; a call's function (``@dataclass(...)``)."""
    return dotted_name(node.func if isinstance(node, ast.Call) else node)


def _last(name: str | None) -> str:
    return (name or "").rpartition(".")[2]


def _keyword(node: ast.expr, name: str) -> ast.expr | None:
    if isinstance(node, ast.Call):
        return next((k.value for k in node.keywords if k.arg == name), None)
    return None


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def classes_in_tree(tree: ast.Module) -> dict[str, ast.ClassDef]:
    """Unconditional top-level class statements, the last of a name winning, in source order.

    As for functions, a class under ``if`` or ``try`` may or may not exist when the module runs;
    deciding which would mean running code, so it is not a stable contract.
    """
    found: dict[str, ast.ClassDef] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.pop(node.name, None)
            found[node.name] = node
    return found


def _kinds(classes: Mapping[str, ast.ClassDef]) -> dict[str, TypeKind]:
    """Each class's kind; a subclass of a model, TypedDict or Enum of the module is one too."""
    kinds: dict[str, TypeKind] = {}
    for name, node in classes.items():
        bases = [_dotted(base) or "" for base in node.bases]
        inherited = {kinds.get(base) for base in bases}
        kind: TypeKind = "class"
        if any(_dotted(d) in _DATACLASS for d in node.decorator_list):
            kind = "dataclass"
        elif any(b in _BASE_MODEL for b in bases) or "pydantic" in inherited:
            kind = "pydantic"
        elif any(b in _TYPED_DICT for b in bases) or "typeddict" in inherited:
            kind = "typeddict"
        elif any(b in _NAMED_TUPLE for b in bases):
            kind = "namedtuple"
        elif any(_enum_base(b) for b in bases) or "enum" in inherited:
            kind = "enum"
        kinds[name] = kind
    return kinds


def _enum_base(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return last in _ENUM_BASES and module in ("", "enum")


def read_types(tree: ast.Module, names: Collection[str] | None = None) -> dict[str, FoundType]:
    """The shapes of the module's top-level classes (only ``names``, if given), in source order,
    each with what it inherits from the module's other classes."""
    if names is not None and not names:
        return {}  # a module without frozen types: a reload pays nothing for them
    classes = classes_in_tree(tree)
    kinds = _kinds(classes)
    own: dict[str, FoundType] = {}

    def read(name: str) -> FoundType:
        if name not in own:
            own[name] = _read_class(classes[name], kinds[name])
        return own[name]

    wanted = [name for name in classes if names is None or name in names]
    orders = _Orders(classes)
    return {
        name: replace(read(name), inherited=_inheritance(name, orders, kinds, read))
        for name in wanted
    }


# Library bases that give a class none of the methods a host calls on it: a frozen method the
# source does not show is missing, not inherited from them.
PLAIN_BASES = frozenset(
    {"object", "Generic", "Protocol", "ABC", "BaseModel", "Exception"}
    | _ENUM_BASES
    | {"TypedDict", "NamedTuple"}
)


class _Orders:
    """Method resolution orders of a module's classes over the module's own classes (C3, as
    Python computes it; depth first where the bases cannot be linearised)."""

    def __init__(self, classes: Mapping[str, ast.ClassDef]) -> None:
        self.classes = classes
        self._orders: dict[str, tuple[str, ...]] = {}
        self._foreign: dict[str, bool] = {}

    def local_bases(self, name: str) -> list[str]:
        bases = [_dotted(b) or "" for b in self.classes[name].bases]
        return [b for b in bases if b in self.classes and b != name]

    def foreign(self, name: str) -> bool:
        """Whether the class, or one of its bases here, has a base from elsewhere."""
        if name not in self._foreign:
            self._foreign[name] = False  # a cycle (cannot run anyway) ends here
            node = self.classes[name]
            bases = [_dotted(b) or "" for b in node.bases]
            self._foreign[name] = any(
                (b not in self.classes or b == name) and _last(b) not in PLAIN_BASES for b in bases
            ) or any(self.foreign(b) for b in self.local_bases(name))
        return self._foreign[name]

    def order(self, name: str) -> tuple[str, ...]:
        """The class, then its bases of the module in resolution order."""
        if name not in self._orders:
            self._orders[name] = (name,)  # a cycle (cannot run anyway) ends here
            bases = self.local_bases(name)
            sequences = [list(self.order(b)) for b in bases] + [bases]
            merged = _c3(sequences)
            if merged is None:  # Python would refuse the class; any order will do
                merged = list(dict.fromkeys(n for seq in sequences for n in seq))
            self._orders[name] = (name, *merged)
        return self._orders[name]


def _c3(sequences: list[list[str]]) -> list[str] | None:
    result: list[str] = []
    pending = [list(seq) for seq in sequences if seq]
    while pending:
        head = next(
            (seq[0] for seq in pending if not any(seq[0] in rest[1:] for rest in pending)), None
        )
        if head is None:
            return None
        result.append(head)
        pending = [[n for n in seq if n != head] for seq in pending]
        pending = [seq for seq in pending if seq]
    return result


def _inheritance(
    name: str,
    orders: _Orders,
    kinds: Mapping[str, TypeKind],
    read: Callable[[str], FoundType],
) -> Inheritance:
    ancestry = orders.order(name)[1:]
    methods: dict[str, Signature] = {}
    properties: dict[str, Signature] = {}
    for base in reversed(ancestry):  # the nearest base wins
        shape = read(base).shape
        methods.update(shape.methods)
        properties.update(shape.properties)
        for member in shape.methods:
            properties.pop(member, None)
        for member in shape.properties:
            methods.pop(member, None)
    own = read(name).shape
    for member in [*own.methods, *own.properties]:
        methods.pop(member, None)
        properties.pop(member, None)
    lineage: tuple[Lineage, ...] = ()
    if kinds[name] == "dataclass":
        data = [n for n in reversed(orders.order(name)) if kinds[n] == "dataclass"]
        lineage = tuple(Lineage(n, read(n).shape.fields, read(n).positional) for n in data)
    return Inheritance(ancestry, methods, properties, lineage, orders.foreign(name))


def reached_types(tree: ast.Module, signatures: Collection[Signature]) -> dict[str, FoundType]:
    """The classes of the module that these export signatures name, and every class of the
    module those name in turn (bases, fields, method and property signatures), transitively;
    in source order. A class imported from elsewhere is not this module's to freeze."""
    found = read_types(tree)
    pending = [name for sig in signatures for name in signature_names(sig) if name in found]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending += [n for n in found[name].references if n in found]
    return {name: found[name] for name in found if name in reached}


def signature_names(signature: Signature) -> set[str]:
    """Every name the annotations of a signature mention."""
    texts = [p.annotation for p in signature.parameters] + [signature.returns]
    return {name for text in texts if text is not None for name in annotation_names(text)}


def annotation_names(text: str) -> set[str]:
    """The plain names a type annotation mentions: ``list[Item] | None`` -> {list, Item, None}.

    Quoted forward references count as what they quote; ``Literal`` values and ``Annotated``
    metadata are values, not types; ``pkg.Item`` names another module's class and is left out.
    """
    try:
        node = parse(text.strip(), mode="eval").body
    except SyntaxError:
        return set()
    return set(_names(node))


def _names(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from annotation_names(node.value)
    elif isinstance(node, ast.Attribute):
        return
    elif isinstance(node, ast.Subscript):
        head = _last(_dotted(node.value))
        yield from _names(node.value)
        if head == "Literal":
            return
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for item in items[:1] if head == "Annotated" else items:
            yield from _names(item)
    else:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                yield from _names(child)


def _read_class(node: ast.ClassDef, kind: TypeKind) -> FoundType:
    methods, properties = _methods(node, kind)
    fields, positional = _fields(node, kind)
    members = _members(node) if kind == "enum" else ()
    shape = TypeShape(methods, properties, fields, members)
    texts = [f.annotation for f in fields] + [ast.unparse(base) for base in node.bases]
    references = {name for text in texts for name in annotation_names(text)}
    for signature in [*methods.values(), *properties.values()]:
        references |= signature_names(signature)
    return FoundType(
        node.name,
        kind,
        shape,
        node.lineno,
        positional,
        frozenset(references - {node.name}),
        ast.dump(node),
        _member_lines(node),
    )


def _member_lines(node: ast.ClassDef) -> dict[str, int]:
    """The line of each name the class body binds (the last binding wins, as it does at run)."""
    lines: dict[str, int] = {}
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            lines[statement.name] = statement.lineno
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    lines[target.id] = statement.lineno
    return lines


def is_public_member(name: str) -> bool:
    """Public names and special methods (``__init__``, ``__call__``, ``__len__``, ...): the
    host calls those, the second through Python's syntax (``Counter()``, ``len(c)``)."""
    special = name.startswith("__") and name.endswith("__") and len(name) > 4
    return special or not name.startswith("_")


def _methods(
    node: ast.ClassDef, kind: TypeKind
) -> tuple[dict[str, Signature], dict[str, Signature]]:
    """Public and special methods, and properties (their getter's signature), as written."""
    methods: dict[str, Signature] = {}
    properties: dict[str, Signature] = {}
    for statement in node.body:
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        decorators = [_dotted(d) or "" for d in statement.decorator_list]
        if (
            not is_public_member(statement.name)
            or any(d in _OVERLOAD for d in decorators)
            # `@total.setter` belongs to the property `total`, already read from its getter
            or any(_last(d) in ("setter", "getter", "deleter") and "." in d for d in decorators)
            or (kind == "pydantic" and any(_last(d) in _PYDANTIC_HOOKS for d in decorators))
        ):
            continue
        methods.pop(statement.name, None)
        properties.pop(statement.name, None)
        into = properties if any(d in _PROPERTY for d in decorators) else methods
        into[statement.name] = signature_of(statement)
    return methods, properties


def _fields(node: ast.ClassDef, kind: TypeKind) -> tuple[tuple[FieldShape, ...], tuple[str, ...]]:
    """A data type's own fields in order, and those a caller may pass by position."""
    if kind not in ("dataclass", "pydantic", "typeddict", "namedtuple"):
        return (), ()
    decorator = next((d for d in node.decorator_list if _dotted(d) in _DATACLASS), None)
    keyword_only = decorator is not None and _is_true(_keyword(decorator, "kw_only"))
    total = next((k.value for k in node.keywords if k.arg == "total"), None)
    fields: list[FieldShape] = []
    positional: list[str] = []
    for statement in node.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        name, annotation = statement.target.id, statement.annotation
        head = _head(annotation)
        if head == "ClassVar" or (kind == "pydantic" and name.startswith("_")):
            continue
        if head == "KW_ONLY":  # `_: KW_ONLY`: the fields after it are keyword-only
            keyword_only = True
            continue
        shape = _field(name, annotation, statement.value)
        if kind == "typeddict" and _is_false(total) and head != "Required":
            shape = FieldShape(shape.name, shape.annotation, shape.default, required=False)
        fields.append(shape)
        value = statement.value
        by_keyword = value is not None and _is_true(_keyword(value, "kw_only"))
        if kind in ("dataclass", "namedtuple") and not (
            keyword_only or by_keyword or _not_in_init(value)
        ):
            positional.append(name)
    return tuple(fields), tuple(positional)


def _head(annotation: ast.expr) -> str:
    """``ClassVar`` for ``typing.ClassVar[int]`` (quoted or not): what kind of annotation."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = parse(annotation.value.strip(), mode="eval").body
        except SyntaxError:
            return ""
    return _last(_dotted(annotation.value if isinstance(annotation, ast.Subscript) else annotation))


def _field(name: str, annotation: ast.expr, value: ast.expr | None) -> FieldShape:
    required = _required(value) and _head(annotation) != "NotRequired"
    default = None if value is None else ast.unparse(value)
    return FieldShape(name, ast.unparse(annotation), default, required=required)


def _not_in_init(value: ast.expr | None) -> bool:
    """``field(init=False)``: the constructor takes no argument for it (it is set otherwise,
    in ``__post_init__`` for instance), so no caller passes it, by position or keyword."""
    return (
        isinstance(value, ast.Call)
        and _dotted(value.func) in FIELD_CALLS
        and _is_false(_keyword(value, "init"))
    )


def _required(value: ast.expr | None) -> bool:
    """Whether a field with this right-hand side must be passed to build an object."""
    if value is None:
        return True
    if _not_in_init(value):
        return False
    if isinstance(value, ast.Call) and _dotted(value.func) in FIELD_CALLS:
        if any(k.arg in ("default", "default_factory") for k in value.keywords):
            return False
        first = value.args[0] if value.args else None  # pydantic's Field(default, ...)
        return first is None or (isinstance(first, ast.Constant) and first.value is Ellipsis)
    return False


def _members(node: ast.ClassDef) -> tuple[str, ...]:
    """An Enum's member names in order: plain assignments of public names in the class body."""
    members: list[str] = []
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if isinstance(value, ast.Lambda) or _last(_dotted(value)) == "nonmember":
            continue  # a function is a method, `nonmember(...)` says it is no member
        for target in targets:
            if isinstance(target, ast.Name) and not target.id.startswith("_"):
                if target.id not in members:
                    members.append(target.id)
    return tuple(members)
