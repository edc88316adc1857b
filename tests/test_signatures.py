"""Tests for hotreload.contract.signatures: reading, normalising and comparing signatures."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from hotreload.contract.signatures import (
    FoundFunction,
    Parameter,
    Signature,
    added_parameters,
    compare,
    functions_in_source,
    functions_in_tree,
    normalise_annotation,
    parse_signature,
    public_functions,
)
from hotreload.errors import SignatureSyntaxError
from hotreload.verdicts import Violation

EXPECTED_FORM = 'expected the form "(a: int, b: int) -> int" or "async (url: str) -> bytes"'


def write_module(tmp_path: Path, source: str, name: str = "module.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def read_module(tmp_path: Path, source: str) -> dict[str, FoundFunction]:
    """Write `source` to a real file and read its functions back the way the server does."""
    path = write_module(tmp_path, source)
    return functions_in_source(path.read_bytes(), filename=str(path))


def check(tmp_path: Path, exports: dict[str, str], source: str) -> list[Violation]:
    """Violations of `source` against manifest-style `exports` (name -> signature text)."""
    expected = {name: parse_signature(text) for name, text in exports.items()}
    return compare(expected, read_module(tmp_path, source))


# --- parse_signature -------------------------------------------------------------------------


def test_parse_signature_reads_every_parameter_kind_with_annotations_and_defaults() -> None:
    signature = parse_signature("(a: int, /, b: int = 1, *args: str, c: float, **kw: Any) -> int")
    assert signature == Signature(
        parameters=(
            Parameter("a", "positional_only", "int", None),
            Parameter("b", "positional_or_keyword", "int", "1"),
            Parameter("args", "var_positional", "str", None),
            Parameter("c", "keyword_only", "float", None),
            Parameter("kw", "var_keyword", "Any", None),
        ),
        returns="int",
        is_async=False,
    )


def test_parse_signature_reads_async_prefix() -> None:
    signature = parse_signature("async (url: str) -> bytes")
    assert signature.is_async
    assert signature.parameters == (Parameter("url", "positional_or_keyword", "str", None),)
    assert signature.returns == "bytes"


def test_parse_signature_accepts_missing_annotations_and_empty_parameter_lists() -> None:
    assert parse_signature("(x)") == Signature(
        (Parameter("x", "positional_or_keyword", None, None),), None, False
    )
    assert parse_signature("() -> None") == Signature((), "None", False)


def test_parse_signature_keeps_keyword_only_defaults_after_bare_star() -> None:
    signature = parse_signature("(a, *, scale: float = 1.0, name='x') -> list[int]")
    assert signature.parameters[1:] == (
        Parameter("scale", "keyword_only", "float", "1.0"),
        Parameter("name", "keyword_only", None, "'x'"),
    )


def test_parse_signature_never_evaluates_defaults_or_annotations(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    parse_signature(f"(a=open({str(marker)!r}, 'w')) -> open({str(marker)!r}, 'w')")
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "(a: int -> int",
        "",
        "a: int",
        "add(a: int) -> int",
        "def (a)",
        "async",
        "async def (a)",
        "(a=1, b)",
        "(*, )",
        "(**kw, a)",
        "(a, a)",
        "(x: await y)",
        "(a) -> int: pass\nimport os\ndef g()",
        "(a): pass\n#",
        "(a): pass; import os; #",
        "(a) -> int:\n    import os\n#",
        "(a): 'docstring' #",
    ],
    ids=repr,
)
def test_parse_signature_rejects_anything_but_exactly_one_signature(text: str) -> None:
    with pytest.raises(SignatureSyntaxError) as info:
        parse_signature(text)
    assert str(info.value) == f"{text!r} is not a valid signature: {EXPECTED_FORM}"


def test_invalid_signature_message_quotes_the_text_and_shows_the_form() -> None:
    with pytest.raises(SignatureSyntaxError, match="is not a valid signature") as info:
        parse_signature("(a: int -> int")
    assert str(info.value) == (
        "'(a: int -> int' is not a valid signature: expected the form "
        '"(a: int, b: int) -> int" or "async (url: str) -> bytes"'
    )


def test_signature_syntax_error_is_a_value_error_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError):
        parse_signature("nope")


# --- str() round trip ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "()",
        "() -> None",
        "(x)",
        "(a: int, b: int) -> int",
        "(a: int, /, b: int = 1, *args: str, c: float, **kw: Any) -> int",
        "(a, /)",
        "(a, b, /, c)",
        "(a, /, *, b)",
        "(*args)",
        "(*args: int, **kwargs: str)",
        "(*, key: str)",
        "(a, *, scale: float = 1.0) -> list[int]",
        "(x=1, y='a', z=None)",
        "(**kw: Any) -> dict[str, Any]",
        "async (url: str) -> bytes",
        "async ()",
        "(items: Optional[List['Foo']] = None) -> int | None",
        "(cb: Callable[[int], str] = lambda x: str(x)) -> None",
    ],
)
def test_str_is_canonical_and_round_trips(text: str) -> None:
    signature = parse_signature(text)
    assert str(signature) == text
    assert parse_signature(str(signature)) == signature


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ('( a:int=1 ,b = "x" )->  List[ int ]', "(a: int = 1, b='x') -> List[int]"),
        ("async(url:str)", "async (url: str)"),
        ("  (x,)  ", "(x)"),
        ("(a,\n b: int)\n", "(a, b: int)"),
        ("(a,\r\n b: int)\r\n", "(a, b: int)"),
        ("(s = 'é') -> str", "(s='é') -> str"),
        ("(a, /, b, *args, c=1.00)", "(a, /, b, *args, c=1.0)"),
    ],
)
def test_str_spells_any_accepted_input_in_one_canonical_way(text: str, canonical: str) -> None:
    signature = parse_signature(text)
    assert str(signature) == canonical
    assert parse_signature(canonical) == signature


# --- functions_in_source ---------------------------------------------------------------------


def test_functions_in_source_never_executes_the_module(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    found = read_module(
        tmp_path,
        f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("module ran")

        def mark(path=Path({str(marker)!r}).write_text("default ran")) -> None:
            pass
        """,
    )
    assert not marker.exists()
    assert found["mark"].signature.parameters[0].default == (
        f"Path({str(marker)!r}).write_text('default ran')"
    )


