"""Structured events: their models (the event schema), numbering, writing and delivering them."""

from __future__ import annotations

import functools
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

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

# Every model forbids unknown fields and writes every field. Each builds its validator the first
# time an event of its kind is emitted (a run emits a few of the kinds): start-up does not pay
# for all of them.
_CONFIG = ConfigDict(
    extra="forbid", json_schema_serialization_defaults_required=True, defer_build=True
)


def _name(event: str) -> Any:
    """The ``event`` field of one model: its name, fixed, described like every field."""
    return Field(default=event, description="The event's name.")


_TYPE_DESCRIPTION = "For a frozen type, the type's name; null for an export."
_MEMBER_DESCRIPTION = (
    "For a frozen type, the method, property, field or Enum member concerned; null for the "
    "type as a whole and for an export."
)


class ViolationRecord(BaseModel):
    """One way a function or a frozen type breaks the contract."""

    model_config = _CONFIG

    code: ViolationCode = Field(description="What kind of break this is.")
    function: str = Field(
        description="The exported function's name; for a frozen type its qualified name "
        "(`Counter.inc`, `Item.price`, or `Counter` for the type itself)."
    )
    expected: str = Field(description="The frozen signature (or shape) from the manifest.")
    actual: str | None = Field(description="What the source has now; null when it is gone.")
    line: int | None = Field(
        default=None, description="1-based line of the function in the source."
    )
    message: str = Field(description="One sentence for a person.")
    type: str | None = Field(default=None, description=_TYPE_DESCRIPTION)
    member: str | None = Field(default=None, description=_MEMBER_DESCRIPTION)


class WarningRecord(BaseModel):
    """An accepted change that needs a restart to take full effect."""

    model_config = _CONFIG

    code: WarningCode = Field(description="What kind of change this is.")
    type: str | None = Field(
        description="The frozen type concerned (`field_added`); the export or `Type.method` "
        "(`parameter_added`); null for the other codes."
    )
    member: str | None = Field(description="The field (or other member, or parameter) concerned.")
    function: str | None = Field(
        default=None,
        description="The changed function that will not run again (qualified name: "
        "`main`, `Worker.run`); null for `field_added`.",
    )
    thread: str | None = Field(
        default=None,
        description="The name of the thread whose call does not return (`asyncio task NAME` "
        "for a coroutine waiting in a task); null for `field_added` and for the app factory.",
    )
    file: str | None = Field(
        default=None,
        description="The file that call runs in now (relative to project.root where under it).",
    )
    line: int | None = Field(default=None, description="The line that call runs now.")
    call_sites: list[str] = Field(
        default_factory=list,
        description="`startup_only`: the calls of the function that already ran, as `file:line`.",
    )
    message: str = Field(description="What changed and what a restart is for, for a person.")


class BaseEvent(BaseModel):
    """Fields every event carries."""

    # Every field, defaults included, is written on every line: the schema says so (a consumer
    # may rely on `message` being present, null or not), and `event` is required in it.
    model_config = _CONFIG
    default_level: ClassVar[Level] = "info"

    event: str = Field(description="The event's name.")
    timestamp: str = Field(
        description="When it happened: UTC, RFC 3339 with microseconds.",
        json_schema_extra={"format": "date-time"},
    )
    level: Level = Field(description="Severity.")
    seq: int = Field(ge=1, description="1, 2, 3, ... per server run; a gap means a lost event.")
    env: str = Field(description="The environment profile the server runs with.")


class ModuleEvent(BaseEvent):
    """Fields of every event about one module."""

    module: str = Field(description="Dotted import name of the module.")
    path: str = Field(description="Absolute path of the module's source file.")
    version: int | None = Field(
        description="The module's running version: 1 at first load, +1 per accepted change; "
        "null where no version runs (`hotreload check`, or a failure before the first load)."
    )
    contract: bool = Field(
        description="Whether the module is one of the manifest's, guarded by its contract; "
        "false for another module of the project that the process imported (a helper, the "
        "host's own files), which reloads the same way without a contract."
    )


class SourceEvent(ModuleEvent):
    """A decision about one version of a module's source."""

    digest: str | None = Field(
        description="First 16 hex digits of the SHA-256 of the source bytes this event decided "
        "on; null when the file could not be read. Saves coalesced into one decision show as "
        "one event whose digest is that of the last of them."
    )


