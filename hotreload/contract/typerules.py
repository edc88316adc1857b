"""The rules for frozen types: a type's shape in the source against the contract, and what a
restart is for when a data type gains a field."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from hotreload.contract.rebinding import Rebinding, rebinding
from hotreload.contract.signatures import (
    FoundFunction,
    Signature,
    canonical_expression,
    compare,
    normalise_annotation,
)
from hotreload.contract.typeshapes import FieldShape, FoundType, TypeShape, classes_in_tree
from hotreload.verdicts import RESTART_REASON, TypeViolationCode, TypeWarning, Violation
from hotreload.words import article


def compare_types(
    expected: Mapping[str, TypeShape], found: Mapping[str, FoundType], tree: ast.Module
) -> list[Violation]:
    """Every way the source breaks the frozen types, in the order of ``expected``.

    ``found`` holds the classes ``read_types`` read for those names; ``tree`` tells what binds a
    name that no class statement defines any more.
    """
    violations: list[Violation] = []
    for name, shape in expected.items():
        current = found.get(name)
        rebound = None if current is None else binding_of(tree, name, after=current.line)
        if current is None or rebound is not None:
            violations.append(_missing_type(name, shape, tree, rebound))
        else:
            violations += compare_shape(
                name,
                shape,
                current.shape,
                line=current.line,
                lines=current.lines,
                positional=current.positional,
            )
    return violations


def _missing_type(
    name: str, shape: TypeShape, tree: ast.Module, rebound: tuple[str, int] | None
) -> Violation:
    """No class statement defines the name (or a later statement binds it to something else)."""
    binding = rebound or binding_of(tree, name)
    expected = shape.summary()
    if binding is None:
        classes = list(classes_in_tree(tree))
        close = difflib.get_close_matches(name, classes, n=1)
        known = f"its classes: {', '.join(classes)}" if classes else "it defines no class"
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"{name}: type removed: the module defines no {name} ({known}){hint}"
        return Violation("type_removed", name, expected, None, None, message, name)
    what, line = binding
    message = (
        f"{name}: type replaced: expected the class statement to define it, found {what} at line "
        f"{line}; define {name} with one unconditional top-level `class {name}` and leave the "
        "name to it"
    )
    return Violation("type_replaced", name, expected, what, line, message, name)


@dataclass(frozen=True)
class _Lines:
    """Where a member is: its own line if known, else its class's."""

    line: int | None
    lines: Mapping[str, int]

    def __call__(self, member: str | None) -> int | None:
        return self.line if member is None else self.lines.get(member, self.line)


def compare_shape(
    name: str,
    expected: TypeShape,
    actual: TypeShape,
    *,
    line: int | None = None,
    lines: Mapping[str, int] | None = None,
    positional: Iterable[str] = (),
) -> list[Violation]:
    """Every break of one type's frozen shape. ``line`` is the class's, ``lines`` its members'
    where known; ``positional`` names the fields a caller may pass by position, in order:
    those may not move."""
    at = _Lines(line, lines or {})
    violations = _signature_violations(
        name, expected.methods, actual.methods, actual.properties, "method", at
    )
    violations += _signature_violations(
        name, expected.properties, actual.properties, actual.methods, "property", at
    )
    violations += _field_violations(name, expected.fields, actual.fields, at)
    violations += _moved_fields(name, expected.fields, actual.fields, tuple(positional), at)
    for member in expected.members:
        if member not in actual.members:
            message = (
                f"{name}.{member}: Enum member removed: expected {member} among the members, "
                f"found {', '.join(actual.members) or 'none'}"
            )
            violations.append(
                _violation("member_removed", name, member, member, None, at(None), message)
            )
    return violations


def _violation(
    code: TypeViolationCode,
    type_name: str,
    member: str | None,
    expected: str,
    actual: str | None,
    line: int | None,
    message: str,
) -> Violation:
    qualified = type_name if member is None else f"{type_name}.{member}"
    return Violation(code, qualified, expected, actual, line, message, type_name, member)


def _signature_violations(
    type_name: str,
    expected: Mapping[str, Signature],
    actual: Mapping[str, Signature],
    other: Mapping[str, Signature],
    what: Literal["method", "property"],
    at: _Lines,
) -> list[Violation]:
    """Methods (or properties) against their frozen signatures, compared as exports are."""
    removed: TypeViolationCode = "method_removed" if what == "method" else "property_removed"
    changed: TypeViolationCode = "method_changed" if what == "method" else "property_changed"
    violations: list[Violation] = []
    for member, signature in expected.items():
        qualified = f"{type_name}.{member}"
        if member in actual:
            found = FoundFunction(qualified, actual[member], at(member) or 0)
            violations += [
                replace(v, code=changed, type=type_name, member=member, line=at(member))
                for v in compare({qualified: signature}, {qualified: found})
            ]
        elif member in other:
            now = "a property" if what == "method" else "a method"
            message = f"{qualified}: {what} changed: expected a {what}, found {now}"
            actual_text = str(other[member])
            violations.append(
                _violation(
                    changed, type_name, member, str(signature), actual_text, at(member), message
                )
            )
        else:
            message = (
                f"{qualified}: {what} removed: expected {member}{signature}, "
                f"found no {what} {member} in class {type_name}"
            )
            violations.append(
                _violation(removed, type_name, member, str(signature), None, at(None), message)
            )
    return violations


