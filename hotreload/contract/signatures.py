"""Function signatures read from source with `ast`, normalised and compared against the contract."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache, reduce
from typing import Literal

from hotreload.errors import SignatureSyntaxError
from hotreload.parsing import parse
from hotreload.records import record
from hotreload.verdicts import Violation, ViolationCode

ParameterKind = Literal[
    "positional_only", "positional_or_keyword", "var_positional", "keyword_only", "var_keyword"
]
_EXPECTED_FORM = 'expected the form "(a: int, b: int) -> int" or "async (url: str) -> bytes"'

# Module prefixes stripped from annotations, so `typing.List` and `List` compare equal. An explicit
# list, not "any dotted prefix": `np.ndarray` and `pd.ndarray` must stay different types. `t` is the
# conventional `import typing as t`; `collections.abc` is there because `typing.Sequence` is only an
# alias of `collections.abc.Sequence`, and tools such as ruff's UP035 rewrite one into the other.
_TYPING_MODULES = frozenset({"typing", "typing_extensions", "t", "collections.abc"})

# Deprecated typing aliases of builtins (PEP 585): a spelling change, not a type change.
_BUILTIN_ALIASES = {
    name: name.lower() for name in ("List", "Dict", "Tuple", "Set", "FrozenSet", "Type")
}


@record
class Parameter:
    """One parameter as written in source; annotation and default are `ast.unparse` text."""

    name: str
    kind: ParameterKind
    annotation: str | None
    default: str | None

    def __str__(self) -> str:
        prefix = {"var_positional": "*", "var_keyword": "**"}.get(self.kind, "")
        annotated = self.annotation is not None
        text = prefix + self.name + (f": {self.annotation}" if annotated else "")
        if self.default is not None:
            text += f" = {self.default}" if annotated else f"={self.default}"
        return text


@record
class Signature:
    """Everything the contract freezes about one function (see DESIGN.md, "What is frozen")."""

    parameters: tuple[Parameter, ...]
    returns: str | None
    is_async: bool

    def __str__(self) -> str:
        returns = f" -> {self.returns}" if self.returns is not None else ""
        return ("async " if self.is_async else "") + _format_parameters(self.parameters) + returns


@record
class FoundFunction:
    """A top-level function found in a module's source."""

    name: str
    signature: Signature
    line: int


def _format_parameters(parameters: Iterable[Parameter]) -> str:
    """`(a, /, b, *, c)`: the `/` and bare `*` markers are implied by the kinds."""
    parts: list[str] = []
    previous: ParameterKind | None = None
    for parameter in parameters:
        if previous == "positional_only" and parameter.kind != "positional_only":
            parts.append("/")
        if parameter.kind == "keyword_only" and previous not in ("keyword_only", "var_positional"):
            parts.append("*")
        parts.append(str(parameter))
        previous = parameter.kind
    if previous == "positional_only":
        parts.append("/")
    return "(" + ", ".join(parts) + ")"


def _unparse(node: ast.expr | None) -> str | None:
    return None if node is None else ast.unparse(node)


def _parameter(arg: ast.arg, kind: ParameterKind, default: ast.expr | None = None) -> Parameter:
    return Parameter(arg.arg, kind, _unparse(arg.annotation), _unparse(default))


def _parameters(args: ast.arguments) -> tuple[Parameter, ...]:
    """Flatten `ast.arguments`; positional defaults belong to the last positional parameters."""
    positional: list[tuple[ast.arg, ParameterKind]] = [
        *((a, "positional_only") for a in args.posonlyargs),
        *((a, "positional_or_keyword") for a in args.args),
    ]
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    result = [_parameter(a, kind, d) for (a, kind), d in zip(positional, defaults, strict=True)]
    if args.vararg:
        result.append(_parameter(args.vararg, "var_positional"))
    kw_only = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    result += [_parameter(a, "keyword_only", d) for a, d in kw_only]
    if args.kwarg:
        result.append(_parameter(args.kwarg, "var_keyword"))
    return tuple(result)


