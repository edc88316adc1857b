"""The corpus of issue 21: small projects, each with a probe and the edits tried on it.

A case is a few files, the modules the host imports (by default the first file's), and a probe:
Python expressions over the modules (``m`` is the main module, every top-level project module is
there by its name). An edit is one save (or a few, each compared) in a live host of its own;
besides the probe, the harness compares a fingerprint of every project module (freshprobe.py).

``fails=`` says what today's engine does differently (a strict xfail); ``reject=`` marks an edit a
fresh process could not import (or the contract refuses): a rejection with one of those reasons, or
``reload.restart_needed``, is right for it. Groups: ``works`` guards what must keep working;
``c1`` to ``c11`` are the issue's eleven cases (``c5``, the contract, is in cases_contract.py for
what a live save shows, and in tests/test_cli.py for `check` against `up`).
"""

# ruff: noqa: E501  (the corpus is data: one edit, one reason a line reads better than wrapped strings)
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from freshharness import Case, Edit


def _text(source: str | None) -> str | None:
    return None if source is None else textwrap.dedent(source).lstrip("\n")


def D(source: str) -> str:
    """A module's text written indented in this file: dedented, without the first newline."""
    return _text(source) or ""


def tree(files: Mapping[str, str]) -> dict[str, str]:
    return {path: D(text) for path, text in files.items()}


def sub(source: str, old: str, new: str) -> str:
    """``source`` (dedented) with ``old`` replaced by ``new`` (both as written), which must occur
    exactly once."""
    text = _text(source) or ""
    assert text.count(old) == 1, f"{old!r} is not once in {text!r}"
    return text.replace(old, new)


def edit(
    name: str,
    files: Mapping[str, str | None],
    *then: Mapping[str, str | None],
    reject: tuple[str, ...] = (),
    fails: str | None = None,
) -> Edit:
    """One edit: ``files`` is the first save, ``then`` the saves after it (each compared)."""
    saves = tuple({k: _text(v) for k, v in s.items()} for s in (files, *then))
    return Edit(name, saves, reject, fails)


def case(
    group: str,
    name: str,
    files: Mapping[str, str],
    probe: Sequence[str],
    *edits: Edit,
    imports: Sequence[str] = (),
    manifest_modules: Sequence[str] = (),
    manifest: str = "",
    kept: Sequence[str] = (),
    setup: Sequence[str] = (),
    main: str | None = None,
) -> Case:
    texts = {k: _text(v) or "" for k, v in files.items()}
    if not imports and not manifest_modules:
        imports = [
            next(iter(files)).removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        ]
    return Case(
        group,
        name,
        texts,
        tuple(probe),
        edits,
        tuple(imports),
        main,
        _text(manifest) or "",
        tuple(manifest_modules),
        tuple(kept),
        tuple(setup),
    )


CASES: list[Case] = []

# =============================================================================================
# works: what a save does today and must keep doing (each equal to a fresh start)
# =============================================================================================

CALC = D("""
    RATE = 2
    history = []


    def add(a: int, b: int) -> int:
        return a + b


    def scaled(x):
        return x * RATE


    def record(x):
        history.append(x)
        return len(history)
""")
CALC_MANIFEST = D("""
    [modules.calc]
    keep = ["history"]
    [modules.calc.exports]
    add = "(a: int, b: int) -> int"
""")
CASES.append(
    case(
        "works",
        "calc",
        {"calc.py": CALC},
        ["m.add(2, 3)", "m.scaled(5)", "m.RATE", "len(m.history)"],
        edit("body", {"calc.py": sub(CALC, "return a + b", "return a + b + 100")}),
        edit(
            "body_local_var",
            {"calc.py": sub(CALC, "return x * RATE", "y = x\n    return y * RATE")},
        ),
        edit("constant", {"calc.py": sub(CALC, "RATE = 2", "RATE = 3")}),
        edit("new_function", {"calc.py": CALC + "\n\ndef cube(x):\n    return x ** 3\n"}),
        edit("new_constant", {"calc.py": sub(CALC, "RATE = 2", "RATE = 2\nLIMIT = 10")}),
        edit("comment", {"calc.py": sub(CALC, "RATE = 2", "RATE = 2  # the rate")}),
        edit(
            "docstring_of_function",
            {"calc.py": sub(CALC, "def scaled(x):", 'def scaled(x):\n    """x scaled."""')},
        ),
        edit("same_bytes", {"calc.py": CALC}),
        edit(
            "import_added",
            {
                "calc.py": "import math\n"
                + sub(CALC, "return x * RATE", "return math.floor(x * RATE)")
            },
        ),
        edit(
            "helper_added_and_used",
            {
                "calc.py": sub(CALC, "return x * RATE", "return _twice(x) // 2 * RATE")
                + "\n\ndef _twice(x):\n    return 2 * x\n"
            },
        ),
        edit(
            "two_saves",
            {"calc.py": sub(CALC, "RATE = 2", "RATE = 5")},
            {"calc.py": sub(CALC, "RATE = 2", "RATE = 7")},
        ),
        edit(
            "export_parameter_added",
            {"calc.py": sub(CALC, "def add(a: int, b: int)", "def add(a: int, b: int, c: int)")},
            reject=("parameters_changed",),
        ),
        edit(
            "export_removed",
            {"calc.py": sub(CALC, "def add(a: int, b: int) -> int:\n    return a + b\n", "")},
            reject=("export_removed",),
        ),
        edit(
            "syntax_error",
            {"calc.py": sub(CALC, "return a + b", "return a +")},
            reject=("syntax_error",),
        ),
        edit(
            "module_code_raises",
            {"calc.py": sub(CALC, "RATE = 2", "RATE = 1 / 0")},
            reject=("exec_error",),
        ),
        edit(
            "missing_import",
            {"calc.py": "import no_such_module_anywhere\n" + CALC},
            reject=("exec_error", "import_would_fail"),
        ),
        manifest=CALC_MANIFEST,
        manifest_modules=["calc"],
        kept=["calc:history"],
        setup=["m.record(1)", "m.record(2)"],
    )
)

KEEP = D("""
    import itertools

    _ids = itertools.count(1)
    CACHE = {}
    LABEL = "v1"


    def remember(key):
        CACHE[key] = next(_ids)
        return CACHE[key]


    def label():
        return LABEL
""")
CASES.append(
    case(
        "works",
        "keep_state",
        {"store.py": KEEP},
        ["m.label()", "sorted(m.CACHE.items())", "m.LABEL"],
        edit("label_constant", {"store.py": sub(KEEP, 'LABEL = "v1"', 'LABEL = "v2"')}),
        edit("body", {"store.py": sub(KEEP, "return LABEL", "return LABEL.upper()")}),
        edit("kept_statement_edited", {"store.py": sub(KEEP, "CACHE = {}", "CACHE = dict()")}),
        manifest='[modules.store]\nkeep = ["CACHE", "_ids"]\n',
        manifest_modules=["store"],
        kept=["store:CACHE", "store:_ids"],
        setup=["m.remember('a')", "m.remember('b')"],
    )
)

SHAPES = D("""
    import functools
    from dataclasses import dataclass
    from enum import Enum


    class Color(Enum):
        RED = 1
        GREEN = 2

        def label(self):
            return self.name.lower()


    @dataclass
    class Point:
        x: int = 0
        y: int = 0

        def norm1(self):
            return abs(self.x) + abs(self.y)


    class Counter:
        step = 1

        def __init__(self, start=0):
            self.value = start

        def inc(self):
            self.value += self.step
            return self.value

        @property
        def double(self):
            return self.value * 2

        @staticmethod
        def zero():
            return 0

        @classmethod
        def make(cls):
            return cls(10)


    def traced(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return ("traced", fn(*args))

        return wrapper


    @traced
    def area(w, h):
        return w * h


    @functools.lru_cache(maxsize=None)
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)


    def make_adder(n):
        def adder(x):
            return x + n

        return adder


    def gen(n):
        yield from range(n)


    async def fetch(x):
        return x * 3


    COUNTER = Counter(5)
""")
CASES.append(
    case(
        "works",
        "shapes",
        {"shapes.py": SHAPES},
        [
            "m.Color.RED.label()",
            "m.Point(3, -4).norm1()",
            "m.Counter(1).inc()",
            "m.Counter(2).double",
            "m.Counter.zero()",
            "m.Counter.make().value",
            "m.COUNTER.double",
            "m.area(2, 3)",
            "m.fib(10)",
            "m.make_adder(2)(5)",
            "list(m.gen(3))",
            "__import__('asyncio').run(m.fetch(2))",
        ],
        edit(
            "enum_method_body",
            {"shapes.py": sub(SHAPES, "return self.name.lower()", "return self.name.title()")},
        ),
        edit(
            "dataclass_method_body",
            {
                "shapes.py": sub(
                    SHAPES,
                    "return abs(self.x) + abs(self.y)",
                    "return max(abs(self.x), abs(self.y))",
                )
            },
        ),
        edit(
            "method_body",
            {"shapes.py": sub(SHAPES, "self.value += self.step", "self.value += self.step * 10")},
        ),
        edit(
            "property_body",
            {"shapes.py": sub(SHAPES, "return self.value * 2", "return self.value * 3")},
        ),
        edit("staticmethod_body", {"shapes.py": sub(SHAPES, "return 0\n", "return -1\n")}),
        edit("classmethod_body", {"shapes.py": sub(SHAPES, "return cls(10)", "return cls(20)")}),
        edit(
            "new_method",
            {
                "shapes.py": sub(
                    SHAPES,
                    "    @property\n",
                    "    def reset(self):\n        self.value = 0\n\n    @property\n",
                )
            },
        ),
        edit("decorated_body", {"shapes.py": sub(SHAPES, "return w * h", "return w * h * 2")}),
        edit(
            "decorator_body",
            {
                "shapes.py": sub(
                    SHAPES, 'return ("traced", fn(*args))', 'return ("TRACED", fn(*args))'
                )
            },
        ),
        edit(
            "lru_cache_body",
            {"shapes.py": sub(SHAPES, "return n if n < 2 else", "return n if n < 3 else")},
        ),
        edit("closure_body", {"shapes.py": sub(SHAPES, "return x + n", "return x + n * 100")}),
        edit(
            "generator_body",
            {"shapes.py": sub(SHAPES, "yield from range(n)", "yield from range(n, 0, -1)")},
        ),
        edit("async_body", {"shapes.py": sub(SHAPES, "return x * 3", "return x * 4")}),
        edit("class_attribute", {"shapes.py": sub(SHAPES, "step = 1", "step = 2")}),
        edit(
            "enum_member_added",
            {"shapes.py": sub(SHAPES, "GREEN = 2\n", "GREEN = 2\n    BLUE = 3\n")},
        ),
        edit("string_literal", {"shapes.py": sub(SHAPES, '"traced"', '"logged"')}),
        setup=["m.fib(12)"],
    )
)

