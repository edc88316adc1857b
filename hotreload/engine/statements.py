"""A version of a module, statement by statement: each top-level statement with its text, what
it binds and reads, and its own compiled code.

A reload compares versions statement by statement and runs single statements, so a version is
kept in that form. It also makes a save cheap to read: the text before and after the edited
lines did not change, and a top-level statement starts and ends the same way in both versions,
so only the stretch of whole statements around the edit is parsed and compiled again; the
other statements are reused, their code moved to their new lines. Anything that cannot be shown
to parse the same alone (the encoding line, a `from __future__` import, a stretch that does not
parse on its own) is parsed whole.
"""

from __future__ import annotations
import __future__

import ast
import copy
import dis
import operator
import types
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from itertools import pairwise
from pathlib import Path

from hotreload.contract.signatures import FoundFunction, signature_of
from hotreload.engine.importorder import Imports, statement_imports
from hotreload.engine.scope import StatementScope, statement_scope
from hotreload.engine.source import parse_source, too_deep
from hotreload.parsing import parse
from hotreload.records import record
from hotreload.verdicts import Failure

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@record
class Statement:
    """One top-level statement of a version, with what it does when it runs."""

    text: str  # its source lines (decorators included): equal text means an unchanged statement
    line: int  # its first line (its first decorator's)
    end_line: int
    scope: StatementScope
    definition: str | None  # the name a `def` or `class` statement defines
    is_function: bool
    code: types.CodeType  # the statement compiled alone, at its line
    imports: Imports
    export: FoundFunction | None = None  # the signature of a `def` of an export
    node: ast.stmt | None = None  # kept where checks need the tree (frozen types)
    # How many lines the statement moved since `code` was compiled: the functions and classes
    # in it moved with it, its own module-level instructions did not (see `runnable`).
    stale: int = 0

    @property
    def nested(self) -> list[types.CodeType]:
        """The code objects in the statement's code (its functions, classes, lambdas), depth
        first, in source order. Found anew at each save's indexing, never kept: the search for
        a save's closures counts the references to old code objects (`closures.closures_of`),
        and one more holder it does not know of sends it to the collector's walk of the heap."""
        return nested_codes(self.code)

    def summary(self, width: int = 72) -> str:
        """The statement's first line, for an event: `12: MODEL = _load()`; a `def` or `class`
        by what it defines, decorated or not: `11: class Item`, `20: async def fetch` (its
        first line may be a decorator, which says nothing of what changed)."""
        if self.definition is not None:
            return f"{self.line}: {self._keyword()} {self.definition}"
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        if len(first) > width:
            first = first[: width - 1] + "…"
        return f"{self.line}: {first}"

    def _keyword(self) -> str:
        """`class`, `def` or `async def`: the keyword of a definition, from its header line."""
        if not self.is_function:
            return "class"
        lines = (line.lstrip() for line in self.text.splitlines())
        header = next((h for h in lines if h.startswith(("def ", "async def "))), "def")
        return "async def" if header.startswith("async") else "def"

    def moved(self, lines: int, *, positions: bool) -> Statement:
        """The same statement, ``lines`` further down (up, if negative). Its syntax tree is
        kept only where ``positions`` asks for one with the right line numbers (checks of
        frozen types compare positions); elsewhere it is parsed again if ever needed."""
        if lines == 0:
            return self
        export = self.export
        if export is not None:
            export = FoundFunction(export.name, export.signature, export.line + lines)
        node = self.node
        if node is not None:
            node = ast.increment_lineno(copy.deepcopy(node), lines) if positions else None
        consts = tuple(
            moved_code(c, lines) if isinstance(c, types.CodeType) else c
            for c in self.code.co_consts
        )
        return replace(
            self,
            line=self.line + lines,
            end_line=self.end_line + lines,
            code=self.code.replace(co_consts=consts),
            export=export,
            node=node,
            stale=self.stale + lines,
        )

    def runnable(self, path: Path, flags: int) -> types.CodeType:
        """The statement's code with every line right, to run it again.

        A module's code object always starts at line 1, so a statement that moved up cannot
        have its own instructions moved by changing their first line: it is compiled again from
        its text (only when it must run; the functions in it moved exactly).
        """
        if self.stale == 0:
            return self.code
        try:
            body = parse(self.text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return self.code
        if len(body) != 1:
            return self.code  # statements sharing a line: run with the lines it has
        node = ast.increment_lineno(body[0], self.line - 1)
        nodes: list[ast.stmt] = [node]
        if _is_string(node) and "__doc__" not in self.code.co_names:
            nodes.insert(0, ast.Pass(lineno=node.lineno, col_offset=0))  # not the docstring
        module = ast.Module(body=nodes, type_ignores=[])
        code: types.CodeType = compile(module, str(path), "exec", flags=flags, dont_inherit=True)
        return code


def nested_codes(code: types.CodeType) -> list[types.CodeType]:
    """The code objects nested in ``code``, depth first, in source order. A list made with a
    stack: a chain of nested generators costs more than the walk at every save, and a recursive
    inner function would be a reference cycle keeping the list (and its code objects) alive
    until the collector runs."""
    found: list[types.CodeType] = []
    stack = [iter(code.co_consts)]
    while stack:
        for const in stack[-1]:
            if type(const) is types.CodeType:
                found.append(const)
                stack.append(iter(const.co_consts))
                break
        else:
            stack.pop()
    return found


def moved_code(code: types.CodeType, lines: int) -> types.CodeType:
    """A code object (and every code object in it) ``lines`` further down the file: its line
    table is relative to its first line, so moving that moves every position."""
    consts = [moved_code(c, lines) if isinstance(c, types.CodeType) else c for c in code.co_consts]
    index = _first_line_constant(code)
    if index is not None:
        consts[index] = code.co_firstlineno + lines
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=tuple(consts))