class ServerStarted(BaseEvent):
    """Start-up is over: modules are loaded and, if the profile reloads, the watcher is live."""

    event: Literal["server.started"] = _name("server.started")
    manifest: str = Field(description="Absolute path of the manifest.")
    modules: list[str] = Field(description="The modules loaded, in import order.")
    reload: bool = Field(description="Whether the profile watches and reloads.")
    debounce_ms: int = Field(description="The watcher's quiet time in milliseconds.")
    duration_ms: float = Field(description="Start-up time in milliseconds.")
    restarted: bool = Field(
        default=False,
        description="Whether this run is a restart of the server into new code "
        "(`server.restarting` ended the previous run in this same process).",
    )


class ServerRestarting(BaseEvent):
    """The server restarts itself into the new code (profile `restart = "auto"`): same command
    and process id, the listening socket kept, so no connection is refused. The new run numbers
    its events from 1 again and says `server.started` once it serves."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["server.restarting"] = _name("server.restarting")
    module: str | None = Field(description="The module whose save caused it, where one did.")
    path: str | None = Field(description="That module's file, where one did.")
    reason: RestartReason = Field(description="The `reload.restart_needed` reason that caused it.")
    message: str = Field(description="What caused it, for a person.")


class ServerStopped(BaseEvent):
    """The server stopped; no reload starts after this event."""

    event: Literal["server.stopped"] = _name("server.stopped")
    reason: StopReason = Field(description="Why it stopped.")
    message: str | None = Field(default=None, description="Details for a person, if any.")


class ServerFailed(BaseEvent):
    """Start-up failed; the server does not run."""

    default_level: ClassVar[Level] = "error"
    event: Literal["server.failed"] = _name("server.failed")
    reason: FailReason = Field(description="What went wrong.")
    message: str = Field(description="What went wrong and what to do, for a person.")
    waiting: bool = Field(
        default=False,
        description="A restart's start-up failed: the process keeps the listening socket and "
        "starts again at the next save of a project file, instead of exiting.",
    )


class ModuleLoaded(SourceEvent):
    """A module was imported for the first time."""

    event: Literal["module.loaded"] = _name("module.loaded")
    exports: list[str] = Field(description="The exports the manifest lists for the module.")
    duration_ms: float = Field(description="Time to check and import the module, in milliseconds.")


class ReloadAccepted(SourceEvent):
    """A change kept the contract and runs now."""

    event: Literal["reload.accepted"] = _name("reload.accepted")
    changed: list[str] = Field(
        description="Exports whose code changed, then frozen types whose class statement changed "
        "(method bodies included)."
    )
    added: list[str] = Field(
        description="New public functions; not exported until `hotreload freeze` records them."
    )
    rebound: list[str] = Field(
        description="Objects that could not keep their identity: replaced in the module and in "
        "bindings, but references held elsewhere still run the old code."
    )
    removed: list[str] = Field(description="Top-level names the new version no longer defines.")
    ran: Literal["code", "statements", "module"] = Field(
        description="What ran: `code` (only function bodies changed: live functions took the "
        "new code, no module code ran), `statements` (the top-level statements listed in "
        "`statements`), or `module` (the whole module, where a statement-level diff cannot be "
        "trusted)."
    )
    statements: list[str] = Field(
        description="The top-level statements that ran, in order, as `line: first line of "
        "the statement` (a def or class as what it defines, `11: class Item`, even under a "
        "decorator); empty unless `ran` is `statements`."
    )
    warnings: list[WarningRecord] = Field(
        default_factory=list,
        description="Accepted changes that need a restart to take full effect (a data type "
        "gained a field; a function that runs now in a call that does not return, or that is "
        "called only from lines such a call has passed); the event's level is then warning.",
    )
    duration_ms: float = Field(description="Time from reading the file to the patched module.")


class ReloadRejected(SourceEvent):
    """A change broke the contract or failed; the previous version keeps running."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["reload.rejected"] = _name("reload.rejected")
    reason: RejectReason = Field(description="One code for why the change was rejected.")
    message: str = Field(description="What is wrong and what to do, for a person.")
    violations: list[ViolationRecord] = Field(description="Every contract violation found.")
    line: int | None = Field(default=None, description="1-based line of the error, where known.")
    column: int | None = Field(
        default=None, description="1-based column of the error, where known."
    )
    duration_ms: float = Field(description="Time from reading the file to the decision.")


