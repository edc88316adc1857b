"""Structured events: their types (the event schema), numbering, writing and delivering them.

Each event's fields are defined once, here, as a stdlib dataclass with pydantic's config and
field metadata on it (`__pydantic_config__`, ``metadata``): `hotreload schema` and the tests
hand the classes to pydantic, which writes the JSON Schema and validates against it. A running
server never imports pydantic for its events: `EventLog.emit` builds each record as a plain dict
from the class's fields, in their order, defaults filled in (a `module.loaded` for each of an
app's thousand modules at start-up is a dict and a line, not a validation). The tests set
``HOTRELOAD_VALIDATE_EVENTS=1``, under which every record is validated and compared with what
pydantic makes of it, in the suite's own process and in every CLI it starts, so the records and
the schema cannot drift apart unseen.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

from hotreload.listeners import EventListener, Listeners, describe_error
from hotreload.verdicts import (
    CheckCode,
    FailReason,
    RejectReason,
    RestartPolicy,
    RestartReason,
    StopReason,
    ViolationCode,
    WarningCode,
)
from hotreload.words import LEVEL_ORDER, AppKind, AssetKind, Level

if TYPE_CHECKING:
    from pydantic import TypeAdapter

VALIDATE_ENV = "HOTRELOAD_VALIDATE_EVENTS"
"""Set to 1, every emitted event is validated against its type with pydantic (the tests do)."""

# Every type forbids unknown fields, and every field, defaults included, is written on every
# line: the schema says so (a consumer may rely on `message` being present, null or not).
_CONFIG: dict[str, Any] = {"extra": "forbid", "json_schema_serialization_defaults_required": True}

_T = TypeVar("_T")


def _f(
    *,
    description: str,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    ge: int | None = None,
    json_schema_extra: dict[str, Any] | None = None,
) -> Any:
    """One field: a dataclass field whose metadata pydantic reads as its `Field` arguments (the
    description, a bound, schema extras); the event log reads only the default."""
    metadata: dict[str, Any] = {"description": description}
    if ge is not None:
        metadata["ge"] = ge
    if json_schema_extra is not None:
        metadata["json_schema_extra"] = json_schema_extra
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def _record(cls: type[_T]) -> type[_T]:
    """An event type, or a record inside one: a dataclass that declares fields, with the shared
    config. Nothing makes instances of it (a record is a dict; pydantic, validating, makes its
    own without calling ``__init__``), so the dataclass writes no methods: start-up pays for
    no code generated for two dozen classes."""
    cls.__pydantic_config__ = _CONFIG  # type: ignore[attr-defined]
    return dataclass(kw_only=True, init=False, repr=False, eq=False, match_args=False)(cls)


def _name(event: str) -> Any:
    """The ``event`` field of one type: its name, fixed, described like every field."""
    return _f(default=event, description="The event's name.")


_TYPE_DESCRIPTION = "For a frozen type, the type's name; null for an export."
_MEMBER_DESCRIPTION = (
    "For a frozen type, the method, property, field or Enum member concerned; null for the "
    "type as a whole and for an export."
)


@_record
class ViolationRecord:
    """One way a function or a frozen type breaks the contract."""

    code: ViolationCode = _f(description="What kind of break this is.")
    function: str = _f(
        description="The exported function's name; for a frozen type its qualified name "
        "(`Counter.inc`, `Item.price`, or `Counter` for the type itself)."
    )
    expected: str = _f(description="The frozen signature (or shape) from the manifest.")
    actual: str | None = _f(description="What the source has now; null when it is gone.")
    line: int | None = _f(default=None, description="1-based line of the function in the source.")
    message: str = _f(description="One sentence for a person.")
    type: str | None = _f(default=None, description=_TYPE_DESCRIPTION)
    member: str | None = _f(default=None, description=_MEMBER_DESCRIPTION)


@_record
class WarningRecord:
    """An accepted change that needs a restart to take full effect."""

    code: WarningCode = _f(description="What kind of change this is.")
    type: str | None = _f(
        description="The frozen type concerned (`field_added`); the export or `Type.method` "
        "(`parameter_added`); null for the other codes."
    )
    member: str | None = _f(description="The field (or other member, or parameter) concerned.")
    function: str | None = _f(
        default=None,
        description="The changed function that will not run again (qualified name: "
        "`main`, `Worker.run`); null for `field_added`.",
    )
    thread: str | None = _f(
        default=None,
        description="The name of the thread whose call does not return (`asyncio task NAME` "
        "for a coroutine waiting in a task); null for `field_added` and for the app factory.",
    )
    file: str | None = _f(
        default=None,
        description="The file that call runs in now (relative to project.root where under it).",
    )
    line: int | None = _f(default=None, description="The line that call runs now.")
    call_sites: list[str] = _f(
        default_factory=list,
        description="`startup_only`: the calls of the function that already ran, as `file:line`.",
    )
    message: str = _f(description="What changed and what a restart is for, for a person.")


@_record
class BaseEvent:
    """Fields every event carries."""

    default_level: ClassVar[Level] = "info"

    event: str = _f(description="The event's name.")
    timestamp: str = _f(
        description="When it happened: UTC, RFC 3339 with microseconds.",
        json_schema_extra={"format": "date-time"},
    )
    level: Level = _f(description="Severity.")
    seq: int = _f(ge=1, description="1, 2, 3, ... per server run; a gap means a lost event.")
    env: str = _f(description="The environment profile the server runs with.")


@_record
class ModuleEvent(BaseEvent):
    """Fields of every event about one module."""

    module: str = _f(description="Dotted import name of the module.")
    path: str = _f(description="Absolute path of the module's source file.")
    version: int | None = _f(
        description="The module's running version: 1 at first load, +1 per accepted change; "
        "null where no version runs (`hotreload check`, or a failure before the first load)."
    )
    contract: bool = _f(
        description="Whether the module is one of the manifest's, guarded by its contract; "
        "false for another module of the project that the process imported (a helper, the "
        "host's own files), which reloads the same way without a contract."
    )


@_record
class SourceEvent(ModuleEvent):
    """A decision about one version of a module's source."""

    digest: str | None = _f(
        description="First 16 hex digits of the SHA-256 of the source bytes this event decided "
        "on; null when the file could not be read. Saves coalesced into one decision show as "
        "one event whose digest is that of the last of them."
    )