APP_UTIL = tree(
    {
        "app.py": """
        from util import clamp


        def handle(x):
            return clamp(x, 0, 10)
    """,
        "util.py": """
        def clamp(x, lo, hi):
            return max(lo, min(hi, x))
    """,
    }
)
CASES.append(
    case(
        "works",
        "two_modules",
        APP_UTIL,
        ["m.handle(42)", "m.handle(-3)", "m.clamp is sys.modules['util'].clamp"],
        edit(
            "helper_body",
            {"util.py": sub(APP_UTIL["util.py"], "max(lo, min(hi, x))", "max(lo, min(hi, x)) * 2")},
        ),
        edit(
            "name_added_and_used_together",
            {
                "util.py": APP_UTIL["util.py"] + "\n\ndef double(x):\n    return 2 * x\n",
                "app.py": "from util import clamp, double\n\n\ndef handle(x):\n    return double(clamp(x, 0, 10))\n",
            },
        ),
        edit(
            "new_module_imported",
            {
                "app.py": "from util import clamp\nfrom extra import bonus\n\n\ndef handle(x):\n    return clamp(x, 0, 10) + bonus()\n",
                "extra.py": "def bonus():\n    return 1000\n",
            },
        ),
        edit(
            "helper_renamed_with_caller",
            {
                "util.py": sub(APP_UTIL["util.py"], "def clamp", "def clip"),
                "app.py": APP_UTIL["app.py"].replace("clamp", "clip"),
            },
        ),
        edit(
            "caller_local_import",
            {"app.py": "def handle(x):\n    from util import clamp\n\n    return clamp(x, 1, 5)\n"},
        ),
    )
)

FROM_IMPORT = tree(
    {
        "app.py": """
        from cfg import TIMEOUT

        DEADLINE = TIMEOUT * 2


        def deadline():
            return TIMEOUT * 2
    """,
        "cfg.py": "TIMEOUT = 5\n",
    }
)
CASES.append(
    case(
        "works",
        "from_import_followed",
        FROM_IMPORT,
        ["m.DEADLINE", "m.deadline()", "m.TIMEOUT"],
        edit("constant", {"cfg.py": "TIMEOUT = 7\n"}),
        edit("constant_and_new_name", {"cfg.py": "TIMEOUT = 9\nRETRIES = 3\n"}),
    )
)

IN_MODULE = D("""
    ROWS = [("b", 2), ("a", 3), ("c", 1)]
    SCALE = 10


    def _load():
        return {name: qty * SCALE for name, qty in ROWS}


    def _inner(x):
        return x + 1


    def _outer():
        return _inner(41)


    MODEL = _load()
    ANSWER = _outer()
    TOTAL = sum(MODEL.values())
""")
CASES.append(
    case(
        "works",
        "import_time_calls",
        {"model.py": IN_MODULE},
        ["m.MODEL", "m.ANSWER", "m.TOTAL"],
        edit(
            "called_function_body", {"model.py": sub(IN_MODULE, "qty * SCALE", "qty * SCALE + 1")}
        ),
        edit(
            "callee_of_called_function",
            {"model.py": sub(IN_MODULE, "return x + 1", "return x + 2")},
        ),
        edit(
            "later_statement",
            {
                "model.py": sub(
                    IN_MODULE, "TOTAL = sum(MODEL.values())", "TOTAL = max(MODEL.values())"
                )
            },
        ),
    )
)


MISC = D("""
    from typing import NamedTuple

    COUNT = 0
    __all__ = ["bump", "Pair", "Outer"]


    def bump():
        global COUNT
        COUNT += 1
        return COUNT


    class Pair(NamedTuple):
        a: int
        b: int

        def total(self):
            return self.a + self.b


    class Outer:
        class Inner:
            def name(self):
                return "inner"

        def __init__(self):
            self._v = 1

        @property
        def v(self):
            return self._v

        @v.setter
        def v(self, value):
            self._v = value

        def __repr__(self):
            return f"Outer({self._v})"


    def set_v(x):
        o = Outer()
        o.v = x
        return o.v


    if __name__ == "__main__":
        print("main")
""")
CASES.append(
    case(
        "works",
        "misc_bodies",
        {"misc.py": MISC},
        [
            "m.Pair(1, 2).total()",
            "m.Outer.Inner().name()",
            "m.set_v(5)",
            "repr(m.Outer())",
            "m.__all__",
        ],
        edit(
            "namedtuple_method",
            {"misc.py": sub(MISC, "return self.a + self.b", "return self.a * self.b")},
        ),
        edit("nested_class_method", {"misc.py": sub(MISC, 'return "inner"', 'return "INNER"')}),
        edit("property_setter", {"misc.py": sub(MISC, "self._v = value", "self._v = value * 10")}),
        edit("repr_body", {"misc.py": sub(MISC, 'f"Outer({self._v})"', 'f"<Outer {self._v}>"')}),
        edit("global_statement_body", {"misc.py": sub(MISC, "COUNT += 1", "COUNT += 2")}),
        edit("all_edited", {"misc.py": sub(MISC, '"Outer"]', '"Outer", "set_v"]')}),
        edit("main_block", {"misc.py": sub(MISC, 'print("main")', 'print("main!")')}),
        edit(
            "annotation_only", {"misc.py": sub(MISC, "def set_v(x):", "def set_v(x: int) -> int:")}
        ),
    )
)

EXPORTS = D("""
    import functools


    @functools.lru_cache(maxsize=None)
    def square(n: int) -> int:
        return n * n


    async def fetch(n: int) -> int:
        return n + 1


    def describe(n: int) -> str:
        return f"n={n}"
""")
CASES.append(
    case(
        "works",
        "manifest_exports",
        {"api.py": EXPORTS},
        ["m.square(4)", "__import__('asyncio').run(m.fetch(1))", "m.describe(2)"],
        edit("cached_export_body", {"api.py": sub(EXPORTS, "return n * n", "return n * n + 1")}),
        edit("async_export_body", {"api.py": sub(EXPORTS, "return n + 1", "return n + 2")}),
        edit("export_body", {"api.py": sub(EXPORTS, 'f"n={n}"', 'f"N={n}"')}),
        edit(
            "return_type_changed",
            {
                "api.py": sub(
                    EXPORTS, "def describe(n: int) -> str:", "def describe(n: int) -> bytes:"
                )
            },
            reject=("return_type_changed",),
        ),
        edit(
            "async_changed",
            {"api.py": sub(EXPORTS, "async def fetch", "def fetch")},
            reject=("async_changed",),
        ),
        edit(
            "export_rebound",
            {"api.py": EXPORTS + "\n\ndescribe = str\n"},
            reject=("export_replaced",),
        ),
        manifest="""
            [modules.api.exports]
            square = "(n: int) -> int"
            fetch = "async (n: int) -> int"
            describe = "(n: int) -> str"
        """,
        manifest_modules=["api"],
        setup=["m.square(4)"],
    )
)

HANDLER_TABLE = tree(
    {
        "app.py": """
        import helpers

        HANDLERS = {f.__name__: f for f in (helpers.alpha, helpers.beta)}


        def run(name):
            return HANDLERS[name]()
    """,
        "helpers.py": """
        def alpha():
            return "a"


        def beta():
            return "b"
    """,
    }
)
CASES.append(
    case(
        "works",
        "functions_held_by_another_module",
        HANDLER_TABLE,
        ["m.run('alpha')", "m.run('beta')", "m.HANDLERS['alpha'] is sys.modules['helpers'].alpha"],
        edit(
            "held_function_body",
            {"helpers.py": sub(HANDLER_TABLE["helpers.py"], 'return "a"', 'return "A"')},
        ),
        edit(
            "other_function_added",
            {"helpers.py": HANDLER_TABLE["helpers.py"] + '\n\ndef gamma():\n    return "g"\n'},
        ),
    )
)

# =============================================================================================
# c1: values computed at import from what changed
# =============================================================================================

CASES.append(
    case(
        "c1",
        "import_time_call_reads_global",
        {"model.py": IN_MODULE},
        ["m.MODEL", "m.ANSWER", "m.TOTAL"],
        edit(
            "constant_read_by_called_function",
            {"model.py": sub(IN_MODULE, "SCALE = 10", "SCALE = 100")},
        ),
        edit(
            "data_read_by_called_function",
            {"model.py": sub(IN_MODULE, '("c", 1)]', '("c", 1), ("d", 4)]')},
        ),
    )
)

