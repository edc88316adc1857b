"""The manifest's types: the one definition of `hotreload.toml`'s keys, their descriptions,
bounds and checks, as stdlib dataclasses (`records`: frozen to the type checker) that never
import pydantic.

Pydantic validates a manifest against them and generates their JSON Schema (`manifest` imports
it when it has to); what it returns are these dataclasses, and a start on content validated
before builds the same ones from the cache without pydantic (`manifestcache`). Each field's
``metadata`` holds what pydantic's ``Field()`` would (description, bounds, schema extras), and
``Check`` markers the checks pydantic's own types cannot state. Editing this file changes the
cache's key, so content validated under other rules is validated again.
"""

from __future__ import annotations

import keyword
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, ClassVar

from hotreload.contract.signatures import parse_signature
from hotreload.errors import SignatureSyntaxError
from hotreload.records import record
from hotreload.verdicts import RestartPolicy
from hotreload.words import (
    DEFAULT_DEBOUNCE_MS,
    DEFAULT_EXEC_TIMEOUT_MS,
    Level,
    LogFormat,
    ReloadScope,
)

_IDENTIFIER_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE_PATTERN = rf"{_IDENTIFIER_PATTERN}(\.{_IDENTIFIER_PATTERN})*"
_TARGET_PATTERN = f"^{_MODULE_PATTERN}:{_IDENTIFIER_PATTERN}$"


