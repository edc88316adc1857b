"""Issue 21, item 3: what a statement registered with the standard library is undone before it
runs again, and when it is removed (atexit, signal, excepthooks, singledispatch, copyreg, logging,
warnings), so the live process ends as a fresh start on the new files does; with
`hotreload.on_dispose` for the user's own values. Each kind edited, removed and added."""

# ruff: noqa: E501  (the corpus is data, as freshcases.py)
from __future__ import annotations

from freshcases import D, case, edit, sub
from freshharness import Case

CASES: list[Case] = []

SIGNAL = "__import__('signal')"
HANDLER_OF = (
    f"(lambda h: h(0, None) if callable(h) else str(h))({SIGNAL}.getsignal({SIGNAL}.SIGUSR2))"
)
ROOT = "__import__('logging').getLogger()"
FILTERS = "[(f[0], f[1].pattern) for f in __import__('warnings').filters if f[1] is not None and f[1].pattern.startswith('fs-')]"

ATEXIT = D("""
    import atexit


    def _flush(tag):
        return tag


    def _close():
        return "closed"


    atexit.register(_flush, "v1")
    atexit.register(_close)
    LIMIT = 1
""")
CASES.append(
    case(
        "c3",
        "stdlib_atexit",
        {"flusher.py": ATEXIT},
        ["atexit_count()"],
        edit("argument_edited", {"flusher.py": sub(ATEXIT, '"v1"', '"v2"')}),
        edit("removed", {"flusher.py": sub(ATEXIT, 'atexit.register(_flush, "v1")\n', "")}),
        edit(
            "both_removed",
            {
                "flusher.py": sub(
                    ATEXIT, 'atexit.register(_flush, "v1")\natexit.register(_close)\n', ""
                )
            },
        ),
        edit(
            "added",
            {"flusher.py": sub(ATEXIT, "LIMIT = 1", 'LIMIT = 1\natexit.register(_flush, "v3")')},
        ),
        edit(
            "callback_changed",
            {"flusher.py": sub(ATEXIT, "atexit.register(_close)", "atexit.register(_flush)")},
        ),
        edit(
            "edited_twice",
            {"flusher.py": sub(ATEXIT, '"v1"', '"v2"')},
            {"flusher.py": sub(ATEXIT, '"v1"', '"v3"')},
        ),
    )
)

ATEXIT_DECORATED = D("""
    import atexit

    CALLS = []


    @atexit.register
    def _goodbye():
        CALLS.append("bye")


    VALUE = 1
""")
CASES.append(
    case(
        "c3",
        "stdlib_atexit_decorator",
        {"bye.py": ATEXIT_DECORATED},
        ["atexit_count()"],
        edit(
            "decorated_removed",
            {
                "bye.py": sub(
                    ATEXIT_DECORATED,
                    '@atexit.register\ndef _goodbye():\n    CALLS.append("bye")\n',
                    "",
                )
            },
        ),
        edit("decorator_removed", {"bye.py": sub(ATEXIT_DECORATED, "@atexit.register\n", "")}),
        edit("body_edited", {"bye.py": sub(ATEXIT_DECORATED, 'append("bye")', 'append("ciao")')}),
        edit("renamed", {"bye.py": ATEXIT_DECORATED.replace("_goodbye", "_farewell")}),
    )
)

SIGNALS = D("""
    import signal


    def _on_usr2(signum, frame):
        return "v1"


    def _other(signum, frame):
        return "other"


    signal.signal(signal.SIGUSR2, _on_usr2)
""")
CASES.append(
    case(
        "c3",
        "stdlib_signal",
        {"sig.py": SIGNALS},
        [HANDLER_OF],
        edit("handler_body", {"sig.py": sub(SIGNALS, 'return "v1"', 'return "v2"')}),
        edit("handler_changed", {"sig.py": sub(SIGNALS, "SIGUSR2, _on_usr2)", "SIGUSR2, _other)")}),
        edit("removed", {"sig.py": sub(SIGNALS, "signal.signal(signal.SIGUSR2, _on_usr2)\n", "")}),
        edit(
            "set_to_ignore",
            {"sig.py": sub(SIGNALS, "SIGUSR2, _on_usr2)", "SIGUSR2, signal.SIG_IGN)")},
        ),
        edit("added_after", {"sig.py": SIGNALS + "signal.signal(signal.SIGUSR2, _other)\n"}),
        edit(
            "from_import",
            {
                "sig.py": sub(
                    SIGNALS,
                    "import signal\n",
                    "import signal\nfrom signal import signal as on_signal\n",
                ).replace(
                    "signal.signal(signal.SIGUSR2, _on_usr2)", "on_signal(signal.SIGUSR2, _other)"
                )
            },
        ),
    )
)