@_record
class ServerStarted(BaseEvent):
    """Start-up is over: modules are loaded and, if the profile reloads, the watcher is live."""

    event: Literal["server.started"] = _name("server.started")
    manifest: str = _f(description="Absolute path of the manifest.")
    modules: list[str] = _f(description="The modules loaded, in import order.")
    reload: bool = _f(description="Whether the profile watches and reloads.")
    debounce_ms: int = _f(description="The watcher's quiet time in milliseconds.")
    duration_ms: float = _f(description="Start-up time in milliseconds.")
    restarted: bool = _f(
        default=False,
        description="Whether this run is a restart of the server into new code "
        "(`server.restarting` ended the previous run in this same process).",
    )


@_record
class ServerRestarting(BaseEvent):
    """The server restarts itself into the new code (profile `restart = "auto"`): same command
    and process id, the listening socket kept, so no connection is refused. The new run numbers
    its events from 1 again and says `server.started` once it serves."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["server.restarting"] = _name("server.restarting")
    module: str | None = _f(description="The module whose save caused it, where one did.")
    path: str | None = _f(description="That module's file, where one did.")
    reason: RestartReason = _f(description="The `reload.restart_needed` reason that caused it.")
    message: str = _f(description="What caused it, for a person.")


@_record
class ServerStopped(BaseEvent):
    """The server stopped; no reload starts after this event."""

    event: Literal["server.stopped"] = _name("server.stopped")
    reason: StopReason = _f(description="Why it stopped.")
    message: str | None = _f(default=None, description="Details for a person, if any.")


@_record
class ServerFailed(BaseEvent):
    """Start-up failed; the server does not run."""

    default_level: ClassVar[Level] = "error"
    event: Literal["server.failed"] = _name("server.failed")
    reason: FailReason = _f(description="What went wrong.")
    message: str = _f(description="What went wrong and what to do, for a person.")
    waiting: bool = _f(
        default=False,
        description="A restart's start-up failed: the process keeps the listening socket and "
        "starts again at the next save of a project file, instead of exiting.",
    )


@_record
class ModuleLoaded(SourceEvent):
    """A module was imported for the first time."""

    event: Literal["module.loaded"] = _name("module.loaded")
    exports: list[str] = _f(description="The exports the manifest lists for the module.")
    duration_ms: float = _f(description="Time to check and import the module, in milliseconds.")


@_record
class ReloadAccepted(SourceEvent):
    """A change kept the contract and runs now."""

    event: Literal["reload.accepted"] = _name("reload.accepted")
    changed: list[str] = _f(
        description="Exports whose code changed, then frozen types whose class statement changed "
        "(method bodies included)."
    )
    added: list[str] = _f(
        description="New public functions; not exported until `hotreload freeze` records them."
    )
    rebound: list[str] = _f(
        description="Objects that could not keep their identity: replaced in the module and in "
        "bindings, but references held elsewhere still run the old code."
    )
    removed: list[str] = _f(description="Top-level names the new version no longer defines.")
    ran: Literal["code", "statements", "module"] = _f(
        description="What ran: `code` (only function bodies changed: live functions took the "
        "new code, no module code ran), `statements` (the top-level statements listed in "
        "`statements`), or `module` (the whole module, where a statement-level diff cannot be "
        "trusted)."
    )
    statements: list[str] = _f(
        description="The top-level statements that ran, in order, as `line: first line of "
        "the statement` (a def or class as what it defines, `11: class Item`, even under a "
        "decorator); empty unless `ran` is `statements`."
    )
    warnings: list[WarningRecord] = _f(
        default_factory=list,
        description="Accepted changes that need a restart to take full effect (a data type "
        "gained a field; a function that runs now in a call that does not return, or that is "
        "called only from lines such a call has passed); the event's level is then warning.",
    )
    duration_ms: float = _f(description="Time from reading the file to the patched module.")


@_record
class ReloadRejected(SourceEvent):
    """A change broke the contract or failed; the previous version keeps running."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["reload.rejected"] = _name("reload.rejected")
    reason: RejectReason = _f(description="One code for why the change was rejected.")
    message: str = _f(description="What is wrong and what to do, for a person.")
    violations: list[ViolationRecord] = _f(description="Every contract violation found.")
    line: int | None = _f(default=None, description="1-based line of the error, where known.")
    column: int | None = _f(default=None, description="1-based column of the error, where known.")
    duration_ms: float = _f(description="Time from reading the file to the decision.")


