"""What the server says about its modules: one event per decision, built from an outcome."""

from __future__ import annotations

from typing import Any

from hotreload.events import (
    EventLog,
    ModuleLoaded,
    ReloadAccepted,
    ReloadRejected,
    ReloadUnchanged,
)
from hotreload.reload import LiveModule, Outcome


def module_fields(live: LiveModule) -> dict[str, Any]:
    """The fields of every event about one module."""
    return {
        "module": live.spec.name,
        "path": str(live.spec.path),
        "version": live.version,
        "contract": live.spec.contract,
    }


def report_loaded(
    events: EventLog, live: LiveModule, source_digest: str, duration_ms: float
) -> None:
    """`module.loaded`: a module runs its first version (imported now, or adopted)."""
    events.emit(
        ModuleLoaded,
        **module_fields(live),
        digest=source_digest,
        exports=list(live.spec.exports),
        duration_ms=duration_ms,
    )


def report_outcome(events: EventLog, outcome: Outcome, source_digest: str | None) -> None:
    """Exactly one event for one decision about one module."""
    fields = module_fields(outcome.live) | {"digest": source_digest}
    if outcome.kind == "unchanged":
        events.emit(ReloadUnchanged, **fields)
    elif outcome.kind == "accepted":
        events.emit(
            ReloadAccepted,
            **fields,
            changed=outcome.changed,
            added=outcome.added,
            rebound=outcome.rebound,
            removed=outcome.removed,
            ran=outcome.ran,
            statements=outcome.statements,
            warnings=[w.as_dict() for w in outcome.warnings],
            duration_ms=outcome.duration_ms,
            # A field added to a frozen type is accepted, but says what a restart is for.
            **({"level": "warning"} if outcome.warnings else {}),
        )
    else:
        failure = outcome.failure
        assert failure is not None, "a rejection always says why"
        events.emit(
            ReloadRejected,
            **fields,
            reason=failure.reason,
            message=failure.message,
            violations=[v.as_dict() for v in failure.violations],
            line=failure.line,
            column=failure.column,
            duration_ms=outcome.duration_ms,
        )
