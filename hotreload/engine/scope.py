"""What a module's top-level statements bind, read and call while the module runs (from `ast`).

A reload runs only the statements a save touched, and the later ones that read what those
bind: that needs, for each top-level statement, the names it binds in module scope and the
names it reads *at import time*. A function's body runs when the function is called, not when
its `def` runs, so it is not read here; its decorators, defaults and annotations are, and so is
a class body (but not its methods' bodies).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

from hotreload.records import record

# Calls that read or write module globals by name at run time: a statement that makes one binds
# or reads names the tree does not show, so its effects cannot be traced statement by statement.
DYNAMIC_CALLS = frozenset({"globals", "locals", "vars", "exec", "eval", "__import__"})

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@record
class StatementScope:
    """What one top-level statement does to the module namespace when it runs."""

    binds: frozenset[str]  # names it binds (or deletes) in module scope
    deleted: frozenset[str]  # names it deletes (`del X`)
    reads: frozenset[str]  # names it reads while it runs (not inside function bodies)
    calls: frozenset[str]  # names it calls while it runs: `f(...)`, `@f`, `@f(...)`
    dynamic: bool  # it reaches names the tree does not show (`globals()`, `exec`, `eval`)
    # Dotted reads rooted at a name (`cfg.TIMEOUT`, `pkg.sub.X`): what it reads of another
    # module through a plain import, so a save of that module can run it again.
    attributes: frozenset[str] = frozenset()
    attribute_calls: frozenset[str] = frozenset()  # those of them it calls: `m.f(...)`, `@m.f`
    star: tuple[str, ...] = ()  # `from M import *`: the names it binds are M's public names
    # Module names whose value it changes in place: `SETTINGS["size"] = 25`, `del X[k]`,
    # `Foo.x = 1`, a bare `ROWS.append(r)`. Such a statement cannot be undone by itself.
    mutates: frozenset[str] = frozenset()
    # It reads the module's own namespace (`dir()`, `sys.modules[__name__]`): any name the
    # save binds, rebinds or removes is its input.
    introspects: bool = False
    # Those of `mutates` it changes in a way that adds up when run twice (`ROWS.append(r)`,
    # `TOTALS["a"] += 1`), unlike an assignment (`SETTINGS["size"] = 25`), which sets again.
    accumulates: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()  # attribute names it calls: `Helper().compute()`
    # A bare call statement's callee (`ROWS.append`, `time.sleep`, `sys.path.insert`): which
    # of `mutates` it changes only by calling a function of a module, not by storing.
    effect_call: str | None = None
    stores: frozenset[str] = frozenset()  # those of `mutates` it assigns into or deletes from


def statement_scope(node: ast.stmt) -> StatementScope:
    """The names one top-level statement binds, reads and calls at import time."""
    visitor = _ImportTimeVisitor()
    visitor.visit(node)
    return StatementScope(
        frozenset(visitor.binds),
        frozenset(visitor.deleted),
        frozenset(visitor.reads),
        frozenset(visitor.calls),
        visitor.dynamic,
        frozenset(visitor.attributes),
        frozenset(visitor.attribute_calls),
        tuple(visitor.star),
        frozenset(visitor.mutates | _called_on(node)),
        visitor.introspects,
        frozenset(_called_on(node) | (visitor.mutates if _adds_up(node) else set())),
        frozenset(visitor.methods),
        _effect_call(node),
        frozenset(visitor.mutates),
    )


def _effect_call(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return dotted_name(node.value.func)
    return None


# Functions of standard modules that change the process's state: a call of one at import is a
# side effect. A call of another module function (`time.sleep(1)`, `logging.info(...)`) is not.
STATEFUL_CALLS = frozenset(
    {
        "atexit.register",
        "atexit.unregister",
        "signal.signal",
        "warnings.filterwarnings",
        "warnings.simplefilter",
        "logging.basicConfig",
        "logging.disable",
        "logging.setLoggerClass",
        "logging.captureWarnings",
        "copyreg.pickle",
        "sys.setrecursionlimit",
        "sys.setswitchinterval",
        "sys.settrace",
        "sys.setprofile",
        "os.putenv",
        "os.unsetenv",
        "os.chdir",
        "os.umask",
        "socket.setdefaulttimeout",
        "locale.setlocale",
        "mimetypes.add_type",
        "codecs.register",
        "faulthandler.enable",
        "threading.excepthook",
        "random.seed",
        "sqlite3.register_adapter",
        "sqlite3.register_converter",
    }
)


def changes_module_state(scope: StatementScope, name: str) -> bool:
    """Whether a statement that `mutates` ``name``, a module it imported, changes that
    module's state: it assigns into it (`sys.excepthook = f`, `os.environ["X"] = "1"`), calls a
    method of one of its values (`sys.path.insert(...)`), or one of `STATEFUL_CALLS`."""
    if name in scope.stores:
        return True
    call = scope.effect_call
    if call is None or call.split(".")[0] != name:
        return True  # a mutation the tree shows otherwise: count it
    return call.count(".") > 1 or call in STATEFUL_CALLS


def _adds_up(node: ast.stmt) -> bool:
    return isinstance(node, ast.AugAssign | ast.Delete) or not isinstance(
        node, ast.Assign | ast.AnnAssign
    )


def _called_on(node: ast.stmt) -> set[str]:
    """`X.append(r)` (a bare method call on a module name): X is changed in place."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        if isinstance(func, ast.Attribute):
            root = dotted_name(func)
            if root is not None:
                return {root.split(".")[0]}
    return set()