def signature_of(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Signature:
    """The signature of a `def` node as written (methods keep `self` / `cls`)."""
    return Signature(
        parameters=_parameters(node.args),
        returns=_unparse(node.returns),
        is_async=isinstance(node, ast.AsyncFunctionDef),
    )


# Pure functions of short strings, called for every export at every reload and start-up: caching
# them makes checking a 1,000-module project about twice as fast.
@lru_cache(maxsize=4096)
def parse_signature(text: str) -> Signature:
    """Parse a manifest signature such as "(a: int, *, b: str = 'x') -> int" or "async (u: str)".

    Python's own parser and compiler read the text as `def _f<text>: pass` (compiled, never run),
    so exactly what Python accepts is accepted, with Python's meaning; the compiler adds checks
    the parser lacks, such as duplicate names. The result must be that one function whose body is
    the `pass` appended here: that rejects text smuggling in code ("(a): pass\\nimport os\\n#").
    """
    stripped = text.strip().replace("\r\n", "\n").replace("\r", "\n")
    after_async = stripped.removeprefix("async").lstrip()
    is_async = stripped.startswith("async") and after_async.startswith("(")
    rest = after_async if is_async else stripped
    source = f"{'async ' if is_async else ''}def _f{rest}: pass"
    try:
        tree = parse(source)
        compile(tree, "<signature>", "exec", dont_inherit=True)
    except SyntaxError as e:
        raise _invalid(text) from e
    function = tree.body[0] if len(tree.body) == 1 else None
    if (
        not rest.startswith("(")
        or not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        or not _body_is_appended_pass(function, source)
    ):
        raise _invalid(text)
    return signature_of(function)


def _invalid(text: str) -> SignatureSyntaxError:
    return SignatureSyntaxError(f"{text!r} is not a valid signature: {_EXPECTED_FORM}")


def _body_is_appended_pass(function: ast.FunctionDef | ast.AsyncFunctionDef, source: str) -> bool:
    """True if the body is one `pass` ending where the source ends, i.e. ours, not the text's."""
    body = function.body
    last_line = source.rsplit("\n", 1)[-1]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Pass)
        and body[0].end_lineno == source.count("\n") + 1
        # Column offsets are UTF-8 byte offsets.
        and body[0].end_col_offset == len(last_line.encode())
    )


def functions_in_source(
    source: str | bytes, filename: str = "<source>"
) -> dict[str, FoundFunction]:
    """Top-level functions of a module's source, read without running any of it."""
    return functions_in_tree(parse(source, filename=filename))


def functions_in_tree(
    tree: ast.Module, names: Collection[str] | None = None
) -> dict[str, FoundFunction]:
    """Every `def` / `async def` that is a direct child of the module body; the last one wins.
    With ``names``, only those: reading a signature unparses each annotation and default, and
    a reload needs only the exports' (it was a quarter of the reload of a 500-line module).

    Only unconditional definitions count. A def under `if`, `try` or `with` may or may not exist
    when the module runs, and deciding which would mean running code; such a function is not a
    stable contract. Methods belong to their class. A name bound by an assignment (`add = ...`)
    is not a function we can read a signature from, and an assignment after a def, such as
    `add = decorator(add)`, is trusted to keep the signature just as a decorator is.
    """
    found: dict[str, FoundFunction] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            names is None or node.name in names
        ):
            # Pop first, so the dict is in the order of the definitions that win.
            found.pop(node.name, None)
            found[node.name] = FoundFunction(node.name, signature_of(node), node.lineno)
    return found


def public_functions(found: Mapping[str, FoundFunction]) -> dict[str, FoundFunction]:
    """The functions `freeze` may export: names not starting with an underscore."""
    return {name: function for name, function in found.items() if not name.startswith("_")}


