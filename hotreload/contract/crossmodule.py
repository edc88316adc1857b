"""Types of one manifest module that another's exports reach, read from the sources.

An export of module ``a`` that takes or returns ``Item`` from module ``b`` (``from b import
Item``, ``from .b import Item as It``, ``import b`` then ``b.Item``) hands the host objects of
``b``'s class: if ``b`` is in the manifest, ``Item`` is frozen there, under ``b``'s types, where a
save of ``b`` is checked. What those types name in turn is followed the same way, across as many
modules as it takes. A class of a module outside the manifest is not frozen (nothing reloads it
under a contract). Nothing here runs module code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hotreload.contract.signatures import Signature, dotted_name
from hotreload.contract.typeshapes import (
    PLAIN_BASES,
    FoundType,
    TypeShape,
    annotation_names,
    classes_in_tree,
    read_types,
)
from hotreload.parsing import parse


@dataclass(frozen=True)
class ModuleSource:
    """One manifest module as `freeze` reads it: its parsed source, whether it is a package's
    ``__init__`` (relative imports start there), and its exports' signatures."""

    tree: ast.Module
    is_package: bool
    exports: Mapping[str, Signature]


def reached_across(modules: Mapping[str, ModuleSource]) -> dict[str, dict[str, FoundType]]:
    """Every module's classes that some manifest export reaches, its own exports' included, each
    module's in source order: the types `freeze` records under that module."""
    found = {name: read_types(source.tree) for name, source in modules.items()}
    imports = {name: _imported(name, source) for name, source in modules.items()}
    reached: dict[str, set[str]] = {name: set() for name in modules}
    pending: list[tuple[str, str]] = []  # (module, annotation text) still to follow

    def follow(module: str, texts: Iterable[str]) -> None:
        pending.extend((module, text) for text in texts)

    for name, source in modules.items():
        follow(name, _signature_texts(source.exports.values()))
    while pending:
        module, text = pending.pop()
        for owner, type_name in _targets(module, text, imports[module], modules):
            owner, type_name = _defined_where(owner, type_name, found, imports, modules)
            if type_name in found[owner] and type_name not in reached[owner]:
                reached[owner].add(type_name)
                follow(owner, _type_texts(found[owner][type_name]))
    return {
        name: {t: shape for t, shape in found[name].items() if t in reached[name]}
        for name in modules
    }


def _defined_where(
    owner: str,
    type_name: str,
    found: Mapping[str, Mapping[str, FoundType]],
    imports: Mapping[str, Mapping[str, tuple[str, str | None]]],
    modules: Mapping[str, ModuleSource],
) -> tuple[str, str]:
    """Where a class a module re-exports is defined: ``from shop import Item`` where
    ``shop/__init__.py`` does ``from .models import Item`` is ``shop.models``'s ``Item``."""
    for _ in range(8):
        if type_name in found[owner]:
            break
        bound = imports[owner].get(type_name)
        if bound is None or bound[1] is None or bound[0] not in modules:
            break
        owner, type_name = bound[0], bound[1]
    return owner, type_name


def _signature_texts(signatures: Iterable[Signature]) -> Iterator[str]:
    for signature in signatures:
        yield from (p.annotation for p in signature.parameters if p.annotation is not None)
        if signature.returns is not None:
            yield signature.returns


def _type_texts(found: FoundType) -> list[str]:
    """What a class names: its bases, fields and method signatures (as `references`)."""
    shape = found.shape
    texts = [f.annotation for f in shape.fields] + list(found.references)
    texts += list(_signature_texts([*shape.methods.values(), *shape.properties.values()]))
    return texts


def _targets(
    module: str,
    text: str,
    imports: Mapping[str, tuple[str, str | None]],
    modules: Mapping[str, ModuleSource],
) -> Iterator[tuple[str, str]]:
    """(module, class name) for each name in an annotation: the module's own classes, and
    classes of other manifest modules it imports."""
    for name in annotation_names(text) | _dotted_names(text):
        if "." not in name:
            yield module, name
        head, _, _ = name.partition(".")
        bound = imports.get(head) if "." not in name else None
        if bound is not None:
            owner, original = bound
            if original is not None and owner in modules:
                yield owner, original
            continue
        if "." in name:  # `b.Item`, `pkg.b.Item`, `alias.Item`
            prefix, _, last = name.rpartition(".")
            alias_head, _, rest = prefix.partition(".")
            target = imports.get(alias_head)
            if target is not None and target[1] is None:
                owner = target[0] + ("." + rest if rest else "")
                if owner in modules:
                    yield owner, last


def _dotted_names(text: str) -> set[str]:
    """``b.Item`` and ``pkg.b.Item`` in an annotation (quoted ones too), outside ``Literal``."""
    try:
        node = parse(text.strip(), mode="eval").body
    except SyntaxError:
        return set()
    found: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Attribute):
            dotted = dotted_name(current)
            if dotted is not None:
                found.add(dotted)
                continue
        if isinstance(current, ast.Constant) and isinstance(current.value, str):
            found |= _dotted_names(current.value)
        if isinstance(current, ast.Subscript) and (dotted_name(current.value) or "").endswith(
            "Literal"
        ):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return found