ATTR = tree(
    {
        "app.py": """
        import cfg

        DEADLINE = cfg.TIMEOUT * 2
        LIMIT = cfg.limit()


        def deadline():
            return cfg.TIMEOUT * 2


        def retry(n=cfg.RETRIES):
            return n
    """,
        "cfg.py": """
        TIMEOUT = 5
        RETRIES = 3


        def limit():
            return 100
    """,
    }
)
CASES.append(
    case(
        "c1",
        "plain_import_attribute",
        ATTR,
        ["m.DEADLINE", "m.deadline()", "m.LIMIT", "m.retry()"],
        edit(
            "constant_read_by_attribute",
            {"cfg.py": sub(ATTR["cfg.py"], "TIMEOUT = 5", "TIMEOUT = 7")},
        ),
        edit(
            "function_called_by_attribute",
            {"cfg.py": sub(ATTR["cfg.py"], "return 100", "return 250")},
        ),
        edit(
            "default_argument_by_attribute",
            {"cfg.py": sub(ATTR["cfg.py"], "RETRIES = 3", "RETRIES = 4")},
        ),
        edit(
            "function_not_called_at_import",
            {"app.py": sub(ATTR["app.py"], "return cfg.TIMEOUT * 2", "return cfg.TIMEOUT * 3")},
        ),
    )
)

CHAIN = tree(
    {
        "c.py": "import b\n\nZ = b.Y + 1\n",
        "b.py": "import a\n\nY = a.X + 1\n",
        "a.py": "X = 1\n",
    }
)
CASES.append(
    case(
        "c1",
        "chain_of_attribute_reads",
        CHAIN,
        ["m.Z", "sys.modules['b'].Y"],
        edit(
            "first_link",
            {"a.py": "X = 10\n"},
        ),
        edit(
            "middle_link",
            {"b.py": "import a\n\nY = a.X + 5\n"},
        ),
    )
)

FROM_FN = tree(
    {
        "app.py": """
        from helpers import load
        import helpers

        MODEL = load()
        SIZE = helpers.size()
    """,
        "helpers.py": """
        def load():
            return {"weights": [1, 2]}


        def size():
            return 2
    """,
    }
)
CASES.append(
    case(
        "c1",
        "import_time_call_into_other_module",
        FROM_FN,
        ["m.MODEL", "m.SIZE"],
        edit(
            "from_imported_function_body",
            {"helpers.py": sub(FROM_FN["helpers.py"], "[1, 2]", "[1, 2, 3]")},
        ),
        edit(
            "attribute_function_body",
            {"helpers.py": sub(FROM_FN["helpers.py"], "return 2", "return 3")},
        ),
    )
)

STAR = tree(
    {
        "app.py": """
        from prices import *

        TOTAL = BASE + TAX
    """,
        "prices.py": """
        BASE = 100
        TAX = 20


        def net(x):
            return x - TAX
    """,
    }
)
CASES.append(
    case(
        "c1",
        "star_import",
        STAR,
        ["m.TOTAL", "m.net(50)", "sorted(n for n in vars(m) if not n.startswith('_'))"],
        edit(
            "constant",
            {"prices.py": sub(STAR["prices.py"], "BASE = 100", "BASE = 200")},
        ),
        edit(
            "name_added",
            {"prices.py": STAR["prices.py"] + "\n\nSHIPPING = 5\n"},
        ),
        edit(
            "name_removed",
            {"prices.py": sub(STAR["prices.py"], "\n\ndef net(x):\n    return x - TAX\n", "")},
        ),
        edit(
            "function_body",
            {"prices.py": sub(STAR["prices.py"], "return x - TAX", "return x - 2 * TAX")},
        ),
    )
)

MUTATE = D("""
    SETTINGS = {"page_size": 10, "theme": "light"}
    SETTINGS["page_size"] = 25
    ITEMS = [1, 2]
    ITEMS.append(3)
    FLAGS = set()
    FLAGS.update({"a", "b"})
    PAGE = SETTINGS["page_size"]
""")
CASES.append(
    case(
        "c1",
        "mutating_statements",
        {"settings.py": MUTATE},
        ["m.SETTINGS", "m.ITEMS", "m.FLAGS", "m.PAGE"],
        edit(
            "subscript_assignment",
            {
                "settings.py": sub(
                    MUTATE, 'SETTINGS["page_size"] = 25', 'SETTINGS["page_size"] = 30'
                )
            },
        ),
        edit(
            "append_changed",
            {"settings.py": sub(MUTATE, "ITEMS.append(3)", "ITEMS.append(4)")},
        ),
        edit(
            "mutation_removed",
            {"settings.py": sub(MUTATE, "ITEMS.append(3)\n", "")},
        ),
        edit(
            "literal_of_mutated_value",
            {"settings.py": sub(MUTATE, '"theme": "light"', '"theme": "dark"')},
        ),
        edit(
            "update_changed",
            {"settings.py": sub(MUTATE, 'FLAGS.update({"a", "b"})', 'FLAGS.update({"c"})')},
        ),
    )
)

KEYFN = D("""
    ROWS = [("pear", 3), ("apple", 7), ("fig", 1)]


    def _by_stock(row):
        return row[1]


    def _double(x):
        return x * 2


    TABLE = sorted(ROWS, key=_by_stock)
    DOUBLED = list(map(_double, [1, 2, 3]))
    BEST = max(ROWS, key=_by_stock)
""")
CASES.append(
    case(
        "c1",
        "function_passed_not_called",
        {"table.py": KEYFN},
        ["m.TABLE", "m.DOUBLED", "m.BEST"],
        edit(
            "sort_key_body",
            {"table.py": sub(KEYFN, "return row[1]", "return -row[1]")},
        ),
        edit(
            "map_function_body",
            {"table.py": sub(KEYFN, "return x * 2", "return x * 3")},
        ),
    )
)

LAMBDAS = D("""
    SCALE = lambda x: x * 2
    KEY = lambda row: row[0]
    RESULT = SCALE(3)
    ORDER = sorted([(2, "b"), (1, "a")], key=KEY)
""")
CASES.append(
    case(
        "c1",
        "module_level_lambda",
        {"lam.py": LAMBDAS},
        ["m.SCALE(10)", "m.RESULT", "m.ORDER"],
        edit(
            "lambda_called",
            {"lam.py": sub(LAMBDAS, "lambda x: x * 2", "lambda x: x * 5")},
        ),
        edit("lambda_as_key", {"lam.py": sub(LAMBDAS, "lambda row: row[0]", "lambda row: row[1]")}),
    )
)

LRU = tree(
    {
        "app.py": """
        import rates

        PRICE = rates.rate("eur") * 10


        def price():
            return rates.rate("eur") * 10
    """,
        "rates.py": """
        import functools


        @functools.lru_cache(maxsize=None)
        def rate(currency):
            return 2
    """,
    }
)
CASES.append(
    case(
        "c1",
        "lru_cache_in_other_module",
        LRU,
        ["m.price()", "m.PRICE", "sys.modules['rates'].rate('eur')"],
        edit(
            "cached_body",
            {"rates.py": sub(LRU["rates.py"], "return 2", "return 3")},
        ),
    )
)

ENUMS = tree(
    {
        "app.py": """
        import colors
        from colors import Color

        DEFAULT = colors.Color.RED
        FAVOURITE = Color.GREEN


        def is_default(c):
            return c is colors.Color.RED
    """,
        "colors.py": """
        from enum import Enum


        class Color(Enum):
            RED = 1
            GREEN = 2
    """,
    }
)
CASES.append(
    case(
        "c1",
        "enum_members",
        ENUMS,
        [
            "m.DEFAULT is sys.modules['colors'].Color.RED",
            "m.FAVOURITE is m.Color.GREEN",
            "m.is_default(m.DEFAULT)",
            "m.Color is sys.modules['colors'].Color",
        ],
        edit(
            "member_added",
            {"colors.py": sub(ENUMS["colors.py"], "GREEN = 2\n", "GREEN = 2\n    BLUE = 3\n")},
        ),
        edit(
            "member_value_changed",
            {"colors.py": sub(ENUMS["colors.py"], "RED = 1", "RED = 10")},
        ),
    )
)

CTOR = D("""
    from dataclasses import dataclass, field


    class Thing:
        def __init__(self, x):
            self.value = x


    @dataclass
    class Box:
        size: int = 1
        tags: list = field(default_factory=list)

        def __post_init__(self):
            self.tags.append("made")


    THING = Thing(3)
    BOX = Box()
""")
CASES.append(
    case(
        "c1",
        "constructor_ran_at_import",
        {"things.py": CTOR},
        ["m.THING.value", "m.BOX", "type(m.THING) is m.Thing"],
        edit(
            "init_body",
            {"things.py": sub(CTOR, "self.value = x", "self.value = x * 2")},
        ),
        edit(
            "post_init_body",
            {"things.py": sub(CTOR, 'self.tags.append("made")', 'self.tags.append("built")')},
        ),
        edit(
            "dataclass_default",
            {"things.py": sub(CTOR, "size: int = 1", "size: int = 5")},
        ),
    )
)

CLASS_READS = tree(
    {
        "app.py": """
        import cfg


        class Settings:
            LIMIT = cfg.LIMIT
            NAMES = tuple(n.upper() for n in cfg.NAMES)


        def repeat(n):
            def deco(fn):
                def run():
                    return [fn() for _ in range(n)]

                return run

            return deco


        @repeat(cfg.TIMES)
        def ping():
            return "ping"
    """,
        "cfg.py": """
        LIMIT = 5
        NAMES = ["a", "b"]
        TIMES = 2
    """,
    }
)
CASES.append(
    case(
        "c1",
        "class_body_and_decorator_args",
        CLASS_READS,
        ["m.Settings.LIMIT", "m.Settings.NAMES", "len(m.ping())"],
        edit(
            "class_body_reads_other_module",
            {"cfg.py": sub(CLASS_READS["cfg.py"], "LIMIT = 5", "LIMIT = 8")},
        ),
        edit(
            "decorator_argument_from_other_module",
            {"cfg.py": sub(CLASS_READS["cfg.py"], "TIMES = 2", "TIMES = 4")},
        ),
    )
)

