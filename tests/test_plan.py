"""The plan of a save, from source alone: what each statement binds and reads, which statements
a new version must run, and the order of a batch. No code runs here."""

from __future__ import annotations

import ast
import copy
import random
import textwrap
from difflib import SequenceMatcher
from pathlib import Path

import pytest

import hotreload
from hotreload.engine.codeswap import index_code
from hotreload.engine.importorder import import_order, merged, statement_imports
from hotreload.engine.plan import Plan, _text_changes, plan, same_shape, same_tree, shape_key
from hotreload.engine.scope import statement_scope
from hotreload.engine.statements import Analysis, Reading, analyse


def scope_of(source: str) -> tuple[set[str], set[str], set[str], bool]:
    (node,) = ast.parse(textwrap.dedent(source)).body
    found = statement_scope(node)
    return set(found.binds), set(found.reads), set(found.calls), found.dynamic


@pytest.mark.parametrize(
    ("source", "binds", "reads", "calls"),
    [
        ("X = f(Y)", {"X"}, {"f", "Y"}, {"f"}),
        ("def f(a=DEFAULT) -> T:\n    return BODY", {"f"}, {"DEFAULT", "T"}, set()),
        ("@app.get('/x')\ndef f():\n    pass", {"f"}, {"app"}, set()),
        ("@register\ndef f():\n    pass", {"f"}, {"register"}, {"register"}),
        (
            "class C(Base):\n    x = LIMIT\n    def m(self):\n        return BODY",
            {"C"},
            {"Base", "LIMIT"},
            set(),
        ),
        ("SQUARES = [k * k for k in RANGE]", {"SQUARES"}, {"RANGE"}, set()),
        (
            "try:\n    import fast\nexcept ImportError as err:\n    fast = None",
            {"fast", "err"},
            {"ImportError"},
            set(),
        ),
        ("del TEMP", {"TEMP"}, {"TEMP"}, set()),
        ("history.append(1)", set(), {"history"}, set()),
        (
            "KEY = sorted(ROWS, key=lambda r: r.id + OFFSET)",
            {"KEY"},
            {"sorted", "ROWS", "OFFSET"},
            {"sorted"},
        ),
    ],
    ids=[
        "call",
        "def",
        "route_decorator",
        "decorator_call",
        "class_body",
        "comprehension",
        "try_except",
        "del",
        "method_call",
        "lambda",
    ],
)
def test_what_a_statement_binds_reads_and_calls_at_import_time(
    source: str, binds: set[str], reads: set[str], calls: set[str]
) -> None:
    assert scope_of(source)[:3] == (binds, reads, calls)


@pytest.mark.parametrize("source", ["globals()['A'] = 1", "exec('A = 1')"])
def test_a_statement_that_reaches_names_the_source_does_not_show_is_dynamic(source: str) -> None:
    assert scope_of(source)[3] is True


def test_a_star_import_names_its_module_and_dotted_reads_are_recorded() -> None:
    scope = statement_scope(ast.parse("from .more import *").body[0])
    assert (scope.star, scope.dynamic) == ((".more",), False)
    scope = statement_scope(ast.parse("DEADLINE = cfg.limits.TIMEOUT * 2 + cfg.get()").body[0])
    assert {"cfg.limits.TIMEOUT", "cfg.limits", "cfg.get"} <= scope.attributes
    assert scope.attribute_calls == {"cfg.get"}


def decide(
    old: str, new: str, *, keep: tuple[str, ...] = (), live: set[str] | None = None
) -> tuple[Plan, list[str]]:
    """The plan for going from ``old`` to ``new``, and the first lines of the statements it runs."""
    old_text, new_text = textwrap.dedent(old), textwrap.dedent(new)
    reading = Reading("m", Path("m.py"), exports=(), keep_nodes=False)
    before, after = analyse(old_text, reading), analyse(new_text, reading)
    assert isinstance(before, Analysis) and isinstance(after, Analysis)
    names = live if live is not None else {n for s in before.statements for n in s.scope.binds}
    result = plan(before, after, live_names=names, keep=keep)
    return result, [after.statements[i].text.splitlines()[0] for i in sorted(result.run)]