SIGNAL_FROM = D("""
    from signal import SIGUSR2, signal


    def _on_usr2(signum, frame):
        return "v1"


    signal(SIGUSR2, _on_usr2)
""")
CASES.append(
    case(
        "c3",
        "stdlib_signal_from_import",
        {"sig2.py": SIGNAL_FROM},
        [HANDLER_OF, "m.signal is __import__('signal').signal"],
        edit(
            "handler_changed",
            {
                "sig2.py": sub(
                    SIGNAL_FROM,
                    "signal(SIGUSR2, _on_usr2)",
                    "signal(SIGUSR2, lambda s, f: 'lambda')",
                )
            },
        ),
        edit("removed", {"sig2.py": sub(SIGNAL_FROM, "signal(SIGUSR2, _on_usr2)\n", "")}),
    )
)

HOOKS = D("""
    import sys
    import threading


    def _hook(kind, value, tb):
        return None


    def _thread_hook(args):
        return None


    sys.excepthook = _hook
    threading.excepthook = _thread_hook
""")
CASES.append(
    case(
        "c3",
        "stdlib_excepthooks",
        {"hooks.py": HOOKS},
        [
            "getattr(sys.excepthook, '__name__', None)",
            "getattr(__import__('threading').excepthook, '__name__', None)",
            "sys.excepthook is m.__dict__.get('_hook', 0)",
        ],
        edit("sys_hook_removed", {"hooks.py": sub(HOOKS, "sys.excepthook = _hook\n", "")}),
        edit(
            "thread_hook_removed",
            {"hooks.py": sub(HOOKS, "threading.excepthook = _thread_hook\n", "")},
        ),
        edit(
            "sys_hook_replaced",
            {"hooks.py": sub(HOOKS, "sys.excepthook = _hook", "sys.excepthook = lambda *a: None")},
        ),
        edit(
            "hook_body",
            {"hooks.py": sub(HOOKS, "return None\n\n\ndef _thread", "return 1\n\n\ndef _thread")},
        ),
        edit(
            "both_removed",
            {
                "hooks.py": sub(
                    HOOKS, "sys.excepthook = _hook\nthreading.excepthook = _thread_hook\n", ""
                )
            },
        ),
    )
)

LOGGING = D("""
    import logging

    log = logging.getLogger("fs.stdlib")


    def _only_errors(record):
        return record.levelno >= logging.ERROR


    log.addHandler(logging.NullHandler())
    log.addFilter(_only_errors)
    log.setLevel(logging.DEBUG)
    LEVEL = 10
""")
LOG_PROBE = [
    "[type(h).__name__ for h in m.log.handlers]",
    "[getattr(f, '__name__', type(f).__name__) for f in m.log.filters]",
    "m.log.level",
    "m.log.isEnabledFor(10)",
]
CASES.append(
    case(
        "c3",
        "stdlib_logging",
        {"logs.py": LOGGING},
        LOG_PROBE,
        edit(
            "handler_changed",
            {"logs.py": sub(LOGGING, "logging.NullHandler()", "logging.StreamHandler()")},
        ),
        edit(
            "handler_removed",
            {"logs.py": sub(LOGGING, "log.addHandler(logging.NullHandler())\n", "")},
        ),
        edit(
            "handler_added",
            {
                "logs.py": sub(
                    LOGGING, "LEVEL = 10", "LEVEL = 10\nlog.addHandler(logging.StreamHandler())"
                )
            },
        ),
        edit("filter_removed", {"logs.py": sub(LOGGING, "log.addFilter(_only_errors)\n", "")}),
        edit(
            "filter_replaced",
            {
                "logs.py": sub(
                    LOGGING, "log.addFilter(_only_errors)", "log.addFilter(logging.Filter('fs'))"
                )
            },
        ),
        edit("level_changed", {"logs.py": sub(LOGGING, "logging.DEBUG)", "logging.WARNING)")}),
        edit("level_removed", {"logs.py": sub(LOGGING, "log.setLevel(logging.DEBUG)\n", "")}),
        edit("unrelated_constant", {"logs.py": sub(LOGGING, "LEVEL = 10", "LEVEL = 20")}),
        edit("logger_renamed", {"logs.py": sub(LOGGING, '"fs.stdlib"', '"fs.stdlib2"')}),
        edit("filter_body", {"logs.py": sub(LOGGING, ">= logging.ERROR", ">= logging.WARNING")}),
    )
)

