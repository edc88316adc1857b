"""Saves the engine reads in part (issue 19, saves at the watcher's limit): only the statements
an edit is in are parsed again, and only where every edit of the save is inside a statement.
A save that also adds lines between two unchanged statements (a new function, with an import
changed far above it) is read with those lines, as a fresh start reads the file."""

from __future__ import annotations

from freshcases import D, case, edit, sub
from freshharness import Case

HELPERS = D("""
    def double(x):
        return x * 2


    def triple(x):
        return x * 3
""")

# Edits more than 40 lines apart are told apart (not read as one stretch): padding between.
PADDING = "".join(f"\n\ndef pad_{n}(x):\n    return x + {n}\n" for n in range(15))

APP = (
    D("""
    from helpers import double

    LIMIT = 10
""")
    + PADDING
    + D("""


    def first(x):
        return double(x)


    def last(x):
        return x + LIMIT
""")
)

CASES: list[Case] = [
    case(
        "works",
        "partial_reads_of_a_save",
        {"app.py": APP, "helpers.py": HELPERS},
        ["m.first(2)", "m.last(2)", "getattr(m, 'added', None) and m.added(2)", "m.LIMIT"],
        edit(
            "new_function_between_and_import_changed",
            {
                "app.py": sub(
                    sub(APP, "from helpers import double", "from helpers import double, triple"),
                    "def last(x):",
                    "def added(x):\n    return triple(x)\n\n\ndef last(x):",
                )
            },
        ),
        edit(
            "body_edit_and_statement_between",
            {
                "app.py": sub(
                    sub(APP, "return double(x)", "return double(x) + 1"),
                    "def last(x):",
                    "LIMIT = 20\n\n\ndef last(x):",
                )
            },
        ),
        edit(
            "last_line_edited_and_a_line_added_to_the_body",
            {"app.py": sub(APP, "    return double(x)\n", "    y = double(x)\n    return y + 5\n")},
        ),
        edit(
            "two_bodies_edited_far_apart",
            {
                "app.py": sub(
                    sub(APP, "return double(x)", "return double(x) * 2"),
                    "return x + LIMIT",
                    "return x - LIMIT",
                )
            },
        ),
    ),
]
