"""`hotreload init`: a first manifest, as a newcomer runs it (the real CLI in a child process
where it matters): the app found, no [modules] unless named, framework-called functions left
out of the exports, modules given as paths, the schema beside the manifest."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from child import REPO, WAIT, Child, run
from jsonschema import Draft202012Validator
from support import dedent
from test_docs import README, fenced_blocks
from test_freeze import MANIFEST, SHAPES, write_project
from test_web import free_port

from hotreload.errors import ManifestError
from hotreload.freeze import freeze
from hotreload.init import SCHEMA_LINE, init_manifest
from hotreload.manifest import load_manifest
from hotreload.words import DEFAULT_DEBOUNCE_MS

pytestmark = pytest.mark.timeout(120)

SHOP = dedent(
    """
    from typing import Annotated

    from fastapi import Depends, FastAPI
    from pydantic import BaseModel

    app = FastAPI()


    class Item(BaseModel):
        name: str
        price: float


    def get_prices() -> dict[str, float]:
        return {"apple": 1.5}


    def with_tax(price: float) -> float:
        return round(price * 1.2, 2)


    @app.get("/items/{name}")
    def read_item(name: str, prices: Annotated[dict[str, float], Depends(get_prices)]) -> Item:
        return Item(name=name, price=with_tax(prices[name]))
    """
)


def manifest_of(directory: Path) -> dict[str, Any]:
    return tomllib.loads((directory / "hotreload.toml").read_text(encoding="utf-8"))


# -- in-process: what the manifest holds ---------------------------------------------------------


def test_init_writes_a_manifest_that_loads_and_needs_no_freeze(tmp_path: Path) -> None:
    project = tmp_path / "calc-demo"
    project.mkdir()
    write_project(project)
    path = project / "hotreload.toml"
    path.unlink()
    text = init_manifest(path, ["calculator"]).text
    assert path.read_text() == text
    assert text.startswith(SCHEMA_LINE + "\n")
    loaded = load_manifest(path)
    assert loaded.manifest.project.name == "calc-demo"
    assert loaded.manifest.project.root == "."
    assert loaded.manifest.modules["calculator"].keep == []
    assert list(loaded.manifest.modules["calculator"].exports) == [
        "add",
        "describe_operation",
        "subtract",
        "fetch",
    ]
    development = loaded.manifest.env["development"]
    assert (development.reload, development.debounce_ms, development.log_format) == (
        True,
        DEFAULT_DEBOUNCE_MS,
        "console",
    )
    production = loaded.manifest.env["production"]
    assert (production.reload, production.log_format) == (False, "json")
    assert freeze(path) == []
    assert path.read_text() == text


def test_init_writes_root_relative_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("def run() -> None:\n    pass\n")
    path = tmp_path / "hotreload.toml"
    init_manifest(path, ["pkg"], root=tmp_path / "src")
    loaded = load_manifest(path)
    assert loaded.manifest.project.root == "src"
    assert loaded.manifest.modules["pkg"].exports == {"run": "() -> None"}


def test_init_refuses_to_overwrite_an_existing_manifest(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    with pytest.raises(ManifestError, match=r"hotreload\.toml already exists.*--force"):
        init_manifest(path, ["calculator"])
    assert path.read_text() == MANIFEST


def test_init_with_force_overwrites(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    text = init_manifest(path, ["calculator"], force=True).text
    assert path.read_text() == text
    assert "multiply" not in text


def test_init_of_a_missing_module_names_the_paths_tried_and_no_manifest(tmp_path: Path) -> None:
    path = tmp_path / "hotreload.toml"
    with pytest.raises(ManifestError) as caught:
        init_manifest(path, ["nowhere"])
    message = str(caught.value)
    assert str(tmp_path / "nowhere.py") in message
    assert str(tmp_path / "nowhere" / "__init__.py") in message
    assert "hotreload.toml" not in message  # it does not exist: naming it would mislead
    assert message.endswith("check the name, or pass --root DIR")
    assert not path.exists()


def test_init_records_types_in_a_manifest_that_needs_no_freeze(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(SHAPES)
    path = tmp_path / "hotreload.toml"
    text = init_manifest(path, ["shapes"]).text
    assert "types: the classes the exports take or return" in text
    types = load_manifest(path).manifest.modules["shapes"].types
    assert list(types) == ["Counter", "Point", "Color"]
    assert types["Point"].fields == {"x": "int", "y": "int = 0"}
    assert types["Color"].members == ["RED", "GREEN"]
    assert freeze(path) == []
    assert path.read_text() == text


def test_freeze_keeps_a_framework_called_export_listed_by_hand(tmp_path: Path) -> None:
    """freeze never adds a route to the exports, but one frozen on purpose stays."""
    (tmp_path / "shop.py").write_text(SHOP, encoding="utf-8")
    path = tmp_path / "hotreload.toml"
    init_manifest(path, ["shop"], schema=False)
    assert freeze(path) == []
    text = path.read_text(encoding="utf-8")
    frozen = 'read_item = "(name: str, prices: Annotated[dict[str, float], Depends(get_prices)])'
    path.write_text(
        text.replace("[modules.shop.exports]\n", f'[modules.shop.exports]\n{frozen} -> Item"\n')
    )
    changes = freeze(path)  # the type the route returns is frozen with it; the route stays
    assert [(c.function, c.action) for c in changes] == [
        ("types.Item.fields.name", "added"),
        ("types.Item.fields.price", "added"),
    ]
    assert list(load_manifest(path).manifest.modules["shop"].exports) == ["read_item", "with_tax"]
    assert freeze(path) == []


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("shop/nope.py", "shop/nope.py: no such file (looked at {root}/shop/nope.py); give a"),
        ("shop.prices.py", "the module `shop.prices` exists: `hotreload init shop.prices`"),
        ("my-lib/util.py", "my-lib/util.py cannot be imported as a module: 'my-lib' is not a"),
        ("my-lib", "'my-lib' is not a module name: name it as Python imports it"),
    ],
)
def test_a_module_path_that_names_no_module_is_refused_with_a_suggestion(
    tmp_path: Path, given: str, error: str
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "prices.py").write_text("def total() -> float:\n    return 1.0\n")
    (tmp_path / "my-lib").mkdir()
    (tmp_path / "my-lib" / "util.py").write_text("def f() -> None:\n    pass\n")
    path = tmp_path / "hotreload.toml"
    with pytest.raises(ManifestError) as caught:
        init_manifest(path, [given], cwd=tmp_path)
    assert error.format(root=tmp_path) in str(caught.value)
    assert "hotreload.toml" not in str(caught.value)
    assert not path.exists()


def test_init_lists_the_other_candidates_it_did_not_choose(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(SHOP, encoding="utf-8")
    (tmp_path / "admin.py").write_text("import flask\n\napp = flask.Flask(__name__)\n")
    done = init_manifest(tmp_path / "hotreload.toml", schema=False)
    assert done.report()[:3] == [
        '[app] asgi = "main:app": the FastAPI app at main.py:6',
        '  also found wsgi = "admin:app": the Flask app at admin.py:3',
        "  edit [app] to run another",
    ]


def test_an_app_in_a_src_layout_makes_src_the_root(tmp_path: Path) -> None:
    package = tmp_path / "src" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "web.py").write_text(SHOP, encoding="utf-8")
    done = init_manifest(tmp_path / "hotreload.toml", schema=False)
    assert done.report()[:2] == [
        'project.root = "src": the app is in src/, where module names start',
        '[app] asgi = "shop.web:app": the FastAPI app at shop/web.py:6',
    ]
    manifest = manifest_of(tmp_path)
    assert (manifest["project"]["root"], manifest["app"]) == ("src", {"asgi": "shop.web:app"})


# -- the CLI in a child process --------------------------------------------------------------------


def test_init_without_modules_finds_the_fastapi_app_and_writes_no_modules(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(SHOP, encoding="utf-8")
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "hotreload init: wrote hotreload.toml and hotreload.schema.json",
        '  [app] asgi = "main:app": the FastAPI app at main.py:6',
        "  no [modules]: no contract; every project module the process imports reloads "
        "(`hotreload init --force MODULE` freezes the functions a host calls)",
        "next: `hotreload up`",
    ]
    manifest = manifest_of(tmp_path)
    assert manifest["app"] == {"asgi": "main:app"}
    assert "modules" not in manifest
    checked = run("check", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (
        0,
        "hotreload check: hotreload.toml lists no modules, so there is no contract to check "
        "(every project module the process imports reloads without one)\n",
    )


def test_the_fastapi_app_init_found_is_served_and_a_save_reaches_the_next_response(
    tmp_path: Path,
) -> None:
    """From `init` to a live edit, with no edit of the manifest: the route's module is no
    module of the manifest, and reloads all the same."""
    (tmp_path / "main.py").write_text(SHOP, encoding="utf-8")
    assert run("init", cwd=tmp_path).returncode == 0
    with (
        Child("up", "--log-format", "json", "--port", str(free_port()), cwd=tmp_path) as child,
        httpx.Client(timeout=WAIT) as http,
    ):
        url = child.wait_for("app.serving", kind="asgi", reload=True)["url"]
        assert http.get(f"{url}/items/apple").json() == {"name": "apple", "price": 1.8}
        mark = child.mark()
        source = tmp_path / "main.py"
        source.write_text(SHOP.replace("price * 1.2", "price * 2"), encoding="utf-8")
        event = child.wait_for("reload.accepted", after=mark, module="main")
        assert (event["contract"], event["ran"]) == (False, "code")
        assert http.get(f"{url}/items/apple").json() == {"name": "apple", "price": 3.0}
        assert child.stop() == 0
        assert child.bad_lines == []


def test_init_of_a_web_module_leaves_routes_and_dependencies_out_and_says_so(
    tmp_path: Path,
) -> None:
    (tmp_path / "shop.py").write_text(SHOP, encoding="utf-8")
    result = run("init", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        '  [app] asgi = "shop:app": the FastAPI app at shop.py:6',
        "  shop: exports with_tax",
        "  shop: left out of the exports, as the framework calls them, not a host: get_prices "
        "(dependency Depends(get_prices)), read_item (route @app.get)",
        "next: `hotreload check` to verify it, then `hotreload up`",
    ]
    assert manifest_of(tmp_path)["modules"] == {
        "shop": {"keep": [], "exports": {"with_tax": "(price: float) -> float"}}
    }
    assert run("check", cwd=tmp_path).returncode == 0
    frozen = run("freeze", cwd=tmp_path)
    assert frozen.stdout == "hotreload freeze: no changes; hotreload.toml matches the source\n"


def test_init_takes_a_file_path_as_the_module_it_names(tmp_path: Path) -> None:
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "pricing.py").write_text(
        "def with_tax(price: float) -> float:\n    return price * 1.2\n"
    )
    result = run("init", "myapp/pricing.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  myapp/pricing.py: taken as module myapp.pricing" in result.stdout.splitlines()
    exports = manifest_of(tmp_path)["modules"]["myapp.pricing"]["exports"]
    assert exports == {"with_tax": "(price: float) -> float"}
    assert run("check", cwd=tmp_path).returncode == 0


def test_init_errors_do_not_name_the_manifest_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "pricing.py").write_text("def f() -> None:\n    pass\n")
    missing = run("init", "myapp/pricnig.py", cwd=tmp_path)
    gone = run("init", "gone", cwd=tmp_path)
    dotted = run("init", "myapp.pricing.py", cwd=tmp_path)
    for result in (missing, gone, dotted):
        assert result.returncode == 2
        assert result.stdout == ""
        assert "hotreload.toml" not in result.stderr
    assert missing.stderr.startswith("hotreload: error: myapp/pricnig.py: no such file")
    assert gone.stderr.startswith(f"hotreload: error: module 'gone' not found under {tmp_path};")
    assert dotted.stderr.rstrip().endswith(
        "the module `myapp.pricing` exists: `hotreload init myapp.pricing`"
    )
    assert not (tmp_path / "hotreload.toml").exists()


def test_init_keeps_the_schema_beside_the_manifest_out_of_a_schemas_package(
    tmp_path: Path,
) -> None:
    package = tmp_path / "schemas"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "item.py").write_text("class Item:\n    pass\n")
    (tmp_path / "main.py").write_text(SHOP, encoding="utf-8")
    assert run("init", cwd=tmp_path).returncode == 0
    first = (tmp_path / "hotreload.toml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "#:schema ./hotreload.schema.json"
    written = tmp_path / first.removeprefix("#:schema ")
    assert written.read_bytes() == (REPO / "schemas" / "hotreload.schema.json").read_bytes()
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "item.py"]


def test_init_writes_a_factory_and_up_says_serving_one_is_not_supported_yet(
    tmp_path: Path,
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text(
        dedent(
            """
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                return app
            """
        )
    )
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        '  [app] wsgi = "shop:create_app", factory = true: create_app(), which builds a Flask '
        "app at shop/__init__.py:4"
    ) in result.stdout.splitlines()
    assert manifest_of(tmp_path)["app"] == {"wsgi": "shop:create_app", "factory": True}
    with Child("up", "--log-format", "json", "--port", str(free_port()), cwd=tmp_path) as child:
        assert child.wait() == 2
        assert [(e["event"], e["reason"]) for e in child.events] == [("server.failed", "app_error")]
        assert child.stderr[-1] == (
            'hotreload: error: [app] wsgi = "shop:create_app" with factory = true: serving an '
            "app factory is not supported yet; add `app = create_app()` at the top of module "
            'shop and serve that object: wsgi = "shop:app", without factory'
        )


def test_init_finds_a_main_entry_and_up_runs_it_reloading_what_it_imports(
    tmp_path: Path,
) -> None:
    (tmp_path / "prices.py").write_text("def total() -> float:\n    return 1.0\n")
    (tmp_path / "run.py").write_text(
        dedent(
            """
            import sys
            import time

            import prices


            def main():
                last = None
                while True:
                    now = prices.total()
                    if now != last:
                        print(f"total {now}", flush=True)
                        last = now
                    time.sleep(0.01)
            """
        )
    )
    result = run("init", cwd=tmp_path)
    assert '  [app] entry = "run:main": main(), a function to call at run.py:7' in (
        result.stdout.splitlines()
    )
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        child.wait_stdout("total 1.0")
        mark = child.mark()
        (tmp_path / "prices.py").write_text("def total() -> float:\n    return 2.0\n")
        child.wait_for("reload.accepted", after=mark, module="prices", contract=False)
        child.wait_stdout("total 2.0", after=mark)
        assert child.stop() == 0


def test_up_with_neither_app_nor_modules_exits_2_saying_what_to_add(tmp_path: Path) -> None:
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0
    assert (
        result.stdout.splitlines()[-1] == "next: add [app] (or name modules), then `hotreload up`"
    )
    with Child("up", "--log-format", "json", cwd=tmp_path) as child:
        assert child.wait() == 2
        assert [(e["event"], e["reason"]) for e in child.events] == [
            ("server.failed", "manifest_error")
        ]
        assert child.stderr[-1].startswith(
            "hotreload: error: hotreload.toml: nothing to run: no [app] and no [modules]"
        )


def test_a_host_of_its_own_reloads_its_modules_with_a_manifest_of_only_project(
    tmp_path: Path,
) -> None:
    """`hotreload.up()` in the host's own process, a manifest with nothing but [project]: the
    modules it imports afterwards reload, without a contract."""
    (tmp_path / "hotreload.toml").write_text('[project]\nname = "own-host"\n')
    (tmp_path / "prices.py").write_text("def total() -> float:\n    return 1.0\n")
    (tmp_path / "host.py").write_text(
        dedent(
            """
            import sys
            import time

            import hotreload

            with hotreload.up("hotreload.toml", log_format="json") as server:
                import prices

                last = None
                while True:
                    now = prices.total()
                    if now != last:
                        print(f"total {now}", flush=True)
                        last = now
                    time.sleep(0.01)
            """
        )
    )
    with Child("host.py", cwd=tmp_path, program=[sys.executable]) as child:
        child.wait_stdout("total 1.0")
        mark = child.mark()
        (tmp_path / "prices.py").write_text("def total() -> float:\n    return 2.0\n")
        event = child.wait_for("reload.accepted", after=mark, module="prices")
        assert (event["contract"], event["version"]) == (False, 2)
        child.wait_stdout("total 2.0", after=mark)


def test_the_schema_init_writes_validates_the_manifest_it_wrote(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(SHOP, encoding="utf-8")
    assert run("init", "main", cwd=tmp_path).returncode == 0
    schema = json.loads((tmp_path / "hotreload.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(manifest_of(tmp_path))


# -- README's walk-through, as written -------------------------------------------------------------


def readme_section(heading: str) -> str:
    """README's text from ``heading`` to the next heading of the same level."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_fastapi_walk_through_runs_as_written(tmp_path: Path) -> None:
    """ "Use it on your project": README's main.py, its two commands, the output it shows for
    `init`, the answer before and after its edit; no edit of the manifest by hand."""
    section = readme_section("## Use it on your project")
    blocks = fenced_blocks(section)
    source = next(body for info, body in blocks if info == "python")
    commands = next(body for info, body in blocks if info == "bash").splitlines()
    shown = next(body for info, body in blocks if info == "text")
    assert [c.partition("#")[0].split() for c in commands] == [
        ["hotreload", "init"],
        ["hotreload", "up"],
    ]
    (tmp_path / "main.py").write_text(source, encoding="utf-8")
    initialized = run("init", cwd=tmp_path)
    assert initialized.returncode == 0, initialized.stderr
    assert initialized.stdout == shown

    before, after = '{"message":"Hello, you!"}', '{"message":"Hi, you!"}'
    assert f"answers `{before}`" in section and f"ask again: `{after}`" in section
    assert "Change `Hello` to\n`Hi` in `greeting`" in section
    with (
        Child("up", "--log-format", "json", "--port", str(free_port()), cwd=tmp_path) as child,
        httpx.Client(timeout=WAIT) as http,
    ):
        url = child.wait_for("app.serving")["url"]
        assert http.get(f"{url}/greet/you").text == before
        mark = child.mark()
        edited = source.replace('f"Hello, {name}!"', 'f"Hi, {name}!"')
        assert edited != source
        (tmp_path / "main.py").write_text(edited, encoding="utf-8")
        child.wait_for("reload.accepted", after=mark, module="main")
        assert http.get(f"{url}/greet/you").text == after
        assert child.stop() == 0
