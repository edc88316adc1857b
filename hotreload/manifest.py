"""The manifest: pydantic models of ``hotreload.toml``, loading it, errors a person can act on."""

from __future__ import annotations

import keyword
import os
import posixpath
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hotreload.contract.signatures import Signature, parse_signature
from hotreload.contract.typeshapes import TypeShape, is_public_member, parse_field, parse_shape
from hotreload.errors import ManifestError, SignatureSyntaxError
from hotreload.manifesterrors import describe, key_path
from hotreload.verdicts import RestartPolicy
from hotreload.words import (
    DEFAULT_DEBOUNCE_MS,
    DEFAULT_EXEC_TIMEOUT_MS,
    Level,
    LogFormat,
    ReloadScope,
)

ENV_VARIABLE = "HOTRELOAD_ENV"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_IDENTIFIER_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE_PATTERN = rf"{_IDENTIFIER_PATTERN}(\.{_IDENTIFIER_PATTERN})*"
_TOML_POSITION = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)
_BARE_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _invalid(message: str, *, key: str | None = None) -> PydanticCustomError:
    """An error with final text; ``key`` names the TOML key where pydantic's loc is too coarse."""
    context = {"message": message} if key is None else {"message": message, "key": key}
    return PydanticCustomError("hotreload", "{message}", context)


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _is_dotted_identifier(name: str) -> bool:
    return all(_is_identifier(part) for part in name.split("."))


