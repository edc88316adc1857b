"""The corpus of issue 21: small projects, each with a probe and the edits tried on it.

A case is a few files, the modules the host imports (by default the first file's), and a probe:
Python expressions over the modules (``m`` is the main module, every top-level project module is
there by its name). An edit is one save (or a few, each compared) in a live host of its own;
besides the probe, the harness compares a fingerprint of every project module (freshprobe.py).

``fails=`` says what today's engine does differently (a strict xfail); ``reject=`` marks an edit a
fresh process could not import (or the contract refuses): a rejection with one of those reasons, or
``reload.restart_needed``, is right for it. Groups: ``works`` guards what must keep working;
``c1`` to ``c11`` are the issue's eleven cases (``c5``, the contract's disagreements, lives
elsewhere).
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