def test_functions_in_source_accepts_text_and_bytes_alike() -> None:
    source = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert functions_in_source(source) == functions_in_source(source.encode())


def test_functions_in_source_reads_def_and_async_def_with_their_lines(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        '''
        """A module."""

        def add(a: int, b: int) -> int:
            return a + b


        async def fetch(url: str) -> bytes:
            return b""
        ''',
    )
    assert found == {
        "add": FoundFunction("add", parse_signature("(a: int, b: int) -> int"), 3),
        "fetch": FoundFunction("fetch", parse_signature("async (url: str) -> bytes"), 7),
    }


def test_decorated_function_has_the_signature_and_line_of_its_def(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        """
        import functools

        @functools.lru_cache(maxsize=None)
        @log_calls
        def square(x: int) -> int:
            return x * x
        """,
    )
    assert found["square"].signature == parse_signature("(x: int) -> int")
    assert found["square"].line == 5


def test_a_name_defined_twice_takes_the_last_definition(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        """
        def add(a: int) -> int:
            return a

        def other() -> None: ...

        def add(a: int, b: int) -> int:
            return a + b
        """,
    )
    assert found["add"] == FoundFunction("add", parse_signature("(a: int, b: int) -> int"), 6)
    assert list(found) == ["other", "add"]


def test_a_name_bound_by_assignment_is_not_a_function(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        """
        import operator
        add = operator.add
        multiply = lambda a, b: a * b
        """,
    )
    assert found == {}


def test_methods_are_not_top_level_functions(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        """
        class Calculator:
            def add(self, a: int, b: int) -> int:
                return a + b

        def outer() -> None:
            def inner() -> None: ...
        """,
    )
    assert list(found) == ["outer"]


def test_conditional_definitions_are_not_part_of_the_contract(tmp_path: Path) -> None:
    """Whether they exist depends on running the module, so they are not a stable contract."""
    found = read_module(
        tmp_path,
        """
        import sys

        if sys.platform == "win32":
            def path_sep() -> str:
                return "\\\\"
        try:
            def fast() -> None: ...
        except ImportError:
            pass
        with open(__file__):
            def opened() -> None: ...
        """,
    )
    assert found == {}


