"""Verdicts: the reason codes of every decision, a contract violation, a warning on an
accepted change, and `Failure`, why a version cannot run.

The bottom of the package: every part that decides or says something about a module imports
these from here, and this module imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
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


WarningCode = Literal["field_added"]

# Why a restart matters after a data type gains a field: said in every such warning.
RESTART_REASON = (
    "objects built before this reload lack it, and a framework that read {type}'s shape at "
    "start-up (a FastAPI route's schema, a serializer) keeps the old shape until the host "
    "restarts; run `hotreload freeze` to record it"
)


@dataclass(frozen=True)
class TypeWarning:
    """An accepted change to a frozen type that still needs a restart to take full effect."""

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
            "message": self.message,
        }


# -- why a version cannot run -------------------------------------------------------------------

FileReason = Literal["syntax_error", "decode_error", "file_missing", "file_too_large"]
"""A module file that cannot be read, decoded or parsed (at start, by `check`, at a reload)."""

ExecReason = Literal["exec_error", "exec_timeout"]
"""A module's top-level code that raised or ran past its deadline at a reload."""

RejectReason = Literal[FileReason, "outside_root", ExecReason, ViolationCode]
"""The one code of a `reload.rejected` event, and of every `Failure`."""

CheckCode = Literal[ViolationCode, FileReason]
"""The code of a `contract.violation` event: a broken export, or a file that cannot be read."""

# -- how a server run ends ----------------------------------------------------------------------

FailReason = Literal[
    "contract_violation", "import_error", "manifest_error", "app_error", "port_in_use"
]
StopReason = Literal["stopped", "interrupted", "entry_returned", "entry_failed", "app_failed"]


@dataclass(frozen=True)
class Failure:
    """Why a version cannot run: one reason code, a message, and details where known."""

    reason: RejectReason
    message: str
    violations: tuple[Violation, ...] = ()
    line: int | None = None
    column: int | None = None
    exception: str | None = None  # the type of what module code raised, for `exec_error`