@_record
class RestartCauseRecord:
    """One reason a save cannot apply in place."""

    code: RestartReason = _f(description="What kind of reason this is.")
    statement: str | None = _f(
        description="The top-level statement concerned, as `line: first line`, where known."
    )
    line: int | None = _f(description="1-based line of that statement, where known.")
    name: str | None = _f(description="The name concerned, where known.")
    detail: str = _f(description="What happens there, for a person.")


@_record
class ReloadRestartNeeded(SourceEvent):
    """A valid change that cannot apply in place: nothing of it was kept, the previous version
    keeps running, and a restart applies it (the server restarts itself when `restart` is
    `auto`)."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["reload.restart_needed"] = _name("reload.restart_needed")
    reason: RestartReason = _f(description="One code for why the change needs a restart.")
    message: str = _f(description="What, why, and what applies it, for a person.")
    causes: list[RestartCauseRecord] = _f(description="Every reason found, with where.")
    restart: RestartPolicy = _f(
        description="What the server does next: `auto`, it restarts itself now "
        "(`server.restarting` follows); `never`, the previous version keeps serving."
    )
    duration_ms: float = _f(description="Time from reading the file to the decision.")


@_record
class ReloadUnchanged(SourceEvent):
    """The file was saved with the content that already runs; nothing was done."""

    event: Literal["reload.unchanged"] = _name("reload.unchanged")


@_record
class ContractViolationEvent(ModuleEvent):
    """One export of a module does not match its frozen signature (from `check` and at start)."""

    default_level: ClassVar[Level] = "error"
    event: Literal["contract.violation"] = _name("contract.violation")
    code: CheckCode = _f(description="What kind of break this is.")
    function: str | None = _f(
        description="The export concerned (for a frozen type its qualified name, `Counter.inc`); "
        "null for a file-level error."
    )
    expected: str | None = _f(description="The frozen signature (or shape) from the manifest.")
    actual: str | None = _f(description="What the source has now.")
    line: int | None = _f(default=None, description="1-based line in the source, where known.")
    message: str = _f(description="What is wrong and what to do, for a person.")
    type: str | None = _f(default=None, description=_TYPE_DESCRIPTION)
    member: str | None = _f(default=None, description=_MEMBER_DESCRIPTION)


@_record
class ManifestChanged(BaseEvent):
    """The manifest file changed while the server runs (changes to it need a restart)."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["manifest.changed"] = _name("manifest.changed")
    manifest: str = _f(description="Absolute path of the manifest.")
    valid: bool = _f(description="Whether the new manifest validates.")
    message: str = _f(description="What changed and what to do, for a person.")