def _field_violations(
    type_name: str,
    expected: Iterable[FieldShape],
    actual: Iterable[FieldShape],
    at: _Lines,
) -> list[Violation]:
    """Frozen fields kept with their type and default; no new field a caller must pass."""
    now = {f.name: f for f in actual}
    frozen = [f.name for f in expected]
    violations: list[Violation] = []
    for want in expected:
        qualified = f"{type_name}.{want.name}"
        got = now.get(want.name)
        if got is None:
            message = (
                f"{qualified}: field removed: expected {want.name}: {want}, found no such field"
            )
            violations.append(
                _violation(
                    "field_removed", type_name, want.name, str(want), None, at(None), message
                )
            )
        elif not _same_field(want, got):
            message = (
                f"{qualified}: field changed: expected {want.name}: {want}, found {got.name}: {got}"
            )
            violations.append(
                _violation(
                    "field_changed",
                    type_name,
                    want.name,
                    str(want),
                    str(got),
                    at(got.name),
                    message,
                )
            )
    for got in now.values():
        if got.name not in frozen and got.required:
            message = (
                f"{type_name}.{got.name}: required field added: {got.name}: {got} has no "
                f"default, so every caller that builds {article(type_name)} without it breaks; "
                "give it a default"
            )
            violations.append(
                _violation(
                    "required_field_added",
                    type_name,
                    got.name,
                    _field_list(expected),
                    _field_list(now.values()),
                    at(got.name),
                    message,
                )
            )
    return violations


def _moved_fields(
    type_name: str,
    expected: tuple[FieldShape, ...],
    actual: tuple[FieldShape, ...],
    positional: tuple[str, ...],
    at: _Lines,
) -> list[Violation]:
    """Fields a caller passes by position (dataclass, NamedTuple) must keep their places: the
    frozen ones first, in their order, and a new one only after them."""
    kept = [f.name for f in expected if f.name in positional]
    violations: list[Violation] = []
    for index, name in enumerate(kept):
        place = positional.index(name)
        if place != index:
            message = (
                f"{type_name}.{name}: field moved: it was positional argument {index + 1} of "
                f"{type_name}(...), now {place + 1}, so a positional call would pass the wrong "
                "field; keep the frozen fields first, in their order, and add new fields after them"
            )
            violations.append(
                _violation(
                    "field_moved",
                    type_name,
                    name,
                    _field_list(expected),
                    _field_list(actual),
                    at(name),
                    message,
                )
            )
    return violations


def _same_field(want: FieldShape, got: FieldShape) -> bool:
    return normalise_annotation(want.annotation) == normalise_annotation(
        got.annotation
    ) and canonical_expression(want.default) == canonical_expression(got.default)


def _field_list(fields: Iterable[FieldShape]) -> str:
    return "(" + ", ".join(f"{f.name}: {f}" for f in fields) + ")"


def field_warnings(
    running: Mapping[str, FoundType], new: Mapping[str, FoundType]
) -> list[TypeWarning]:
    """The fields a data type gains with this change (a default makes that acceptable): once
    per field, on the reload that adds it, not again while it stays."""
    warnings: list[TypeWarning] = []
    for name, found in new.items():
        before = running.get(name)
        if before is None:
            continue
        had = {f.name for f in before.shape.fields}
        for added in found.shape.fields:
            if added.name not in had and not added.required:
                message = f"{name}.{added.name}: field added ({added.name}: {added}); " + (
                    RESTART_REASON.format(type=name)
                )
                warnings.append(TypeWarning("field_added", name, added.name, message))
    return warnings


def changed_types(running: Mapping[str, FoundType], new: Mapping[str, FoundType]) -> list[str]:
    """Frozen types whose class statement changed (method bodies included), in source order."""
    return [
        name
        for name, found in new.items()
        if running.get(name) is None or running[name].fingerprint != found.fingerprint
    ]


def binding_of(tree: ast.Module, name: str, *, after: int = 0) -> tuple[str, int] | None:
    """What binds ``name`` at the top level after line ``after``, besides an unconditional class
    statement, and its line: ``("an assignment", 7)``; None when nothing does. The rule is
    `rebinding`'s, the one the exports' check uses too.

    ``Counter = total_ordering(Counter)`` is trusted to keep the class, as a decorator is; what
    it really returns is checked once the module ran (`liveshapes`).
    """
    found = [
        (binding_words(binding, name), binding.line)
        for statement in tree.body
        if statement.lineno > after
        and (binding := rebinding(statement, name)) is not None
        and (binding.conditional or not isinstance(binding.node, ast.ClassDef))
    ]
    return found[-1] if found else None


def binding_words(binding: Rebinding, name: str) -> str:
    """How a message names a rebinding: "a class defined under a condition", "an import"."""
    node = binding.node
    under = " under a condition" if binding.conditional else ""
    if isinstance(node, ast.ClassDef):
        what = "a class defined"
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        what = "a function defined"
    elif isinstance(node, ast.Import | ast.ImportFrom):
        what = "an import"
    elif isinstance(node, ast.Delete):
        what = f"a `del {name}`"
    elif isinstance(node, ast.For | ast.AsyncFor):
        what = "a `for` loop"
    elif isinstance(node, ast.With | ast.AsyncWith):
        what = "a `with` statement"
    elif isinstance(node, ast.ExceptHandler):
        what = "an `except ... as`"
    elif isinstance(node, ast.pattern):
        what = "a `match` capture"
    else:
        what = "an assignment"
    return what + under
