"""Case c5 of issue 21, the contract's part that a live save shows: a change every frozen caller
survives is applied as a fresh start has it, one some caller would not survive is rejected and
changes nothing. A project of two manifest modules: ``api`` (the exports) and ``models`` (the types
they take and return, frozen under ``models``). The manifest is what ``hotreload init api models``
writes.

Also case c4's import cycles beyond freshcases.py's: which module a fresh start imports first
decides whether a cycle fails, and a save that fixes both sides applies; and case c3's `keep`
values in a module that runs whole: kept as in a partial run, or `restart_needed` where the run
would change one in place again.
"""

# ruff: noqa: E501  (the corpus is data: one edit, one reason a line reads better than wrapped strings)
from __future__ import annotations

from freshcases import case, edit, sub, tree
from freshharness import Case

FILES = tree(
    {
        "api.py": """
        import models
        from models import Item


        def make(name: str) -> Item:
            return Item(1, name)


        def square() -> "models.Square":
            return models.Square()


        def with_tax(amount: float) -> float:
            return amount * 1.2


        ITEM = make("x")
        TAXED = with_tax(10.0)
    """,
        "models.py": """
        import dataclasses


        @dataclasses.dataclass
        class Base:
            id: int


        @dataclasses.dataclass
        class Item(Base):
            name: str = ""


        class Shape:
            def area(self) -> float:
                return 0.0


        class Square(Shape):
            def describe(self) -> str:
                return "square"
    """,
    }
)
API, MODELS = FILES["api.py"], FILES["models.py"]

MANIFEST = """
    [modules.api.exports]
    make = "(name: str) -> Item"
    square = "() -> 'models.Square'"
    with_tax = "(amount: float) -> float"

    [modules.models.exports]

    [modules.models.types.Base.fields]
    id = "int"

    [modules.models.types.Item.fields]
    name = "str = ''"

    [modules.models.types.Shape.methods]
    area = "(self) -> float"

    [modules.models.types.Square.methods]
    describe = "(self) -> str"
"""