@_record
class WatcherError(BaseEvent):
    """The file watcher hit an error; it keeps running and retries."""

    default_level: ClassVar[Level] = "error"
    event: Literal["watcher.error"] = _name("watcher.error")
    message: str = _f(description="The error, and the files it concerns, for a person.")
    path: str | None = _f(
        default=None,
        description="Absolute path of the file the error concerns (the changed file being "
        "decided, or the one folder being watched); null when it concerns several (the "
        "message names them) or none.",
    )
    module: str | None = _f(
        default=None,
        description="Dotted name of the module whose file `path` is; null for another file "
        "(the manifest, a folder) or none.",
    )


@_record
class ListenerError(BaseEvent):
    """An `on_event` callback raised: reported once per callback and kind of error; it keeps
    receiving events, and nothing else changed."""

    default_level: ClassVar[Level] = "error"
    event: Literal["listener.error"] = _name("listener.error")
    listener: str = _f(description="The callback, as module.qualname.")
    error: str = _f(description="The exception's type, e.g. KeyError.")
    during: str = _f(description="The name of the event the callback was given.")
    during_seq: int = _f(ge=1, description="The seq of the event the callback was given.")
    message: str = _f(description="What was raised, where, and what happens now, for a person.")


@_record
class AppServing(BaseEvent):
    """The [app] asgi or wsgi app answers requests now (its start-up, lifespan too, is over)."""

    event: Literal["app.serving"] = _name("app.serving")
    app: str = _f(description='The app served, as the manifest names it: "module:attribute".')
    kind: AppKind = _f(description="The interface it is served with.")
    host: str = _f(description="The address it listens on.")
    port: int = _f(description="The port it listens on (the one picked, if 0 was asked for).")
    url: str = _f(description="Where to send requests.")
    reload: bool = _f(description="Whether saved changes are applied (the profile's reload).")
    restart_files: list[str] = _f(
        default_factory=list,
        description="Files that are not modules but that the app read at start (a Flask "
        'instance config): a save of one restarts the server (restart = "auto").',
    )


@_record
class SkippedExport:
    """An export the exports API does not serve, and why."""

    export: str = _f(description='The export, as "module.function".')
    reason: str = _f(description="Which parameter or result has no JSON form, and why.")


@_record
class ExportsServing(BaseEvent):
    """The exports API ([serve] exports) answers requests now."""

    event: Literal["exports.serving"] = _name("exports.serving")
    host: str = _f(description="The address it listens on.")
    port: int = _f(description="The port it listens on (the one picked, if 0 was asked for).")
    url: str = _f(description="Where to send requests: POST {url}/call/{module}/{function}.")
    openapi: str = _f(description="The URL of the OpenAPI document (from the manifest).")
    exports: list[str] = _f(description='The exports served, as "module.function".')
    skipped: list[SkippedExport] = _f(
        description="Exports not served, as their types have no JSON form; the event's level is "
        "then warning."
    )
    mcp: str | None = _f(
        description="The URL of the MCP endpoint ([serve] mcp: the exports as tools); null "
        "without it."
    )
    token: bool = _f(description="Whether every request must carry the bearer token.")
    reload: bool = _f(description="Whether saved changes are applied (the profile's reload).")