PKG_ATTR = tree(
    {
        "app.py": """
        import conf.values
        import conf.values as values

        A = conf.values.X + 1
        B = values.X + 2
    """,
        "conf/__init__.py": "",
        "conf/values.py": "X = 1\n",
    }
)
CASES.append(
    case(
        "c1",
        "submodule_attribute",
        PKG_ATTR,
        ["m.A", "m.B"],
        edit(
            "submodule_constant",
            {"conf/values.py": "X = 10\n"},
        ),
    )
)

PARTIAL = D("""
    import functools


    def _power(base, exp):
        return base ** exp


    SQUARE = functools.partial(_power, exp=2)
    NINE = SQUARE(3)
    TABLE = {n: _power(n, 3) for n in (1, 2)}
""")
CASES.append(
    case(
        "c1",
        "partial_and_comprehension",
        {"powers.py": PARTIAL},
        ["m.SQUARE(4)", "m.NINE", "m.TABLE"],
        edit(
            "partial_target_body",
            {"powers.py": sub(PARTIAL, "return base ** exp", "return base ** exp + 1")},
        ),
    )
)


FLAGGED = tree(
    {
        "app.py": """
        import settings

        VERSION = f"{settings.MAJOR}.{settings.MINOR}"

        if settings.DEBUG:

            def log(msg):
                return "debug: " + msg

        else:

            def log(msg):
                return msg
    """,
        "settings.py": """
        MAJOR = 1
        MINOR = 0
        DEBUG = False
    """,
    }
)
CASES.append(
    case(
        "c1",
        "conditional_on_other_module",
        FLAGGED,
        ["m.VERSION", "m.log('x')"],
        edit(
            "flag_flipped",
            {"settings.py": sub(FLAGGED["settings.py"], "DEBUG = False", "DEBUG = True")},
        ),
        edit(
            "version_part",
            {"settings.py": sub(FLAGGED["settings.py"], "MINOR = 0", "MINOR = 1")},
        ),
    )
)

WHOLE_RUN = D("""
    import sys

    MODE = "a"


    def first():
        return 1


    def second():
        return 2


    __all__ = [n for n in dir(sys.modules[__name__]) if not n.startswith("_") and n != "sys"]
""")
CASES.append(
    case(
        "c1",
        "module_listing_at_import",
        {"names.py": WHOLE_RUN},
        ["m.__all__"],
        edit(
            "function_removed",
            {"names.py": sub(WHOLE_RUN, "\n\ndef second():\n    return 2\n", "")},
        ),
        edit("constant", {"names.py": sub(WHOLE_RUN, 'MODE = "a"', 'MODE = "b"')}),
    )
)

# =============================================================================================
# c2: identity
# =============================================================================================

DISPATCH = D("""
    import functools


    @functools.singledispatch
    def show(x):
        return "object"


    @show.register
    def _(x: int):
        return "int"


    @show.register
    def _(x: float):
        return "float"
""")
CASES.append(
    case(
        "c2",
        "singledispatch_underscore",
        {"disp.py": DISPATCH},
        [
            "m.show(1)",
            "m.show(1.5)",
            "m.show('s')",
            "m.show([])",
            "sorted(t.__name__ for t in m.show.registry)",
        ],
        edit(
            "implementation_inserted",
            {
                "disp.py": sub(
                    DISPATCH,
                    "@show.register\ndef _(x: float):",
                    '@show.register\ndef _(x: str):\n    return "str"\n\n\n@show.register\ndef _(x: float):',
                )
            },
        ),
        edit(
            "implementation_removed",
            {
                "disp.py": sub(
                    DISPATCH, '\n\n@show.register\ndef _(x: float):\n    return "float"\n', "\n"
                )
            },
        ),
        edit(
            "first_implementation_body",
            {"disp.py": sub(DISPATCH, 'return "int"', 'return "INT"')},
        ),
        edit(
            "last_implementation_body",
            {"disp.py": sub(DISPATCH, 'return "float"', 'return "FLOAT"')},
        ),
    )
)

BASES = tree(
    {
        "models.py": """
        class Base:
            kind = "base"

            def hello(self):
                return "hello"


        class Child(Base):
            pass


        INSTANCE = Child()
    """,
        "views.py": """
        from models import Base


        class View(Base):
            pass
    """,
        "app.py": """
        import models
        import views
    """,
    }
)
CASES.append(
    case(
        "c2",
        "class_rebound_with_subclasses",
        BASES,
        [
            "isinstance(app.models.Child(), app.models.Base)",
            "issubclass(app.views.View, app.models.Base)",
            "app.views.View().hello()",
            "isinstance(app.models.INSTANCE, app.models.Base)",
            "app.views.Base is app.models.Base",
        ],
        edit(
            "base_gains_a_mixin",
            {
                "models.py": "class Mixin:\n    def extra(self):\n        return 1\n\n\n"
                + sub(BASES["models.py"], "class Base:", "class Base(Mixin):")
            },
        ),
        edit(
            "base_method_body",
            {"models.py": sub(BASES["models.py"], 'return "hello"', 'return "hi"')},
        ),
        edit(
            "base_slots_added",
            {
                "models.py": sub(
                    BASES["models.py"], 'kind = "base"', '__slots__ = ()\n    kind = "base"'
                )
            },
        ),
        imports=["app"],
        main="app",
    )
)

ERRORS = tree(
    {
        "errors.py": """
        class AppError(Exception):
            pass


        class NotFound(AppError):
            pass
    """,
        "service.py": """
        from errors import AppError, NotFound


        def lookup(key):
            raise NotFound(key)


        def safe(key):
            try:
                lookup(key)
            except AppError:
                return "handled"
    """,
    }
)
CASES.append(
    case(
        "c2",
        "except_clause",
        ERRORS,
        [
            "m.safe('k')",
            "issubclass(sys.modules['errors'].NotFound, sys.modules['errors'].AppError)",
            "m.AppError is sys.modules['errors'].AppError",
        ],
        edit(
            "base_of_error_changed",
            {
                "errors.py": sub(
                    ERRORS["errors.py"],
                    "class AppError(Exception):",
                    "class AppError(LookupError):",
                )
            },
        ),
        imports=["service"],
    )
)

PYDANTIC = tree(
    {
        "schema.py": """
        from pydantic import BaseModel


        class Item(BaseModel):
            name: str = "x"
            price: float = 1.0


        class Special(Item):
            flag: bool = False
    """,
    }
)
CASES.append(
    case(
        "c2",
        "pydantic_model",
        PYDANTIC,
        [
            "type(m.Item.model_validate({})) is m.Item",
            "m.Item.model_validate({}).price",
            "m.Item().price",
            "issubclass(m.Special, m.Item)",
            "m.Special.model_validate({}).price",
        ],
        edit(
            "field_default",
            {"schema.py": sub(PYDANTIC["schema.py"], "price: float = 1.0", "price: float = 2.5")},
        ),
        edit(
            "field_added",
            {
                "schema.py": sub(
                    PYDANTIC["schema.py"],
                    "price: float = 1.0",
                    "price: float = 1.0\n    qty: int = 1",
                )
            },
        ),
    )
)

DATACLASS_SUB = tree(
    {
        "shapes.py": """
        from dataclasses import dataclass


        @dataclass
        class Shape:
            name: str = "shape"
    """,
        "circles.py": """
        from dataclasses import dataclass

        from shapes import Shape


        @dataclass
        class Circle(Shape):
            r: float = 1.0


        UNIT = Circle()
    """,
    }
)
CASES.append(
    case(
        "c2",
        "dataclass_subclass_other_module",
        DATACLASS_SUB,
        ["m.Circle()", "issubclass(m.Circle, sys.modules['shapes'].Shape)", "m.UNIT"],
        edit(
            "base_field_added",
            {
                "shapes.py": sub(
                    DATACLASS_SUB["shapes.py"],
                    'name: str = "shape"',
                    'name: str = "shape"\n    color: str = "red"',
                )
            },
        ),
    )
)

INSTANCES = D("""
    class Engine:
        def run(self):
            return "run"


    ENGINE = Engine()
    ENGINES = [Engine(), Engine()]
""")
CASES.append(
    case(
        "c2",
        "instances_of_rebound_class",
        {"engine.py": INSTANCES},
        [
            "type(m.ENGINE) is m.Engine",
            "all(type(e) is m.Engine for e in m.ENGINES)",
            "m.ENGINE.run()",
        ],
        edit(
            "base_added",
            {
                "engine.py": "class Base:\n    pass\n\n\n"
                + sub(INSTANCES, "class Engine:", "class Engine(Base):")
            },
        ),
    )
)

CONDITIONAL = D("""
    FAST = True

    if FAST:

        def mode():
            return "fast"

    else:

        def mode():
            return "slow"
""")
CASES.append(
    case(
        "c2",
        "same_name_in_branches",
        {"modes.py": CONDITIONAL},
        ["m.mode()"],
        edit("flag_flipped", {"modes.py": sub(CONDITIONAL, "FAST = True", "FAST = False")}),
        edit("taken_branch_body", {"modes.py": sub(CONDITIONAL, 'return "fast"', 'return "FAST"')}),
        edit(
            "other_branch_body",
            {"modes.py": sub(CONDITIONAL, 'return "slow"', 'return "SLOW"')},
        ),
    )
)