LOG_CHAIN = D("""
    import logging

    logging.getLogger("fs.chain").addHandler(logging.NullHandler())
    logging.getLogger("fs.chain").setLevel(logging.INFO)
""")
CASES.append(
    case(
        "c3",
        "stdlib_logging_get_logger_chain",
        {"chain.py": LOG_CHAIN},
        [
            "[type(h).__name__ for h in __import__('logging').getLogger('fs.chain').handlers]",
            "__import__('logging').getLogger('fs.chain').level",
        ],
        edit(
            "handler_changed",
            {"chain.py": sub(LOG_CHAIN, "logging.NullHandler()", "logging.StreamHandler()")},
        ),
        edit("both_removed", {"chain.py": "import logging\n"}),
    )
)

BASIC = D("""
    import logging

    logging.basicConfig(level=logging.INFO, format="fs %(message)s v1")
    log = logging.getLogger("fs.basic")
""")
ROOT_PROBE = [
    f"[(type(h).__name__, h.formatter._fmt if h.formatter else None) for h in {ROOT}.handlers]",
    f"{ROOT}.level",
]
CASES.append(
    case(
        "c3",
        "stdlib_basic_config",
        {"basic.py": BASIC},
        ROOT_PROBE,
        edit("format_changed", {"basic.py": sub(BASIC, " v1", " v2")}),
        edit(
            "level_changed", {"basic.py": sub(BASIC, "level=logging.INFO", "level=logging.DEBUG")}
        ),
        edit(
            "removed",
            {
                "basic.py": sub(
                    BASIC,
                    'logging.basicConfig(level=logging.INFO, format="fs %(message)s v1")\n',
                    "",
                )
            },
        ),
        edit(
            "stream_changed",
            {
                "basic.py": sub(
                    BASIC,
                    "level=logging.INFO,",
                    "level=logging.INFO, stream=__import__('sys').stdout,",
                )
            },
        ),
    )
)

BASIC_SECOND = D("""
    import logging

    logging.basicConfig(format="fs %(message)s first")
    LIMIT = 1
""")
CASES.append(
    case(
        "c3",
        "stdlib_basic_config_twice",
        {"twice.py": BASIC_SECOND},
        ROOT_PROBE,
        # A second basicConfig does nothing in a fresh start (root has a handler by then).
        edit(
            "second_added",
            {
                "twice.py": sub(
                    BASIC_SECOND,
                    "LIMIT = 1",
                    'LIMIT = 1\nlogging.basicConfig(format="fs %(message)s second")',
                )
            },
        ),
        edit(
            "first_removed_second_added",
            {
                "twice.py": sub(
                    BASIC_SECOND,
                    'logging.basicConfig(format="fs %(message)s first")\nLIMIT = 1',
                    'LIMIT = 1\nlogging.basicConfig(format="fs %(message)s second")',
                )
            },
        ),
    )
)