@_record
class AppLog(BaseEvent):
    """A log record of the web server (uvicorn) that serves the app, as one event."""

    event: Literal["app.log"] = _name("app.log")
    logger: str = _f(description='The logger that wrote it, e.g. "uvicorn.error".')
    message: str = _f(description="The record's message.")
    exception: str | None = _f(
        default=None, description="The traceback the record carries, if any."
    )


@_record
class AssetChanged(BaseEvent):
    """A file of a served app's static or template folders was saved (in a profile with
    `browser_reload`): open pages swap the stylesheet in place, or reload."""

    event: Literal["asset.changed"] = _name("asset.changed")
    file: str = _f(description="Absolute path of the saved file.")
    kind: AssetKind = _f(
        description="`stylesheet` (a .css file: pages swap it without reloading), `template` "
        "(a file of a template folder) or `static` (any other file the app serves)."
    )
    url: str | None = _f(
        description="The path the app serves it at (`/static/site.css`), where the app says so "
        "(a static mount); null for a template."
    )


EVENT_MODELS: tuple[type[BaseEvent], ...] = (
    ServerStarted,
    ServerStopped,
    ServerRestarting,
    ServerFailed,
    ModuleLoaded,
    ReloadAccepted,
    ReloadRejected,
    ReloadUnchanged,
    ReloadRestartNeeded,
    ContractViolationEvent,
    ManifestChanged,
    WatcherError,
    ListenerError,
    AppServing,
    ExportsServing,
    AppLog,
    AssetChanged,
)


def event_name(model: type[BaseEvent]) -> str:
    """The name an event type writes in its ``event`` field, e.g. ``module.loaded`` (the
    field's default: a dataclass keeps it as the class attribute)."""
    return model.event


@functools.cache
def event_adapter() -> TypeAdapter[Any]:
    """The union of every event type (the schema of a line), built from the one list of them
    when first asked. (A runtime union: the list is data, so no type checker reads it as a
    type.) Imports pydantic: for `hotreload schema` and the tests, never on an emit."""
    from typing import Annotated, Union

    from pydantic import Field, TypeAdapter

    return TypeAdapter(
        Annotated[Union[EVENT_MODELS], Field(discriminator="event")]  # type: ignore[arg-type]  # noqa: UP007
    )


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema every emitted event validates against (one line of a JSON log).

    Serialization mode: it describes the lines as written, where every field is present.
    """
    schema = event_adapter().json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "hotreload event",
        "description": "One structured log record of hotreload: a line of its JSON log.",
        **schema,
    }


class InvalidEvent(ValueError):
    """An emit call whose fields do not make its event: an unknown or missing field, or (under
    ``HOTRELOAD_VALIDATE_EVENTS=1``) a value its type does not allow. A bug of the caller."""


_ABSENT: Any = object()


class _Shape:
    """How to build one type's record: its fields in order, with their defaults, and the lists
    of records inside it. Made once per type, the first time an event of it is emitted."""

    def __init__(self, model: type[Any], event: bool) -> None:
        self.model = model
        fields = dataclasses.fields(model)
        if event:  # event, timestamp, level, seq, env: the log sets them itself, first
            fields = fields[len(dataclasses.fields(BaseEvent)) :]  # type: ignore[arg-type]
        self.event: str | None = event_name(model) if event else None
        self.names = tuple(f.name for f in fields)
        self.known = frozenset(self.names)
        self.defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
        self.factories = {
            f.name: f.default_factory
            for f in fields
            if f.default_factory is not dataclasses.MISSING
        }
        # What pydantic did to the values it was given, the log does too (the record must be
        # what it wrote; the module's annotations are postponed, so each type is the string
        # written): an int for a float becomes a float (`duration_ms`); a list (or tuple) of
        # strings, a new list, so the record shares nothing with the caller; a list of records
        # (`violations`, `warnings`), a new list of records built the same way as the event.
        self.floats = tuple(f.name for f in fields if f.type == "float")
        self.lists = tuple(f.name for f in fields if f.type == "list[str]")
        self.nested = tuple(
            (f.name, shape_of(_RECORD_LISTS[f.type])) for f in fields if f.type in _RECORD_LISTS
        )

    def fill(self, record: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add this type's fields to ``record`` in order: given, else the default."""
        if not fields.keys() <= self.known:
            unknown = ", ".join(sorted(set(fields) - self.known))
            known = ", ".join(self.names)
            raise InvalidEvent(f"{self.model.__name__} has no field {unknown} (it has {known})")
        for name in self.names:
            value = fields.get(name, _ABSENT)
            record[name] = self._default(name) if value is _ABSENT else value
        for name in self.floats:
            if type(record[name]) is int:
                record[name] = float(record[name])
        for name in self.lists:
            if type(record[name]) in (list, tuple):  # anything else: the caller's bug, left as is
                record[name] = list(record[name])
        for name, shape in self.nested:
            record[name] = [shape.fill({}, shape.mapping(item)) for item in record[name]]
        return record

    def mapping(self, item: Any) -> Mapping[str, Any]:
        """One record inside an event, as given: a dict (e.g. `Violation.as_dict()`)."""
        if not isinstance(item, Mapping):
            raise InvalidEvent(f"a {self.model.__name__} is given as a dict, not {item!r}")
        return item

    def _default(self, name: str) -> Any:
        if name in self.defaults:
            return self.defaults[name]
        if name in self.factories:
            return self.factories[name]()
        raise InvalidEvent(f"{self.model.__name__} needs field {name}, which has no default")


