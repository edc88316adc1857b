"""The JSON Schemas in schemas/: generated from the models, committed, and true to the manifests."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from child import REPO
from jsonschema import Draft202012Validator, ValidationError

from hotreload.cli import main
from hotreload.events import EVENT_MODELS, event_name
from hotreload.schema import EVENT_SCHEMA, MANIFEST_SCHEMA, generated_schemas, render

SCHEMAS = REPO / "schemas"
MANIFESTS = sorted([REPO / "hotreload.toml", *(REPO / "examples").glob("*/hotreload.toml")])


def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("name", [MANIFEST_SCHEMA, EVENT_SCHEMA])
def test_the_committed_schema_is_the_generated_one(name: str) -> None:
    committed = (SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == render(generated_schemas()[name]), (
        f"schemas/{name} is out of date with the models; run `hotreload schema` "
        "in the repository root and commit the result"
    )


def test_the_schemas_are_valid_draft_2020_12() -> None:
    for name in (MANIFEST_SCHEMA, EVENT_SCHEMA):
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def test_every_property_in_both_schemas_is_described() -> None:
    """Descriptions are what an editor shows on hover and what a log consumer reads."""
    missing = []
    for name in (MANIFEST_SCHEMA, EVENT_SCHEMA):
        schema = load_schema(name)
        for model, definition in [("<root>", schema), *schema.get("$defs", {}).items()]:
            for prop, spec in definition.get("properties", {}).items():
                if not spec.get("description"):
                    missing.append(f"{name}: {model}.{prop}")
    assert missing == []


def test_the_event_schema_names_every_event_model() -> None:
    mapping = load_schema(EVENT_SCHEMA)["discriminator"]["mapping"]
    assert set(mapping) == {event_name(m) for m in EVENT_MODELS}


def test_every_event_field_is_required() -> None:
    """Each line carries every field (null where it has no value), so a consumer may rely on it."""
    definitions = load_schema(EVENT_SCHEMA)["$defs"]
    for model in EVENT_MODELS:
        definition = definitions[model.__name__]
        assert set(definition["required"]) == set(definition["properties"]), model.__name__
        assert definition["additionalProperties"] is False


@pytest.mark.parametrize(
    "manifest",
    MANIFESTS,
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_every_example_manifest_validates_against_the_manifest_schema(manifest: Path) -> None:
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    Draft202012Validator(load_schema(MANIFEST_SCHEMA)).validate(data)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_manifest_points_its_editor_at_the_schema(manifest: Path) -> None:
    """The `#:schema` line (read by taplo / Even Better TOML) resolves to the committed file."""
    first = manifest.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"#:schema (\S+)", first)
    assert match, f"{manifest} does not start with a #:schema line"
    assert (manifest.parent / match[1]).resolve() == SCHEMAS / MANIFEST_SCHEMA


def test_a_manifest_written_by_init_validates_against_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "calc.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    monkeypatch.chdir(tmp_path)
    assert main(["init", "calc"]) == 0
    data = tomllib.loads((tmp_path / "hotreload.toml").read_text(encoding="utf-8"))
    Draft202012Validator(load_schema(MANIFEST_SCHEMA)).validate(data)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["env"]["development"].update(reloda=True),
        lambda m: m["env"]["development"].update(debounce_ms="fast"),
        lambda m: m["env"]["development"].update(log_format="xml"),
        lambda m: m["project"].pop("name"),
        lambda m: m.update(extra={}),
    ],
    ids=["typo", "wrong-type", "bad-choice", "missing-name", "unknown-table"],
)
def test_the_manifest_schema_catches_what_the_loader_catches(change: Any) -> None:
    """An editor flags the mistakes `hotreload check` would refuse."""
    data = tomllib.loads((REPO / "hotreload.toml").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(ValidationError):
        Draft202012Validator(load_schema(MANIFEST_SCHEMA)).validate(data)