def body_reads(function: FunctionNode) -> frozenset[str]:
    """Global-looking names a function's body (nested functions included) reads when called."""
    names: set[str] = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
    return frozenset(names)


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` for an attribute chain rooted at a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _ImportTimeVisitor(ast.NodeVisitor):
    """Walks one statement the way the interpreter runs it at import time.

    It does not enter a new scope's body: a comprehension's variable or a function's local is
    not a module global. A class body runs at once, in its own scope: what it reads of the
    module is read, what it assigns is the class's, not the module's.
    """

    def __init__(self) -> None:
        self.binds: set[str] = set()
        self.deleted: set[str] = set()
        self.reads: set[str] = set()
        self.calls: set[str] = set()
        self.dynamic = False
        self.attributes: set[str] = set()
        self.attribute_calls: set[str] = set()
        self.star: list[str] = []
        self.mutates: set[str] = set()
        self.introspects = False
        self.methods: set[str] = set()
        self._class_depth = 0

    def _bind(self, name: str) -> None:
        if self._class_depth == 0:
            self.binds.add(name)

    def _visit_all(self, nodes: Iterable[Any]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id)
        elif isinstance(node.ctx, ast.Del):
            self._bind(node.id)
            self.reads.add(node.id)
            if self._class_depth == 0:
                self.deleted.add(node.id)
        else:
            self.reads.add(node.id)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name):
            self.calls.add(node.func.id)
            if node.func.id == "dir" and not node.args:
                self.introspects = True
            if node.func.id in DYNAMIC_CALLS:
                self.dynamic = True
        elif (dotted := dotted_name(node.func)) is not None:
            self.attribute_calls.add(dotted)
        if isinstance(node.func, ast.Attribute):
            self.methods.add(node.func.attr)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and (dotted := dotted_name(node)) is not None:
            self.attributes.add(dotted)
        elif not isinstance(node.ctx, ast.Load):
            self._mutated(node.value)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._mutated(node.value)
        elif dotted_name(node.value) == "sys.modules":
            self.introspects = True
        self.generic_visit(node)

    def _mutated(self, target: ast.expr) -> None:
        while isinstance(target, ast.Attribute | ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name) and self._class_depth == 0:
            self.mutates.add(target.id)

    def _decorators(self, decorators: list[ast.expr]) -> None:
        for decorator in decorators:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Name):
                self.calls.add(target.id)  # `@f` and `@f(...)` both call f now
            elif (dotted := dotted_name(target)) is not None:
                self.attribute_calls.add(dotted)
            self.visit(decorator)

    def _arguments(self, args: ast.arguments) -> None:
        self._visit_all([*args.defaults, *args.kw_defaults])
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        self._visit_all(a.annotation for a in every if a is not None)

    def visit_FunctionDef(self, node: FunctionNode) -> None:
        self._decorators(node.decorator_list)
        self._arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self._visit_all(getattr(node, "type_params", ()))
        self._bind(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._arguments(node.args)
        # The body runs when the lambda is called, which may be right away (`key=lambda ...`):
        # its reads count, so a statement that uses one runs again when what it reads changes.
        body = _ImportTimeVisitor()
        body.visit(node.body)
        args = node.args
        parameters = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        self.reads |= body.reads - {a.arg for a in parameters if a is not None}
        self.calls |= body.calls
        self.introspects = self.introspects or body.introspects
        self.methods |= body.methods
        self.attributes |= body.attributes
        self.attribute_calls |= body.attribute_calls
        self.dynamic = self.dynamic or body.dynamic

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._decorators(node.decorator_list)
        self._visit_all([*node.bases, *node.keywords, *getattr(node, "type_params", ())])
        self._class_depth += 1
        self._visit_all(node.body)
        self._class_depth -= 1
        self._bind(node.name)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        inner = _ImportTimeVisitor()
        inner._class_depth = 1  # its variables are its own: only reads leave it
        inner.generic_visit(node)
        local = {
            n.id
            for generator in node.generators
            for n in ast.walk(generator.target)
            if isinstance(n, ast.Name)
        }
        self.reads |= inner.reads - local
        self.calls |= inner.calls
        self.introspects = self.introspects or inner.introspects
        self.methods |= inner.methods
        self.attributes |= inner.attributes
        self.attribute_calls |= inner.attribute_calls
        self.dynamic = self.dynamic or inner.dynamic
        # Only an assignment expression in a comprehension binds in the enclosing scope.
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                self._bind(child.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star.append("." * node.level + (node.module or ""))
            else:
                self._bind(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        pass  # at module level it changes nothing

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node.rest)
        self.generic_visit(node)
