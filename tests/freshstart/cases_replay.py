"""Fresh-start cases minimized from the replay of real history (replay.py): each disagreement the
replay found between a live process and a fresh one, as a small project and the edit that shows it.
The version of the package it comes from is in the case's name and in its docstring line here.
"""

from __future__ import annotations

from freshcases import D, case, edit
from freshharness import Case

REPLAY_CASES: list[Case] = []

# cachetools 7.2.5 -> 7.2.6 (keys.py): `class _HashedTuple(tuple)` loses its `__hash__` and a class
# attribute, so the class is made again; `_kwmark = (_HashedTuple,)` below it reads the class and
# runs again. The live module then names one class and `_kwmark` holds another, and pickling a
# key fails ("not the same object as cachetools.keys._HashedTuple").
HASHED = D('''
    class Key(tuple):
        """A tuple that caches its hash."""

        __hashvalue = None

        def __hash__(self, hash=tuple.__hash__):
            value = self.__hashvalue
            if value is None:
                self.__hashvalue = value = hash(self)
            return value

        def __add__(self, other, add=tuple.__add__):
            return Key(add(self, other))


    MARK = (Key,)


    def make(*args, **kwargs):
        key = Key(args)
        if kwargs:
            key += MARK + tuple(sorted(kwargs.items()))
        return key
''')

REPLAY_CASES.append(
    case(
        "replay",
        "class_made_again_read_below",
        {"keys.py": HASHED},
        [
            "m.MARK[0] is m.Key",
            "type(m.make(1, a=2)) is m.Key",
            "type(pickle.loads(pickle.dumps(m.make(1, a=2)))) is m.Key",
        ],
        edit(
            "cachetools_7_2_6_hash_removed",
            {
                "keys.py": HASHED.replace(
                    HASHED[HASHED.index("    __hashvalue") : HASHED.index("    def __add__")], ""
                )
            },
        ),
    )
)

# cachetools 7.3.3 -> 8.0.0 (_cachedmethod.py): `class _WrapperBase` is made again (methods
# removed) and new subclasses `class _BasicWrapper(_WrapperBase)` appear below it. The live module
# keeps the patched `_WrapperBase`, the new subclasses derived from the discarded copy.
WRAPPERS = D("""
    class Base:
        def __init__(self, func):
            self.func = func

        def __call__(self, *args):
            return self.func(*args)

        def describe(self):
            return "base"
""")

REPLAY_CASES.append(
    case(
        "replay",
        "class_made_again_new_subclass",
        {"wrappers.py": WRAPPERS},
        [
            "[b is m.Base for b in getattr(m, 'Basic', object).__bases__]",
            "isinstance(m.make(len), m.Base)",
            "m.make(len)('abc')",
        ],
        edit(
            "cachetools_8_0_0_base_remade",
            {
                "wrappers.py": D("""
                    class Base:
                        def __init__(self, func):
                            self.func = func

                        def __call__(self, *args):
                            return self.func(*args)


                    class Basic(Base):
                        pass


                    def make(func):
                        return Basic(func)
                """)
            },
        ),
    )
)

# more-itertools 8.6.0 -> 8.7.0 (recipes.py): `def pairwise` moves under `try: from itertools
# import pairwise as itertools_pairwise ... else: def pairwise`. The statement has an import, so
# the engine took the new function as another module's object (rebound) instead of patching the
# live one, and more.py's `from .recipes import pairwise`, unchanged, kept the old function.
PAIRS = D("""
    def pairwise(iterable):
        items = list(iterable)
        return zip(items, items[1:])
""")
PAIRS_TRY = D("""
    def _pairwise(iterable):
        items = list(iterable)
        yield from zip(items, items[1:])


    try:
        from itertools import pairwise as itertools_pairwise
    except ImportError:
        pairwise = _pairwise
    else:

        def pairwise(iterable):
            yield from itertools_pairwise(iterable)

        pairwise.__doc__ = _pairwise.__doc__
""")
USER = D("""
    from recipes import pairwise


    def steps(values):
        return [b - a for a, b in pairwise(values)]
""")

REPLAY_CASES.append(
    case(
        "replay",
        "def_beside_import_taken_by_another_module",
        {"user.py": USER, "recipes.py": PAIRS},
        ["m.pairwise is recipes.pairwise", "m.steps([1, 4, 9])", "type(recipes.pairwise([1, 2]))"],
        edit("more_itertools_8_7_0_pairwise_under_try", {"recipes.py": PAIRS_TRY}),
        edit(
            "more_itertools_8_7_0_both_files",
            {"recipes.py": PAIRS_TRY, "user.py": USER.replace("b - a", "(b - a)")},
        ),
        imports=["user"],
    )
)