@lru_cache(maxsize=4096)
def normalise_annotation(text: str | None) -> str | None:
    """The canonical spelling of an annotation, so spelling changes do not break the contract.

    `List[int]` -> `list[int]`; `Optional[X]`, `Union[X, None]` -> `X | None`, with union
    members deduplicated and sorted (`None` last); `typing.X`, `t.X`, `typing_extensions.X`,
    `collections.abc.X` -> `X`; string forward references are read as the expression they
    quote, at any depth. `Literal[...]` values and `Annotated[...]` metadata stay as written:
    they are values, not types. Text that is not an expression is compared as written.
    """
    if text is None:
        return None
    node = _expression(text)
    return text.strip() if node is None else ast.unparse(_normalise(node))


def _expression(text: str) -> ast.expr | None:
    """`text` parsed as a single Python expression, or None if it is not one."""
    try:
        return parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


def _normalise(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _forward_reference(node)
    if isinstance(node, ast.Name | ast.Attribute):
        return _normalise_name(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        return _normalise_subscript(node)
    if isinstance(node, ast.Tuple | ast.List):
        return type(node)(elts=[_normalise(e) for e in node.elts], ctx=ast.Load())
    return node


def _forward_reference(node: ast.Constant) -> ast.expr:
    """A string annotation means the expression it quotes (PEP 484 forward references)."""
    quoted = _expression(str(node.value))
    return node if quoted is None else _normalise(quoted)


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a name or attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        prefix = dotted_name(node.value)
        return None if prefix is None else f"{prefix}.{node.attr}"
    return None


def _normalise_name(node: ast.Name | ast.Attribute) -> ast.expr:
    dotted = dotted_name(node)
    if dotted is None:
        return node
    module, _, name = dotted.rpartition(".")
    if module and module not in _TYPING_MODULES:
        return node
    return ast.Name(id=_BUILTIN_ALIASES.get(name, name), ctx=ast.Load())


def _normalise_subscript(node: ast.Subscript) -> ast.expr:
    value = _normalise(node.value)
    name = value.id if isinstance(value, ast.Name) else None
    arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if name == "Optional":
        return _union([*arguments, ast.Constant(value=None)])
    if name == "Union":
        return _union(arguments)
    if name == "Literal":
        subscript = node.slice
    elif name == "Annotated":
        first, *metadata = arguments
        elts = [_normalise(first), *metadata]
        subscript = ast.Tuple(elts=elts, ctx=ast.Load()) if metadata else elts[0]
    else:
        subscript = _normalise(node.slice)
    return ast.Subscript(value=value, slice=subscript, ctx=ast.Load())


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    return [node]


def _union(members: list[ast.expr]) -> ast.expr:
    """`A | B` with nested unions flattened, duplicates dropped, sorted by text, `None` last."""
    flat = {ast.unparse(m): m for member in members for m in _union_members(_normalise(member))}
    ordered = [flat[key] for key in sorted(flat, key=lambda text: (text == "None", text))]
    return reduce(lambda left, right: ast.BinOp(left=left, op=ast.BitOr(), right=right), ordered)


def compare(
    expected: Mapping[str, Signature], found: Mapping[str, FoundFunction]
) -> list[Violation]:
    """Every violation of the contract, in the order of `expected`, several per function if so."""
    violations: list[Violation] = []
    for name, signature in expected.items():
        function = found.get(name)
        if function is None:
            message = f"{name}: export removed: expected {name}{signature}, found no such function"
            violations.append(
                Violation("export_removed", name, str(signature), None, None, message)
            )
        else:
            violations += _compare_function(name, signature, function)
    return violations


def _compare_function(name: str, expected: Signature, function: FoundFunction) -> list[Violation]:
    actual = function.signature

    def violation(code: ViolationCode, what: str, want: str, got: str) -> Violation:
        message = f"{name}: {what} changed: expected {want}, found {got}"
        return Violation(code, name, str(expected), str(actual), function.line, message)

    violations: list[Violation] = []
    if expected.is_async != actual.is_async:
        kinds = (
            "async def" if expected.is_async else "def",
            "async def" if actual.is_async else "def",
        )
        violations.append(violation("async_changed", "async", *kinds))
    if _shape(expected) != _shape(actual) and added_parameters(expected, actual) is None:
        want, got = _format_parameters(expected.parameters), _format_parameters(actual.parameters)
        violations.append(violation("parameters_changed", "parameters", want, got))
    else:
        violations += _parameter_type_violations(name, expected, function)
    if normalise_annotation(expected.returns) != normalise_annotation(actual.returns):
        want, got = _annotation_text(expected.returns), _annotation_text(actual.returns)
        violations.append(violation("return_type_changed", "return type", want, got))
    return violations


def _parameter_type_violations(
    name: str, expected: Signature, function: FoundFunction
) -> list[Violation]:
    """One violation per parameter whose annotation differs; `expected`/`actual` name just it."""
    violations: list[Violation] = []
    now = {p.name: p for p in function.signature.parameters}
    for want in expected.parameters:
        got = now[want.name]
        if normalise_annotation(want.annotation) != normalise_annotation(got.annotation):
            message = (
                f"{name}: type of parameter {want.name!r} changed: expected "
                f"{_annotation_text(want.annotation)}, found {_annotation_text(got.annotation)}"
            )
            violation = Violation(
                "parameter_type_changed", name, str(want), str(got), function.line, message
            )
            violations.append(violation)
    return violations


_POSITIONAL: frozenset[ParameterKind] = frozenset({"positional_only", "positional_or_keyword"})


def added_parameters(expected: Signature, actual: Signature) -> tuple[Parameter, ...] | None:
    """The parameters ``actual`` adds to ``expected`` if every call the frozen signature allows
    still binds the same arguments to the same parameters; None if some caller would break.

    The one rule of "every caller survives" (exports and methods alike): the frozen parameters
    stay, in their order, with their names, kinds and defaults; each new one has a default; a
    new positional parameter comes after every frozen positional one (so no argument passed by
    position shifts) and only where no `*args` took the extra positional arguments before; a new
    keyword parameter only where no `**kwargs` took unknown keywords before; and neither
    `*args` nor `**kwargs` appears or goes. Annotations are the caller's business too, but they
    are compared parameter by parameter elsewhere (`parameter_type_changed`).
    Returns ``()`` when nothing was added (the shapes are equal).
    """
    frozen = [p.name for p in expected.parameters]
    now = {p.name: p for p in actual.parameters}
    if [p.name for p in actual.parameters if p.name in frozen] != frozen:
        return None  # one removed, renamed or moved
    if any(_parameter_shape(p) != _parameter_shape(now[p.name]) for p in expected.parameters):
        return None  # a kind or a default changed
    added = tuple(p for p in actual.parameters if p.name not in frozen)
    kinds = {p.kind for p in expected.parameters}
    if any(p.kind in ("var_positional", "var_keyword") or p.default is None for p in added):
        return None
    if added and "var_keyword" in kinds:
        return None  # `rate=` went into **kwargs before; now it binds a parameter
    places = [i for i, p in enumerate(actual.parameters) if p.kind in _POSITIONAL]
    last_frozen = max((i for i in places if actual.parameters[i].name in frozen), default=-1)
    for index in places:
        if actual.parameters[index].name not in frozen and (
            index < last_frozen or "var_positional" in kinds
        ):
            return None
    return added


def _parameter_shape(parameter: Parameter) -> tuple[str, ParameterKind, str | None]:
    return parameter.name, parameter.kind, canonical_expression(parameter.default)


def _shape(signature: Signature) -> tuple[tuple[str, ParameterKind, str | None], ...]:
    """What `parameters_changed` is about: names, kinds, order and defaults, not annotations."""
    return tuple(_parameter_shape(p) for p in signature.parameters)


@lru_cache(maxsize=4096)
def canonical_expression(text: str | None) -> str | None:
    """`1.00` -> `1.0`, `"a"` -> `'a'`: defaults compare as Python reads them, not as typed."""
    if text is None:
        return None
    node = _expression(text)
    return text.strip() if node is None else ast.unparse(node)


def _annotation_text(annotation: str | None) -> str:
    return annotation if annotation is not None else "no annotation"