MOVED_INTO_BASE = sub(
    sub(
        MODELS,
        "        return 0.0\n",
        '        return 0.0\n\n    def describe(self) -> str:\n        return "square"\n',
    ),
    '    def describe(self) -> str:\n        return "square"\n\n\n',
    "    pass\n\n\n",
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
CYCLE_EDITS = (
    edit(
        "cycle_fixed_on_both_sides_in_one_save",
        {
            "alpha.py": sub(
                CYCLE["alpha.py"], "import beta\n\nX = 1\n", "X = 1\n\nimport beta  # noqa: E402\n"
            ),
            "beta.py": "from alpha import X\n\nY = X + 1\n",
        },
    ),
    edit(
        "cycle_read_inside_a_function",
        {"beta.py": "import alpha\n\nY = 2\n\n\ndef x():\n    return alpha.X\n"},
    ),
)


KEPT_WHOLE = tree(
    {
        "store.py": """
        import itertools

        CACHE = {}
        _ids = itertools.count()
        LABEL = "v1"


        def remember(key):
            CACHE[key] = next(_ids)
            return CACHE[key]


        def label():
            return LABEL
    """,
    }
)
STORE = KEPT_WHOLE["store.py"]
WHOLE = '_G = globals().get("_G")\n'  # a statement the source cannot follow: the module runs whole


def contract_cases() -> list[Case]:
    return [
        case(
            "c3",
            "keep_state_whole_module",
            KEPT_WHOLE,
            ["m.label()", "sorted(m.CACHE.items())", "m.LABEL"],
            edit(
                "label_constant", {"store.py": WHOLE + sub(STORE, 'LABEL = "v1"', 'LABEL = "v2"')}
            ),
            edit(
                "kept_statement_edited",
                {"store.py": WHOLE + sub(STORE, "CACHE = {}", "CACHE = dict()")},
            ),
            edit(
                "kept_value_changed_in_place_by_the_run",
                {
                    "store.py": WHOLE
                    + sub(STORE, 'LABEL = "v1"', 'LABEL = "v1"\nCACHE["boot"] = -1')
                },
            ),
            manifest='[modules.store]\nkeep = ["CACHE", "_ids"]\n',
            manifest_modules=["store"],
            kept=["store:CACHE", "store:_ids"],
            setup=["m.remember('a')", "m.remember('b')"],
        ),
        case(
            "c4",
            "import_cycle_imported_the_other_way",
            CYCLE,
            ["m.Y", "sys.modules['alpha'].get()"],
            edit(
                # beta first: it imports alpha, which imports beta (half made, in sys.modules)
                # and binds X; beta then takes X: a fresh start in that order works
                "cycle_reads_a_name_bound_by_then",
                {"beta.py": "from alpha import X\n\nY = X + 1\n"},
            ),
            *CYCLE_EDITS,
            imports=["beta", "alpha"],
        ),
        case(
            "c4",
            "import_cycle_fixed",
            CYCLE,
            ["m.get()", "m.X"],
            *CYCLE_EDITS,
            edit(
                "cycle_attribute_read_too_early",
                {"beta.py": "import alpha\n\nY = alpha.X + 1\n"},
                reject=("import_would_fail", "exec_error"),
            ),
            imports=["alpha"],
        ),
        case(
            "c5",
            "contract_callers_survive",
            FILES,
            [
                "m.make('y')",
                "m.ITEM",
                "m.TAXED",
                "m.with_tax(100.0)",
                "m.square().describe()",
                "[f.name for f in __import__('dataclasses').fields(models.Item)]",
            ],
            edit(
                "trailing_parameter_with_a_default",
                {
                    "api.py": sub(
                        API,
                        "def with_tax(amount: float) -> float:\n    return amount * 1.2",
                        "def with_tax(amount: float, rate: float = 0.2) -> float:\n    return amount * (1 + rate)",
                    )
                },
            ),
            edit(
                "keyword_only_parameter_with_a_default",
                {
                    "api.py": sub(
                        API,
                        "def with_tax(amount: float) -> float:\n    return amount * 1.2",
                        "def with_tax(amount: float, *, rate: float = 0.5) -> float:\n    return amount * (1 + rate)",
                    )
                },
            ),
            edit(
                "parameter_inserted_before_a_frozen_one",
                {
                    "api.py": sub(
                        API,
                        "def with_tax(amount: float) -> float:\n    return amount * 1.2",
                        "def with_tax(rate: float = 0.2, amount: float = 0.0) -> float:\n    return amount * (1 + rate)",
                    )
                },
                reject=("parameters_changed",),
            ),
            edit(
                "init_false_field",
                {
                    "models.py": sub(
                        MODELS,
                        '    name: str = ""\n',
                        '    name: str = ""\n    size: int = dataclasses.field(init=False)\n\n    def __post_init__(self) -> None:\n        self.size = len(self.name)\n',
                    )
                },
            ),
            edit(
                "method_moved_into_a_base",
                {"models.py": MOVED_INTO_BASE},
            ),
            edit(
                "base_gains_a_keyword_only_field",
                {
                    "models.py": sub(
                        MODELS,
                        "    id: int\n",
                        '    id: int\n    kind: str = dataclasses.field(default="k", kw_only=True)\n',
                    )
                },
            ),
            edit(
                "base_field_shifts_a_frozen_subclass",
                {"models.py": sub(MODELS, "    id: int\n", '    id: int\n    kind: str = ""\n')},
                reject=("field_moved",),
            ),
            edit(
                "field_of_a_type_an_export_takes_from_models_renamed",
                {"models.py": sub(MODELS, '    name: str = ""\n', '    title: str = ""\n')},
                reject=("field_removed",),
            ),
            manifest=MANIFEST,
            manifest_modules=["api", "models"],
            main="api",
        ),
    ]