WARNINGS = D("""
    import warnings

    warnings.filterwarnings("ignore", message="fs-one")
    warnings.simplefilter("error", DeprecationWarning)
    warnings.filterwarnings("always", message="fs-two", append=True)
    LIMIT = 1
""")
CASES.append(
    case(
        "c3",
        "stdlib_warnings",
        {"warns.py": WARNINGS},
        [
            FILTERS,
            "[(f[0], f[2].__name__) for f in __import__('warnings').filters if f[1] is None and f[2] is DeprecationWarning][:1]",
        ],
        edit("message_changed", {"warns.py": sub(WARNINGS, '"fs-one"', '"fs-three"')}),
        edit(
            "action_changed",
            {"warns.py": sub(WARNINGS, '"ignore", message="fs-one"', '"error", message="fs-one"')},
        ),
        edit(
            "removed",
            {
                "warns.py": sub(
                    WARNINGS, 'warnings.filterwarnings("ignore", message="fs-one")\n', ""
                )
            },
        ),
        edit(
            "appended_removed",
            {
                "warns.py": sub(
                    WARNINGS,
                    'warnings.filterwarnings("always", message="fs-two", append=True)\n',
                    "",
                )
            },
        ),
        edit(
            "simplefilter_changed",
            {
                "warns.py": sub(
                    WARNINGS, '"error", DeprecationWarning', '"ignore", DeprecationWarning'
                )
            },
        ),
        edit(
            "added",
            {
                "warns.py": sub(
                    WARNINGS,
                    "LIMIT = 1",
                    'LIMIT = 1\nwarnings.filterwarnings("default", message="fs-four")',
                )
            },
        ),
        edit(
            "order_swapped",
            {
                "warns.py": sub(
                    WARNINGS,
                    'warnings.filterwarnings("ignore", message="fs-one")\nwarnings.simplefilter("error", DeprecationWarning)\n',
                    'warnings.simplefilter("error", DeprecationWarning)\nwarnings.filterwarnings("ignore", message="fs-one")\n',
                )
            },
        ),
    )
)

COPYREG = D("""
    import copyreg


    class Point:
        def __init__(self, x, y):
            self.x = x
            self.y = y


    def _reduce_point(point):
        return Point, (point.x, point.y)


    def _reduce_swapped(point):
        return Point, (point.y, point.x)


    copyreg.pickle(Point, _reduce_point)
""")
CASES.append(
    case(
        "c3",
        "stdlib_copyreg",
        {"points.py": COPYREG},
        [
            "(lambda p: (p.x, p.y))(pickle.loads(pickle.dumps(m.Point(1, 2))))",
            "getattr(__import__('copyreg').dispatch_table.get(m.Point), '__name__', None)",
        ],
        edit(
            "reducer_changed",
            {
                "points.py": sub(
                    COPYREG,
                    "copyreg.pickle(Point, _reduce_point)",
                    "copyreg.pickle(Point, _reduce_swapped)",
                )
            },
        ),
        edit("removed", {"points.py": sub(COPYREG, "copyreg.pickle(Point, _reduce_point)\n", "")}),
        edit(
            "reducer_body",
            {
                "points.py": sub(
                    COPYREG,
                    "return Point, (point.x, point.y)",
                    "return Point, (point.x * 10, point.y)",
                )
            },
        ),
    )
)