OVERLOADS = D("""
    from typing import overload


    @overload
    def parse(x: int) -> int: ...
    @overload
    def parse(x: str) -> str: ...
    def parse(x):
        return x * 2
""")
CASES.append(
    case(
        "c2",
        "overloads",
        {"parsing.py": OVERLOADS},
        ["m.parse(2)", "m.parse('a')"],
        edit("implementation_body", {"parsing.py": sub(OVERLOADS, "return x * 2", "return x * 3")}),
    )
)

REGISTRY_DECO = tree(
    {
        "plugins.py": """
        PLUGINS = {}


        def plugin(cls):
            PLUGINS[cls.__name__] = cls
            return cls


        @plugin
        class Csv:
            ext = "csv"


        @plugin
        class Json:
            ext = "json"
    """,
    }
)
CASES.append(
    case(
        "c2",
        "class_decorator_registry",
        REGISTRY_DECO,
        ["m.PLUGINS['Csv'] is m.Csv", "sorted(m.PLUGINS)", "m.PLUGINS['Json'].ext"],
        edit(
            "class_attribute",
            {"plugins.py": sub(REGISTRY_DECO["plugins.py"], 'ext = "json"', 'ext = "js"')},
        ),
        edit(
            "class_removed",
            {
                "plugins.py": sub(
                    REGISTRY_DECO["plugins.py"], '\n\n@plugin\nclass Json:\n    ext = "json"\n', ""
                )
            },
        ),
    )
)


PROTOCOL = tree(
    {
        "models.py": """
        import functools
        from typing import Protocol, runtime_checkable


        @runtime_checkable
        class Closable(Protocol):
            def close(self): ...


        @functools.total_ordering
        class Version:
            def __init__(self, n):
                self.n = n

            def __eq__(self, other):
                return self.n == other.n

            def __lt__(self, other):
                return self.n < other.n
    """,
        "app.py": """
        import models


        class File:
            def close(self):
                return "closed"


        class Newer(models.Version):
            pass


        def check():
            return isinstance(File(), models.Closable), Newer(2) > models.Version(1)
    """,
    }
)
CASES.append(
    case(
        "c2",
        "subclass_by_attribute_in_other_module",
        PROTOCOL,
        ["m.check()", "issubclass(m.Newer, sys.modules['models'].Version)"],
        edit(
            "ordering_body",
            {
                "models.py": sub(
                    PROTOCOL["models.py"],
                    "return self.n < other.n",
                    "return self.n <= other.n and self.n != other.n",
                )
            },
        ),
        edit(
            "base_gains_base",
            {
                "models.py": sub(
                    PROTOCOL["models.py"],
                    "@functools.total_ordering\nclass Version:",
                    "class Base:\n    pass\n\n\n@functools.total_ordering\nclass Version(Base):",
                )
            },
        ),
        edit(
            "protocol_method_added",
            {
                "models.py": sub(
                    PROTOCOL["models.py"],
                    "    def close(self): ...\n",
                    "    def close(self): ...\n\n    def flush(self): ...\n",
                )
            },
        ),
    )
)

# =============================================================================================
# c3: import-time side effects
# =============================================================================================

ATEXIT = D("""
    import atexit

    FLUSHED = []


    def _flush(tag):
        FLUSHED.append(tag)


    atexit.register(_flush, "v1")
""")
CASES.append(
    case(
        "c3",
        "atexit",
        {"flusher.py": ATEXIT},
        ["atexit_count()"],
        edit(
            "registration_changed",
            {"flusher.py": sub(ATEXIT, '"v1"', '"v2"')},
        ),
        edit(
            "callback_body",
            {"flusher.py": sub(ATEXIT, "FLUSHED.append(tag)", "FLUSHED.append(tag.upper())")},
        ),
    )
)

META = D("""
    REGISTRY = {}


    class Registered(type):
        def __init__(cls, name, bases, ns):
            super().__init__(name, bases, ns)
            REGISTRY.setdefault(name, []).append(cls)


    class Handler(metaclass=Registered):
        priority = 1


    class Other(metaclass=Registered):
        pass
""")
CASES.append(
    case(
        "c3",
        "metaclass_registry",
        {"meta.py": META},
        [
            "{k: len(v) for k, v in m.REGISTRY.items()}",
            "m.REGISTRY['Handler'][-1] is m.Handler",
            "m.Handler.priority",
        ],
        edit(
            "class_body",
            {"meta.py": sub(META, "priority = 1", "priority = 2")},
        ),
        edit(
            "class_removed",
            {"meta.py": sub(META, "\n\nclass Other(metaclass=Registered):\n    pass\n", "")},
        ),
    )
)

SUBCLASS_HOOK = D("""
    class Plugin:
        registry = []

        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            Plugin.registry.append(cls)


    class Alpha(Plugin):
        name = "alpha"


    class Beta(Plugin):
        name = "beta"
""")
CASES.append(
    case(
        "c3",
        "init_subclass_registry",
        {"plug.py": SUBCLASS_HOOK},
        ["[c.name for c in m.Plugin.registry]", "m.Plugin.registry[0] is m.Alpha"],
        edit(
            "subclass_body",
            {"plug.py": sub(SUBCLASS_HOOK, 'name = "alpha"', 'name = "ALPHA"')},
        ),
        edit(
            "subclass_removed",
            {"plug.py": sub(SUBCLASS_HOOK, '\n\nclass Beta(Plugin):\n    name = "beta"\n', "")},
        ),
        edit(
            "subclass_added",
            {"plug.py": SUBCLASS_HOOK + '\n\nclass Gamma(Plugin):\n    name = "gamma"\n'},
        ),
    )
)

ROUTES = D("""
    ROUTES = {}


    def route(path):
        def deco(fn):
            ROUTES[path] = fn
            return fn

        return deco


    @route("/a")
    def page_a():
        return "a"


    @route("/b")
    def page_b():
        return "b"
""")
CASES.append(
    case(
        "c3",
        "route_table",
        {"web.py": ROUTES},
        ["sorted(m.ROUTES)", "m.ROUTES['/a']()"],
        edit(
            "route_path_changed",
            {"web.py": sub(ROUTES, '@route("/a")', '@route("/aa")')},
        ),
        edit(
            "route_removed",
            {"web.py": sub(ROUTES, '\n\n@route("/b")\ndef page_b():\n    return "b"\n', "")},
        ),
        edit("handler_body", {"web.py": sub(ROUTES, 'return "a"', 'return "A"')}),
    )
)

HANDLERS = D("""
    import logging
    import warnings

    log = logging.getLogger("freshstart.handlers")
    log.addHandler(logging.NullHandler())
    warnings.filterwarnings("ignore", message="freshstart-demo")
    LEVEL = 10
""")
CASES.append(
    case(
        "c3",
        "logging_and_warnings",
        {"setup_log.py": HANDLERS},
        [
            "len(m.log.handlers)",
            "sum(1 for f in __import__('warnings').filters if f[1] is not None and 'freshstart-demo' in f[1].pattern)",
        ],
        edit(
            "handler_line_changed",
            {
                "setup_log.py": sub(
                    HANDLERS,
                    "log.addHandler(logging.NullHandler())",
                    "log.addHandler(logging.StreamHandler())",
                )
            },
        ),
        edit(
            "filter_line_changed",
            {
                "setup_log.py": sub(
                    HANDLERS, 'message="freshstart-demo")', 'message="freshstart-demo-2")'
                )
            },
        ),
        edit("unrelated_constant", {"setup_log.py": sub(HANDLERS, "LEVEL = 10", "LEVEL = 20")}),
    )
)

SIGNALS = D("""
    import signal


    def _on_usr1(signum, frame):
        return "v1"


    signal.signal(signal.SIGUSR1, _on_usr1)
""")
CASES.append(
    case(
        "c3",
        "signal_handler",
        {"sig.py": SIGNALS},
        ["__import__('signal').getsignal(__import__('signal').SIGUSR1)(0, None)"],
        edit("handler_body", {"sig.py": sub(SIGNALS, 'return "v1"', 'return "v2"')}),
        edit(
            "handler_replaced",
            {
                "sig.py": SIGNALS
                + '\n\ndef _on_usr1_v2(signum, frame):\n    return "v2"\n\n\nsignal.signal(signal.SIGUSR1, _on_usr1_v2)\n'
            },
        ),
    )
)

KEEP_REG = D("""
    REGISTRY = []


    def register(fn):
        REGISTRY.append(fn.__name__)
        return fn


    @register
    def one():
        return 1


    VERSION = 1
""")
CASES.append(
    case(
        "c3",
        "keep_registry_whole_module",
        {"reg.py": KEEP_REG},
        ["m.REGISTRY", "m.VERSION"],
        edit(
            "registration_added_in_whole_module_run",
            {
                "reg.py": '_G = globals().get("_G")\n'
                + KEEP_REG
                + "\n\n@register\ndef two():\n    return 2\n"
            },
        ),
        edit(
            "registration_added",
            {"reg.py": KEEP_REG + "\n\n@register\ndef two():\n    return 2\n"},
        ),
        manifest='[modules.reg]\nkeep = ["REGISTRY"]\n',
        manifest_modules=["reg"],
    )
)