class ManifestProblem(ValueError):
    """A value the manifest may not hold, with its final text; ``key`` names the TOML key when
    the place pydantic reports is too coarse (a check across a whole table)."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Check:
    """An ``Annotated`` marker: pydantic runs ``check`` after its own checks of the value (a
    ManifestProblem becomes the error type ``hotreload``, whose text `manifesterrors` keeps),
    and ``schema``, when given, is the value's JSON Schema (an ASCII pattern for editors; the
    check itself is exact). Pydantic is imported only when it asks, never here."""

    __slots__ = ("check", "schema")

    def __init__(self, check: Callable[[Any], Any], schema: Mapping[str, Any] | None = None):
        self.check = check
        self.schema = schema

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        from pydantic_core import PydanticCustomError, core_schema

        check = self.check

        def run(value: Any) -> Any:
            try:
                return check(value)
            except ManifestProblem as problem:
                context = {"message": str(problem)}
                if problem.key is not None:
                    context["key"] = problem.key
                raise PydanticCustomError("hotreload", "{message}", context) from None

        return core_schema.no_info_after_validator_function(run, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Callable[[Any], Any]) -> Any:
        return dict(self.schema) if self.schema is not None else handler(schema)


class _Table:
    """What every table of the manifest shares: pydantic's settings, and a dict is accepted
    where the dataclass is expected while every value inside stays strict."""

    __slots__ = ()

    # strict: TOML has real types, so "true" or "50" in quotes is a mistake to report, not
    # coerce. A literal dict: pydantic's ConfigDict is a TypedDict, and this module never
    # imports pydantic.
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid", "strict": True}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Callable[[Any], Any]) -> Any:
        # Strict mode would take only an instance of the dataclass itself, never the table TOML
        # gives; the table's own values stay strict (the config's strict applies to them).
        schema = handler(source)
        node = schema
        while node.get("type") == "definitions":
            node = node["schema"]
        if node.get("type") == "dataclass":
            node["strict"] = False
        return schema


def _about(description: str, **pydantic_field: Any) -> dict[str, Any]:
    """A field's metadata: what pydantic's ``Field()`` takes (description, ge, le, ...)."""
    return {"description": description, **pydantic_field}


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def is_module_name(name: str) -> bool:
    """Whether ``name`` is a dotted Python import name: `calculator`, `pkg.calculator`."""
    return all(_is_identifier(part) for part in name.split("."))


def _check_identifier(what: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        if not _is_identifier(name):
            raise ManifestProblem(f"{name!r} is not a valid {what}: expected a Python identifier")
        return name

    return check


def _check_module_name(name: str) -> str:
    if not is_module_name(name):
        raise ManifestProblem(
            f"{name!r} is not a valid module name: expected a dotted Python import name such as"
            " 'calculator' or 'pkg.calculator'"
        )
    return name


def _check_signature(text: str) -> str:
    try:
        parse_signature(text)
    except SignatureSyntaxError as exc:  # its message quotes the text and shows the expected form
        raise ManifestProblem(str(exc)) from None
    return text


def _check_field(text: str) -> str:
    # Only a validation runs the checks: a start on content validated before loads no types.
    from hotreload.contract.typeshapes import parse_field

    try:
        parse_field("field", text)
    except SignatureSyntaxError as exc:  # its message quotes the text and shows the expected form
        raise ManifestProblem(str(exc)) from None
    return text


def _check_member_name(name: str) -> str:
    from hotreload.contract.typeshapes import is_public_member

    if not _is_identifier(name):
        raise ManifestProblem(f"{name!r} is not a valid member name: expected a Python identifier")
    if not is_public_member(name):
        raise ManifestProblem(
            f"{name!r} is private: only public names and special methods (__init__, __call__, "
            "...) are frozen; remove the entry"
        )
    return name


def _check_members(names: list[str]) -> list[str]:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ManifestProblem(
            f"{', '.join(map(repr, repeated))} listed more than once; list each once"
        )
    return names


def split_target(text: str) -> tuple[str, str]:
    """``"module:attribute"`` (an entry, an app) as its two parts; the attribute is empty when
    the text has no colon (the manifest's validation refuses that)."""
    module, _, attribute = text.partition(":")
    return module, attribute


def _is_target(text: str) -> bool:
    module, attribute = split_target(text)
    return ":" in text and is_module_name(module) and _is_identifier(attribute)


def _or_none(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    def check_or_none(text: str | None) -> str | None:
        return None if text is None else check(text)

    return check_or_none


def _check_entry(text: str) -> str:
    if not _is_target(text):
        raise ManifestProblem(
            f'{text!r} is not a valid entry point: expected "module:function", e.g. "app:main"'
        )
    return text


def _check_web_app(text: str) -> str:
    if not _is_target(text):
        raise ManifestProblem(
            f'{text!r} is not a valid app path: expected "module:attribute", e.g. "webapp:app"'
        )
    return text


def _check_env_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ManifestProblem(
            f"{text!r} is not an environment variable's name: expected letters, digits and "
            'underscores, e.g. "HOTRELOAD_TOKEN"'
        )
    return text


def _leaves_directory(text: str) -> bool:
    normal = posixpath.normpath(text.replace("\\", "/"))
    return normal == ".." or normal.startswith("../")


def _check_root(text: str) -> str:
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise ManifestProblem(
            f'{text!r} is absolute: expected a path relative to the manifest, e.g. "." or "src"'
        )
    if _leaves_directory(text):
        raise ManifestProblem(
            f'{text!r} leaves the manifest\'s directory: expected a path inside it, e.g. "src"'
        )
    return text


def _check_log_file(text: str) -> str:
    if not Path(text).is_absolute() and _leaves_directory(text):
        raise ManifestProblem(
            f"{text!r} leaves the manifest's directory: use a path inside it or an absolute path"
        )
    return text


# The JSON Schema patterns are ASCII approximations for editors; the checks are exact.
_IDENTIFIER_SCHEMA = {"type": "string", "pattern": f"^{_IDENTIFIER_PATTERN}$"}
ExportName = Annotated[str, Check(_check_identifier("function name"), _IDENTIFIER_SCHEMA)]
GlobalName = Annotated[str, Check(_check_identifier("global name"), _IDENTIFIER_SCHEMA)]
TypeName = Annotated[str, Check(_check_identifier("class name"), _IDENTIFIER_SCHEMA)]
MemberName = Annotated[str, Check(_check_member_name, _IDENTIFIER_SCHEMA)]
FieldName = Annotated[str, Check(_check_identifier("field name"), _IDENTIFIER_SCHEMA)]
SignatureText = Annotated[str, Check(_check_signature)]
FieldText = Annotated[str, Check(_check_field)]
ModuleName = Annotated[
    str, Check(_check_module_name, {"type": "string", "pattern": f"^{_MODULE_PATTERN}$"})
]
Members = Annotated[list[MemberName], Check(_check_members)]
Root = Annotated[str, Check(_check_root)]
LogFile = Annotated[str | None, Check(_or_none(_check_log_file))]
EnvName = Annotated[str | None, Check(_or_none(_check_env_name))]
Entry = Annotated[str | None, Check(_or_none(_check_entry))]
WebApp = Annotated[str | None, Check(_or_none(_check_web_app))]


@record(kw_only=True, slots=True)
class ProjectConfig(_Table):
    """The project as a whole: its name, where modules live, which profile runs by default."""

    name: str = field(
        metadata=_about("The project's name, shown in logs and events.", min_length=1)
    )
    root: Root = field(
        default=".",
        metadata=_about(
            "Directory where module names resolve, relative to this file. It may not be "
            "absolute or leave the manifest's directory; module files may not leave it."
        ),
    )
    default_env: str = field(
        default="development",
        metadata=_about(
            "Profile used when neither --env nor HOTRELOAD_ENV names one; must be a key of [env]."
        ),
    )


@record(kw_only=True, slots=True)
class TypeConfig(_Table):
    """A class the exports take or return: the shape the host relies on. `hotreload freeze`
    writes it; an entry with no key still freezes that the class exists."""

    methods: dict[MemberName, SignatureText] = field(
        default_factory=dict,
        metadata=_about(
            "Public and special methods: name -> signature as written, self included, "
            'e.g. inc = "(self, k: int = 1) -> int".'
        ),
    )
    properties: dict[MemberName, SignatureText] = field(
        default_factory=dict,
        metadata=_about(
            'Properties: name -> the getter\'s signature, e.g. total = "(self) -> float".'
        ),
    )
    fields: dict[FieldName, FieldText] = field(
        default_factory=dict,
        metadata=_about(
            'A data type\'s fields in order: name -> "annotation" or "annotation = '
            'default", e.g. price = "float = 0.0".'
        ),
    )
    members: Members = field(
        default_factory=list,
        metadata=_about('An Enum\'s member names, e.g. ["RED", "GREEN"].'),
    )


@record(kw_only=True, slots=True)
class ModuleConfig(_Table):
    """One module the host calls: its frozen exports and the state that survives a reload."""

    exports: dict[ExportName, SignatureText] = field(
        default_factory=dict,
        metadata=_about(
            'Frozen signatures: function name -> signature text, e.g. add = "(a: int, '
            'b: int) -> int" or fetch = "async (url: str) -> bytes". `hotreload freeze` '
            "writes them."
        ),
    )
    keep: list[GlobalName] = field(
        default_factory=list,
        metadata=_about(
            "Module globals whose values survive a reload (caches, counters, connections)."
        ),
    )
    types: dict[TypeName, TypeConfig] = field(
        default_factory=dict,
        metadata=_about(
            "Frozen classes the exports take or return (and classes those name), by "
            "name: [modules.M.types.Counter]. `hotreload freeze` writes them."
        ),
    )


@record(kw_only=True, slots=True)
class EnvProfile(_Table):
    """Settings of one environment, chosen with --env or HOTRELOAD_ENV."""

    reload: bool = field(
        default=False, metadata=_about("Apply saved changes to the running process.")
    )
    debounce_ms: int = field(
        default=DEFAULT_DEBOUNCE_MS,
        metadata=_about(
            "Quiet time in milliseconds the watcher waits for an editor's burst of writes to end.",
            ge=0,
            le=10000,
        ),
    )
    log_format: LogFormat = field(
        default="console",
        metadata=_about('"console" for people, "json" (one object a line) for pipelines.'),
    )
    log_file: LogFile = field(
        default=None,
        metadata=_about(
            "Also write events to this file. A relative path is relative to this file and may "
            "not leave its directory; an absolute path (e.g. under /var/log) is used as is."
        ),
    )
    log_level: Level = field(default="info", metadata=_about("Least severe event level written."))
    exec_timeout_ms: int = field(
        default=DEFAULT_EXEC_TIMEOUT_MS,
        metadata=_about(
            "How long a reloaded module's top-level code may run before it is stopped "
            "and the change rejected (exec_timeout); calls through bindings wait meanwhile.",
            ge=100,
            le=3_600_000,
        ),
    )
    reload_scope: ReloadScope = field(
        default="imported",
        metadata=_about(
            'What reloads: "imported" (the manifest\'s modules, with their contract, and '
            "every other module of the project that the process imported, such as helpers and "
            "the host's own files) or \"manifest\" (the manifest's modules only). Installed "
            "code (virtual environments, site-packages, hidden folders) never reloads."
        ),
    )
    host: str = field(
        default="127.0.0.1",
        metadata=_about(
            "Address the [app] asgi or wsgi app, or the exports API ([serve] exports), "
            "is served on (`hotreload up --host`). Any address but a loopback one needs "
            "token_env.",
            min_length=1,
        ),
    )
    port: int = field(
        default=8000,
        metadata=_about(
            "Port the [app] asgi or wsgi app, or the exports API, is served on "
            "(`hotreload up --port`); 0 picks a free one, named by the app.serving or "
            "exports.serving event.",
            ge=0,
            le=65535,
        ),
    )
    access_log: bool = field(
        default=False,
        metadata=_about("Write one app.log event per HTTP request the served app answers."),
    )
    token_env: EnvName = field(
        default=None,
        metadata=_about(
            "The environment variable holding the bearer token every request to the "
            "exports API must carry (`Authorization: Bearer <token>`). Required to serve them "
            "on any address but a loopback one; `hotreload up` exits 2 if the variable is "
            "unset."
        ),
    )
    max_body_bytes: int = field(
        default=1 << 20,
        metadata=_about(
            "The largest request body the exports API reads, in bytes (1 MiB by "
            "default); a larger one is answered 413.",
            ge=1,
            le=1 << 30,
        ),
    )
    restart: RestartPolicy | None = field(
        default=None,
        metadata=_about(
            'What a save that cannot apply in place does (reload.restart_needed): "auto" '
            "restarts the server into the new code (same command and process, the listening "
            'socket kept), "never" keeps the previous version serving. Unset: "auto" for an '
            '[app] asgi or wsgi app, "never" for an entry host and hotreload.up().'
        ),
    )
    browser_reload: bool = field(
        default=True,
        metadata=_about(
            "For an [app] asgi or wsgi app in a profile with reload = true: add a small "
            "script to its HTML pages that reloads them after an accepted save, a template "
            "edit or a restart, swaps a changed stylesheet in place, and shows why a save was "
            "rejected; its endpoints live under /__hotreload/. Ignored when reload is false "
            "(production)."
        ),
    )


@record(kw_only=True, slots=True)
class AppConfig(_Table):
    """What `hotreload up` runs in-process once the modules are loaded: exactly one of
    ``entry`` (a function it calls), ``asgi`` or ``wsgi`` (an app it serves with uvicorn)."""

    entry: Entry = field(
        default=None,
        metadata=_about(
            'Function to call, written "module:function", e.g. "app:main".',
            json_schema_extra={"pattern": _TARGET_PATTERN},
        ),
    )
    asgi: WebApp = field(
        default=None,
        metadata=_about(
            'ASGI app to serve (FastAPI, Starlette, ...), written "module:attribute", '
            'e.g. "webapp:app"; served by uvicorn in this process (needs the web extra).',
            json_schema_extra={"pattern": _TARGET_PATTERN},
        ),
    )
    wsgi: WebApp = field(
        default=None,
        metadata=_about(
            'WSGI app to serve (Flask, ...), written "module:attribute", e.g. '
            '"webapp:app"; served by uvicorn in this process (needs the web extra).',
            json_schema_extra={"pattern": _TARGET_PATTERN},
        ),
    )
    factory: bool = field(
        default=False,
        metadata=_about(
            "asgi/wsgi name a zero-argument callable that returns the app "
            "(uvicorn's --factory, Flask's create_app)"
        ),
    )

    def __post_init__(self) -> None:
        given = [key for key in ("entry", "asgi", "wsgi") if getattr(self, key) is not None]
        if len(given) != 1:
            found = " and ".join(given) if given else "none of them"
            raise ManifestProblem(
                "set exactly one of entry (a function to call), asgi or wsgi (an app to serve); "
                f"found {found}"
            )
        if self.factory and self.entry is not None:
            raise ManifestProblem(
                "factory = true needs asgi or wsgi (the factory that builds the app to serve); "
                "an entry is called as it is: remove factory",
                key="app.factory",
            )


@record(kw_only=True, slots=True)
class ServeConfig(_Table):
    """What `hotreload up` serves over HTTP for hosts in other languages."""

    exports: bool = field(
        default=False,
        metadata=_about(
            "Serve every export over HTTP on the profile's host and port: POST "
            "/call/{module}/{function}, GET /openapi.json (generated from this manifest), GET "
            "/events (Server-Sent Events). Beside an [app] entry or alone; not with [app] asgi "
            "or wsgi, which take the same port."
        ),
    )
    mcp: bool = field(
        default=False,
        metadata=_about(
            "Also serve the exports as MCP tools (Streamable HTTP at /mcp of the exports "
            "API; the tool list from this manifest). Needs exports = true and pip install "
            '"hotreload[mcp]".'
        ),
    )

    def __post_init__(self) -> None:
        if self.mcp and not self.exports:
            raise ManifestProblem(
                "mcp = true serves the tools at /mcp of the exports API: set exports = true too",
                key="serve.mcp",
            )


def _default_profiles() -> dict[str, EnvProfile]:
    return {"development": EnvProfile(reload=True), "production": EnvProfile(reload=False)}


@record(kw_only=True, slots=True)
class Manifest(_Table):
    """hotreload.toml: the modules a host calls, their frozen exports, per-environment profiles."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {
        **_Table.__pydantic_config__,
        "title": "hotreload manifest",
    }

    project: ProjectConfig = field(
        metadata=_about("The project: name, module root, default profile.")
    )
    modules: dict[ModuleName, ModuleConfig] = field(
        default_factory=dict,
        metadata=_about(
            "Modules the host calls, with their contract, by dotted import name; quote "
            'dotted names: [modules."pkg.mod"]. Optional: without it, every project module '
            "the process imports reloads, without a contract."
        ),
    )
    env: dict[str, EnvProfile] = field(
        default_factory=_default_profiles,
        metadata=_about(
            "Profiles by name. Without [env]: development (reload on), production (reload off)."
        ),
    )
    app: AppConfig | None = field(
        default=None, metadata=_about("Optional entry point run by `hotreload up`.")
    )
    serve: ServeConfig | None = field(
        default=None,
        metadata=_about("Optional: the exports over HTTP for hosts in other languages."),
    )

    def __post_init__(self) -> None:
        if self.project.default_env not in self.env:
            raise ManifestProblem(
                f"{self.project.default_env!r} names no profile; known profiles: "
                f"{', '.join(self.env)}; add that [env] table or name one of these",
                key="project.default_env",
            )
        app = self.app
        if self.serve is not None and self.serve.exports and app is not None:
            kind = "asgi" if app.asgi is not None else "wsgi" if app.wsgi is not None else None
            if kind is not None:
                raise ManifestProblem(
                    f"serve.exports = true and app.{kind} both serve HTTP on the profile's host "
                    f"and port; drop one of them (serve the exports beside an [app] entry, or "
                    f"call the exports from your {kind.upper()} app's own routes)",
                    key="serve.exports",
                )