def _first_line_constant(code: types.CodeType) -> int | None:
    """Where a class body keeps its own first line as a constant (Python 3.13 sets the class's
    `__firstlineno__` from it, which `inspect.getsource` reads): the index in ``co_consts``, if
    no other instruction loads that constant."""
    if "__firstlineno__" not in code.co_names:
        return None
    instructions = list(dis.get_instructions(code))
    for load, store in pairwise(instructions):
        if (
            store.opname == "STORE_NAME"
            and store.argval == "__firstlineno__"
            and load.opname == "LOAD_CONST"
            and load.argval == code.co_firstlineno
            and load.arg is not None
        ):
            shared = sum(1 for i in instructions if i.opname == "LOAD_CONST" and i.arg == load.arg)
            return load.arg if shared == 1 else None
    return None


@record(eq=False)  # never compared: no field-wise __eq__, __hash__ to make
class Analysis:
    """A version of a module's source, statement by statement."""

    statements: tuple[Statement, ...]
    future_flags: int
    lines: tuple[str, ...]  # the source's lines, to find what the next save changed

    def binders(self, name: str) -> list[int]:
        """Indices of the statements that bind ``name``, in source order."""
        return [i for i, s in enumerate(self.statements) if name in s.scope.binds]

    def node(self, index: int) -> ast.stmt | None:
        """The statement's syntax tree (None if its text alone is not one statement); parsed
        again from its text where it is not kept."""
        kept = self.statements[index].node
        if kept is not None:
            return kept
        try:
            body = parse(self.statements[index].text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return body[0] if len(body) == 1 else None

    def tree(self) -> ast.Module:
        """The module's syntax tree, from the kept nodes (only versions analysed with
        ``keep_nodes`` have them all)."""
        nodes = [self.node(i) for i in range(len(self.statements))]
        return ast.Module(body=[n for n in nodes if n is not None], type_ignores=[])

    def exported_def(self, name: str) -> int | None:
        """The index of the `def` of an export that the contract reads (the last one)."""
        return self._exported_defs.get(name)

    @cached_property
    def _exported_defs(self) -> dict[str, int]:
        """Each export's last `def`, by name: found once a version, not once an export."""
        return {
            statement.export.name: index
            for index, statement in enumerate(self.statements)
            if statement.export is not None
        }

    def nested(self) -> Iterator[list[types.CodeType]]:
        """Each statement's nested code objects (`Statement.nested`), in order."""
        return (s.nested for s in self.statements)

    def codes(self) -> Iterator[types.CodeType]:
        """Each statement's code, in order: their functions and classes are where the source
        has them (for pairing with live functions)."""
        return (s.code for s in self.statements)

    def runnable(self, path: Path) -> Iterator[types.CodeType]:
        """Each statement's code, to run, in order: running them all runs the module."""
        return (s.runnable(path, self.future_flags) for s in self.statements)


@record(eq=False)
class Reading:
    """How a version is read: the module's name and file, and what its checks need."""

    name: str
    path: Path
    exports: Collection[str]
    keep_nodes: bool

    @property
    def package(self) -> str:
        is_package = self.path.name == "__init__.py"
        return self.name if is_package else self.name.rpartition(".")[0]


def analyse(text: str, reading: Reading, previous: Analysis | None = None) -> Analysis | Failure:
    """The version's statements: reusing ``previous`` around the edit where it can, else parsing
    the whole text. A syntax error anywhere is a Failure with its line and column."""
    lines = split_lines(text)
    if previous is not None:
        spliced = _splice(previous, lines, reading)
        if spliced is not None:
            return spliced
    tree = parse_source(text, reading.path)
    if isinstance(tree, Failure):
        return tree
    misplaced = _misplaced_future(tree.body)
    if misplaced is not None:
        where = f"{reading.path.name}:{misplaced.lineno}"
        message = f"{where}: from __future__ imports must occur at the beginning of the file"
        return Failure("syntax_error", message, line=misplaced.lineno)
    flags = future_flags(tree.body)
    statements = _statements(tree.body, lines, reading, flags, reading.keep_nodes, top=True)
    if isinstance(statements, Failure):
        return statements
    return Analysis(tuple(statements), flags, lines)


def _statements(
    nodes: Sequence[ast.stmt],
    lines: Sequence[str],
    reading: Reading,
    flags: int,
    keep: bool,
    *,
    top: bool,
) -> list[Statement] | Failure:
    """The statements of ``nodes`` (``top``: the first of them is the module's first)."""
    statements = []
    try:
        for index, node in enumerate(nodes):
            statements.append(_statement(node, lines, reading, flags, keep, top and index == 0))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        line = getattr(e, "lineno", None)
        where = f"{reading.path.name}:{line}" if line else reading.path.name
        detail = e.msg if isinstance(e, SyntaxError) else too_deep(e)
        return Failure("syntax_error", f"{where}: {detail}", line=line)
    return statements


def _statement(
    node: ast.stmt,
    lines: Sequence[str],
    reading: Reading,
    flags: int,
    keep: bool,
    module_first: bool,
) -> Statement:
    decorators = getattr(node, "decorator_list", ())
    first = min([node.lineno, *(d.lineno for d in decorators)])
    last = node.end_lineno or node.lineno
    is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    definition = node.name if isinstance(node, _DEFINITIONS) else None
    body: list[ast.stmt] = [node]
    if not module_first and _is_string(node):
        # Compiled alone, a bare string would become the module's `__doc__`: only the first
        # statement of a module is its docstring.
        body = [ast.Pass(lineno=node.lineno, col_offset=0), node]
    module = ast.Module(body=body, type_ignores=[])
    code = compile(module, str(reading.path), "exec", flags=flags, dont_inherit=True)
    export = None
    if is_function and definition in reading.exports:
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        export = FoundFunction(node.name, signature_of(node), node.lineno)
    return Statement(
        "\n".join(lines[first - 1 : last]),
        first,
        last,
        statement_scope(node),
        definition,
        is_function,
        code,
        statement_imports(node, reading.package),
        export,
        node if keep else None,
    )


def _is_string(node: ast.stmt | None) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _looks_like_string(statement: Statement) -> bool:
    return statement.text.lstrip()[:1] in tuple("\"'rRuUbBfF")


def docstring(analysis: Analysis) -> str | None:
    """The module's docstring, as a fresh import sets `__doc__`: its first statement, if that
    is a bare string."""
    if not analysis.statements or not _looks_like_string(analysis.statements[0]):
        return None
    node = analysis.node(0)
    if not _is_string(node):
        return None
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return str(node.value.value)


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _misplaced_future(body: Sequence[ast.stmt]) -> ast.stmt | None:
    """A `from __future__` import after the docstring and the other future imports: an error
    the module's compiler reports, which compiling statement by statement would not see."""
    start = (
        1
        if body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
        else 0
    )
    leading = True
    for node in body[start:]:
        if _is_future(node):
            if not leading:
                return node
        else:
            leading = False
    return None


def future_flags(body: Sequence[ast.stmt]) -> int:
    """The compiler flags of the module's `from __future__` imports (they bind every statement)."""
    flags = 0
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


def split_lines(text: str) -> tuple[str, ...]:
    """The text's lines as the tokenizer counts them (a form feed does not end a line)."""
    return tuple(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _splice(previous: Analysis, lines: tuple[str, ...], reading: Reading) -> Analysis | None:
    """The new version from the old one, parsing only the stretches around the edits; None
    where that cannot be trusted (then the whole text is parsed).

    A statement is reused, moved to its new lines, where a run of identical lines holds it and
    its neighbours are untouched too (so a line inserted next to it, which may belong to it,
    is parsed with it). Each stretch between two reused statements is parsed alone; it gives
    what it gives in place, because what comes before it ends where a statement ends, and it
    parses to its end, leaving nothing open for what comes after. Where it does not parse
    alone (a line that joins a statement further away, an error), the whole text is parsed.
    """
    old, statements = previous.lines, previous.statements
    if not statements or any("coding" in line for line in (*old[:2], *lines[:2])):
        return None  # an encoding declaration may have changed: read the whole text
    opcodes = _line_changes(old, lines)
    blocks = [(i1, i2, j1 - i1) for tag, i1, i2, j1, _ in opcodes if tag == "equal"]
    shifts = [_shift_in(blocks, s) for s in statements]
    touched = {i for i, shift in enumerate(shifts) if shift is None}
    widened = set(touched)
    inside = True  # every edit is within a statement (not only between two)
    for tag, i1, i2, _, _ in opcodes:
        if tag != "equal":  # the statements on either side of an edit, which it may join
            before = [i for i, s in enumerate(statements) if s.end_line <= i1]
            after = [i for i, s in enumerate(statements) if s.line > i2]
            widened |= {before[-1]} if before else set()
            widened |= {after[0]} if after else set()
            inside = inside and any(s.line <= i2 and s.end_line > i1 for s in statements)
    if touched and inside:
        # First the statements the edits are in, alone (the usual save: a function's body):
        # each stretch runs from the reused statement before to the one after, so it holds
        # every changed line. Where one does not parse alone, with their neighbours too.
        narrow = _splice_touched(previous, lines, reading, shifts, touched)
        if narrow is not None:
            return narrow
    return _splice_touched(previous, lines, reading, shifts, widened)


def _splice_touched(
    previous: Analysis,
    lines: tuple[str, ...],
    reading: Reading,
    shifts: list[int | None],
    touched: set[int],
) -> Analysis | None:
    """The new version with the ``touched`` statements parsed again (each stretch of them
    alone) and the others reused, moved by their ``shifts``; None where a stretch does not
    parse alone."""
    statements = previous.statements
    made: list[Statement] = []
    index = 0
    while index < len(statements):
        if index not in touched:
            shift = shifts[index]
            assert shift is not None
            if (index == 0) != (not made) and _looks_like_string(statements[index]):
                return None  # a docstring no longer first, or a string that now is: compile anew
            made.append(statements[index].moved(shift, positions=reading.keep_nodes))
            index += 1
            continue
        end = index
        while end < len(statements) and end in touched:
            end += 1
        fresh = _parse_between(previous, lines, reading, made, index, end, shifts)
        if fresh is None:
            return None
        made += fresh
        index = end
    spliced = Analysis(tuple(made), previous.future_flags, lines)
    return spliced if _futures_first(spliced, previous) else None


def _futures_first(analysis: Analysis, previous: Analysis) -> bool:
    """Whether the module's `from __future__` imports still come first (a new line above them
    is an error that only the module's compiler reports). Where every statement up to the last
    of them is the previous version's own, unmoved, they do as they did."""
    futures = [i for i, s in enumerate(analysis.statements) if s.text.startswith("from __future__")]
    if not futures:
        return True
    last = futures[-1]
    kept = previous.statements[: last + 1]
    if len(kept) == last + 1 and all(map(operator.is_, analysis.statements, kept)):
        return True  # the previous version's own start, which had them first
    prefix = [analysis.node(i) for i in range(futures[-1] + 1)]
    nodes = [n for n in prefix if n is not None]
    return len(nodes) == len(prefix) and _misplaced_future(nodes) is None


Opcode = tuple[str, int, int, int, int]


def _line_changes(old: tuple[str, ...], new: tuple[str, ...]) -> Sequence[Opcode]:
    """Runs of equal and changed lines (as difflib gives them), in two passes of string
    comparison where one stretch changed (the usual save); difflib where several did."""
    limit = min(len(old), len(new))
    head = _same_start(old, new)
    tail = min(_same_start(reversed(old), reversed(new)), limit - head)
    if len(old) - tail - head > _ONE_STRETCH or len(new) - tail - head > _ONE_STRETCH:
        from difflib import SequenceMatcher  # edits far apart: rare, and a save's only

        return list(SequenceMatcher(None, old, new).get_opcodes())
    return [
        ("equal", 0, head, 0, head),
        ("replace", head, len(old) - tail, head, len(new) - tail),
        ("equal", len(old) - tail, len(old), len(new) - tail, len(new)),
    ]


_ONE_STRETCH = 40  # lines: more between the first and the last change, and they are told apart


def _same_start(old: Iterable[str], new: Iterable[str]) -> int:
    """How many lines the two start with alike (compared in C, not one by one in Python)."""
    differs = list(map(operator.ne, old, new))
    try:
        return differs.index(True)
    except ValueError:
        return len(differs)


def _shift_in(blocks: list[tuple[int, int, int]], statement: Statement) -> int | None:
    """How far a statement moved, if a run of unchanged lines holds all of it."""
    for first, end, shift in blocks:
        if first <= statement.line - 1 and statement.end_line <= end:
            return shift
    return None


def _parse_between(
    previous: Analysis,
    lines: tuple[str, ...],
    reading: Reading,
    made: list[Statement],
    first: int,
    end: int,
    shifts: list[int | None],
) -> list[Statement] | None:
    """The new statements between the last reused one and the next: parsed alone."""
    start = made[-1].end_line + 1 if made else 1
    following = shifts[end] if end < len(previous.statements) else None
    if end < len(previous.statements):
        assert following is not None
        stop = previous.statements[end].line + following - 1
    else:
        stop = len(lines)
    try:
        # Blank lines in front put every node at its line in the file, without a second pass.
        body = parse("\n" * (start - 1) + "\n".join(lines[start - 1 : stop])).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # parsed whole, which says where the error is
    futures = any(s.text.startswith("from __future__") for s in previous.statements[first:end])
    if futures or any(_is_future(n) for n in body):
        # A future import binds how every statement compiles, and must come first.
        if start != 1 or _misplaced_future(body) or future_flags(body) != previous.future_flags:
            return None
    # The few statements just parsed keep their trees: the plan compares them with the old.
    fresh = _statements(body, lines, reading, previous.future_flags, keep=True, top=not made)
    return None if isinstance(fresh, Failure) else fresh