def test_functions_in_source_raises_syntax_error_with_file_and_line(tmp_path: Path) -> None:
    path = write_module(tmp_path, "def ok() -> None: ...\n\ndef broken(:\n    pass\n")
    with pytest.raises(SyntaxError) as info:
        functions_in_source(path.read_text(encoding="utf-8"), filename=str(path))
    assert info.value.filename == str(path)
    assert info.value.lineno == 3


def test_functions_in_tree_reads_an_already_parsed_module() -> None:
    tree = ast.parse("def f(x: int) -> int:\n    return x\n")
    assert functions_in_tree(tree) == functions_in_source("def f(x: int) -> int: ...\n")


def test_public_functions_leaves_out_underscore_names(tmp_path: Path) -> None:
    found = read_module(
        tmp_path,
        """
        def add() -> None: ...
        def _helper() -> None: ...
        def __dunder__() -> None: ...
        """,
    )
    assert list(public_functions(found)) == ["add"]


# --- normalisation ---------------------------------------------------------------------------

# (manifest spelling, source spelling): each pair must compare equal, as parameter and return type.
EQUIVALENT = {
    "List_is_list": ("list[int]", "List[int]"),
    "typing_Dict_is_dict": ("dict[str, int]", "typing.Dict[str, int]"),
    "Tuple_is_tuple": ("tuple[int, ...]", "Tuple[int, ...]"),
    "Set_is_set": ("set[str]", "Set[str]"),
    "FrozenSet_is_frozenset": ("frozenset[str]", "typing.FrozenSet[str]"),
    "Type_is_type": ("type[Exception]", "Type[Exception]"),
    "alias_t_List_is_list": ("list[int]", "t.List[int]"),
    "typing_extensions_prefix": ("Literal['a']", "typing_extensions.Literal['a']"),
    "collections_abc_prefix": ("Sequence[int]", "collections.abc.Sequence[int]"),
    "typing_and_abc_spellings": ("typing.Sequence[int]", "collections.abc.Sequence[int]"),
    "Optional_is_pipe_None": ("int | None", "Optional[int]"),
    "Union_None_is_Optional": ("Optional[int]", "Union[int, None]"),
    "None_first_in_union": ("int | None", "None | int"),
    "union_order_is_irrelevant": ("int | str", "str | int"),
    "Union_order_is_irrelevant": ("Union[int, str, bytes]", "bytes | str | int"),
    "duplicate_union_members": ("int | str", "Union[int, str, int]"),
    "nested_unions_flatten": ("int | str | None", "Optional[Union[str, int]]"),
    "single_member_Union": ("int", "Union[int]"),
    "quoted_forward_reference": ("int", '"int"'),
    "quoted_whole_annotation": ("Optional[Foo]", '"Foo | None"'),
    "nested_quoted_reference": ("list[Foo]", 'list["Foo"]'),
    "nested_combination": ("dict[str, list[int] | None]", "Dict[str, Optional[List[int]]]"),
    "Callable_arguments": ("Callable[[list[int]], None]", "typing.Callable[[List[int]], None]"),
    "Annotated_type_part": ("Annotated[list[int], 'meta']", "Annotated[List[int], 'meta']"),
}


@pytest.mark.parametrize(("manifest", "source"), EQUIVALENT.values(), ids=EQUIVALENT.keys())
def test_spelling_changes_of_annotations_are_not_violations(
    tmp_path: Path, manifest: str, source: str
) -> None:
    violations = check(
        tmp_path,
        {"f": f"(x: {manifest}) -> {manifest}"},
        f"""
        import collections.abc
        import typing
        import typing as t
        import typing_extensions
        from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple, Type, Union

        def f(x: {source}) -> {source}:
            return x
        """,
    )
    assert violations == []


DIFFERENT = {
    "element_type": ("list[int]", "list[str]"),
    "Optional_dropped": ("Optional[int]", "int"),
    "union_member_added": ("int | str", "int | str | bytes"),
    "other_modules_keep_prefix": ("ndarray", "np.ndarray"),
    "same_name_other_module": ("np.ndarray", "pd.ndarray"),
    "Literal_values_are_not_references": ("Literal['int']", "Literal[int]"),
    "Literal_values_are_values": ("Literal['a']", "Literal['b']"),
    "Annotated_metadata": ("Annotated[int, 'a']", "Annotated[int, 'b']"),
    "dict_key_and_value_swapped": ("dict[str, int]", "Dict[int, str]"),
}


