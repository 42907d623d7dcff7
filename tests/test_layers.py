"""The layers hold: imports point down only (conformance → scenarios → simulator), nothing imports the layers by
their folder names, the engine never imports aiohttp, and the scenario layer (and the CLI of an in-process run)
loads without the server stack.

The import graph is read from the source (every ``import`` and ``from … import`` of every module, including the
ones inside functions), so a lazy import that crosses a layer is caught as well as a top-level one; the aiohttp
checks run a fresh interpreter and look at ``sys.modules``, which catches what the graph cannot see (a chain of
imports through a third party).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"carriersim.simulator": ROOT / "simulator", "carriersim.scenarios": ROOT / "scenarios",
          "carriersim.conformance": ROOT / "conformance", "carriersim": ROOT / "carriersim"}
ORDER = ["carriersim.simulator", "carriersim.scenarios", "carriersim.conformance"]  # lower layers first
HTTP = "carriersim.simulator.http"


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package, folder in LAYERS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports_of(name: str, path: Path) -> set[str]:
    """Absolute names of what a module imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


GRAPH = {name: imports_of(name, path) for name, path in modules().items()}


def layer(name: str) -> int | None:
    for i, package in enumerate(ORDER):
        if name == package or name.startswith(package + "."):
            return i
    return None


def test_the_graph_covers_every_layer():
    assert {layer(n) for n in GRAPH} >= {0, 1, 2}
    assert len(GRAPH) > 80


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_point_down_only(name):
    mine = layer(name)
    if mine is None:
        return  # the carriersim package itself re-exports the engine; its __main__ starts the CLI
    upward = sorted(i for i in GRAPH[name] if (other := layer(i)) is not None and other > mine)
    assert not upward, f"{name} imports from a layer above it: {upward}"


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_nothing_imports_the_layers_by_their_folder_names(name):
    bare = sorted(i for i in GRAPH[name] if i.split(".")[0] in ("simulator", "scenarios", "conformance"))
    assert not bare, f"{name} imports {bare}: use carriersim.simulator / carriersim.scenarios / ..."


def test_the_engine_does_not_import_aiohttp_or_the_http_package():
    engine = {n: deps for n, deps in GRAPH.items() if layer(n) == 0 and not n.startswith(HTTP)}
    assert len(engine) > 30
    for name, deps in engine.items():
        assert not any(d == "aiohttp" or d.startswith("aiohttp.") for d in deps), f"{name} imports aiohttp"


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_engine_and_the_scenario_layer_load_without_aiohttp():
    """What an in-process scenario run needs: the engine, durability, the native shapes, the DSL, both
    targets, the pytest plugin and the CLI — none of them pulls in the server."""
    names = sorted(n for n in GRAPH if (layer(n) in (0, 1) and not n.startswith(HTTP)
                                        and not n.endswith(("live_server", "__main__"))))
    names += [f"{HTTP}.views", f"{HTTP}.answers", f"{HTTP}.spec", "carriersim.conformance.cli"]
    loaded = _fresh("import importlib, json, sys\n"
                    f"for n in {names!r}: importlib.import_module(n)\n"
                    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp')))")
    assert loaded == [], f"importing the engine and the scenario layer loaded {loaded[:5]}"


def test_importtime_of_the_cli_shows_no_aiohttp():
    """The acceptance check as the issue words it: ``python -X importtime -c 'import carriersim.conformance.cli'``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import carriersim.conformance.cli"],
                         capture_output=True, text=True, cwd=ROOT.parent, check=True)
    assert "carriersim.conformance.cli" in out.stderr
    assert "aiohttp" not in out.stderr


def test_the_server_still_loads_aiohttp_when_asked():
    """The lazy ``create_app`` is really there (the checks above would also pass on a package that lost it)."""
    loaded = _fresh("import json, sys\nfrom carriersim.simulator.http import create_app\n"
                    "print(json.dumps('aiohttp' in sys.modules and callable(create_app)))")
    assert loaded is True
