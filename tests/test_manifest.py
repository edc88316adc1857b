"""Tests for hotreload.manifest: loading, validation messages, profiles, module paths, schema."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from hotreload.contract.signatures import parse_signature
from hotreload.errors import ManifestError
from hotreload.manifest import (
    AppConfig,
    EnvProfile,
    LoadedManifest,
    Manifest,
    ProjectConfig,
    load_manifest,
    manifest_json_schema,
    resolve_env_name,
    validate_manifest,
)

EXAMPLE = """\
#:schema ./schemas/hotreload.schema.json
[project]
name = "calculator-demo"
root = "."                    # where module names resolve; relative to this file
default_env = "development"

[modules.calculator]          # dotted import name, resolved under root
keep = ["history"]            # module globals whose values survive a reload
[modules.calculator.exports]
add = "(a: int, b: int) -> int"
multiply = "(a: int, b: int) -> int"
describe_operation = "(operation: str) -> str"

[env.development]
reload = true
debounce_ms = 50
log_format = "console"        # or "json"

[env.production]
reload = false
log_format = "json"
log_file = "logs/hotreload.jsonl"

[app]                         # optional: what `hotreload up` runs in-process
entry = "app:main"
"""

MINIMAL = '[project]\nname = "demo"\n\n[modules.calculator]\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory that is also the cwd, so messages name plain `hotreload.toml`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTRELOAD_ENV", raising=False)
    return tmp_path


def load(project: Path, text: str) -> LoadedManifest:
    (project / "hotreload.toml").write_text(text, encoding="utf-8")
    return load_manifest("hotreload.toml")


def error_of(project: Path, text: str) -> str:
    with pytest.raises(ManifestError) as caught:
        load(project, text)
    return str(caught.value)


# --- a good manifest and the defaults ---------------------------------------------------------


def test_design_example_loads_with_every_value(project: Path) -> None:
    loaded = load(project, EXAMPLE)
    manifest = loaded.manifest
    assert loaded.path == project / "hotreload.toml"
    assert loaded.root == project.resolve()
    assert manifest.project.name == "calculator-demo"
    assert manifest.modules["calculator"].keep == ["history"]
    assert manifest.modules["calculator"].exports["add"] == "(a: int, b: int) -> int"
    assert manifest.env["development"] == EnvProfile(reload=True, debounce_ms=50)
    assert manifest.env["production"].log_format == "json"
    assert manifest.app is not None and manifest.app.entry == "app:main"
    assert loaded.signatures("calculator") == {
        "add": parse_signature("(a: int, b: int) -> int"),
        "multiply": parse_signature("(a: int, b: int) -> int"),
        "describe_operation": parse_signature("(operation: str) -> str"),
    }


def test_defaults_fill_everything_but_name_and_modules(project: Path) -> None:
    manifest = load(project, MINIMAL).manifest
    assert manifest.project.root == "."
    assert manifest.project.default_env == "development"
    assert manifest.modules["calculator"].exports == {}
    assert manifest.modules["calculator"].keep == []
    assert manifest.app is None
    assert manifest.env == {"development": EnvProfile(reload=True), "production": EnvProfile()}
    profile = EnvProfile()
    assert (profile.reload, profile.debounce_ms, profile.log_format) == (False, 1, "console")
    assert (profile.log_file, profile.log_level) == (None, "info")


def test_quoted_dotted_module_name_and_async_signature_are_accepted(project: Path) -> None:
    manifest = load(
        project, MINIMAL + '[modules."pkg.sub".exports]\nfetch = "async (url: str) -> bytes"\n'
    ).manifest
    assert manifest.modules["pkg.sub"].exports == {"fetch": "async (url: str) -> bytes"}


def test_utf8_byte_order_mark_is_tolerated(project: Path) -> None:
    (project / "hotreload.toml").write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_manifest("hotreload.toml").manifest.project.name == "demo"


def test_validate_manifest_is_pure_and_names_the_given_source() -> None:
    with pytest.raises(ManifestError) as caught:
        validate_manifest({"modules": {}}, source="other.toml")
    assert str(caught.value) == "other.toml: project: required table [project] is missing"
    data = {"project": {"name": "x"}, "modules": {}}
    assert validate_manifest(data) == Manifest(project=ProjectConfig(name="x"))


def test_modules_are_optional_and_app_factory_needs_a_web_app() -> None:
    """Without [modules] there is no contract (every imported module reloads freely)."""
    manifest = validate_manifest({"project": {"name": "x"}, "app": {"asgi": "main:app"}})
    assert manifest.modules == {}
    assert manifest.app is not None and manifest.app.factory is False
    factory = {"wsgi": "shop:create_app", "factory": True}
    assert validate_manifest({"project": {"name": "x"}, "app": factory}).app == AppConfig(**factory)
    with pytest.raises(ManifestError) as caught:
        validate_manifest({"project": {"name": "x"}, "app": {"entry": "a:b", "factory": True}})
    assert str(caught.value) == (
        "hotreload.toml: app.factory: factory = true needs asgi or wsgi (the factory that builds "
        "the app to serve); an entry is called as it is: remove factory"
    )


# --- validation messages: file, key path, what was found, what is expected --------------------

ERRORS = [
    pytest.param(
        MINIMAL + '[modules.calculator.exports]\nadd = "(a: int"\n',
        "hotreload.toml: modules.calculator.exports.add: '(a: int' is not a valid signature: "
        'expected the form "(a: int, b: int) -> int" or "async (url: str) -> bytes"',
        id="bad-signature",
    ),
    pytest.param(
        MINIMAL + "[env.development]\ndebounce_ms = -5\n",
        "hotreload.toml: env.development.debounce_ms: expected an integer between 0 and 10000, "
        "found -5",
        id="debounce-negative",
    ),
    pytest.param(
        MINIMAL + "[env.development]\ndebounce_ms = 10001\n",
        "hotreload.toml: env.development.debounce_ms: expected an integer between 0 and 10000, "
        "found 10001",
        id="debounce-too-large",
    ),
    pytest.param(
        MINIMAL + '[env.development]\ndebounce_ms = "50"\n',
        "hotreload.toml: env.development.debounce_ms: expected an integer between 0 and 10000, "
        "found '50'",
        id="debounce-quoted-is-not-coerced",
    ),
    pytest.param(
        MINIMAL + "[env.development]\nrelaod = true\n",
        "hotreload.toml: env.development.relaod: unknown key; known keys: reload, debounce_ms, "
        "log_format, log_file, log_level, exec_timeout_ms, reload_scope, host, port, access_log, "
        "token_env, max_body_bytes, restart, browser_reload; did you mean 'reload'?",
        id="typo-suggests-key",
    ),
    pytest.param(
        '[project]\nname = "demo"\ncolour = "red"\n[modules]\n',
        "hotreload.toml: project.colour: unknown key; known keys: name, root, default_env",
        id="unknown-key-without-close-match",
    ),
    pytest.param(
        '[projcet]\nname = "demo"\n[modle.calculator]\n',
        "hotreload.toml: project: required table [project] is missing\n"
        "hotreload.toml: projcet: unknown key; known keys: project, modules, env, app, serve; "
        "did you mean 'project'?\n"
        "hotreload.toml: modle: unknown key; known keys: project, modules, env, app, serve; "
        "did you mean 'modules'?",
        id="every-error-one-line-each",
    ),
    pytest.param(
        MINIMAL + '[env.development]\nreload = "yes"\nlog_format = "xml"\nlog_level = "verbose"\n',
        "hotreload.toml: env.development.reload: expected true or false, found 'yes'\n"
        "hotreload.toml: env.development.log_format: expected 'console' or 'json', found 'xml'\n"
        "hotreload.toml: env.development.log_level: expected 'debug', 'info', 'warning' or "
        "'error', found 'verbose'",
        id="wrong-types-and-choices",
    ),
    pytest.param(
        '[project]\nname = "demo"\ndefault_env = "prod"\n[modules]\n',
        "hotreload.toml: project.default_env: 'prod' names no profile; known profiles: "
        "development, production; add that [env] table or name one of these",
        id="default-env-unknown",
    ),
    pytest.param(
        '[project]\nname = "demo"\n[modules.bad-name]\n',
        "hotreload.toml: modules.bad-name: 'bad-name' is not a valid module name: expected a "
        "dotted Python import name such as 'calculator' or 'pkg.calculator'",
        id="module-name-not-identifier",
    ),
    pytest.param(
        '[project]\nname = "demo"\n[modules.class]\n',
        "hotreload.toml: modules.class: 'class' is not a valid module name: expected a "
        "dotted Python import name such as 'calculator' or 'pkg.calculator'",
        id="module-name-keyword",
    ),
    pytest.param(
        '[project]\nname = "demo"\n[modules.pkg.sub]\nkeep = []\n',
        "hotreload.toml: modules.pkg.sub: unknown key; known keys: exports, keep, types; for the "
        "dotted module 'pkg.sub', quote it: [modules.\"pkg.sub\"]",
        id="dotted-module-unquoted",
    ),
    pytest.param(
        MINIMAL + 'keep = ["history", "not ok", 3]\n',
        "hotreload.toml: modules.calculator.keep[1]: 'not ok' is not a valid global name: "
        "expected a Python identifier\n"
        "hotreload.toml: modules.calculator.keep[2]: expected a string, found 3",
        id="keep-names",
    ),
    pytest.param(
        MINIMAL + '[modules.calculator.exports]\n"not ok" = "()"\n',
        "hotreload.toml: modules.calculator.exports.\"not ok\": 'not ok' is not a valid function "
        "name: expected a Python identifier",
        id="export-name",
    ),
    pytest.param(
        '[project]\nname = "demo"\n[modules]\ncalculator = "calculator.py"\n',
        "hotreload.toml: modules.calculator: expected a table, found 'calculator.py'",
        id="module-not-a-table",
    ),
    pytest.param(
        'modules = ["calculator"]\n[project]\nname = "demo"\n',
        "hotreload.toml: modules: expected a table, found an array",
        id="modules-not-a-table",
    ),
    pytest.param(
        '[project]\nname = ""\n[modules]\n[app]\n',
        "hotreload.toml: project.name: expected a non-empty string, found ''\n"
        "hotreload.toml: app: set exactly one of entry (a function to call), asgi or wsgi (an "
        "app to serve); found none of them",
        id="empty-name-missing-entry",
    ),
    pytest.param(
        "[modules]\n",
        "hotreload.toml: project: required table [project] is missing",
        id="project-missing",
    ),
    pytest.param(
        '[project]\nname = "demo"\nroot = "/srv/app"\n[modules]\n',
        "hotreload.toml: project.root: '/srv/app' is absolute: expected a path relative to the "
        'manifest, e.g. "." or "src"',
        id="root-absolute",
    ),
    pytest.param(
        '[project]\nname = "demo"\nroot = "src/../.."\n[modules]\n',
        "hotreload.toml: project.root: 'src/../..' leaves the manifest's directory: expected a "
        'path inside it, e.g. "src"',
        id="root-leaves-manifest-dir",
    ),
    pytest.param(
        MINIMAL + '[env.development]\nlog_file = "../logs/x.jsonl"\n',
        "hotreload.toml: env.development.log_file: '../logs/x.jsonl' leaves the manifest's "
        "directory: use a path inside it or an absolute path",
        id="log-file-leaves-manifest-dir",
    ),
]

TYPES = MINIMAL + "[modules.calculator.types.Counter]\n"
ERRORS += [
    pytest.param(
        TYPES + '[modules.calculator.types.Counter.methods]\ninc = "(self"\n',
        "hotreload.toml: modules.calculator.types.Counter.methods.inc: '(self' is not a valid "
        'signature: expected the form "(a: int, b: int) -> int" or "async (url: str) -> bytes"',
        id="type-method-signature",
    ),
    pytest.param(
        TYPES + '[modules.calculator.types.Counter.properties]\ntotal = "float"\n',
        "hotreload.toml: modules.calculator.types.Counter.properties.total: 'float' is not a "
        'valid signature: expected the form "(a: int, b: int) -> int" or "async (url: str) -> '
        'bytes"',
        id="type-property-signature",
    ),
    pytest.param(
        TYPES + '[modules.calculator.types.Counter.fields]\nprice = "float = "\n'
        'tax = "float # = 0.0"\nname = "str\\nimport os"\n',
        "hotreload.toml: modules.calculator.types.Counter.fields.price: 'float = ' is not a "
        'valid field: expected "annotation" or "annotation = default", e.g. "str" or '
        '"float = 0.0"\n'
        "hotreload.toml: modules.calculator.types.Counter.fields.tax: 'float # = 0.0' is not a "
        'valid field: expected "annotation" or "annotation = default", e.g. "str" or '
        '"float = 0.0"\n'
        "hotreload.toml: modules.calculator.types.Counter.fields.name: 'str\\nimport os' is not "
        'a valid field: expected "annotation" or "annotation = default", e.g. "str" or '
        '"float = 0.0"',
        id="type-field-strings",
    ),
    pytest.param(
        TYPES + 'members = ["RED", "GREEN", "RED", "not ok"]\n',
        "hotreload.toml: modules.calculator.types.Counter.members[3]: 'not ok' is not a valid "
        "member name: expected a Python identifier",
        id="type-member-name",
    ),
    pytest.param(
        TYPES + 'members = ["RED", "GREEN", "RED"]\n',
        "hotreload.toml: modules.calculator.types.Counter.members: 'RED' listed more than once; "
        "list each once",
        id="type-member-twice",
    ),
    pytest.param(
        TYPES + '[modules.calculator.types.Counter.methods]\n_step = "(self)"\n',
        "hotreload.toml: modules.calculator.types.Counter.methods._step: '_step' is private: only "
        "public names and special methods (__init__, __call__, ...) are frozen; remove the entry",
        id="type-private-method",
    ),
    pytest.param(
        TYPES + 'feilds = { price = "float" }\n',
        "hotreload.toml: modules.calculator.types.Counter.feilds: unknown key; known keys: "
        "methods, properties, fields, members; did you mean 'fields'?",
        id="type-key-typo",
    ),
    pytest.param(
        MINIMAL + '[modules.calculator.types."Not ok"]\n',
        "hotreload.toml: modules.calculator.types.\"Not ok\": 'Not ok' is not a valid class "
        "name: expected a Python identifier",
        id="type-name",
    ),
    pytest.param(
        MINIMAL + "[modules.calculator.types]\nCounter = 3\n",
        "hotreload.toml: modules.calculator.types.Counter: expected a table, found 3",
        id="type-not-a-table",
    ),
]

ENTRIES = ["app.main", "app", "app:", ":main", "app:main.run", "1app:main", "app:class"]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_invalid_manifest_gives_exact_message(project: Path, text: str, message: str) -> None:
    assert error_of(project, text) == message


@pytest.mark.parametrize("entry", ENTRIES)
def test_app_entry_must_be_module_colon_function(project: Path, entry: str) -> None:
    assert error_of(project, MINIMAL + f'[app]\nentry = "{entry}"\n') == (
        f"hotreload.toml: app.entry: {entry!r} is not a valid entry point: expected "
        '"module:function", e.g. "app:main"'
    )


@pytest.mark.parametrize("entry", ["app:main", "pkg.app:run_server", "_x._y:_z"])
def test_app_entry_accepts_dotted_module_and_function(project: Path, entry: str) -> None:
    app = load(project, MINIMAL + f'[app]\nentry = "{entry}"\n').manifest.app
    assert app is not None and app.entry == entry


# --- reading the file --------------------------------------------------------------------------


def test_toml_syntax_error_gives_line_and_column(project: Path) -> None:
    assert error_of(project, '[project]\nname = "demo"\n[modules\n') == (
        "hotreload.toml:3:9: invalid TOML: Expected ']' at the end of a table declaration"
    )


def test_toml_error_at_end_of_document_points_at_the_end(project: Path) -> None:
    assert error_of(project, '[project]\nname = "demo"\nroot = ') == (
        "hotreload.toml:3:8: invalid TOML: Invalid value"
    )


def test_missing_file_suggests_init(project: Path) -> None:
    with pytest.raises(ManifestError, match=r"^hotreload\.toml: no such file; create one with "):
        load_manifest()
    with pytest.raises(ManifestError) as caught:
        load_manifest("hotreload.toml")
    assert str(caught.value) == ("hotreload.toml: no such file; create one with `hotreload init`")


def test_directory_instead_of_file_is_a_read_error(project: Path) -> None:
    (project / "conf.toml").mkdir()
    with pytest.raises(ManifestError) as caught:
        load_manifest("conf.toml")
    assert str(caught.value) == "conf.toml: cannot read: Is a directory"


def test_non_utf8_file_says_where_and_how_to_fix(project: Path) -> None:
    (project / "hotreload.toml").write_bytes(b'[project]\nname = "d\xe9mo"\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest("hotreload.toml")
    assert str(caught.value) == (
        "hotreload.toml:2:10: not UTF-8 (byte 0xe9); TOML files must be UTF-8: "
        "re-save the file as UTF-8"
    )


def test_messages_name_the_path_as_given(project: Path) -> None:
    (project / "conf").mkdir()
    (project / "conf" / "dev.toml").write_text("[modules]\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path("conf/dev.toml"))
    assert str(caught.value) == "conf/dev.toml: project: required table [project] is missing"


def test_root_resolves_relative_to_the_manifest_not_the_cwd(project: Path) -> None:
    (project / "app" / "src").mkdir(parents=True)
    manifest = project / "app" / "hotreload.toml"
    manifest.write_text('[project]\nname = "demo"\nroot = "src"\n[modules]\n', encoding="utf-8")
    assert load_manifest(manifest).root == (project / "app" / "src").resolve()


def test_root_that_is_not_a_directory_is_an_error(project: Path) -> None:
    message = error_of(project, '[project]\nname = "demo"\nroot = "src"\n[modules]\n')
    assert message == (
        "hotreload.toml: project.root: 'src' is not a directory "
        f"(looked at {project.resolve() / 'src'})"
    )


def test_root_symlinked_outside_the_manifest_dir_is_an_error(project: Path) -> None:
    outside = project.parent / f"{project.name}-outside"
    outside.mkdir()
    (project / "src").symlink_to(outside)
    message = error_of(project, '[project]\nname = "demo"\nroot = "src"\n[modules]\n')
    assert message == (
        f"hotreload.toml: project.root: 'src' resolves to {outside.resolve()}, outside the "
        f"manifest's directory {project.resolve()}"
    )


# --- profiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("explicit", "environ", "default", "expected"),
    [
        ("production", {"HOTRELOAD_ENV": "staging"}, "development", "production"),
        ("production", {}, "development", "production"),
        (None, {"HOTRELOAD_ENV": "staging"}, "development", "staging"),
        (None, {}, "development", "development"),
        (None, {"HOTRELOAD_ENV": ""}, "development", "development"),
        ("", {"HOTRELOAD_ENV": "staging"}, "development", ""),
        (None, {"OTHER": "x"}, "production", "production"),
    ],
)
def test_resolve_env_name_explicit_beats_environment_beats_default(
    explicit: str | None, environ: dict[str, str], default: str, expected: str
) -> None:
    assert resolve_env_name(explicit, environ, default) == expected


def test_profile_follows_explicit_then_environment_then_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load(project, EXAMPLE)
    assert loaded.profile() == ("development", loaded.manifest.env["development"])
    monkeypatch.setenv("HOTRELOAD_ENV", "production")
    assert loaded.profile() == ("production", loaded.manifest.env["production"])
    assert loaded.profile("development")[0] == "development"


def test_unknown_profile_lists_the_known_ones(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load(project, EXAMPLE)
    with pytest.raises(ManifestError) as caught:
        loaded.profile("prod")
    assert str(caught.value) == (
        f"{loaded.path}: unknown environment 'prod'; known: development, production"
    )
    monkeypatch.setenv("HOTRELOAD_ENV", "staging")
    with pytest.raises(ManifestError) as caught:
        loaded.profile()
    assert str(caught.value) == (
        f"{loaded.path}: unknown environment 'staging' (from HOTRELOAD_ENV); "
        "known: development, production"
    )


def test_log_file_is_relative_to_the_manifest_or_absolute(project: Path) -> None:
    (project / "app").mkdir()
    manifest = project / "app" / "hotreload.toml"
    manifest.write_text(EXAMPLE, encoding="utf-8")
    loaded = load_manifest(manifest)
    assert loaded.log_file(loaded.profile("production")[1]) == project / "app/logs/hotreload.jsonl"
    assert loaded.log_file(loaded.profile("development")[1]) is None
    absolute = EnvProfile(log_file="/var/log/hotreload.jsonl")
    assert loaded.log_file(absolute) == Path("/var/log/hotreload.jsonl")


# --- module paths -------------------------------------------------------------------------------


def test_module_path_finds_a_module_file(project: Path) -> None:
    (project / "calculator.py").write_text("", encoding="utf-8")
    loaded = load(project, MINIMAL)
    assert loaded.module_path("calculator") == project.resolve() / "calculator.py"


def test_module_path_finds_a_package_and_nested_modules(project: Path) -> None:
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (project / "pkg" / "mod.py").write_text("", encoding="utf-8")
    (project / "pkg" / "sub" / "__init__.py").write_text("", encoding="utf-8")
    loaded = load(project, MINIMAL)
    root = project.resolve()
    assert loaded.module_path("pkg") == root / "pkg" / "__init__.py"
    assert loaded.module_path("pkg.mod") == root / "pkg" / "mod.py"
    assert loaded.module_path("pkg.sub") == root / "pkg" / "sub" / "__init__.py"


def test_module_path_prefers_the_package_as_python_imports_it(project: Path) -> None:
    (project / "calculator").mkdir()
    (project / "calculator" / "__init__.py").write_text("", encoding="utf-8")
    (project / "calculator.py").write_text("", encoding="utf-8")
    loaded = load(project, MINIMAL)
    assert loaded.module_path("calculator") == project.resolve() / "calculator" / "__init__.py"


def test_module_path_resolves_under_project_root(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "calculator.py").write_text("", encoding="utf-8")
    (project / "calculator.py").write_text("", encoding="utf-8")
    loaded = load(project, '[project]\nname = "demo"\nroot = "src"\n[modules.calculator]\n')
    assert loaded.module_path("calculator") == project.resolve() / "src" / "calculator.py"


def test_missing_module_names_the_paths_tried(project: Path) -> None:
    loaded = load(project, MINIMAL)
    root = project.resolve()
    with pytest.raises(ManifestError) as caught:
        loaded.module_path("calculator")
    assert str(caught.value) == (
        f"{loaded.path}: modules.calculator: module 'calculator' not found under {root}; tried "
        f"{root}/calculator/__init__.py, {root}/calculator.py; check the name or project.root"
    )


def test_module_symlinked_outside_root_is_an_error(project: Path) -> None:
    outside = project.parent / f"{project.name}-elsewhere"
    outside.mkdir()
    (outside / "calculator.py").write_text("", encoding="utf-8")
    (project / "calculator.py").symlink_to(outside / "calculator.py")
    loaded = load(project, MINIMAL)
    root = project.resolve()
    with pytest.raises(ManifestError) as caught:
        loaded.module_path("calculator")
    assert str(caught.value) == (
        f"{loaded.path}: modules.calculator: {root}/calculator.py resolves to "
        f"{outside.resolve()}/calculator.py, outside the project root {root}; "
        "paths may not leave root"
    )


def test_module_symlinked_inside_root_resolves_to_its_target(project: Path) -> None:
    (project / "real").mkdir()
    (project / "real" / "calculator.py").write_text("", encoding="utf-8")
    (project / "calculator.py").symlink_to(project / "real" / "calculator.py")
    loaded = load(project, MINIMAL)
    assert loaded.module_path("calculator") == project.resolve() / "real" / "calculator.py"


@pytest.mark.parametrize("name", ["../calculator", "a..b", "/etc/passwd", ""])
def test_module_path_rejects_names_that_are_not_import_names(project: Path, name: str) -> None:
    loaded = load(project, MINIMAL)
    with pytest.raises(ManifestError, match=r"is not a dotted Python import name$"):
        loaded.module_path(name)


def test_signatures_of_an_unknown_module_lists_the_known_ones(project: Path) -> None:
    loaded = load(project, EXAMPLE)
    with pytest.raises(ManifestError) as caught:
        loaded.signatures("calc")
    assert str(caught.value) == f"{loaded.path}: unknown module 'calc'; known modules: calculator"


# --- JSON Schema --------------------------------------------------------------------------------


def test_json_schema_is_draft_2020_12_with_title() -> None:
    schema = manifest_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "hotreload manifest"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_json_schema_describes_every_field_for_editor_hover() -> None:
    schema = manifest_json_schema()
    for model in [schema, *schema["$defs"].values()]:
        assert model["additionalProperties"] is False
        for name, field in model["properties"].items():
            assert field.get("description"), f"{model['title']}.{name} has no description"


def test_json_schema_accepts_the_example_and_rejects_a_typo() -> None:
    import tomllib

    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    data = tomllib.loads(EXAMPLE)
    assert list(validator.iter_errors(data)) == []
    data["env"]["development"]["relaod"] = True
    assert not validator.is_valid(data)


def test_validation_alone_does_not_touch_the_file_system() -> None:
    """The root's existence is load_manifest's concern; validate_manifest only checks shape."""
    data = {"project": {"name": "x", "root": "does-not-exist"}, "modules": {}}
    assert validate_manifest(data).project.root == "does-not-exist"


def test_types_load_as_shapes_and_a_manifest_without_them_has_none(project: Path) -> None:
    loaded = load(
        project,
        MINIMAL
        + "[modules.calculator.types.Counter]\n"
        + 'methods = { inc = "(self, k: int = 1) -> int" }\n'
        + 'properties = { total = "(self) -> float" }\n'
        + "[modules.calculator.types.Item.fields]\n"
        + 'name = "str"\nprice = "float = 0.0"\n'
        + "[modules.calculator.types.Color]\n"
        + 'members = ["RED", "GREEN"]\n',
    )
    types = loaded.types("calculator")
    assert list(types) == ["Counter", "Item", "Color"]
    assert types["Counter"].methods == {"inc": parse_signature("(self, k: int = 1) -> int")}
    assert str(types["Counter"].properties["total"]) == "(self) -> float"
    assert [(f.name, f.annotation, f.default) for f in types["Item"].fields] == [
        ("name", "str", None),
        ("price", "float", "0.0"),
    ]
    assert types["Color"].members == ("RED", "GREEN")
    assert load(project, MINIMAL).types("calculator") == {}
