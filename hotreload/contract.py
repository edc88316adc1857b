"""The contract check: every module's source against its frozen exports, running no code."""

from __future__ import annotations

from typing import Any

from hotreload.events import ContractViolationEvent, EventLog
from hotreload.manifest import LoadedManifest
from hotreload.reload import Failure, ModuleSpec, prepare, read_source


def module_specs(manifest: LoadedManifest) -> list[ModuleSpec]:
    """The manifest's modules resolved to files, in manifest (= import) order."""
    return [
        ModuleSpec(
            name=name,
            path=manifest.module_path(name),
            exports=manifest.signatures(name),
            keep=tuple(config.keep),
        )
        for name, config in manifest.manifest.modules.items()
    ]


def check_contract(specs: list[ModuleSpec]) -> list[tuple[ModuleSpec, Failure]]:
    """Every module that cannot run under its contract, with why; empty when all match."""
    failures = []
    for spec in specs:
        source = read_source(spec.path)
        result = prepare(spec, source) if isinstance(source, bytes) else source
        if isinstance(result, Failure):
            failures.append((spec, result))
    return failures


def emit_violations(events: EventLog, spec: ModuleSpec, failure: Failure) -> int:
    """One `contract.violation` event per violation (or one for a file-level failure)."""
    common: dict[str, Any] = {"module": spec.name, "path": str(spec.path), "version": None}
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