BASE = """
    import time

    def _load():
        return 1

    MODEL = _load()

    def predict(x):
        return x + MODEL
    """


def test_a_body_edit_plans_a_code_swap_only() -> None:
    result, ran = decide(BASE, BASE.replace("return x + MODEL", "return x * MODEL"))
    assert (result.kind, ran) == ("code", [])
    assert len(result.edited) == 1


def test_comments_and_blank_lines_change_nothing_that_runs() -> None:
    result, ran = decide(BASE, BASE.replace("import time", "import time  # clock\n\n"))
    assert (result.kind, ran) == ("code", [])


def test_editing_a_function_called_at_import_runs_its_callers() -> None:
    result, ran = decide(BASE, BASE.replace("return 1", "return 2"))
    assert (result.kind, ran) == ("statements", ["MODEL = _load()"])


def test_a_function_reached_from_an_import_time_call_counts_too() -> None:
    old = """
        def _read():
            return 1

        def _load():
            return _read() + 1

        MODEL = _load()
        """
    _, ran = decide(old, old.replace("return 1", "return 5"))
    assert ran == ["MODEL = _load()"]


def test_a_new_statement_runs_and_a_removed_one_rebinds_what_it_shadowed() -> None:
    old = "X = 1\nX = 2\n"
    _, ran = decide(old, "X = 1\n")
    assert ran == ["X = 1"]
    _, ran = decide("X = 1\n", "X = 1\nY = X + 1\n")
    assert ran == ["Y = X + 1"]


def test_a_statement_that_needs_a_deleted_temporary_runs_its_binding_too() -> None:
    old = "_rows = [1, 2]\nTABLE = sum(_rows)\ndel _rows\n"
    new = "_rows = [1, 2]\nTABLE = sum(_rows) * 2\ndel _rows\n"
    _, ran = decide(old, new, live={"TABLE"})
    # ... and the `del` after it: the temporary is gone again, as at a fresh start.
    assert ran == ["_rows = [1, 2]", "TABLE = sum(_rows) * 2", "del _rows"]


def test_a_binder_that_runs_again_runs_the_later_binders_of_its_name() -> None:
    """A name keeps its last binder's value: an `@overload` that runs again (it reads a class
    made again) runs the implementation below it too."""
    head = "from typing import overload\n\n"
    tail = "@overload\ndef f(x: K) -> K: ...\n\ndef f(x):\n    return x\n"
    _, ran = decide(
        head + "class K:\n    pass\n\n" + tail, head + "class K(int):\n    pass\n\n" + tail
    )
    assert ran[-1] == "def f(x):"


def test_a_keep_statement_never_runs() -> None:
    result, ran = decide("POOL = []\n", "POOL = [1]\n", keep=("POOL",))
    assert (result.kind, ran) == ("code", [])
    assert result.never == frozenset({0})


def test_a_wrapper_edit_does_not_decorate_again_but_a_decorator_edit_does() -> None:
    old = """
        def deco(f):
            REGISTRY.append(f)
            def wrapper():
                return f()
            return wrapper

        @deco
        def handler():
            pass
        """
    result, ran = decide(old, old.replace("return f()", "return f() or 1"))
    assert (result.kind, ran) == ("code", [])
    result, ran = decide(old, old.replace("REGISTRY.append(f)", "REGISTRY.insert(0, f)"))
    assert ran == ["@deco"]


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("X = 1\n", "from __future__ import annotations\nX = 1\n", "from __future__"),
        ("X = 1\n", "X = 1\nglobals()['Y'] = 2\n", "globals()"),
    ],
    ids=["future_import", "globals_write"],
)
def test_where_a_statement_diff_cannot_be_trusted_the_module_runs(
    old: str, new: str, why: str
) -> None:
    result, _ = decide(old, new)
    assert result.kind == "module"
    assert result.why is not None and (why in result.why or "globals()" in result.why)


