"""The verdicts only a save reaches: the warnings an accepted change carries (`TypeWarning`,
`StaleWarning`) and why a valid save cannot apply in place (`RestartCause`, `RestartNeeded`).

Their codes are in `verdicts`, with everything a start-up can say. These classes are apart
because a start-up makes none (but a served app's set-up, which prepares the restart its factory
may need), so it need not build them (issue 19). This module imports nothing of ours but the
codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hotreload.verdicts import RestartReason, WarningCode

# -- warnings on an accepted change ---------------------------------------------------------------


@dataclass(frozen=True)
class TypeWarning:
    """An accepted change to the contract that the manifest does not record yet: a data type's
    new field (a restart is for objects and frameworks that hold the old shape), or a new
    parameter with a default that every frozen caller survives (``type`` is then the export,
    or ``Type.method``; ``member`` the parameter)."""

    code: WarningCode
    type: str
    member: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        """The event form of a warning (`reload.accepted` ``warnings``)."""
        return {
            "code": self.code,
            "type": self.type,
            "member": self.member,
            "function": None,
            "thread": None,
            "file": None,
            "line": None,
            "call_sites": [],
            "message": self.message,
        }


@dataclass(frozen=True)
class StaleWarning:
    """An accepted change to a function that will not run again until a restart: it runs now
    in a call that does not return (``still_running``), or it is called only from lines such
    a call has passed (``startup_only``).

    ``thread``, ``file`` and ``line`` say where that call runs now (None for a caller that ran
    once and returned: the app factory); ``call_sites`` (as ``file:line``) are the calls that
    already ran, for ``startup_only``.
    """

    code: Literal["still_running", "startup_only"]
    function: str
    thread: str | None  # None where the caller ran once and returned (the app factory)
    file: str | None
    line: int | None
    message: str
    call_sites: tuple[str, ...] = ()
    # Only a restart applies it, and the server restarts itself for it where it may (`restart =
    # "auto"`): a change to what the served app's factory called.
    restarts: bool = False

    def as_dict(self) -> dict[str, object]:
        """The event form of a warning (`reload.accepted` ``warnings``)."""
        return {
            "code": self.code,
            "type": None,
            "member": None,
            "function": self.function,
            "thread": self.thread,
            "file": self.file,
            "line": self.line,
            "call_sites": list(self.call_sites),
            "message": self.message,
        }


AcceptWarning = TypeWarning | StaleWarning
"""Any warning an accepted change carries."""


# -- why a save needs a restart -------------------------------------------------------------------


@dataclass(frozen=True)
class RestartCause:
    """One reason a save cannot apply in place: the statement (``"12: app.include_router(r)"``)
    and name concerned where known, and what happens there."""

    code: RestartReason
    detail: str
    statement: str | None = None
    line: int | None = None
    name: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The event form of a cause (`reload.restart_needed` ``causes``)."""
        return {
            "code": self.code,
            "statement": self.statement,
            "line": self.line,
            "name": self.name,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RestartNeeded:
    """Why a valid save cannot apply in place; nothing of it was kept."""

    reason: RestartReason
    message: str
    causes: tuple[RestartCause, ...] = ()