_RECORDS = (ViolationRecord, WarningRecord, RestartCauseRecord, SkippedExport)
_RECORD_LISTS = {f"list[{record.__name__}]": record for record in _RECORDS}


_SHAPES: dict[type[Any], _Shape] = {}
_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def shape_of(model: type[Any]) -> _Shape:
    """The `_Shape` of an event type (its own fields, after the five the log sets) or a record.
    (Two threads may make the same one at once: they are alike, either is kept.)"""
    shape = _SHAPES.get(model)
    if shape is None:
        shape = _SHAPES[model] = _Shape(model, issubclass(model, BaseEvent))
    return shape


def _type_adapter(model: type[BaseEvent]) -> TypeAdapter[Any]:
    """One event type's validator, built the first time one of its events is checked."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def check_record(model: type[BaseEvent], record: dict[str, Any]) -> None:
    """Raise `InvalidEvent` unless pydantic validates ``record`` as ``model`` and writes it back
    exactly (same keys in the same order, same values of the same types): what the schema says,
    and what `emit` wrote before it built records itself."""
    from pydantic import ValidationError

    adapter = _type_adapter(model)
    try:
        written = adapter.dump_python(adapter.validate_python(record), mode="json")
    except ValidationError as e:
        raise InvalidEvent(f"{record.get('event')}: {e}") from e
    difference = _difference(written, record, "")
    if difference:
        raise InvalidEvent(f"{record.get('event')}: {difference}")


def _difference(expected: Any, actual: Any, where: str) -> str | None:
    """Where ``actual`` differs from ``expected`` in value, type or key order, or None."""
    if type(expected) is not type(actual):
        return (
            f"{where or 'record'} is {actual!r} ({type(actual).__name__}); "
            f"the event's type makes it {expected!r} ({type(expected).__name__})"
        )
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            return f"{where or 'record'} has keys {list(actual)}, the type's are {list(expected)}"
        for key, value in expected.items():
            found = _difference(value, actual[key], f"{where}.{key}" if where else key)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{where} has {len(actual)} items, the type's {len(expected)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = _difference(left, right, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if expected == actual else f"{where} is {actual!r}, the type makes {expected!r}"


class EventSink(Protocol):
    """Where the event log writes each event, in seq order (stderr, the log file)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Several events at once, in order (as one write where the sink can)."""
        ...


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def utc_now() -> str:
    """RFC 3339 UTC timestamp with microseconds, e.g. 2026-11-25T08:57:00.123456Z.

    What ``datetime.now(UTC).isoformat()`` writes (the same clock, truncated to the
    microsecond), for a third of its cost: the date and time to the second are formatted once
    a second (an app's start-up stamps a thousand `module.loaded` events).
    """
    global _second
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    formatted, text = _second  # one read of one tuple: another thread may replace it meanwhile
    if seconds != formatted:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = (seconds, text)
    return f"{text}.{micros:06d}Z"


class EventLog:
    """Numbers, writes and delivers a server run's events, in order, from any thread.

    Every required field (``seq``, ``timestamp``, ``level``, ``env``) is set here, so an event is
    complete whatever the sink does, and ``seq`` counts only events that pass the level
    threshold, so a gap always means a loss. The sink is written under the log's lock, so lines
    appear in seq order; listeners get each event after that lock is released (`listeners`),
    and one that raises is reported as `listener.error`. With ``HOTRELOAD_VALIDATE_EVENTS=1``
    in the environment when the log is made, each record is checked against its type first.
    """

    def __init__(
        self,
        env: str,
        *,
        level: Level = "info",
        output: EventSink | None = None,
        listeners: tuple[EventListener, ...] = (),
    ) -> None:
        self.env = env
        self.output = output
        self.listeners = Listeners(listeners, report=self._listener_failed)
        self._threshold = LEVEL_ORDER[level]
        self._seq = 0
        self._lock = threading.Lock()
        self._validate = os.environ.get(VALIDATE_ENV) == "1"

    def subscribe(self, listener: EventListener) -> None:
        """Call ``listener`` with every event dict emitted from now on."""
        self.listeners.add(listener)

    def emit(self, model: type[BaseEvent], **fields: Any) -> dict[str, Any] | None:
        """Write and deliver one event; its dict, or None if below the threshold.

        Raises `InvalidEvent` (and takes no number) for a field the type does not have, or a
        required one missing; under ``HOTRELOAD_VALIDATE_EVENTS=1``, for any value the schema
        does not allow, too.
        """
        level: Level = fields.pop("level", model.default_level)
        order = LEVEL_ORDER.get(level)
        if order is None:
            raise InvalidEvent(f"{model.__name__}: level {level!r} is none of {list(LEVEL_ORDER)}")
        if order < self._threshold:
            return None
        record = self._record(model, level, fields)
        with self._lock:
            # One lock for numbering and writing: lines appear in seq order, without gaps. The
            # number is taken only once the event is whole: a bad emit call must not leave a gap.
            self._number(model, (record,))
            if self.output is not None:
                self.output.write(record)
            delivers = bool(self.listeners)
            if delivers:
                self.listeners.put(record)
        if delivers:  # else nothing of ours is pending: an emit that put one delivers it
            self.listeners.deliver()
        return record

    def emit_many(self, model: type[BaseEvent], many: list[dict[str, Any]]) -> None:
        """Write and deliver several events of one type at its default level, in order, with
        consecutive numbers: what `emit` does for each, with one hold of the lock and one write
        (the `module.loaded` events of the modules an import burst brought in).

        Raises `InvalidEvent` as `emit` does, before any of them is numbered.
        """
        level = model.default_level
        if not many or LEVEL_ORDER[level] < self._threshold:
            return
        records = [self._record(model, level, fields) for fields in many]
        with self._lock:
            self._number(model, records)
            if self.output is not None:
                self.output.write_many(records)
            delivers = bool(self.listeners)
            if delivers:
                for record in records:
                    self.listeners.put(record)
        if delivers:
            self.listeners.deliver()

    def _record(
        self, model: type[BaseEvent], level: Level, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """An event's record, but for its number and time. The five common fields come first,
        as the schema orders them; timestamp and seq are set under the lock (in place: the key
        order stays)."""
        shape = shape_of(model)
        record = {"event": shape.event, "timestamp": "", "level": level, "seq": 0, "env": self.env}
        return shape.fill(record, fields)

    def _number(self, model: type[BaseEvent], records: Sequence[dict[str, Any]]) -> None:
        """Give whole records the next numbers and the time (under the lock); the numbers are
        taken only once every record passed the check, so a bad one leaves no gap."""
        seq = self._seq
        for record in records:
            seq += 1
            record["timestamp"] = utc_now()
            record["seq"] = seq
            if self._validate:
                check_record(model, record)
        self._seq = seq

    def deferred(self) -> AbstractContextManager[None]:
        """Emit inside this while holding a lock a listener may need (see `Listeners.deferred`)."""
        return self.listeners.deferred()

    def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until listeners got every event emitted so far."""
        return self.listeners.flush(timeout)

    def _listener_failed(
        self, listener: EventListener, error: Exception, record: dict[str, Any]
    ) -> None:
        self.emit(ListenerError, **describe_error(listener, error, record))
