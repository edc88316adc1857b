"""The exports as MCP tools under the real `hotreload up`, called with the official SDK's client:
the tool list from the manifest, unchanged by reloads; a body edit reaches the next call."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from child import WAIT, Child, run
from test_cli import edit

from hotreload.manifest import load_manifest
from hotreload.web.mcptools import tool_schemas
from hotreload.web.wiretypes import read_api

pytestmark = pytest.mark.timeout(120)

SOURCE = """\
import dataclasses


@dataclasses.dataclass
class Item:
    name: str
    price: float = 0.0


def add(a: int, b: int) -> int:
    return a + b


def total(items: list[Item]) -> float:
    return sum(item.price for item in items)


def fail() -> int:
    raise ValueError("boom")
"""

MANIFEST = """\
[project]
name = "tools"

[modules.calc.exports]
add = "(a: int, b: int) -> int"
total = "(items: list[Item]) -> float"
fail = "() -> int"

[modules.calc.types.Item.fields]
name = "str"
price = "float = 0.0"

[env.development]
reload = true
debounce_ms = 3

[serve]
exports = true
mcp = true
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Child, str, Path]]:
    (tmp_path / "calc.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "hotreload.toml").write_text(MANIFEST, encoding="utf-8")
    child = Child("up", "--port", "0", "--log-format", "json", cwd=tmp_path)
    try:
        serving = child.wait_for("exports.serving")
        yield child, serving["mcp"], tmp_path
    finally:
        child.kill()


async def _session(url: str, steps: Any) -> Any:
    from mcp.client.client import Client

    async with Client(url) as client:
        return await asyncio.wait_for(steps(client), WAIT)


def call(url: str, steps: Any) -> Any:
    return asyncio.run(_session(url, steps))


def test_the_exports_are_tools_from_the_manifest_and_a_save_reaches_the_next_call(
    served: tuple[Child, str, Path],
) -> None:
    child, url, root = served

    async def listed(client: Any) -> Any:
        return (await client.list_tools()).tools

    tools = call(url, listed)
    expected = tool_schemas(read_api(load_manifest(root / "hotreload.toml").manifest))
    assert [t.name for t in tools] == ["calc_add", "calc_total", "calc_fail"]
    assert {t.name: (t.input_schema, t.output_schema) for t in tools} == {
        name: (inputs, output) for name, (_, inputs, output) in expected.items()
    }
    assert tools[1].input_schema["$defs"]["calc.Item"]["required"] == ["name"]

    async def add(client: Any) -> Any:
        return await client.call_tool("calc_add", {"a": 2, "b": 40})

    result = call(url, add)
    assert (result.is_error, result.structured_content) == (False, {"result": 42})
    assert result.content[0].text == "42"

    async def total(client: Any) -> Any:
        return await client.call_tool("calc_total", {"items": [{"name": "a", "price": 1.5}]})

    assert call(url, total).structured_content == {"result": 1.5}

    mark = child.mark()
    edit(root / "calc.py", ("return a + b", "return a + b + 100"))
    child.wait_for("reload.accepted", after=mark, module="calc")
    assert call(url, add).structured_content == {"result": 142}
    assert [t.model_dump() for t in call(url, listed)] == [t.model_dump() for t in tools]
    assert child.stop(signal.SIGINT) == 0


def test_a_bad_call_is_a_tool_error_saying_why(served: tuple[Child, str, Path]) -> None:
    _, url, _ = served

    async def bad(client: Any) -> Any:
        return [
            await client.call_tool("calc_add", {"a": "x"}),
            await client.call_tool("calc_fail", {}),
        ]

    invalid, raised = call(url, bad)
    assert invalid.is_error and invalid.content[0].text == (
        "invalid arguments for calc.add: a: Input should be a valid integer; b: Field required"
    )
    assert raised.is_error and raised.content[0].text == "calc.fail raised ValueError: boom"


def test_mcp_without_the_exports_api_is_a_manifest_error(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(SOURCE, encoding="utf-8")
    manifest = MANIFEST.replace("exports = true\n", "")
    (tmp_path / "hotreload.toml").write_text(manifest, encoding="utf-8")
    done = run("up", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "serve.mcp: mcp = true serves the tools at /mcp of the exports API" in done.stderr