def test_code_objects_pair_by_name_and_order_when_definitions_move() -> None:
    old = compile("def a():\n    pass\n\ndef b():\n    pass\n", "m.py", "exec")
    new = compile("\n\n\ndef b():\n    return 1\n\ndef a():\n    pass\n", "m.py", "exec")
    before, after = index_code([old]), index_code([new])
    old_b = before.by_key[("b", 0)]
    assert before.key_of(old_b) == ("b", 0)
    assert after.by_key[("b", 0)].co_firstlineno == 4


def test_imports_resolve_relative_names_and_skip_type_checking() -> None:
    tree = ast.parse(
        "from . import util\nfrom .util import helper\nimport os.path\n"
        "if TYPE_CHECKING:\n    import heavy\n"
        "def f():\n    import lazy\n"
    )
    found = merged(statement_imports(node, "pkg") for node in tree.body)
    assert {"pkg", "pkg.util", "os", "os.path"} <= found.modules
    assert "heavy" not in found.modules and "lazy" not in found.modules
    assert found.names["pkg.util"] == {"helper"}


def test_a_batch_orders_importers_after_what_they_import_and_keeps_cycles_together() -> None:
    imports = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"b"})}
    assert import_order(["a", "b", "c", "d"], imports) == [["b", "c"], ["a"], ["d"]]
    assert import_order(["x", "y"], {}) == [["x"], ["y"]]


def test_statements_are_paired_as_difflib_pairs_them() -> None:
    """`plan.match` compares only the stretch between the first and the last changed statement
    where every text of each side is different: random edits of such lists (and of lists with
    repeated texts, which take difflib whole) give exactly difflib's opcodes."""
    rng = random.Random(19)
    for _ in range(3000):
        pool = [f"s{i}" for i in range(rng.randint(1, 30))]
        old = rng.sample(pool, min(rng.randint(0, 12), len(pool)))
        new = list(old)
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(["insert", "delete", "replace", "swap", "move"])
            if kind == "insert":
                new.insert(rng.randint(0, len(new)), rng.choice([*pool, "x"]))
            elif kind == "delete" and new:
                del new[rng.randrange(len(new))]
            elif kind == "replace" and new:
                new[rng.randrange(len(new))] = rng.choice([*pool, "z"])
            elif kind == "swap" and len(new) > 1:
                i = rng.randrange(len(new) - 1)
                new[i], new[i + 1] = new[i + 1], new[i]
            elif kind == "move" and new:
                new.insert(rng.randint(0, len(new) - 1), new.pop(rng.randrange(len(new))))
        expected = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        assert _text_changes(old, new) == expected, (old, new)


def test_trees_compare_as_their_dumps_compare() -> None:
    """`same_tree` and `same_shape` stand for comparing `ast.dump` and `shape_key` strings:
    statements of hotreload's own modules, against each other and against copies with a
    constant or a name changed (constants as the dump writes them: 1, 1.0 and True differ)."""
    rng = random.Random(7)
    nodes: list[ast.stmt] = []
    for path in sorted(Path(hotreload.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes += [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    for _ in range(5000):
        a = rng.choice(nodes)
        b = rng.choice(nodes) if rng.random() < 0.3 else copy.deepcopy(a)
        for node in ast.walk(b):
            if isinstance(node, ast.Constant) and rng.random() < 0.2:
                node.value = rng.choice([1, 1.0, True, "s", None, -0.0, 0.0])
                break
            if isinstance(node, ast.Name) and rng.random() < 0.1:
                node.id = "renamed"
                break
        assert same_tree(a, b) == (ast.dump(a) == ast.dump(b))
        assert same_shape(a, b) == (shape_key(a) == shape_key(b))
