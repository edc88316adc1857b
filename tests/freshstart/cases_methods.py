"""Methods of another module's classes called at import (`X = helpers.Helper().compute()`):
after an edit of the method, the statement runs again, as a fresh start computes it; a
statement that only builds the instance (`MODEL = helpers.Model()`) keeps its value."""

from __future__ import annotations

from freshcases import D, case, edit, sub
from freshharness import Case

HELPERS = D("""
    class Helper:
        def __init__(self, base=2):
            self.base = base

        def compute(self):
            return self.base * 10


    class Model:
        loads = []

        def __init__(self):
            Model.loads.append(1)

        def predict(self, x):
            return x + 1
""")

APP = D("""
    import helpers
    from helpers import Helper

    BY_ATTRIBUTE = helpers.Helper().compute()
    BY_NAME = Helper(3).compute()
    MODEL = helpers.Model()
    PREDICTED = MODEL.predict(1)


    def later():
        return helpers.Helper().compute()
""")

CASES: list[Case] = [
    case(
        "c1",
        "method_of_another_module_called_at_import",
        {"app.py": APP, "helpers.py": HELPERS},
        [
            "m.BY_ATTRIBUTE",
            "m.BY_NAME",
            "m.PREDICTED",
            "m.later()",
            "len(helpers.Model.loads)",
            "m.MODEL is not None",
        ],
        edit(
            "method_body",
            {"helpers.py": sub(HELPERS, "return self.base * 10", "return self.base * 100")},
        ),
        edit(
            "method_of_the_instance_kept",
            {"helpers.py": sub(HELPERS, "return x + 1", "return x + 2")},
        ),
        edit(
            "method_not_called_at_import",
            {
                "helpers.py": HELPERS
                + "\n\n    def unused(self):\n        return 0\n".replace("\n    ", "\n"),
            },
        ),
    ),
]
