"""The JSON Schemas in `schemas/`: generated from the manifest and event models, never by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from hotreload.events import event_json_schema
from hotreload.manifest import manifest_json_schema
from hotreload.words import MANIFEST_SCHEMA_FILE

MANIFEST_SCHEMA = MANIFEST_SCHEMA_FILE
EVENT_SCHEMA = "event.schema.json"


def generated_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every schema hotreload publishes."""
    return {MANIFEST_SCHEMA: manifest_json_schema(), EVENT_SCHEMA: event_json_schema()}


def render(schema: dict[str, Any]) -> str:
    """Stable text for a schema file: same models, same bytes."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


Staleness = Literal["missing", "out of date"]


def _state(path: Path, text: str) -> Staleness | None:
    """How a schema file on disk differs from ``text``: None when it is the same."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError):
        return "out of date"  # there, but not readable as the schema: writing it fixes that
    return None if current == text else "out of date"


def stale_schemas(directory: Path) -> list[tuple[Path, Staleness]]:
    """Schema files in ``directory`` that are missing or differ from what the models generate."""
    found = []
    for name, schema in generated_schemas().items():
        path = directory / name
        state = _state(path, render(schema))
        if state is not None:
            found.append((path, state))
    return found


def write_schema(path: Path, schema: dict[str, Any]) -> bool:
    """Write one schema file unless it already holds exactly this; True if it was written."""
    text = render(schema)
    if _state(path, text) is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_schemas(directory: Path) -> dict[Path, bool]:
    """Write every schema into ``directory``; each file's path, and whether it was (re)written
    (False: it was up to date, and was left alone)."""
    return {
        directory / name: write_schema(directory / name, schema)
        for name, schema in generated_schemas().items()
    }