def _check_identifier(what: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        if not _is_identifier(name):
            raise _invalid(f"{name!r} is not a valid {what}: expected a Python identifier")
        return name

    return check


def _check_module_name(name: str) -> str:
    if not _is_dotted_identifier(name):
        raise _invalid(
            f"{name!r} is not a valid module name: expected a dotted Python import name such as"
            " 'calculator' or 'pkg.calculator'"
        )
    return name


def _check_signature(text: str) -> str:
    try:
        parse_signature(text)
    except SignatureSyntaxError as exc:  # its message quotes the text and shows the expected form
        raise _invalid(str(exc)) from None
    return text


def _check_field(text: str) -> str:
    try:
        parse_field("field", text)
    except SignatureSyntaxError as exc:  # its message quotes the text and shows the expected form
        raise _invalid(str(exc)) from None
    return text


def _check_member_name(name: str) -> str:
    if not _is_identifier(name):
        raise _invalid(f"{name!r} is not a valid member name: expected a Python identifier")
    if not is_public_member(name):
        raise _invalid(
            f"{name!r} is private: only public names and special methods (__init__, __call__, "
            "...) are frozen; remove the entry"
        )
    return name


def _check_members(names: list[str]) -> list[str]:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise _invalid(f"{', '.join(map(repr, repeated))} listed more than once; list each once")
    return names


def split_target(text: str) -> tuple[str, str]:
    """``"module:attribute"`` (an entry, an app) as its two parts; the attribute is empty when
    the text has no colon (the manifest's validation refuses that)."""
    module, _, attribute = text.partition(":")
    return module, attribute


def _check_entry(text: str) -> str:
    module, function = split_target(text)
    if not (":" in text and _is_dotted_identifier(module) and _is_identifier(function)):
        raise _invalid(
            f'{text!r} is not a valid entry point: expected "module:function", e.g. "app:main"'
        )
    return text


def _check_web_app(text: str) -> str:
    module, attribute = split_target(text)
    if not (":" in text and _is_dotted_identifier(module) and _is_identifier(attribute)):
        raise _invalid(
            f'{text!r} is not a valid app path: expected "module:attribute", e.g. "webapp:app"'
        )
    return text


def _check_entry_or_none(text: str | None) -> str | None:
    return None if text is None else _check_entry(text)


def _check_web_app_or_none(text: str | None) -> str | None:
    return None if text is None else _check_web_app(text)


def _check_env_name_or_none(text: str | None) -> str | None:
    if text is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise _invalid(
            f"{text!r} is not an environment variable's name: expected letters, digits and "
            'underscores, e.g. "HOTRELOAD_TOKEN"'
        )
    return text


def _leaves_directory(text: str) -> bool:
    normal = posixpath.normpath(text.replace("\\", "/"))
    return normal == ".." or normal.startswith("../")


def _check_root(text: str) -> str:
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise _invalid(
            f'{text!r} is absolute: expected a path relative to the manifest, e.g. "." or "src"'
        )
    if _leaves_directory(text):
        raise _invalid(
            f'{text!r} leaves the manifest\'s directory: expected a path inside it, e.g. "src"'
        )
    return text


def _check_log_file(text: str | None) -> str | None:
    if text is not None and not Path(text).is_absolute() and _leaves_directory(text):
        raise _invalid(
            f"{text!r} leaves the manifest's directory: use a path inside it or an absolute path"
        )
    return text


# The JSON Schema patterns are ASCII approximations for editors; the validators are exact.
_IDENTIFIER_SCHEMA = WithJsonSchema({"type": "string", "pattern": f"^{_IDENTIFIER_PATTERN}$"})
ExportName = Annotated[str, AfterValidator(_check_identifier("function name")), _IDENTIFIER_SCHEMA]
GlobalName = Annotated[str, AfterValidator(_check_identifier("global name")), _IDENTIFIER_SCHEMA]
TypeName = Annotated[str, AfterValidator(_check_identifier("class name")), _IDENTIFIER_SCHEMA]
MemberName = Annotated[str, AfterValidator(_check_member_name), _IDENTIFIER_SCHEMA]
FieldName = Annotated[str, AfterValidator(_check_identifier("field name")), _IDENTIFIER_SCHEMA]
SignatureText = Annotated[str, AfterValidator(_check_signature)]
ModuleName = Annotated[
    str,
    AfterValidator(_check_module_name),
    WithJsonSchema({"type": "string", "pattern": f"^{_MODULE_PATTERN}$"}),
]


class _Model(BaseModel):
    # strict: TOML has real types, so "true" or "50" in quotes is a mistake to report, not coerce.
    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectConfig(_Model):
    """The project as a whole: its name, where modules live, which profile runs by default."""

    name: str = Field(min_length=1, description="The project's name, shown in logs and events.")
    root: Annotated[str, AfterValidator(_check_root)] = Field(
        default=".",
        description="Directory where module names resolve, relative to this file. It may not be "
        "absolute or leave the manifest's directory; module files may not leave it.",
    )
    default_env: str = Field(
        default="development",
        description="Profile used when neither --env nor HOTRELOAD_ENV names one; "
        "must be a key of [env].",
    )


class TypeConfig(_Model):
    """A class the exports take or return: the shape the host relies on. `hotreload freeze`
    writes it; an entry with no key still freezes that the class exists."""

    methods: dict[MemberName, SignatureText] = Field(
        default_factory=dict,
        description="Public and special methods: name -> signature as written, self included, "
        'e.g. inc = "(self, k: int = 1) -> int".',
    )
    properties: dict[MemberName, SignatureText] = Field(
        default_factory=dict,
        description='Properties: name -> the getter\'s signature, e.g. total = "(self) -> float".',
    )
    fields: dict[FieldName, Annotated[str, AfterValidator(_check_field)]] = Field(
        default_factory=dict,
        description='A data type\'s fields in order: name -> "annotation" or "annotation = '
        'default", e.g. price = "float = 0.0".',
    )
    members: Annotated[list[MemberName], AfterValidator(_check_members)] = Field(
        default_factory=list, description='An Enum\'s member names, e.g. ["RED", "GREEN"].'
    )


class ModuleConfig(_Model):
    """One module the host calls: its frozen exports and the state that survives a reload."""

    exports: dict[ExportName, Annotated[str, AfterValidator(_check_signature)]] = Field(
        default_factory=dict,
        description='Frozen signatures: function name -> signature text, e.g. add = "(a: int, '
        'b: int) -> int" or fetch = "async (url: str) -> bytes". `hotreload freeze` writes them.',
    )
    keep: list[GlobalName] = Field(
        default_factory=list,
        description="Module globals whose values survive a reload (caches, counters, connections).",
    )
    types: dict[TypeName, TypeConfig] = Field(
        default_factory=dict,
        description="Frozen classes the exports take or return (and classes those name), by "
        "name: [modules.M.types.Counter]. `hotreload freeze` writes them.",
    )


class EnvProfile(_Model):
    """Settings of one environment, chosen with --env or HOTRELOAD_ENV."""

    reload: bool = Field(default=False, description="Apply saved changes to the running process.")
    debounce_ms: int = Field(
        default=DEFAULT_DEBOUNCE_MS,
        ge=0,
        le=10000,
        description="Quiet time in milliseconds the watcher waits for an editor's burst of "
        "writes to end.",
    )
    log_format: LogFormat = Field(
        default="console",
        description='"console" for people, "json" (one object a line) for pipelines.',
    )
    log_file: Annotated[str | None, AfterValidator(_check_log_file)] = Field(
        default=None,
        description="Also write events to this file. A relative path is relative to this file "
        "and may not leave its directory; an absolute path (e.g. under /var/log) is used as is.",
    )
    log_level: Level = Field(default="info", description="Least severe event level written.")
    exec_timeout_ms: int = Field(
        default=DEFAULT_EXEC_TIMEOUT_MS,
        ge=100,
        le=3_600_000,
        description="How long a reloaded module's top-level code may run before it is stopped "
        "and the change rejected (exec_timeout); calls through bindings wait meanwhile.",
    )
    reload_scope: ReloadScope = Field(
        default="imported",
        description='What reloads: "imported" (the manifest\'s modules, with their contract, and '
        "every other module of the project that the process imported, such as helpers and the "
        "host's own files) or \"manifest\" (the manifest's modules only). Installed code "
        "(virtual environments, site-packages, hidden folders) never reloads.",
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address the [app] asgi or wsgi app, or the exports API ([serve] exports), "
        "is served on (`hotreload up --host`). Any address but a loopback one needs token_env.",
    )
    port: int = Field(
        default=8000,
        ge=0,
        le=65535,
        description="Port the [app] asgi or wsgi app, or the exports API, is served on "
        "(`hotreload up --port`); 0 picks a free one, named by the app.serving or "
        "exports.serving event.",
    )
    access_log: bool = Field(
        default=False,
        description="Write one app.log event per HTTP request the served app answers.",
    )
    token_env: Annotated[str | None, AfterValidator(_check_env_name_or_none)] = Field(
        default=None,
        description="The environment variable holding the bearer token every request to the "
        "exports API must carry (`Authorization: Bearer <token>`). Required to serve them on "
        "any address but a loopback one; `hotreload up` exits 2 if the variable is unset.",
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1,
        le=1 << 30,
        description="The largest request body the exports API reads, in bytes (1 MiB by "
        "default); a larger one is answered 413.",
    )
    restart: RestartPolicy | None = Field(
        default=None,
        description='What a save that cannot apply in place does (reload.restart_needed): "auto" '
        "restarts the server into the new code (same command and process, the listening socket "
        'kept), "never" keeps the previous version serving. Unset: "auto" for an [app] asgi or '
        'wsgi app, "never" for an entry host and hotreload.up().',
    )
    browser_reload: bool = Field(
        default=True,
        description="For an [app] asgi or wsgi app in a profile with reload = true: add a small "
        "script to its HTML pages that reloads them after an accepted save, a template edit or "
        "a restart, swaps a changed stylesheet in place, and shows why a save was rejected; "
        "its endpoints live under /__hotreload/. Ignored when reload is false (production).",
    )


class AppConfig(_Model):
    """What `hotreload up` runs in-process once the modules are loaded: exactly one of
    ``entry`` (a function it calls), ``asgi`` or ``wsgi`` (an app it serves with uvicorn)."""

    entry: Annotated[str | None, AfterValidator(_check_entry_or_none)] = Field(
        default=None,
        description='Function to call, written "module:function", e.g. "app:main".',
        json_schema_extra={"pattern": f"^{_MODULE_PATTERN}:{_IDENTIFIER_PATTERN}$"},
    )
    asgi: Annotated[str | None, AfterValidator(_check_web_app_or_none)] = Field(
        default=None,
        description='ASGI app to serve (FastAPI, Starlette, ...), written "module:attribute", '
        'e.g. "webapp:app"; served by uvicorn in this process (needs the web extra).',
        json_schema_extra={"pattern": f"^{_MODULE_PATTERN}:{_IDENTIFIER_PATTERN}$"},
    )
    wsgi: Annotated[str | None, AfterValidator(_check_web_app_or_none)] = Field(
        default=None,
        description='WSGI app to serve (Flask, ...), written "module:attribute", e.g. '
        '"webapp:app"; served by uvicorn in this process (needs the web extra).',
        json_schema_extra={"pattern": f"^{_MODULE_PATTERN}:{_IDENTIFIER_PATTERN}$"},
    )
    factory: bool = Field(
        default=False,
        description="asgi/wsgi name a zero-argument factory (uvicorn's --factory)",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> AppConfig:
        given = [key for key in ("entry", "asgi", "wsgi") if getattr(self, key) is not None]
        if len(given) != 1:
            found = " and ".join(given) if given else "none of them"
            raise _invalid(
                f"set exactly one of entry (a function to call), asgi or wsgi (an app to serve); "
                f"found {found}"
            )
        if self.factory and self.entry is not None:
            raise _invalid(
                "factory = true needs asgi or wsgi (the factory that builds the app to serve); "
                "an entry is called as it is: remove factory",
                key="app.factory",
            )
        return self


class ServeConfig(_Model):
    """What `hotreload up` serves over HTTP for hosts in other languages."""

    exports: bool = Field(
        default=False,
        description="Serve every export over HTTP on the profile's host and port: POST "
        "/call/{module}/{function}, GET /openapi.json (generated from this manifest), GET "
        "/events (Server-Sent Events). Beside an [app] entry or alone; not with [app] asgi or "
        "wsgi, which take the same port.",
    )
    mcp: bool = Field(
        default=False,
        description="Also serve the exports as MCP tools (Streamable HTTP at /mcp of the exports "
        'API; the tool list from this manifest). Needs exports = true and pip install "hotreload'
        '[mcp]".',
    )

    @model_validator(mode="after")
    def _mcp_needs_exports(self) -> ServeConfig:
        if self.mcp and not self.exports:
            raise _invalid(
                "mcp = true serves the tools at /mcp of the exports API: set exports = true too",
                key="serve.mcp",
            )
        return self


def _default_profiles() -> dict[str, EnvProfile]:
    return {"development": EnvProfile(reload=True), "production": EnvProfile(reload=False)}


class Manifest(_Model):
    """hotreload.toml: the modules a host calls, their frozen exports, per-environment profiles."""

    model_config = ConfigDict(title="hotreload manifest")

    project: ProjectConfig = Field(description="The project: name, module root, default profile.")
    modules: dict[ModuleName, ModuleConfig] = Field(
        default_factory=dict,
        description="Modules the host calls, with their contract, by dotted import name; quote "
        'dotted names: [modules."pkg.mod"]. Optional: without it, every project module the '
        "process imports reloads, without a contract.",
    )
    env: dict[str, EnvProfile] = Field(
        default_factory=_default_profiles,
        description="Profiles by name. Without [env]: development (reload on), "
        "production (reload off).",
    )
    app: AppConfig | None = Field(
        default=None, description="Optional entry point run by `hotreload up`."
    )
    serve: ServeConfig | None = Field(
        default=None,
        description="Optional: the exports over HTTP for hosts in other languages.",
    )

    @model_validator(mode="after")
    def _default_env_names_a_profile(self) -> Manifest:
        if self.project.default_env not in self.env:
            raise _invalid(
                f"{self.project.default_env!r} names no profile; known profiles: "
                f"{', '.join(self.env)}; add that [env] table or name one of these",
                key="project.default_env",
            )
        return self

    @model_validator(mode="after")
    def _one_server_per_port(self) -> Manifest:
        app = self.app
        if self.serve is not None and self.serve.exports and app is not None:
            kind = "asgi" if app.asgi is not None else "wsgi" if app.wsgi is not None else None
            if kind is not None:
                raise _invalid(
                    f"serve.exports = true and app.{kind} both serve HTTP on the profile's host "
                    f"and port; drop one of them (serve the exports beside an [app] entry, or "
                    f"call the exports from your {kind.upper()} app's own routes)",
                    key="serve.exports",
                )
        return self


def is_module_name(name: str) -> bool:
    """Whether ``name`` is a dotted Python import name: `calculator`, `pkg.calculator`."""
    return _is_dotted_identifier(name)


def find_module_file(
    root: Path, name: str, *, hint: str = "check the name or project.root"
) -> Path:
    """The file Python would import for ``name`` under ``root`` (resolved): a package wins
    over a module, as in Python's own finder, so we watch the file that actually runs. The
    error names the module and the files tried, not a manifest (`init` has none yet)."""
    if not _is_dotted_identifier(name):
        raise ManifestError(f"{name!r} is not a dotted Python import name")
    base = root.joinpath(*name.split("."))
    tried = [base / "__init__.py", base.with_name(base.name + ".py")]
    for candidate in tried:
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(root):
                raise ManifestError(
                    f"{candidate} resolves to {resolved}, outside the project root {root}; "
                    "paths may not leave root"
                )
            return resolved
    raise ManifestError(
        f"module {name!r} not found under {root}; tried {', '.join(map(str, tried))}; {hint}"
    )


def resolve_env_name(explicit: str | None, environ: Mapping[str, str], default: str) -> str:
    """An explicit name beats HOTRELOAD_ENV beats the default; an empty variable is unset."""
    if explicit is not None:
        return explicit
    return environ.get(ENV_VARIABLE) or default


@dataclass(frozen=True)
class LoadedManifest:
    """A validated manifest tied to where it was found, so paths in it can be resolved."""

    manifest: Manifest
    path: Path
    root: Path

    def _error(self, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: {message}")

    def module_path(self, name: str) -> Path:
        """The file Python would import for ``name`` under root (see `find_module_file`)."""
        try:
            return find_module_file(self.root, name)
        except ManifestError as e:
            raise self._error(f"{key_path(('modules', name))}: {e}") from None

    def signatures(self, name: str) -> dict[str, Signature]:
        """The frozen exports of one module, parsed (validation already proved they parse)."""
        module = self.manifest.modules.get(name)
        if module is None:
            known = ", ".join(self.manifest.modules) or "none"
            raise self._error(f"unknown module {name!r}; known modules: {known}")
        return {function: parse_signature(text) for function, text in module.exports.items()}

    def types(self, name: str) -> dict[str, TypeShape]:
        """The frozen types of one module, parsed (validation already proved they parse)."""
        self.signatures(name)  # the same error for an unknown module
        return {
            type_name: parse_shape(entry.methods, entry.properties, entry.fields, entry.members)
            for type_name, entry in self.manifest.modules[name].types.items()
        }

    def profile(self, name: str | None = None) -> tuple[str, EnvProfile]:
        """The profile to run under and its name: ``name``, else HOTRELOAD_ENV, else the default."""
        chosen = resolve_env_name(name, os.environ, self.manifest.project.default_env)
        profile = self.manifest.env.get(chosen)
        if profile is None:
            source = f" (from {ENV_VARIABLE})" if name is None else ""
            known = ", ".join(self.manifest.env)
            raise self._error(f"unknown environment {chosen!r}{source}; known: {known}")
        return chosen, profile

    def restart_policy(self, profile: EnvProfile, *, serving: bool) -> RestartPolicy:
        """The profile's `restart`, else ``auto`` for a served app and ``never`` otherwise."""
        if profile.restart is not None:
            return profile.restart
        return "auto" if serving else "never"

    def log_file(self, profile: EnvProfile) -> Path | None:
        """Where the profile's events go: relative paths start at the manifest, not the cwd."""
        if profile.log_file is None:
            return None
        return self.path.parent / profile.log_file


def validate_manifest(data: Mapping[str, Any], *, source: str = "hotreload.toml") -> Manifest:
    """Validate parsed TOML; every problem at once, one line each, so one edit fixes them all."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        described = (describe(error, Manifest) for error in exc.errors())
        lines = [
            f"{source}: {key}: {text}" if key else f"{source}: {text}" for key, text in described
        ]
        raise ManifestError("\n".join(lines)) from exc


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{source}: no such file; create one with `hotreload init`") from None
    except OSError as exc:
        raise ManifestError(f"{source}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ManifestError(
            f"{source}:{line}:{column}: not UTF-8 (byte 0x{raw[exc.start]:02x}); TOML files must "
            "be UTF-8: re-save the file as UTF-8"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match is None:
            raise ManifestError(f"{source}: invalid TOML: {exc}") from exc
        if match["line"] is None:  # "at end of document": point at the last character
            lines = text.split("\n")
            position = f"{len(lines)}:{len(lines[-1]) + 1}"
        else:
            position = f"{match['line']}:{match['col']}"
        raise ManifestError(f"{source}:{position}: invalid TOML: {match['msg']}") from exc


def load_manifest(path: str | Path = "hotreload.toml") -> LoadedManifest:
    """Read, parse and validate a manifest and resolve its root; the one function here doing I/O."""
    source = str(path)
    manifest_path = Path(path).absolute()
    manifest = validate_manifest(_read_toml(manifest_path, source), source=source)
    directory = manifest_path.parent.resolve()
    root = (directory / manifest.project.root).resolve()
    if not root.is_relative_to(directory):
        raise ManifestError(
            f"{source}: project.root: {manifest.project.root!r} resolves to {root}, outside the "
            f"manifest's directory {directory}"
        )
    if not root.is_dir():
        raise ManifestError(
            f"{source}: project.root: {manifest.project.root!r} is not a directory "
            f"(looked at {root})"
        )
    return LoadedManifest(manifest=manifest, path=manifest_path, root=root)


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, generated from the models so editors show the descriptions."""
    schema = Manifest.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "hotreload manifest"}
