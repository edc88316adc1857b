"""Fresh-start cases minimized from the replay of tomlkit and pyparsing (replay.py): each
disagreement the replay found between a live process and a fresh one, as a small project and the
edit that shows it. The version it comes from is in the edit's name and in the comment above it.
"""

from __future__ import annotations

from freshcases import D, case, edit, sub
from freshharness import Case

MORE_CASES: list[Case] = []

# tomlkit 0.12.0 -> 0.12.1 (items.py; the same in 0.13.3 and 0.15.2): `def item` is declared
# a dozen times with `@overload`, then once more without: the implementation, which the name
# keeps. A save makes a class again (`class Key` gains a base); the overloads whose annotations
# read the class run again, the implementation (which does not) does not: the name is left
# bound to the last overload that ran, whose dummy raises NotImplementedError when called.
OVERLOADS = D("""
    from typing import overload


    class Key:
        pass


    @overload
    def item(value: Key) -> Key: ...


    @overload
    def item(value: str) -> str: ...


    def item(value):
        return [value]
""")

MORE_CASES.append(
    case(
        "replay",
        "overload_runs_again_before_its_implementation",
        {"items.py": OVERLOADS},
        ["m.item(1)", "m.item.__code__.co_firstlineno"],
        edit(
            "tomlkit_0_12_1_class_made_again",
            {"items.py": sub(OVERLOADS, "class Key:", "class Key(tuple):")},
        ),
        edit(
            "overload_added",
            {
                "items.py": sub(
                    OVERLOADS,
                    "def item(value):",
                    "@overload\ndef item(value: bytes) -> bytes: ...\n\n\ndef item(value):",
                )
            },
        ),
    )
)

# tomlkit 0.11.7 -> 0.11.8 (items.py and its importers): `from __future__ import annotations`
# added to every module, so each runs whole, in import order, and `item` gains an overload. The
# overloaded `item` is taken as the new object in items.py (several definitions of one name are
# never patched); container.py and api.py, which ran whole in the same save and do
# `from tomlkit.items import item`, took the new object, but a whole-module run did not count
# it as imported: the commit patched their old `item` (the old object) with its code and kept
# it, another function than items.item. Where the importer is not part of the save, it follows
# and takes the new object (the first edit).
OVERLOAD_USER = D("""
    from items import item


    def wrap(value):
        return item(value)
""")
ADDED = sub(
    OVERLOADS,
    "def item(value):",
    "@overload\ndef item(value: bytes) -> bytes: ...\n\n\ndef item(value):",
)

MORE_CASES.append(
    case(
        "replay",
        "overloaded_function_imported_elsewhere",
        {"user.py": OVERLOAD_USER, "items.py": OVERLOADS},
        ["m.item is items.item", "m.wrap(1)", "items.item(1)"],
        edit("overload_added_importer_not_saved", {"items.py": ADDED}),
        edit(
            "future_import_only", {"items.py": "from __future__ import annotations\n\n" + OVERLOADS}
        ),
        edit(
            "tomlkit_0_11_8_both_run_whole",
            {
                "items.py": "from __future__ import annotations\n\n" + ADDED,
                "user.py": "from __future__ import annotations\n\n" + OVERLOAD_USER,
            },
        ),
        edit(
            "importer_runs_whole_overloads_run_again",
            {
                "items.py": ADDED,
                "user.py": "from __future__ import annotations\n\n" + OVERLOAD_USER,
            },
        ),
        imports=["user"],
    )
)

# pyparsing 3.0.0 -> 3.0.1 (core.py): `core.py` takes `from .unicode import pyparsing_unicode`
# and reads `pyparsing_unicode.Latin1.identchars` at import, while `__init__.py` imports `core`
# and only then binds the name `unicode` (`from .unicode import pyparsing_unicode as unicode`).
# The save was rejected as an import cycle (`import_would_fail`: core "takes `unicode` from
# pyparsing" before the package binds it); but a name taken from the submodule
# `pyparsing.unicode` comes from the submodule, never from the package's attribute of that name.
KIT_INIT = D("""
    from kit.core import make
    from kit.names import Names as names
""")
KIT_CORE = D("""
    from kit.names import Names

    LETTERS = Names.letters


    def make():
        return LETTERS
""")

