"""Verdicts: the reason codes of every decision, a contract violation, and `Failure`, why a
version cannot run.

The bottom of the package: every part that decides or says something about a module imports
these from here, and this module imports nothing of ours. The classes only a save makes (a
warning on an accepted change, why a save needs a restart) are in `saveverdicts`, so that a
start-up does not build them.
"""

from __future__ import annotations

from typing import Literal

from hotreload.records import record

# -- what the contract checks ------------------------------------------------------------------

ExportViolationCode = Literal[
    "export_removed",
    "export_replaced",
    "parameters_changed",
    "parameter_type_changed",
    "return_type_changed",
    "async_changed",
]
# Made by `contract.typerules`, which checks the frozen types; one type for every violation.
TypeViolationCode = Literal[
    "type_removed",
    "type_replaced",
    "method_removed",
    "method_changed",
    "property_removed",
    "property_changed",
    "field_removed",
    "field_changed",
    "field_moved",
    "required_field_added",
    "member_removed",
]
ViolationCode = Literal[ExportViolationCode, TypeViolationCode]


@record
class Violation:
    """One way in which a module's source breaks its contract.

    For a frozen type, ``function`` is the qualified name (``Counter.inc``, ``Item.price``, or
    ``Counter`` for the type itself), ``type`` the type's name and ``member`` the method, field,
    property or Enum member concerned (None for the type as a whole); both are None for exports.
    """

    code: ViolationCode
    function: str
    expected: str
    actual: str | None
    line: int | None
    message: str
    type: str | None = None
    member: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The event form of a violation (DESIGN.md, "Events")."""
        return {
            "code": self.code,
            "function": self.function,
            "expected": self.expected,
            "actual": self.actual,
            "line": self.line,
            "message": self.message,
            "type": self.type,
            "member": self.member,
        }


WarningCode = Literal["field_added", "parameter_added", "still_running", "startup_only"]
"""The code of a warning on an accepted change:

- ``field_added``: a frozen data type gained a field with a default (objects built before lack
  it; a framework that read the type's shape keeps the old one);
- ``parameter_added``: a frozen function or method gained a parameter every frozen caller
  survives (a trailing one with a default); `hotreload freeze` would record it;
- ``still_running``: a changed function runs now in a call that does not return (the host's
  entry, a `while True` loop, a thread's loop): that call keeps the old code;
- ``startup_only``: a changed function is called only from lines that already ran in such a
  call: it does not run again until a restart.
"""

# The warnings themselves are `saveverdicts.TypeWarning` and `StaleWarning`.

# Why a restart matters after a data type gains a field: said in every such warning.
RESTART_REASON = (
    "objects built before this reload lack it, and a framework that read {type}'s shape at "
    "start-up (a FastAPI route's schema, a serializer) keeps the old shape until the host "
    "restarts; run `hotreload freeze` to record it"
)


# -- why a version cannot run -------------------------------------------------------------------

FileReason = Literal["syntax_error", "decode_error", "file_missing", "file_too_large"]
"""A module file that cannot be read, decoded or parsed (at start, by `check`, at a reload)."""

ExecReason = Literal["exec_error", "exec_timeout"]
"""A module's top-level code that raised or ran past its deadline at a reload."""

RejectReason = Literal[FileReason, "outside_root", "import_would_fail", ExecReason, ViolationCode]
"""The one code of a `reload.rejected` event, and of every `Failure`."""

CheckCode = Literal[ViolationCode, FileReason]
"""The code of a `contract.violation` event: a broken export, or a file that cannot be read."""

# -- why a save needs a restart --------------------------------------------------------------

RestartReason = Literal[
    "import_state_changed",
    "side_effect",
    "identity_lost",
    "exec_error_in_place",
    "app_factory_changed",
    "not_applicable",
]
"""The one code of a `reload.restart_needed` event: the save is valid (syntax and contract hold)
but the running process cannot be made equal to a fresh start on the new files in place.

- ``import_state_changed``: a value computed at import from what changed cannot be recomputed
  in place;
- ``side_effect``: a statement to run again made a side effect that cannot be undone (a
  framework's route table, a registry that refuses duplicates, SQLAlchemy's MetaData);
- ``identity_lost``: objects would stay instances of, or refer to, a discarded class or function;
- ``exec_error_in_place``: a statement run again in place raised, where a fresh start may not;
- ``app_factory_changed``: the served app's factory changed and its new app cannot be swapped in;
- ``not_applicable``: anything else; the message says what.

`saveverdicts.RestartNeeded` carries it, with its causes.
"""

RestartPolicy = Literal["auto", "never"]
"""A profile's `restart`: what a save that cannot apply in place does (`auto`: the server
restarts itself into the new code; `never`: the old version keeps serving)."""

# -- how a server run ends ----------------------------------------------------------------------

FailReason = Literal[
    "contract_violation", "import_error", "manifest_error", "app_error", "port_in_use"
]
StopReason = Literal["stopped", "interrupted", "entry_returned", "entry_failed", "app_failed"]


@record
class Failure:
    """Why a version cannot run: one reason code, a message, and details where known."""

    reason: RejectReason
    message: str
    violations: tuple[Violation, ...] = ()
    line: int | None = None
    column: int | None = None
    exception: str | None = None  # the type of what module code raised, for `exec_error`