@pytest.mark.parametrize(("manifest", "source"), DIFFERENT.values(), ids=DIFFERENT.keys())
def test_real_type_changes_survive_normalisation(
    tmp_path: Path, manifest: str, source: str
) -> None:
    violations = check(
        tmp_path,
        {"f": f"(x: {manifest}) -> {manifest}"},
        f"def f(x: {source}) -> {source}:\n    return x\n",
    )
    assert [v.code for v in violations] == ["parameter_type_changed", "return_type_changed"]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (None, None),
        ("List[int]", "list[int]"),
        ("Union[None, str, int]", "int | str | None"),
        ("typing.Dict[str, t.Optional[List['Foo']]]", "dict[str, list[Foo] | None]"),
        ("Literal['a', 'b']", "Literal['a', 'b']"),
        ('"not valid python ("', "'not valid python ('"),
        ("  int  ", "int"),
        ("not an expression (", "not an expression ("),
    ],
)
def test_normalise_annotation_spells_the_canonical_form(
    text: str | None, canonical: str | None
) -> None:
    assert normalise_annotation(text) == canonical


@pytest.mark.parametrize(
    ("manifest", "source"),
    [("1.0", "1.00"), ("'a'", '"a"'), ("(1, 2)", "(1,2)"), ("None", "None"), ("-1", "- 1")],
)
def test_defaults_compare_as_python_reads_them(tmp_path: Path, manifest: str, source: str) -> None:
    violations = check(tmp_path, {"f": f"(x={manifest})"}, f"def f(x={source}):\n    return x\n")
    assert violations == []


# --- compare ---------------------------------------------------------------------------------

CALCULATOR = {"add": "(a: int, b: int) -> int", "describe": "(operation: str) -> str"}


def test_body_docstring_and_decorator_changes_are_not_violations(tmp_path: Path) -> None:
    violations = check(
        tmp_path,
        CALCULATOR,
        '''
        import functools

        HISTORY = []

        @functools.cache
        def add(a: int, b: int) -> int:
            """Now with a docstring."""
            HISTORY.append((a, b))
            return b + a

        def describe(operation: str) -> str:
            return f"operation {operation}"

        def new_helper() -> None: ...
        ''',
    )
    assert violations == []


def test_missing_export_is_export_removed(tmp_path: Path) -> None:
    violations = check(tmp_path, CALCULATOR, "def add(a: int, b: int) -> int:\n    return a\n")
    assert violations == [
        Violation(
            code="export_removed",
            function="describe",
            expected="(operation: str) -> str",
            actual=None,
            line=None,
            message=(
                "describe: export removed: expected describe(operation: str) -> str, "
                "found no such function"
            ),
        )
    ]


def test_export_moved_into_a_class_is_export_removed(tmp_path: Path) -> None:
    source = "class Calc:\n    def add(self, a: int, b: int) -> int:\n        return a\n"
    violations = check(tmp_path, {"add": CALCULATOR["add"]}, source)
    assert [v.code for v in violations] == ["export_removed"]


@pytest.mark.parametrize(
    ("source_parameters", "found"),
    [
        ("a: int, b: int, c: int", "(a: int, b: int, c: int)"),
        ("a: int", "(a: int)"),
        ("a: int, c: int", "(a: int, c: int)"),
        ("b: int, a: int", "(b: int, a: int)"),
        ("a: int, *, b: int", "(a: int, *, b: int)"),
        ("a: int, /, b: int", "(a: int, /, b: int)"),
        ("a: int, b: int, *rest: int", "(a: int, b: int, *rest: int)"),
        ("a: int, b: int, **options: int", "(a: int, b: int, **options: int)"),
        ("a: int, b: int = 0", "(a: int, b: int = 0)"),
    ],
    ids=[
        "added",
        "removed",
        "renamed",
        "reordered",
        "became_keyword_only",
        "became_positional_only",
        "var_positional_added",
        "var_keyword_added",
        "default_added",
    ],
)
def test_parameter_shape_changes_are_parameters_changed(
    tmp_path: Path, source_parameters: str, found: str
) -> None:
    source = f"# calculator\n\ndef add({source_parameters}) -> int:\n    return 0\n"
    violations = check(tmp_path, {"add": "(a: int, b: int) -> int"}, source)
    assert violations == [
        Violation(
            code="parameters_changed",
            function="add",
            expected="(a: int, b: int) -> int",
            actual=f"{found} -> int",
            line=3,
            message=f"add: parameters changed: expected (a: int, b: int), found {found}",
        )
    ]