ENVIRON = tree(
    {
        "boot.py": """
        import os
        import sys

        import hooks

        os.environ.setdefault("FRESHSTART_MODE", "dev")
        sys.path.append("/nonexistent/freshstart-extra")
        hooks.HOOKS.append("boot")
        MODE = os.environ["FRESHSTART_MODE"]
    """,
        "hooks.py": "HOOKS = []\n",
    }
)
CASES.append(
    case(
        "c3",
        "process_state_at_import",
        ENVIRON,
        ["m.MODE", "sys.path.count('/nonexistent/freshstart-extra')", "sys.modules['hooks'].HOOKS"],
        edit(
            "environ_default_changed",
            {"boot.py": sub(ENVIRON["boot.py"], '"dev"', '"prod"')},
        ),
        edit(
            "path_entry_changed",
            {
                "boot.py": sub(
                    ENVIRON["boot.py"],
                    'sys.path.append("/nonexistent/freshstart-extra")',
                    'sys.path.append("/nonexistent/freshstart-extra")  # noqa',
                )
            },
        ),
        edit(
            "registration_in_other_module",
            {
                "boot.py": sub(
                    ENVIRON["boot.py"], 'hooks.HOOKS.append("boot")', 'hooks.HOOKS.append("booted")'
                )
            },
        ),
        edit(
            "path_statement_changed",
            {
                "boot.py": sub(
                    ENVIRON["boot.py"],
                    'sys.path.append("/nonexistent/freshstart-extra")',
                    'sys.path.insert(len(sys.path), "/nonexistent/freshstart-extra")',
                )
            },
        ),
    )
)

EXCEPTHOOK = D("""
    import sys


    def _hook(kind, value, tb):
        return None


    sys.excepthook = _hook
""")
CASES.append(
    case(
        "c3",
        "excepthook",
        {"hook.py": EXCEPTHOOK},
        ["sys.excepthook is m._hook", "sys.excepthook.__name__"],
        edit("hook_body", {"hook.py": sub(EXCEPTHOOK, "return None", "return 1")}),
        edit(
            "hook_replaced",
            {"hook.py": EXCEPTHOOK.replace("_hook", "_new_hook")},
        ),
    )
)

# =============================================================================================
# c4: versions a fresh process could not import
# =============================================================================================

UNIMPORTABLE = D("""
    def _load_model():
        return {"layers": 3}


    MODEL = _load_model()
    LIMIT = 10
    DOUBLE = LIMIT * 2


    def predict(x):
        return MODEL["layers"] * x
""")
REJECT = ("import_would_fail",)
CASES.append(
    case(
        "c4",
        "unimportable",
        {"model.py": UNIMPORTABLE},
        ["m.MODEL", "m.predict(2)", "m.DOUBLE"],
        edit(
            "helper_renamed_call_kept",
            {"model.py": sub(UNIMPORTABLE, "def _load_model():", "def _build_model():")},
            reject=REJECT,
        ),
        edit(
            "constant_moved_below_use",
            {
                "model.py": sub(
                    UNIMPORTABLE,
                    "LIMIT = 10\nDOUBLE = LIMIT * 2\n",
                    "DOUBLE = LIMIT * 2\nLIMIT = 10\n",
                )
            },
            reject=REJECT,
        ),
        edit(
            "name_deleted_then_read",
            {"model.py": sub(UNIMPORTABLE, "LIMIT = 10\n", "LIMIT = 10\ndel LIMIT\n")},
            reject=(*REJECT, "exec_error"),
        ),
        edit(
            "helper_renamed_and_call_updated",
            {"model.py": UNIMPORTABLE.replace("_load_model", "_build_model")},
        ),
    )
)

UNIMPORT_OTHER = tree(
    {
        "app.py": """
        import helpers
        from tools import make

        TOOL = make()
        HELP = helpers.build()
    """,
        "helpers.py": "def build():\n    return 1\n",
        "tools.py": "def make():\n    return 2\n",
    }
)
CASES.append(
    case(
        "c4",
        "unimportable_other_module",
        UNIMPORT_OTHER,
        ["m.TOOL", "m.HELP"],
        edit(
            "attribute_function_renamed",
            {"helpers.py": "def construct():\n    return 1\n"},
            reject=REJECT,
        ),
        edit(
            "from_imported_function_renamed",
            {"tools.py": "def create():\n    return 2\n"},
            reject=REJECT,
        ),
    )
)

BASE_BELOW = D("""
    class Base:
        pass


    class Child(Base):
        pass


    def deco(fn):
        return fn


    @deco
    def f():
        return 1
""")
CASES.append(
    case(
        "c4",
        "definition_moved_below_use",
        {"order.py": BASE_BELOW},
        ["issubclass(m.Child, m.Base)", "m.f()"],
        edit(
            "base_class_below_subclass",
            {
                "order.py": "class Child(Base):\n    pass\n\n\nclass Base:\n    pass\n\n\ndef deco(fn):\n    return fn\n\n\n@deco\ndef f():\n    return 1\n"
            },
            reject=REJECT,
        ),
        edit(
            "decorator_below_use",
            {
                "order.py": "class Base:\n    pass\n\n\nclass Child(Base):\n    pass\n\n\n@deco\ndef f():\n    return 1\n\n\ndef deco(fn):\n    return fn\n"
            },
            reject=REJECT,
        ),
    )
)


CYCLE = tree(
    {
        "alpha.py": """
        import beta

        X = 1


        def get():
            return beta.Y
    """,
        "beta.py": """
        Y = 2
    """,
    }
)
CASES.append(
    case(
        "c4",
        "import_cycle_introduced",
        CYCLE,
        ["m.get()", "m.X"],
        edit(
            "cycle_reads_unbound_name",
            {"beta.py": "from alpha import X\n\nY = X + 1\n"},
            reject=(*REJECT, "exec_error"),
        ),
        imports=["alpha"],
    )
)

STAR_ALL = tree(
    {
        "app.py": """
        from lib import *
    """,
        "lib.py": """
        __all__ = ["one"]


        def one():
            return 1
    """,
    }
)
CASES.append(
    case(
        "c4",
        "star_import_of_missing_name",
        STAR_ALL,
        ["m.one()"],
        edit(
            "all_names_missing_function",
            {"lib.py": sub(STAR_ALL["lib.py"], '__all__ = ["one"]', '__all__ = ["one", "two"]')},
            reject=REJECT,
        ),
    )
)

# =============================================================================================
# c6: a package that re-exports with `from .more import *`
# =============================================================================================

PKG_STAR = tree(
    {
        "mathx/__init__.py": """
        from .more import *
        from .other import *
    """,
        "mathx/more.py": """
        __all__ = ["factorial", "Stats", "PI"]

        PI = 3.14


        def factorial(n):
            return 1 if n < 2 else n * factorial(n - 1)


        class Stats:
            def mean(self, xs):
                return sum(xs) / len(xs)
    """,
        "mathx/other.py": """
        def _square(x):
            return x * x


        def squares(n):
            return [_square(i) for i in range(n)]
    """,
    }
)
MORE = PKG_STAR["mathx/more.py"]
OTHER = PKG_STAR["mathx/other.py"]
CASES.append(
    case(
        "c6",
        "package_star_reexport",
        PKG_STAR,
        [
            "sorted(n for n in vars(mathx) if not n.startswith('_'))",
            "mathx.factorial(5)",
            "mathx.Stats is mathx.more.Stats",
            "mathx.PI",
            "mathx.squares(3)",
        ],
        edit(
            "name_added",
            {
                "mathx/more.py": sub(MORE, '"PI"]', '"PI", "derangements"]')
                + "\n\ndef derangements(n):\n    return 0 if n == 1 else 1\n"
            },
        ),
        edit(
            "name_removed",
            {
                "mathx/more.py": sub(MORE, '"factorial", ', "").replace(
                    "\n\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n", ""
                )
            },
        ),
        edit(
            "class_rebound",
            {
                "mathx/more.py": sub(
                    MORE, "class Stats:", "class Stats(object, metaclass=type):"
                ).replace("class Stats(object, metaclass=type):", "class Stats(dict):")
            },
        ),
        edit(
            "constant_changed",
            {"mathx/more.py": sub(MORE, "PI = 3.14", "PI = 3.1416")},
        ),
        edit(
            "function_body", {"mathx/more.py": sub(MORE, "return 1 if n < 2", "return 2 if n < 2")}
        ),
        edit(
            "function_moved_to_other_submodule",
            {
                "mathx/other.py": OTHER
                + "\n\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n",
                "mathx/more.py": sub(MORE, '"factorial", ', "").replace(
                    "\n\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n", ""
                ),
            },
        ),
        edit(
            "helper_renamed_in_other",
            {"mathx/other.py": OTHER.replace("_square", "_sq")},
        ),
        edit(
            "all_narrowed",
            {
                "mathx/more.py": sub(
                    MORE,
                    '__all__ = ["factorial", "Stats", "PI"]',
                    '__all__ = ["factorial", "Stats"]',
                )
            },
        ),
        imports=["mathx"],
    )
)

MODULE_STAR = tree(
    {
        "app.py": """
        from shapes_lib import *


        def describe():
            return [name for name in sorted(globals()) if name.isupper()]
    """,
        "shapes_lib.py": """
        SQUARE = 4
        TRIANGLE = 3
    """,
    }
)
CASES.append(
    case(
        "c6",
        "module_star_import",
        MODULE_STAR,
        ["m.describe()", "m.SQUARE"],
        edit(
            "name_added",
            {"shapes_lib.py": "SQUARE = 4\nTRIANGLE = 3\nHEXAGON = 6\n"},
        ),
        edit(
            "value_changed",
            {"shapes_lib.py": "SQUARE = 40\nTRIANGLE = 3\n"},
        ),
    )
)

PKG_NAMED = tree(
    {
        "pkg/__init__.py": """
        from .core import LIMIT

        NAME = "pkg"
    """,
        "pkg/core.py": "LIMIT = 10\n",
        "pkg/user.py": """
        from pkg import NAME, LIMIT

        LABEL = NAME + str(LIMIT)
    """,
    }
)
CASES.append(
    case(
        "c6",
        "package_named_reexport",
        PKG_NAMED,
        ["pkg.LIMIT", "pkg.user.LABEL", "pkg.user.NAME"],
        edit(
            "submodule_constant",
            {"pkg/core.py": "LIMIT = 20\n"},
        ),
        edit(
            "package_constant_read_by_submodule",
            {
                "pkg/__init__.py": sub(
                    PKG_NAMED["pkg/__init__.py"], 'NAME = "pkg"', 'NAME = "package"'
                )
            },
        ),
        imports=["pkg.user"],
        main="pkg.user",
    )
)