MORE_CASES.append(
    case(
        "replay",
        "name_from_a_submodule_the_package_rebinds",
        {
            "kit/__init__.py": KIT_INIT,
            "kit/core.py": KIT_CORE,
            "kit/names.py": "class Names:\n    letters = 'abc'\n",
        },
        ["kit.make()", "kit.names.letters"],
        edit(
            "pyparsing_3_0_1_core_edited",
            {"kit/core.py": sub(KIT_CORE, "return LETTERS", "return LETTERS + '!'")},
        ),
        imports=["kit"],
    )
)

# tomlkit 0.11.3 -> 0.11.4 (items.py, `class StringType(Enum)`): the members' `__init__` stored
# per-member caches (`self.is_basic = lru_cache(maxsize=None)(self._is_basic)`); the new version
# drops `__init__` and makes `is_basic` a method. The class is patched in place and keeps its
# members, made by the old `__init__`: each still holds its instance attribute `is_basic`, which
# hides the new method (and calls the old code); a fresh start's members have none.
KINDS = D("""
    from enum import Enum
    from functools import lru_cache


    class Kind(Enum):
        BASIC = '"'
        LITERAL = "'"

        def __init__(self, value):
            self.is_basic = lru_cache(maxsize=None)(self._is_basic)

        def _is_basic(self):
            return self is Kind.BASIC
""")

MORE_CASES.append(
    case(
        "replay",
        "enum_members_made_by_an_old_init",
        {"kinds.py": KINDS},
        ["sorted(vars(m.Kind.BASIC))", "m.Kind.LITERAL.is_basic()", "m.Kind.BASIC.is_basic()"],
        edit(
            "tomlkit_0_11_4_init_cache_becomes_method",
            {
                "kinds.py": D("""
                    from enum import Enum


                    class Kind(Enum):
                        BASIC = '"'
                        LITERAL = "'"

                        def is_basic(self):
                            return self is Kind.BASIC and "new"
                """)
            },
            fails="the Enum class is patched in place and keeps its members, made by the old "
            "`__init__`: `Kind.BASIC.is_basic` is still the instance attribute the old `__init__` "
            "set (old code), which hides the new method; a fresh start's members have no such "
            "attribute",
        ),
    )
)

# pyparsing 3.0.0 -> 3.0.1 (__init__.py): the package runs whole (what it star-imports from
# core.py changed) and its `__doc__`, which a statement binds (`__doc__ = """..."""`, no
# docstring), was left None; a fresh start has the text.
DOCUMENTED = D('''
    # a licence comment above the docstring
    __doc__ = """The kit: parts and tools."""

    from tools import *

    VERSION = 1
''')

MORE_CASES.append(
    case(
        "replay",
        "docstring_of_a_module_run_whole",
        {"kit.py": DOCUMENTED, "tools.py": "def hammer():\n    return 1\n"},
        ["m.__doc__", "m.hammer()"],
        edit(
            "pyparsing_3_0_1_star_source_changed",
            {"tools.py": "def hammer():\n    return 2\n\n\ndef saw():\n    return 3\n"},
        ),
        edit("version_edited", {"kit.py": DOCUMENTED.replace("VERSION = 1", "VERSION = 2")}),
    )
)

# pyparsing 3.0.1 -> 3.0.2: `class IndentedBlock` moves from helpers.py to core.py, which
# helpers.py star-imports (`from .core import *`). helpers.py's own class is removed and the
# name must be core's class, as the star import binds it at a fresh start.
MORE_CASES.append(
    case(
        "replay",
        "class_moves_into_a_star_imported_module",
        {
            "kit.py": "from tools import *\n\n\nclass Block:\n    size = 1\n",
            "tools.py": "def hammer():\n    return 1\n",
        },
        ["getattr(m, 'Block', None) is getattr(tools, 'Block', None)", "m.Block.size"],
        edit(
            "pyparsing_3_0_2_indented_block_moved",
            {
                "kit.py": "from tools import *\n",
                "tools.py": "def hammer():\n    return 1\n\n\nclass Block:\n    size = 2\n",
            },
        ),
        edit(
            "importer_runs_whole",
            {
                "kit.py": "from __future__ import annotations\n\nfrom tools import *\n",
                "tools.py": "def hammer():\n    return 1\n\n\nclass Block:\n    size = 2\n",
            },
        ),
    )
)