# -- a change every frozen caller survives ---------------------------------------------------

SURVIVED = [
    ("(amount: float) -> float", "(amount: float, rate: float = 0.2) -> float", ["rate"]),
    ("(a, b)", "(a, b, *, c=1)", ["c"]),
    ("(a, *, b)", "(a, *, c=1, b)", ["c"]),
    ("(a, *, b)", "(a, c=1, *, b)", ["c"]),
    ("(a, /, b)", "(a, /, b, c=1, d=2)", ["c", "d"]),
    ("(a, *args)", "(a, *args, k=1)", ["k"]),
    ("(a, b=1.0)", "(a, b=1.00)", []),
]


@pytest.mark.parametrize(("manifest", "source", "added"), SURVIVED)
def test_a_change_every_frozen_caller_survives_is_no_violation(
    tmp_path: Path, manifest: str, source: str, added: list[str]
) -> None:
    frozen, now = parse_signature(manifest), parse_signature(source)
    assert [p.name for p in added_parameters(frozen, now) or ()] == added
    assert check(tmp_path, {"f": manifest}, f"def f{source}:\n    pass\n") == []


BROKEN = [
    ("(amount: float)", "(rate: float = 0.2, amount: float = 0.0)"),  # inserted before
    ("(a, b=1)", "(a, c=2, b=1)"),  # a positional call f(1, 5) would set c
    ("(amount: float)", "(amount: float, rate: float)"),  # no default
    ("(a, *, k)", "(a, *, k, j)"),  # a keyword-only one without a default
    ("(a)", "(a, *args)"),  # *args appears
    ("(a, *args)", "(a)"),  # *args goes
    ("(a)", "(a, **kw)"),  # **kwargs appears
    ("(a, *args)", "(a, b=1, *args)"),  # f(1, 2) passed 2 into args, now into b
    ("(a, **kw)", "(a, *, rate=1)"),  # **kwargs goes
    ("(a, **kw)", "(a, *, rate=1, **kw)"),  # f(1, rate=2) went into kw, now into rate
    ("(a, b)", "(b, a, c=1)"),  # reordered, whatever is added
    ("(a, b=1)", "(a, b=2, c=1)"),  # a frozen default changed
    ("(a, b)", "(a, /, b, c=1)"),  # a kind changed
]


@pytest.mark.parametrize(("manifest", "source"), BROKEN)
def test_a_change_some_frozen_caller_would_not_survive_is_parameters_changed(
    tmp_path: Path, manifest: str, source: str
) -> None:
    assert added_parameters(parse_signature(manifest), parse_signature(source)) is None
    violations = check(tmp_path, {"f": manifest}, f"def f{source}:\n    pass\n")
    assert [v.code for v in violations] == ["parameters_changed"]


def test_a_survived_change_still_compares_the_frozen_parameters_types(tmp_path: Path) -> None:
    source = "def f(amount: int, rate: float = 0.2) -> float:\n    pass\n"
    violations = check(tmp_path, {"f": "(amount: float) -> float"}, source)
    assert [(v.code, v.expected, v.actual) for v in violations] == [
        ("parameter_type_changed", "amount: float", "amount: int")
    ]


@pytest.mark.parametrize(
    ("manifest", "source"),
    [("(a, b=1)", "a, b"), ("(a, b=1)", "a, b=2"), ("(a, b=1)", "a, b='1'"), ("(*, k=1)", "*, k")],
    ids=["default_removed", "default_changed", "default_type_changed", "keyword_default_removed"],
)
def test_default_changes_are_parameters_changed(tmp_path: Path, manifest: str, source: str) -> None:
    violations = check(tmp_path, {"f": manifest}, f"def f({source}):\n    pass\n")
    assert [v.code for v in violations] == ["parameters_changed"]


