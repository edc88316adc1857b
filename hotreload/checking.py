"""The contract check: every module's source against its frozen exports, running no code."""

from __future__ import annotations

from typing import Any

from hotreload.engine.transaction import Candidate, ModuleSpec, prepare_file
from hotreload.errors import ContractViolation, ManifestError
from hotreload.events import ContractViolationEvent, EventLog
from hotreload.manifest import LoadedManifest
from hotreload.manifesterrors import key_path
from hotreload.verdicts import Failure


def module_specs(manifest: LoadedManifest) -> list[ModuleSpec]:
    """The manifest's modules resolved to files, in manifest (= import) order."""
    return [
        ModuleSpec(
            name=name,
            path=manifest.module_path(name),
            exports=manifest.signatures(name),
            keep=tuple(config.keep),
            types=manifest.types(name),
        )
        for name, config in manifest.manifest.modules.items()
    ]


def prepare_modules(specs: list[ModuleSpec]) -> list[tuple[ModuleSpec, Candidate | Failure]]:
    """Every module read and checked, running no code: ready to import, or why not.

    Raises ManifestError when a type entry names nothing the module defines: at check and at
    start-up that is a mistake in the manifest (a typo), where at a reload it is a removal.
    """
    prepared = [(spec, prepare_file(spec)) for spec in specs]
    unknown = [
        f"{key_path(('modules', spec.name, 'types', v.function))}: names nothing {spec.path.name} "
        f"defines: {v.message.removeprefix(f'{v.function}: type removed: the module ')}; fix the "
        "name, or remove the entry (`hotreload freeze` records the types the exports use)"
        for spec, result in prepared
        if isinstance(result, Failure)
        for v in result.violations
        if v.code == "type_removed"
    ]
    if unknown:
        raise ManifestError("\n".join(unknown))
    return prepared


def failures_of(
    prepared: list[tuple[ModuleSpec, Candidate | Failure]],
) -> list[tuple[ModuleSpec, Failure]]:
    """The modules that cannot run under their contract, with why; empty when all match."""
    return [(spec, result) for spec, result in prepared if isinstance(result, Failure)]


def check_contract(specs: list[ModuleSpec]) -> list[tuple[ModuleSpec, Failure]]:
    """Every module that cannot run under its contract, with why; empty when all match."""
    return failures_of(prepare_modules(specs))


def emit_violations(events: EventLog, spec: ModuleSpec, failure: Failure) -> int:
    """One `contract.violation` event per violation (or one for a file-level failure)."""
    common: dict[str, Any] = {
        "module": spec.name,
        "path": str(spec.path),
        "version": None,
        "contract": True,
    }
    if not failure.violations:
        events.emit(
            ContractViolationEvent,
            **common,
            code=failure.reason,
            function=None,
            expected=None,
            actual=None,
            line=failure.line,
            message=failure.message,
        )
        return 1
    for violation in failure.violations:
        events.emit(ContractViolationEvent, **common, **violation.as_dict())
    return len(failure.violations)


def require_contract(
    events: EventLog, failures: list[tuple[ModuleSpec, Failure]], manifest_name: str
) -> None:
    """Raise ContractViolation, after one `contract.violation` event per violation, unless every
    module matches (what `hotreload up` checks before any module code runs)."""
    if not failures:
        return
    for spec, failure in failures:
        emit_violations(events, spec, failure)
    raise ContractViolation(
        f"{len(failures)} module(s) do not match {manifest_name}: {failures[0][1].message}",
        [v for _, failure in failures for v in failure.violations],
    )
