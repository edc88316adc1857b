"""The rules for frozen types: a type's shape in the source against the contract, and what a
restart is for when a data type gains a field."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from hotreload.contract.crossmodule import inherited_elsewhere
from hotreload.contract.rebinding import Rebinding, rebinding
from hotreload.contract.signatures import (
    FoundFunction,
    Signature,
    added_parameters,
    canonical_expression,
    compare,
    normalise_annotation,
)
from hotreload.contract.typeshapes import (
    FieldShape,
    FoundType,
    Lineage,
    TypeShape,
    classes_in_tree,
)
from hotreload.saveverdicts import TypeWarning
from hotreload.verdicts import RESTART_REASON, TypeViolationCode, Violation
from hotreload.words import article


def compare_types(
    expected: Mapping[str, TypeShape],
    found: Mapping[str, FoundType],
    tree: ast.Module,
    module: tuple[str, Path] | None = None,
) -> list[Violation]:
    """Every way the source breaks the frozen types, in the order of ``expected``.

    ``found`` holds the classes ``read_types`` read for those names; ``tree`` tells what binds a
    name that no class statement defines any more; ``module`` (its name and file) tells where
    to read a base class the module imports from another file of the project.
    """
    violations: list[Violation] = []
    for name, shape in expected.items():
        current = found.get(name)
        rebound = None if current is None else binding_of(tree, name, after=current.line)
        if current is None or rebound is not None:
            violations.append(_missing_type(name, shape, tree, rebound))
            continue
        at = _Lines(current.line, current.lines)
        frozen, actual = _comparable(shape, current, tree, module)
        violations += compare_shape(name, frozen, actual, line=current.line, lines=current.lines)
        violations += _constructor_violations(name, expected, current, at)
    return violations


def _with_inherited(found: FoundType) -> TypeShape:
    """The class's shape with the methods and properties its bases in the module give it: a
    method moved into a base is still a method of the class."""
    inherited = found.inherited
    if inherited is None:
        return found.shape
    return replace(
        found.shape,
        methods={**inherited.methods, **found.shape.methods},
        properties={**inherited.properties, **found.shape.properties},
    )


def _comparable(
    shape: TypeShape, found: FoundType, tree: ast.Module, module: tuple[str, Path] | None
) -> tuple[TypeShape, TypeShape]:
    """The frozen shape and the class's as the source shows it, its bases' members included.

    A base imported from another file of the project is read there (`inherited_elsewhere`).
    One the source cannot show (an installed package's) may give a method the class does not
    show: that method is left to the check once the module ran (`liveshapes.verify_class`, at
    start-up and after every reload's run), which sees every base."""
    actual = _with_inherited(found)
    inherited = found.inherited
    frozen = [*shape.methods, *shape.properties]
    if (
        inherited is None
        or not inherited.foreign
        or all(n in actual.methods or n in actual.properties for n in frozen)
    ):
        return shape, actual
    elsewhere = (
        inherited_elsewhere(module[0], module[1], tree, [found.name, *inherited.ancestry])
        if module is not None
        else None
    )
    if elsewhere is not None:
        actual = replace(
            actual,
            methods={**elsewhere.methods, **actual.methods},
            properties={**elsewhere.properties, **actual.properties},
        )
        if elsewhere.complete:
            return shape, actual
    seen = {**actual.methods, **actual.properties}
    return replace(
        shape,
        methods={n: sig for n, sig in shape.methods.items() if n in seen},
        properties={n: sig for n, sig in shape.properties.items() if n in seen},
    ), actual


def _constructor_violations(
    name: str, expected: Mapping[str, TypeShape], found: FoundType, at: _Lines
) -> list[Violation]:
    """Fields a caller passes by position (dataclass, NamedTuple) keep their places, inherited
    ones included: the frozen fields first, in their order, then any new one.

    A dataclass's constructor takes its bases' fields first (the most basic class first), so a
    field a base gains moves every field of the subclass one place on: ``Tagged(1, "x")``
    would pass ``"x"`` to the base's new field. The frozen order is rebuilt from the manifest
    (each frozen class's fields, along the lineage the source shows now; a base that is not
    frozen counts as it is written), the order now from the source.
    """
    inherited = found.inherited
    lineage = inherited.lineage if inherited is not None and inherited.lineage else None
    if lineage is None:
        lineage = (Lineage(name, found.shape.fields, found.positional),)
    frozen: dict[str, FieldShape] = {}
    now: dict[str, FieldShape] = {}
    positional: dict[str, bool] = {}
    origin: dict[str, str] = {}
    for step in lineage:
        shape = expected.get(step.name)
        for f in shape.fields if shape is not None else step.fields:
            frozen[f.name] = f
        for f in step.fields:
            now[f.name] = f
            positional[f.name] = f.name in step.positional
            origin.setdefault(f.name, step.name)
    order = [n for n in now if positional[n]]
    kept = [n for n in frozen if positional.get(n)]
    violations: list[Violation] = []
    for index, field_name in enumerate(kept):
        place = order.index(field_name)
        if place == index:
            continue
        before = [n for n in order[:place] if n not in kept]
        why = ""
        if before:
            fields = ", ".join(
                f"{origin[n]}'s field {n}" if origin[n] != name else f"field {n}" for n in before
            )
            why = f", because {fields} now {'comes' if len(before) == 1 else 'come'} before it"
        message = (
            f"{name}.{field_name}: field moved: it was positional argument {index + 1} of "
            f"{name}(...), now {place + 1}{why}, so a positional call would pass the wrong "
            "field; keep the frozen fields first, in their order, and add new fields after "
            "them (or keyword-only: `field(kw_only=True)`)"
        )
        violations.append(
            _violation(
                "field_moved",
                name,
                field_name,
                _field_list(frozen.values()),
                _field_list(now.values()),
                at(field_name),
                message,
            )
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
) -> list[Violation]:
    """Every break of one type's frozen shape. ``line`` is the class's, ``lines`` its members'
    where known. Where fields passed by position moved is `compare_types`'s (it needs the
    class's bases)."""
    at = _Lines(line, lines or {})
    violations = _signature_violations(
        name, expected.methods, actual.methods, actual.properties, "method", at
    )
    violations += _signature_violations(
        name, expected.properties, actual.properties, actual.methods, "property", at
    )
    violations += _field_violations(name, expected.fields, actual.fields, at)
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


def parameter_warnings(
    frozen: Mapping[str, Signature],
    before: Mapping[str, Signature],
    after: Mapping[str, Signature],
) -> list[TypeWarning]:
    """The parameters a frozen function (an export, or ``Type.method``) gains with this change
    that every frozen caller survives (`added_parameters`): once per parameter, on the reload
    that adds it, not again while it stays."""
    warnings: list[TypeWarning] = []
    for name, signature in frozen.items():
        now = after.get(name)
        added = added_parameters(signature, now) if now is not None else None
        if not added:
            continue
        then = before.get(name)
        had = {p.name for p in (added_parameters(signature, then) or ())} if then else set()
        for parameter in added:
            if parameter.name in had:
                continue
            message = (
                f"{name}: parameter added ({parameter}); every call the manifest allows still "
                f"works, but the manifest freezes {name}{signature}: run `hotreload freeze` to "
                "record it (until then a host generated from the manifest does not know it)"
            )
            warnings.append(TypeWarning("parameter_added", name, parameter.name, message))
    return warnings


def method_signatures(
    types: Mapping[str, TypeShape] | Mapping[str, FoundType],
) -> dict[str, Signature]:
    """Every method and property of these types as ``Type.member``: what `parameter_warnings`
    compares for frozen types."""
    found: dict[str, Signature] = {}
    for type_name, entry in types.items():
        shape = entry.shape if isinstance(entry, FoundType) else entry
        for member, signature in [*shape.methods.items(), *shape.properties.items()]:
            found[f"{type_name}.{member}"] = signature
    return found


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