def test_each_changed_parameter_type_is_its_own_violation(tmp_path: Path) -> None:
    violations = check(
        tmp_path,
        {"add": "(a: int, b: int, c: int = 0) -> int"},
        "def add(a: float, b: int, c: str = 0) -> int:\n    return 0\n",
    )
    assert [v.as_dict() for v in violations] == [
        {
            "code": "parameter_type_changed",
            "function": "add",
            "expected": "a: int",
            "actual": "a: float",
            "line": 1,
            "message": "add: type of parameter 'a' changed: expected int, found float",
            "type": None,
            "member": None,
        },
        {
            "code": "parameter_type_changed",
            "function": "add",
            "expected": "c: int = 0",
            "actual": "c: str = 0",
            "line": 1,
            "message": "add: type of parameter 'c' changed: expected int, found str",
            "type": None,
            "member": None,
        },
    ]


def test_removing_an_annotation_is_a_type_change(tmp_path: Path) -> None:
    violations = check(tmp_path, {"f": "(x: int)"}, "def f(x):\n    pass\n")
    assert [v.message for v in violations] == [
        "f: type of parameter 'x' changed: expected int, found no annotation"
    ]


def test_changed_return_annotation_is_return_type_changed(tmp_path: Path) -> None:
    source = "def add(a: int, b: int) -> float: ...\ndef describe(operation: str) -> str: ...\n"
    violations = check(tmp_path, CALCULATOR, source)
    assert violations == [
        Violation(
            code="return_type_changed",
            function="add",
            expected="(a: int, b: int) -> int",
            actual="(a: int, b: int) -> float",
            line=1,
            message="add: return type changed: expected int, found float",
        )
    ]


def test_dropped_return_annotation_is_return_type_changed(tmp_path: Path) -> None:
    violations = check(tmp_path, {"f": "() -> None"}, "def f():\n    pass\n")
    assert [v.message for v in violations] == [
        "f: return type changed: expected None, found no annotation"
    ]


@pytest.mark.parametrize(
    ("manifest", "source", "message"),
    [
        ("(url: str) -> bytes", "async def fetch", "expected def, found async def"),
        ("async (url: str) -> bytes", "def fetch", "expected async def, found def"),
    ],
)
def test_def_versus_async_def_is_async_changed(
    tmp_path: Path, manifest: str, source: str, message: str
) -> None:
    violations = check(tmp_path, {"fetch": manifest}, f"{source}(url: str) -> bytes:\n    ...\n")
    assert [(v.code, v.message) for v in violations] == [
        ("async_changed", f"fetch: async changed: {message}")
    ]


def test_one_function_reports_every_violation_it_has(tmp_path: Path) -> None:
    violations = check(
        tmp_path,
        {"fetch": "(url: str, timeout: float = 1.0) -> bytes"},
        "import asyncio\n\n\n@retry\nasync def fetch(url: str) -> str:\n    return ''\n",
    )
    assert [(v.code, v.line) for v in violations] == [
        ("async_changed", 5),
        ("parameters_changed", 5),
        ("return_type_changed", 5),
    ]


def test_parameter_types_are_compared_only_when_the_shape_matches(tmp_path: Path) -> None:
    """A renamed or added parameter makes pairing annotations meaningless: one violation."""
    violations = check(tmp_path, {"f": "(a: int)"}, "def f(b: str, c: str):\n    pass\n")
    assert [v.code for v in violations] == ["parameters_changed"]


def test_violations_follow_the_order_of_the_expected_exports(tmp_path: Path) -> None:
    violations = check(
        tmp_path,
        {"zeta": "() -> int", "alpha": "() -> int", "gone": "()"},
        "def alpha() -> str: ...\ndef zeta() -> str: ...\n",
    )
    assert [(v.function, v.code) for v in violations] == [
        ("zeta", "return_type_changed"),
        ("alpha", "return_type_changed"),
        ("gone", "export_removed"),
    ]


def test_violation_as_dict_has_the_event_fields() -> None:
    violation = Violation("export_removed", "add", "(a: int)", None, None, "add: gone")
    assert violation.as_dict() == {
        "code": "export_removed",
        "function": "add",
        "expected": "(a: int)",
        "actual": None,
        "line": None,
        "message": "add: gone",
        "type": None,
        "member": None,
    }
