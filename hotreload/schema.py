"""The JSON Schemas in `schemas/`: generated from the manifest and event models, never by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotreload.events import event_json_schema
from hotreload.manifest import manifest_json_schema

MANIFEST_SCHEMA = "hotreload.schema.json"
EVENT_SCHEMA = "event.schema.json"


def generated_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every schema hotreload publishes."""
    return {MANIFEST_SCHEMA: manifest_json_schema(), EVENT_SCHEMA: event_json_schema()}


def render(schema: dict[str, Any]) -> str:
    """Stable text for a schema file: same models, same bytes."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def stale_schemas(directory: Path) -> list[Path]:
    """Schema files in ``directory`` that are missing or differ from what the models generate."""
    stale = []
    for name, schema in generated_schemas().items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != render(schema):
            stale.append(path)
    return stale


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generated_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