# tomlkit 0.11.8 -> 0.12.0 (items.py, and its importers in the same save): `class
# AbstractTable` changes its bases, so it and its subclasses `Table` and `InlineTable` are
# made again (rebound); container.py, parser.py and api.py, edited in the same save, must take
# the new classes by their `from tomlkit.items import Table`.
TABLES = D("""
    class Item:
        pass


    class AbstractTable(Item):
        pass


    class Table(AbstractTable):
        pass
""")
API = D("""
    from tables import Table


    def table():
        return Table()
""")

MORE_CASES.append(
    case(
        "replay",
        "subclass_made_again_importer_saved_too",
        {"api.py": API, "tables.py": TABLES},
        ["m.Table is tables.Table", "isinstance(m.table(), tables.Table)", "tables.Table.__mro__"],
        edit(
            "tomlkit_0_12_0_bases_changed",
            {
                "tables.py": sub(
                    TABLES, "class AbstractTable(Item):", "class AbstractTable(Item, dict):"
                ),
                "api.py": sub(API, "return Table()", "return Table({})"),
            },
        ),
        edit(
            "importer_not_saved",
            {
                "tables.py": sub(
                    TABLES, "class AbstractTable(Item):", "class AbstractTable(Item, dict):"
                )
            },
        ),
        imports=["api"],
    )
)

# pyparsing 3.1.0 -> 3.1.1 (core.py runs whole): `class __diag__` (the warnings' switches, a
# class named like a dunder) was made again and, its name looking like a module dunder, left
# as the new object unpatched and unreported: the package's `from .core import __diag__` kept
# the old class, so `enable_all_warnings()` (core's) switched flags the package's `__diag__`
# did not show.
DIAG = D("""
    class __diag__:
        warn = False


    def enable_all_warnings():
        __diag__.warn = True
""")

MORE_CASES.append(
    case(
        "replay",
        "dunder_named_class_made_again",
        {"kit.py": "from diag import __diag__, enable_all_warnings\n", "diag.py": DIAG},
        ["m.__diag__ is diag.__diag__", "(m.enable_all_warnings(), m.__diag__.warn)[1]"],
        edit(
            "pyparsing_3_1_1_class_edited",
            {"diag.py": sub(DIAG, "warn = False", "warn = False\n    debug = False")},
        ),
        edit(
            "module_runs_whole",
            {
                "diag.py": "from __future__ import annotations\n\n"
                + sub(DIAG, "warn = False", "warn = False\n    debug = False")
            },
        ),
    )
)

# pyparsing 3.2.0 -> 3.2.1: `ParseAction = Union[...]` moves from core.py into actions.py, which
# core.py star-imports; core.py runs whole. The star import bound the very object the old
# statement had bound (typing caches `Union[...]`; `int` here), so the run did not count it as
# bound by the star import, and the name was removed as one the new version does not define:
# helpers.py (`from .core import *`, `ParseAction` in an annotation) was rejected with NameError.
MORE_CASES.append(
    case(
        "replay",
        "same_object_moves_into_a_star_imported_module",
        {
            "core.py": "from actions import *\n\nAction = int\n\n\ndef parse(x):\n    return x\n",
            "actions.py": "def act(x):\n    return x\n",
        },
        ["getattr(m, 'Action', None)", "getattr(actions, 'Action', None)"],
        edit(
            "pyparsing_3_2_1_parse_action_moved",
            {
                "actions.py": "Action = int\n\n\ndef act(x):\n    return x\n",
                "core.py": "from __future__ import annotations\n\nfrom actions import *\n\n\n"
                "def parse(x):\n    return [x]\n",
            },
        ),
        edit(
            "importer_runs_statements",
            {
                "actions.py": "Action = int\n\n\ndef act(x):\n    return x\n",
                "core.py": "from actions import *\n\n\ndef parse(x):\n    return [x]\n",
            },
        ),
        imports=["core"],
    )
)