def _imported(name: str, source: ModuleSource) -> dict[str, tuple[str, str | None]]:
    """What the module's top-level imports bind: local name -> (module, name taken from it),
    or (module, None) for a module itself (``import b``, ``import pkg.b as b``)."""
    package = name if source.is_package else name.rpartition(".")[0]
    bound: dict[str, tuple[str, str | None]] = {}
    for statement in source.tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname is not None:
                    bound[alias.asname] = (alias.name, None)
                else:  # `import pkg.b` binds `pkg`; `pkg.b.Item` resolves through it
                    head = alias.name.split(".")[0]
                    bound[head] = (head, None)
        elif isinstance(statement, ast.ImportFrom):
            origin = _absolute(package, statement.module, statement.level)
            if origin is None:
                continue
            for alias in statement.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = (origin, alias.name)
    return bound


def _absolute(package: str, module: str | None, level: int) -> str | None:
    """The absolute name a (relative) ``from`` import names; None if it leaves the top."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


# -- bases from other files ----------------------------------------------------------------------

_DEPTH = 8  # bases of bases followed across files, at most


@dataclass(frozen=True)
class Elsewhere:
    """What a class's bases from other files of the project give it, read from their sources:
    ``methods`` and ``properties``, and ``complete`` when every such base was found (a base from
    an installed package is not: the source cannot tell what it gives)."""

    methods: Mapping[str, Signature]
    properties: Mapping[str, Signature]
    complete: bool


def inherited_elsewhere(
    module: str, path: Path, tree: ast.Module, class_names: Iterable[str]
) -> Elsewhere:
    """The members that the bases these classes of ``module`` (a class and its bases in the
    module) import from other project files give them. Files are looked for under the project
    root that ``module``'s name and ``path`` imply, and read with `ast`, never run."""
    root = _root_of(module, path)
    methods: dict[str, Signature] = {}
    properties: dict[str, Signature] = {}
    complete = True
    seen: set[tuple[str, str]] = set()
    pending = [(module, path, tree, name, 0) for name in class_names]
    while pending:
        owner, where, source, class_name, depth = pending.pop(0)
        node = classes_in_tree(source).get(class_name)
        if node is None:
            continue
        imports = _imported(owner, ModuleSource(source, where.name == "__init__.py", {}))
        for base in node.bases:
            dotted = dotted_name(base.func if isinstance(base, ast.Call) else base) or ""
            target = _base_target(dotted, imports)
            if target is None:
                local = dotted in classes_in_tree(source) and dotted != class_name
                complete = complete and (local or _last(dotted) in PLAIN_BASES)
                continue
            if target in seen:
                continue
            seen.add(target)
            found = _read_elsewhere(root, *target) if root is not None else None
            if found is None or depth >= _DEPTH:
                complete = complete and _last(dotted) in PLAIN_BASES
                continue
            file, other_tree, shape = found
            for member, signature in shape.methods.items():
                methods.setdefault(member, signature)
            for member, signature in shape.properties.items():
                properties.setdefault(member, signature)
            # its own bases, in its file and beyond
            ancestry = [target[1], *_local_ancestry(other_tree, target[1])]
            pending += [(target[0], file, other_tree, name, depth + 1) for name in ancestry]
    return Elsewhere(methods, properties, complete)


def _last(dotted: str) -> str:
    return dotted.rpartition(".")[2]


def _base_target(
    dotted: str, imports: Mapping[str, tuple[str, str | None]]
) -> tuple[str, str] | None:
    """(module, class) that a base expression names through the module's imports."""
    if "." not in dotted:
        bound = imports.get(dotted)
        return (bound[0], bound[1]) if bound is not None and bound[1] is not None else None
    prefix, _, last = dotted.rpartition(".")
    head, _, rest = prefix.partition(".")
    bound = imports.get(head)
    if bound is None or bound[1] is not None:
        return None
    return bound[0] + ("." + rest if rest else ""), last


def _root_of(module: str, path: Path) -> Path | None:
    """The directory module names start in: ``a/b.py`` for ``a.b`` is under it."""
    parts = module.split(".")
    inner = path.parent if path.name == "__init__.py" else path.with_suffix("")
    try:
        return inner.parents[len(parts) - 1]
    except IndexError:
        return None


def _read_elsewhere(
    root: Path, module: str, class_name: str
) -> tuple[Path, ast.Module, TypeShape] | None:
    """The file of ``module`` under ``root``, its tree, and the class's shape with what its bases
    in that file give it; None if there is no such file or class (or it does not parse)."""
    base = root.joinpath(*module.split("."))
    for file in (base.with_suffix(".py"), base / "__init__.py"):
        try:
            if not file.resolve().is_relative_to(root.resolve()):
                return None
            other = parse(file.read_bytes(), filename=str(file))
        except (OSError, SyntaxError, ValueError, RecursionError):
            continue
        found = read_types(other, [class_name]).get(class_name)
        if found is None:
            return None
        shape = found.shape
        inherited = found.inherited
        if inherited is not None:
            shape = TypeShape(
                {**inherited.methods, **shape.methods},
                {**inherited.properties, **shape.properties},
                shape.fields,
                shape.members,
            )
        return file, other, shape
    return None


def _local_ancestry(tree: ast.Module, class_name: str) -> list[str]:
    found = read_types(tree, [class_name]).get(class_name)
    return list(found.inherited.ancestry) if found is not None and found.inherited else []