# =============================================================================================
# c7: a function bound to two names
# =============================================================================================

ALIAS = D("""
    def _impl(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]


    running_median = _impl
""")
CASES.append(
    case(
        "c7",
        "function_alias",
        {"stats.py": ALIAS},
        ["m.running_median([1, 5, 3])", "m._impl([1, 5, 3])", "m.running_median is m._impl"],
        edit(
            "alias_becomes_own_function",
            {
                "stats.py": ALIAS.replace(
                    "running_median = _impl",
                    "def running_median(xs):\n    return sum(xs) / len(xs)",
                )
            },
        ),
        edit("shared_body", {"stats.py": sub(ALIAS, "return xs[len(xs) // 2]", "return xs[-1]")}),
        edit(
            "alias_to_other",
            {
                "stats.py": ALIAS.replace(
                    "running_median = _impl",
                    "def _mean(xs):\n    return sum(xs) / len(xs)\n\n\nrunning_median = _mean",
                )
            },
        ),
    )
)

METHOD_ALIAS = D("""
    class Money:
        def __init__(self, cents):
            self.cents = cents

        def describe(self):
            return f"{self.cents / 100:.2f}"

        __str__ = describe
""")
CASES.append(
    case(
        "c7",
        "method_alias",
        {"money.py": METHOD_ALIAS},
        ["str(m.Money(150))", "m.Money(150).describe()"],
        edit(
            "shared_body",
            {
                "money.py": sub(
                    METHOD_ALIAS, 'f"{self.cents / 100:.2f}"', 'f"EUR {self.cents / 100:.2f}"'
                )
            },
        ),
        edit(
            "alias_split",
            {
                "money.py": METHOD_ALIAS.replace(
                    "__str__ = describe", "def __str__(self):\n        return 'money'"
                )
            },
        ),
    )
)


ALIAS_IMPORTED = tree(
    {
        "app.py": """
        from stats import running_median as median
        import stats

        FAST = stats.running_median


        def mid(xs):
            return median(xs)
    """,
        "stats.py": """
        def _impl(xs):
            xs = sorted(xs)
            return xs[len(xs) // 2]


        running_median = _impl
    """,
    }
)
CASES.append(
    case(
        "c7",
        "alias_imported_elsewhere",
        ALIAS_IMPORTED,
        [
            "m.mid([1, 9, 2])",
            "m.FAST([1, 9, 2])",
            "m.median is sys.modules['stats'].running_median",
        ],
        edit(
            "alias_becomes_own_function",
            {
                "stats.py": ALIAS_IMPORTED["stats.py"].replace(
                    "running_median = _impl",
                    "def running_median(xs):\n    return sum(xs) / len(xs)",
                )
            },
        ),
        edit(
            "shared_body",
            {
                "stats.py": sub(
                    ALIAS_IMPORTED["stats.py"], "return xs[len(xs) // 2]", "return xs[0]"
                )
            },
        ),
    )
)

TWO_NAMES = D("""
    def _handler(event):
        return "handled " + event


    on_create = on_update = _handler
    TABLE = {"create": on_create, "update": on_update}
""")
CASES.append(
    case(
        "c7",
        "one_function_many_names",
        {"events_mod.py": TWO_NAMES},
        [
            "m.on_create('x')",
            "m.on_update('x')",
            "m.TABLE['update']('x')",
            "m.on_create is m.on_update",
        ],
        edit(
            "shared_body",
            {"events_mod.py": sub(TWO_NAMES, '"handled " + event', '"HANDLED " + event')},
        ),
        edit(
            "one_name_split_off",
            {
                "events_mod.py": sub(
                    TWO_NAMES,
                    "on_create = on_update = _handler",
                    'on_create = _handler\n\n\ndef on_update(event):\n    return "updated " + event',
                )
            },
        ),
    )
)

# =============================================================================================
# c8: removing a statement that rebinds a name
# =============================================================================================

SHIM = D("""
    str = bytes
    TEXT_TYPES = frozenset([int, str])


    def is_text(x):
        return isinstance(x, str)
""")
CASES.append(
    case(
        "c8",
        "compat_shim",
        {"compat.py": SHIM},
        ["sorted(t.__name__ for t in m.TEXT_TYPES)", "m.is_text('a')", "'str' in vars(m)"],
        edit(
            "rebinding_removed",
            {"compat.py": sub(SHIM, "str = bytes\n", "")},
        ),
    )
)

REBIND = D("""
    RATE = 1
    RATE = 2
    FEE = RATE * 10


    def rate():
        return RATE
""")
CASES.append(
    case(
        "c8",
        "second_assignment_removed",
        {"rates.py": REBIND},
        ["m.RATE", "m.FEE", "m.rate()"],
        edit(
            "later_assignment_removed",
            {"rates.py": sub(REBIND, "RATE = 2\n", "")},
        ),
        edit("later_assignment_changed", {"rates.py": sub(REBIND, "RATE = 2", "RATE = 3")}),
    )
)

SHADOW = D("""
    def len(x):
        return 42


    SIZE = len([1, 2])


    def size(xs):
        return len(xs)
""")
CASES.append(
    case(
        "c8",
        "builtin_shadow_removed",
        {"shadow.py": SHADOW},
        ["m.SIZE", "m.size([1])"],
        edit(
            "shadowing_def_removed",
            {"shadow.py": sub(SHADOW, "def len(x):\n    return 42\n\n\n", "")},
        ),
    )
)

TRY_IMPORT = D("""
    try:
        import json as codec
    except ImportError:
        codec = None

    NAME = codec.__name__
""")
CASES.append(
    case(
        "c8",
        "fallback_import",
        {"codecs_pick.py": TRY_IMPORT},
        ["m.NAME", "m.codec.__name__"],
        edit(
            "import_swapped",
            {"codecs_pick.py": sub(TRY_IMPORT, "import json as codec", "import pickle as codec")},
        ),
    )
)


SORTED_SHADOW = D("""
    import json

    sorted = lambda xs: list(reversed(xs))
    TOP = sorted([1, 3, 2])
    json = None
    HAS_JSON = json is not None
""")
CASES.append(
    case(
        "c8",
        "rebinding_statements_removed",
        {"shim.py": SORTED_SHADOW},
        ["m.TOP", "m.HAS_JSON", "'sorted' in vars(m)"],
        edit(
            "builtin_rebinding_removed",
            {"shim.py": sub(SORTED_SHADOW, "sorted = lambda xs: list(reversed(xs))\n", "")},
        ),
        edit(
            "import_rebinding_removed",
            {"shim.py": sub(SORTED_SHADOW, "json = None\n", "")},
        ),
    )
)

# =============================================================================================
# c9: module __doc__
# =============================================================================================

DOC = D('''
    """Tools, v1."""

    VALUE = 1
''')
CASES.append(
    case(
        "c9",
        "module_docstring",
        {"tools.py": DOC},
        ["m.__doc__", "m.VALUE"],
        edit("edited", {"tools.py": sub(DOC, "v1", "v2")}),
        edit(
            "removed",
            {"tools.py": sub(DOC, '"""Tools, v1."""\n\n', "")},
        ),
        edit(
            "added_where_none",
            {"tools.py": "VALUE = 1\n"},
            {"tools.py": '"""Now documented."""\n\nVALUE = 1\n'},
        ),
        edit(
            "whole_module_run",
            {"tools.py": sub(DOC, "VALUE = 1", "VALUE = globals().get('NOTHING', 1)")},
        ),
    )
)

LATE_STRING = D('''
    VALUE = 1

    """A note about VALUE, not a docstring."""
''')
CASES.append(
    case(
        "c9",
        "bare_string_statement",
        {"notes.py": LATE_STRING},
        ["m.__doc__", "m.VALUE"],
        edit(
            "bare_string_edited",
            {"notes.py": sub(LATE_STRING, "A note", "Another note")},
        ),
        edit(
            "whole_module_run",
            {"notes.py": sub(LATE_STRING, "VALUE = 1", "VALUE = globals().get('NOTHING', 1)")},
        ),
    )
)

CASES.append(
    case(
        "c9",
        "manifest_module_docstring",
        {"documented.py": 'VALUE = 1\n\n"""not the docstring"""\n'},
        ["m.__doc__"],
        edit(
            "constant",
            {"documented.py": 'VALUE = 2\n\n"""not the docstring"""\n'},
        ),
        manifest="[modules.documented]\n",
        manifest_modules=["documented"],
    )
)


DOC_MANIFEST = D('''
    """Billing rules."""

    RATE = 2


    def charge(x: int) -> int:
        return x * RATE
''')
CASES.append(
    case(
        "c9",
        "manifest_module_real_docstring",
        {"billing.py": DOC_MANIFEST},
        ["m.__doc__", "m.charge(2)"],
        edit(
            "docstring_edited",
            {"billing.py": sub(DOC_MANIFEST, "Billing rules.", "Billing rules, v2.")},
        ),
        edit(
            "docstring_removed",
            {"billing.py": sub(DOC_MANIFEST, '"""Billing rules."""\n\n', "")},
        ),
        edit("body", {"billing.py": sub(DOC_MANIFEST, "return x * RATE", "return x * RATE * 2")}),
        manifest='[modules.billing.exports]\ncharge = "(x: int) -> int"\n',
        manifest_modules=["billing"],
    )
)