class RestartCauseRecord(BaseModel):
    """One reason a save cannot apply in place."""

    model_config = _CONFIG
    code: RestartReason = Field(description="What kind of reason this is.")
    statement: str | None = Field(
        description="The top-level statement concerned, as `line: first line`, where known."
    )
    line: int | None = Field(description="1-based line of that statement, where known.")
    name: str | None = Field(description="The name concerned, where known.")
    detail: str = Field(description="What happens there, for a person.")


class ReloadRestartNeeded(SourceEvent):
    """A valid change that cannot apply in place: nothing of it was kept, the previous version
    keeps running, and a restart applies it (the server restarts itself when `restart` is
    `auto`)."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["reload.restart_needed"] = _name("reload.restart_needed")
    reason: RestartReason = Field(description="One code for why the change needs a restart.")
    message: str = Field(description="What, why, and what applies it, for a person.")
    causes: list[RestartCauseRecord] = Field(description="Every reason found, with where.")
    restart: RestartPolicy = Field(
        description="What the server does next: `auto`, it restarts itself now "
        "(`server.restarting` follows); `never`, the previous version keeps serving."
    )
    duration_ms: float = Field(description="Time from reading the file to the decision.")


class ReloadUnchanged(SourceEvent):
    """The file was saved with the content that already runs; nothing was done."""

    event: Literal["reload.unchanged"] = _name("reload.unchanged")


class ContractViolationEvent(ModuleEvent):
    """One export of a module does not match its frozen signature (from `check` and at start)."""

    default_level: ClassVar[Level] = "error"
    event: Literal["contract.violation"] = _name("contract.violation")
    code: CheckCode = Field(description="What kind of break this is.")
    function: str | None = Field(
        description="The export concerned (for a frozen type its qualified name, `Counter.inc`); "
        "null for a file-level error."
    )
    expected: str | None = Field(description="The frozen signature (or shape) from the manifest.")
    actual: str | None = Field(description="What the source has now.")
    line: int | None = Field(default=None, description="1-based line in the source, where known.")
    message: str = Field(description="What is wrong and what to do, for a person.")
    type: str | None = Field(default=None, description=_TYPE_DESCRIPTION)
    member: str | None = Field(default=None, description=_MEMBER_DESCRIPTION)


class ManifestChanged(BaseEvent):
    """The manifest file changed while the server runs (changes to it need a restart)."""

    default_level: ClassVar[Level] = "warning"
    event: Literal["manifest.changed"] = _name("manifest.changed")
    manifest: str = Field(description="Absolute path of the manifest.")
    valid: bool = Field(description="Whether the new manifest validates.")
    message: str = Field(description="What changed and what to do, for a person.")


class WatcherError(BaseEvent):
    """The file watcher hit an error; it keeps running and retries."""

    default_level: ClassVar[Level] = "error"
    event: Literal["watcher.error"] = _name("watcher.error")
    message: str = Field(description="The error, and the files it concerns, for a person.")
    path: str | None = Field(
        default=None,
        description="Absolute path of the file the error concerns (the changed file being "
        "decided, or the one folder being watched); null when it concerns several (the "
        "message names them) or none.",
    )
    module: str | None = Field(
        default=None,
        description="Dotted name of the module whose file `path` is; null for another file "
        "(the manifest, a folder) or none.",
    )


class ListenerError(BaseEvent):
    """An `on_event` callback raised: reported once per callback and kind of error; it keeps
    receiving events, and nothing else changed."""

    default_level: ClassVar[Level] = "error"
    event: Literal["listener.error"] = _name("listener.error")
    listener: str = Field(description="The callback, as module.qualname.")
    error: str = Field(description="The exception's type, e.g. KeyError.")
    during: str = Field(description="The name of the event the callback was given.")
    during_seq: int = Field(ge=1, description="The seq of the event the callback was given.")
    message: str = Field(description="What was raised, where, and what happens now, for a person.")


class AppServing(BaseEvent):
    """The [app] asgi or wsgi app answers requests now (its start-up, lifespan too, is over)."""

    event: Literal["app.serving"] = _name("app.serving")
    app: str = Field(description='The app served, as the manifest names it: "module:attribute".')
    kind: AppKind = Field(description="The interface it is served with.")
    host: str = Field(description="The address it listens on.")
    port: int = Field(description="The port it listens on (the one picked, if 0 was asked for).")
    url: str = Field(description="Where to send requests.")
    reload: bool = Field(description="Whether saved changes are applied (the profile's reload).")
    restart_files: list[str] = Field(
        default_factory=list,
        description="Files that are not modules but that the app read at start (a Flask "
        'instance config): a save of one restarts the server (restart = "auto").',
    )


class SkippedExport(BaseModel):
    """An export the exports API does not serve, and why."""

    model_config = _CONFIG

    export: str = Field(description='The export, as "module.function".')
    reason: str = Field(description="Which parameter or result has no JSON form, and why.")


class ExportsServing(BaseEvent):
    """The exports API ([serve] exports) answers requests now."""

    event: Literal["exports.serving"] = _name("exports.serving")
    host: str = Field(description="The address it listens on.")
    port: int = Field(description="The port it listens on (the one picked, if 0 was asked for).")
    url: str = Field(description="Where to send requests: POST {url}/call/{module}/{function}.")
    openapi: str = Field(description="The URL of the OpenAPI document (from the manifest).")
    exports: list[str] = Field(description='The exports served, as "module.function".')
    skipped: list[SkippedExport] = Field(
        description="Exports not served, as their types have no JSON form; the event's level is "
        "then warning."
    )
    mcp: str | None = Field(
        description="The URL of the MCP endpoint ([serve] mcp: the exports as tools); null "
        "without it."
    )
    token: bool = Field(description="Whether every request must carry the bearer token.")
    reload: bool = Field(description="Whether saved changes are applied (the profile's reload).")


class AppLog(BaseEvent):
    """A log record of the web server (uvicorn) that serves the app, as one event."""

    event: Literal["app.log"] = _name("app.log")
    logger: str = Field(description='The logger that wrote it, e.g. "uvicorn.error".')
    message: str = Field(description="The record's message.")
    exception: str | None = Field(
        default=None, description="The traceback the record carries, if any."
    )


class AssetChanged(BaseEvent):
    """A file of a served app's static or template folders was saved (in a profile with
    `browser_reload`): open pages swap the stylesheet in place, or reload."""

    event: Literal["asset.changed"] = _name("asset.changed")
    file: str = Field(description="Absolute path of the saved file.")
    kind: AssetKind = Field(
        description="`stylesheet` (a .css file: pages swap it without reloading), `template` "
        "(a file of a template folder) or `static` (any other file the app serves)."
    )
    url: str | None = Field(
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


@functools.cache
def event_adapter() -> TypeAdapter[Any]:
    """The union of every event model (the schema of a line), built from the one list of them
    when first asked: emitting an event validates it against its own model. (A runtime union:
    the list is data, so no type checker reads it as a type.)"""
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


class EventSink(Protocol):
    """Where the event log writes each event, in seq order (stderr, the log file)."""

    def write(self, record: dict[str, Any]) -> None: ...


def utc_now() -> str:
    """RFC 3339 UTC timestamp with microseconds, e.g. 2026-11-25T08:57:00.123456Z."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class EventLog:
    """Numbers, validates, writes and delivers a server run's events, in order, from any thread.

    Every required field (``seq``, ``timestamp``, ``level``, ``env``) is set here, so an event is
    complete whatever the sink does, and ``seq`` counts only events that pass the level
    threshold, so a gap always means a loss. The sink is written under the log's lock, so lines
    appear in seq order; listeners get each event after that lock is released (`listeners`),
    and one that raises is reported as `listener.error`.
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

    def subscribe(self, listener: EventListener) -> None:
        """Call ``listener`` with every event dict emitted from now on."""
        self.listeners.add(listener)

    def emit(self, model: type[BaseEvent], **fields: Any) -> dict[str, Any] | None:
        """Validate, write and deliver one event; its dict, or None if below the threshold."""
        level: Level = fields.pop("level", model.default_level)
        if LEVEL_ORDER[level] < self._threshold:
            return None
        with self._lock:
            # One lock for numbering and writing: lines appear in seq order, without gaps. The
            # number is taken only once the event validates: a bad emit call must not leave a gap.
            seq = self._seq + 1
            record = model(
                timestamp=utc_now(), level=level, seq=seq, env=self.env, **fields
            ).model_dump(mode="json")
            self._seq = seq
            record = {"event": record.pop("event"), **record}
            if self.output is not None:
                self.output.write(record)
            if self.listeners:
                self.listeners.put(record)
        self.listeners.deliver()
        return record

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