# more-itertools 10.1.0 -> 10.2.0 (recipes.py): `def _batched` edited (a new parameter), and the
# alias below it, `batched = _batched`, moves from `try`/`except ImportError` into an
# `if hexversion ...: ... else:`. The alias ran again and took the new `_batched` object while
# the live `_batched` was patched in place: two objects for what a fresh start binds as one.
BATCHED = D("""
    from itertools import islice


    def _batched(iterable, n):
        it = iter(iterable)
        while True:
            batch = tuple(islice(it, n))
            if not batch:
                break
            yield batch


    try:
        from itertools import no_such_batched as itertools_batched
    except ImportError:
        batched = _batched
    else:

        def batched(iterable, n):
            return itertools_batched(iterable, n)
""")
BATCHED_IF = D("""
    from itertools import islice
    from sys import hexversion


    def _batched(iterable, n, *, strict=False):
        it = iter(iterable)
        while batch := tuple(islice(it, n)):
            if strict and len(batch) != n:
                raise ValueError("batched(): incomplete batch")
            yield batch


    if hexversion >= 0x7F000000:
        from itertools import no_such_batched as itertools_batched

        def batched(iterable, n, *, strict=False):
            return itertools_batched(iterable, n, strict=strict)

    else:
        batched = _batched
""")

REPLAY_CASES.append(
    case(
        "replay",
        "alias_of_a_patched_function",
        {"batching.py": BATCHED},
        ["m.batched is m._batched", "list(m.batched('abcde', 2))"],
        edit("more_itertools_10_2_0_alias_under_if", {"batching.py": BATCHED_IF}),
    )
)

# cachetools 7.2.0 -> 7.2.1 (_cachedmethod.py), on Python 3.13: a comment added at the top moves
# every definition down; a function whose body defines a class (`class Descriptor:` inside
# `_condition_info`) holds that class body's code, which on 3.13 stores its first line as a
# constant (`__firstlineno__`, what `inspect.getsource` reads). The code swap must carry it.
FACTORY = D('''
    """Factories."""

    __all__ = ()

    import functools


    def _none(_):
        return None


    def make(value):
        class Made:
            class Inner:
                pass

            def get(self):
                return value

        return Made
''')

REPLAY_CASES.append(
    case(
        "replay",
        "class_inside_function_moved_down",
        {"factory.py": FACTORY},
        [
            "getattr(m.make(1), '__firstlineno__', None)",
            "getattr(m.make(1).Inner, '__firstlineno__', None)",
            "m.make(2)().get()",
        ],
        edit(
            "cachetools_7_2_1_comment_above",
            {
                "factory.py": FACTORY.replace(
                    '"""Factories."""\n', '"""Factories."""\n\n# a comment\n'
                )
            },
        ),
    )
)

# more-itertools 10.1.0 -> 10.2.0 on Python 3.12: `itertools.batched` exists, so 10.1.0 defined
# `def batched` beside `from itertools import batched as itertools_batched`; 10.2.0 takes that
# branch only on 3.13 and binds `batched = _batched` otherwise. The alias took the new `_batched`
# object (the live one was patched in place), and `itertools_batched`, which the statement no
# longer binds, stayed in the live module.
PAIRS_DEF = D("""
    def _pairs(items):
        return list(zip(items, items[1:]))


    try:
        from itertools import pairwise as itertools_pairwise
    except ImportError:
        pairs = _pairs
    else:

        def pairs(items):
            return list(itertools_pairwise(items))
""")
PAIRS_ALIAS = D("""
    from sys import hexversion


    def _pairs(items, *, strict=False):
        return list(zip(items, items[1:], strict=strict and False))


    if hexversion >= 0x7F000000:
        from itertools import pairwise as itertools_pairwise

        def pairs(items, *, strict=False):
            return list(itertools_pairwise(items))

    else:
        pairs = _pairs
""")

REPLAY_CASES.append(
    case(
        "replay",
        "branch_not_taken_any_more",
        {"pairing.py": PAIRS_DEF},
        ["m.pairs is m._pairs", "hasattr(m, 'itertools_pairwise')", "m.pairs([1, 2, 3])"],
        edit("more_itertools_10_2_0_on_3_12", {"pairing.py": PAIRS_ALIAS}),
    )
)

# The other side of the case above: a name a branch no longer binds but a later statement binds
# too keeps the later statement's value, as in a fresh start.
OVERRIDE = D("""
    import sys

    if sys.hexversion >= 0:
        LIMIT = 1

    LIMIT = 2
""")

REPLAY_CASES.append(
    case(
        "replay",
        "branch_not_taken_name_bound_below",
        {"limits.py": OVERRIDE},
        ["m.LIMIT"],
        edit(
            "condition_now_false",
            {"limits.py": OVERRIDE.replace("sys.hexversion >= 0", "sys.hexversion < 0")},
        ),
    )
)