CASES.append(
    case(
        "c9",
        "docstring_added",
        {"plain.py": "VALUE = 1\n"},
        ["m.__doc__"],
        edit("added", {"plain.py": '"""Now documented."""\n\nVALUE = 1\n'}),
        edit(
            "string_after_code_added",
            {"plain.py": 'VALUE = 1\n\n"""A note."""\n'},
        ),
    )
)

# =============================================================================================
# c10: top-level code that reads a class patched in place
# =============================================================================================

PUBLISH = D("""
    class Stats:
        def _op_mean(xs):
            return sum(xs) / len(xs)

        def _op_total(xs):
            return sum(xs)


    for _name, _fn in list(vars(Stats).items()):
        if _name.startswith("_op_"):
            globals()[_name[4:]] = _fn
            delattr(Stats, _name)

    OPS = sorted(n for n in vars() if n in ("mean", "total", "largest"))
""")
CASES.append(
    case(
        "c10",
        "publish_from_class",
        {"publish.py": PUBLISH},
        ["m.OPS", "m.total([1, 2])", "sorted(n for n in vars(m.Stats) if not n.startswith('__'))"],
        edit(
            "method_added",
            {
                "publish.py": sub(
                    PUBLISH,
                    "    def _op_total(xs):",
                    "    def _op_largest(xs):\n        return max(xs)\n\n    def _op_total(xs):",
                )
            },
        ),
        edit(
            "method_body",
            {"publish.py": sub(PUBLISH, "return sum(xs)\n", "return sum(xs) * 1\n")},
        ),
    )
)

PUBLIC_LIST = D("""
    class Api:
        def get(self):
            return "get"

        def put(self):
            return "put"


    ENDPOINTS = sorted(n for n in vars(Api) if not n.startswith("_"))
    Api.alias = Api.get
""")
CASES.append(
    case(
        "c10",
        "class_listing_at_import",
        {"api.py": PUBLIC_LIST},
        ["m.ENDPOINTS", "m.Api().alias()", "hasattr(m.Api, 'alias')"],
        edit(
            "method_added",
            {
                "api.py": sub(
                    PUBLIC_LIST,
                    '        return "put"\n',
                    '        return "put"\n\n    def delete(self):\n        return "delete"\n',
                )
            },
        ),
        edit(
            "aliased_method_body",
            {"api.py": sub(PUBLIC_LIST, 'return "get"', 'return "GET"')},
        ),
    )
)


SUBCLASSES = D("""
    class Shape:
        pass


    class Square(Shape):
        sides = 4


    class Triangle(Shape):
        sides = 3


    KINDS = sorted(c.__name__ for c in Shape.__subclasses__())
    Shape.count = len(Shape.__subclasses__())
""")
CASES.append(
    case(
        "c10",
        "subclasses_listed_at_import",
        {"kinds.py": SUBCLASSES},
        ["m.KINDS", "m.Shape.count"],
        edit(
            "subclass_added",
            {
                "kinds.py": sub(
                    SUBCLASSES, "\n\nKINDS", "\n\nclass Circle(Shape):\n    sides = 0\n\n\nKINDS"
                )
            },
        ),
        edit(
            "base_body_edited",
            {
                "kinds.py": sub(
                    SUBCLASSES, "class Shape:\n    pass", "class Shape:\n    unit = 'cm'"
                )
            },
        ),
        edit("subclass_attribute", {"kinds.py": sub(SUBCLASSES, "sides = 3", "sides = 30")}),
    )
)

SETATTR = D("""
    class Stats:
        def mean(self, xs):
            return sum(xs) / len(xs)


    Stats.average = Stats.mean
    setattr(Stats, "avg", Stats.mean)
""")
CASES.append(
    case(
        "c10",
        "class_patched_by_later_statement",
        {"stats2.py": SETATTR},
        ["m.Stats().average([1, 3])", "m.Stats().avg([1, 3])", "m.Stats.avg is m.Stats.mean"],
        edit(
            "method_body",
            {"stats2.py": sub(SETATTR, "return sum(xs) / len(xs)", "return sum(xs) // len(xs)")},
        ),
        edit(
            "class_attribute_added",
            {"stats2.py": sub(SETATTR, "class Stats:\n", "class Stats:\n    precision = 2\n\n")},
        ),
    )
)

INTROSPECT = D("""
    import dataclasses
    import inspect


    @dataclasses.dataclass
    class Point:
        x: int = 0
        y: int = 0


    def handler(request, verbose=False):
        return request


    FIELDS = [f.name for f in dataclasses.fields(Point)]
    SIGNATURE = str(inspect.signature(handler))
""")
CASES.append(
    case(
        "c10",
        "introspection_at_import",
        {"intro.py": INTROSPECT},
        ["m.FIELDS", "m.SIGNATURE"],
        edit(
            "dataclass_field_added",
            {"intro.py": sub(INTROSPECT, "    y: int = 0\n", "    y: int = 0\n    z: int = 0\n")},
        ),
        edit(
            "signature_changed",
            {
                "intro.py": sub(
                    INTROSPECT,
                    "def handler(request, verbose=False):",
                    "def handler(request, verbose=False, retries=3):",
                )
            },
        ),
    )
)

# =============================================================================================
# c11: a manifest module imported by its own package runs twice at start-up
# =============================================================================================

TWICE = tree(
    {
        "shop/__init__.py": """
        from .cart import Cart, total
    """,
        "shop/cart.py": """
        class Cart:
            def __init__(self):
                self.items = []


        def total(cart):
            return len(cart.items)
    """,
    }
)
TWICE_PROBE = [
    "shop.Cart is shop.cart.Cart",
    "shop.total is shop.cart.total",
    "type(pickle.loads(pickle.dumps(shop.Cart()))) is shop.Cart",
    "isinstance(shop.Cart(), shop.cart.Cart)",
]
CASES.append(
    case(
        "c11",
        "package_imports_manifest_module",
        TWICE,
        TWICE_PROBE,
        edit(
            "body",
            {
                "shop/cart.py": sub(
                    TWICE["shop/cart.py"], "return len(cart.items)", "return len(cart.items) * 2"
                )
            },
        ),
        edit(
            "constant_added",
            {"shop/cart.py": TWICE["shop/cart.py"] + "\nLIMIT = 3\n"},
        ),
        manifest='[modules."shop.cart"]\n',
        manifest_modules=["shop.cart"],
        imports=["shop"],
        main="shop",
    )
)

COUNTED = tree(
    {
        "svc/__init__.py": """
        from . import core
        from .core import STARTS
    """,
        "svc/core.py": """
        import svc_counter

        svc_counter.RUNS.append("core")
        STARTS = len(svc_counter.RUNS)
    """,
        "svc_counter.py": "RUNS = []\n",
    }
)
CASES.append(
    case(
        "c11",
        "package_imports_manifest_module_counted",
        COUNTED,
        ["sys.modules['svc_counter'].RUNS", "svc.STARTS", "svc.core is sys.modules['svc.core']"],
        edit(
            "unrelated_edit",
            {"svc_counter.py": "RUNS = []\nNOTE = 'x'\n"},
        ),
        manifest='[modules."svc.core"]\n',
        manifest_modules=["svc.core"],
        imports=["svc"],
        main="svc",
    )
)

CASES.append(
    case(
        "c11",
        "manifest_module_not_imported_by_package",
        {
            "lib/__init__.py": "",
            "lib/core.py": "class Thing:\n    pass\n\n\ndef make():\n    return Thing()\n",
        },
        ["type(pickle.loads(pickle.dumps(lib.core.make()))) is lib.core.Thing"],
        edit(
            "body",
            {"lib/core.py": "class Thing:\n    pass\n\n\ndef make():\n    return Thing()  # new\n"},
        ),
        manifest='[modules."lib.core"]\n',
        manifest_modules=["lib.core"],
        main="lib.core",
    )
)

CASES.append(
    case(
        "c11",
        "package_init_manifest_module",
        {
            "tool/__init__.py": "from tool.parts import Part\n\nDEFAULT = Part()\n",
            "tool/parts.py": "class Part:\n    pass\n",
        },
        ["isinstance(tool.DEFAULT, tool.parts.Part)", "tool.Part is tool.parts.Part"],
        edit(
            "body",
            {"tool/parts.py": "class Part:\n    size = 1\n"},
        ),
        manifest='[modules."tool.parts"]\n',
        manifest_modules=["tool.parts"],
        imports=["tool"],
        main="tool",
    )
)

CASES.append(
    case(
        "c11",
        "package_itself_in_manifest",
        {
            "kit/__init__.py": "from kit.parts import Part\n",
            "kit/parts.py": "class Part:\n    pass\n",
        },
        ["kit.Part is kit.parts.Part", "type(pickle.loads(pickle.dumps(kit.Part()))) is kit.Part"],
        edit("body", {"kit/parts.py": "class Part:\n    size = 1\n"}),
        manifest="[modules.kit]\n",
        manifest_modules=["kit"],
        main="kit",
    )
)

# Cases kept in their own modules (one per topic, so that several changes can add cases at once).
from cases_contract import contract_cases  # noqa: E402  (c5: the contract; c3, c4 additions)
from cases_methods import CASES as _METHODS  # noqa: E402

CASES += _METHODS
CASES.extend(contract_cases())
from cases_stdlib import CASES as _STDLIB  # noqa: E402

CASES += _STDLIB
from cases_replay import REPLAY_CASES  # noqa: E402  (the replay's disagreements, minimized)

CASES += REPLAY_CASES
from cases_savepath import CASES as _SAVEPATH  # noqa: E402  (saves read in part, issue 19)

CASES += _SAVEPATH
from cases_replay_more import MORE_CASES  # noqa: E402  (the replay of tomlkit and pyparsing)

CASES += MORE_CASES