DISPATCH = {
    "shapes.py": D("""
        from functools import singledispatch


        @singledispatch
        def render(value):
            return "thing"
    """),
    "plugins.py": D("""
        from shapes import render


        @render.register
        def _(value: int):
            return "int"


        @render.register(float)
        def _render_float(value):
            return "float"


        render.register(bytes, lambda value: "bytes")
    """),
}
DISPATCH_PROBE = [
    "[shapes.render(v) for v in (1, 1.5, b'x', 'a', None)]",
    "sorted(t.__name__ for t in shapes.render.registry)",
]
CASES.append(
    case(
        "c3",
        "stdlib_singledispatch_other_module",
        DISPATCH,
        DISPATCH_PROBE,
        edit(
            "type_changed", {"plugins.py": sub(DISPATCH["plugins.py"], "value: int", "value: str")}
        ),
        edit(
            "annotated_removed",
            {
                "plugins.py": sub(
                    DISPATCH["plugins.py"],
                    '@render.register\ndef _(value: int):\n    return "int"\n\n\n',
                    "",
                )
            },
        ),
        edit(
            "explicit_removed",
            {
                "plugins.py": sub(
                    DISPATCH["plugins.py"],
                    '@render.register(float)\ndef _render_float(value):\n    return "float"\n\n\n',
                    "",
                )
            },
        ),
        edit(
            "call_removed",
            {
                "plugins.py": sub(
                    DISPATCH["plugins.py"], 'render.register(bytes, lambda value: "bytes")\n', ""
                )
            },
        ),
        edit(
            "added",
            {
                "plugins.py": DISPATCH["plugins.py"]
                + '\n\n@render.register\ndef _(value: str):\n    return "str"\n'
            },
        ),
        edit(
            "body_edited",
            {"plugins.py": sub(DISPATCH["plugins.py"], 'return "int"', 'return "INT"')},
        ),
        imports=["plugins"],
        main="plugins",
    )
)

DISPOSE = D("""
    import atexit
    import logging

    import hotreload

    log = logging.getLogger("fs.pool")


    class Pool:
        def __init__(self, name):
            self.name = name
            self.handler = logging.NullHandler()
            self.open = True

        def close(self):
            self.open = False
            return self.name


    hotreload.on_dispose("POOL", lambda pool: pool.close())
    POOL = Pool("v1")
    log.addHandler(POOL.handler)
    atexit.register(POOL.close)
""")
CASES.append(
    case(
        "c3",
        "stdlib_with_on_dispose",
        {"pool.py": DISPOSE},
        [
            "len(m.log.handlers)",
            "m.log.handlers[0] is m.POOL.handler if m.log.handlers else None",
            "atexit_count()",
            "m.POOL.name",
            "m.POOL.open",
        ],
        edit("pool_remade", {"pool.py": sub(DISPOSE, 'Pool("v1")', 'Pool("v2")')}),
        edit(
            "registration_removed",
            {
                "pool.py": sub(
                    DISPOSE, "log.addHandler(POOL.handler)\natexit.register(POOL.close)\n", ""
                )
            },
        ),
        edit(
            "pool_removed",
            {
                "pool.py": sub(
                    DISPOSE,
                    'POOL = Pool("v1")\nlog.addHandler(POOL.handler)\natexit.register(POOL.close)\n',
                    "",
                )
            },
        ),
    )
)

SETUP_FUNCTION = D("""
    import atexit
    import logging
    import warnings


    def _setup(tag):
        logging.getLogger("fs.setup").addHandler(logging.NullHandler())
        warnings.filterwarnings("ignore", message="fs-setup-" + tag)
        atexit.register(str, tag)


    _setup("v1")
""")
CASES.append(
    case(
        "c3",
        "stdlib_through_a_function",
        {"setup_fn.py": SETUP_FUNCTION},
        [
            "len(__import__('logging').getLogger('fs.setup').handlers)",
            FILTERS,
            "atexit_count()",
        ],
        # A statement that registers through a function of its module: recorded all the same,
        # undone before it runs again (the call is not a shape the source shows as a registration).
        edit(
            "argument_changed", {"setup_fn.py": sub(SETUP_FUNCTION, '_setup("v1")', '_setup("v2")')}
        ),
        edit(
            "function_body",
            {"setup_fn.py": sub(SETUP_FUNCTION, '"fs-setup-" + tag', '"fs-setup2-" + tag')},
        ),
        edit("call_removed", {"setup_fn.py": sub(SETUP_FUNCTION, '_setup("v1")\n', "")}),
    )
)

NOT_RECORDED = D("""
    import socket

    socket.setdefaulttimeout(30)
""")
CASES.append(
    case(
        "c3",
        "stdlib_not_recorded",
        {"timeouts.py": NOT_RECORDED},
        ["__import__('socket').getdefaulttimeout()"],
        # Not a registration hotreload records: still restart_needed, nothing applied.
        edit("value_changed", {"timeouts.py": sub(NOT_RECORDED, "(30)", "(60)")}),
    )
)
