"""Production code never imports the demo area (issue 14 §4): the demo systems, the SendGrid
stub, seeding, fixtures and fault injection are plugged in by the composition root alone.
The command line (``madoguchi demo``, ``seed``), the benches and the tests may use them."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("flows", "tasks", "models", "services", "systems", "mail", "web", "disclosure", "deployments")
DEMO = "demo"
COMPOSITION_ROOT = ROOT / "deployments" / "registry.py"
LOADERS = ("import_module", "__import__")


def imported(source: str) -> Iterator[tuple[int, str]]:
    """Every module the source imports, wherever the import stands (in a function, under
    TYPE_CHECKING), ``importlib.import_module("…")`` included."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in LOADERS and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def demo_imports(source: str) -> list[tuple[int, str]]:
    return sorted((line, name) for line, name in imported(source) if name.split(".")[0] == DEMO)


def test_no_production_module_imports_the_demo_area():
    modules = [path for package in PRODUCTION for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 100 and COMPOSITION_ROOT in modules
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules
        if path != COMPOSITION_ROOT
        for line, name in demo_imports(path.read_text(encoding="utf-8"))
    ]
    assert offending == []


def test_the_composition_root_is_where_the_demo_is_plugged_in():
    assert {name for _, name in demo_imports(COMPOSITION_ROOT.read_text(encoding="utf-8"))} >= {
        "demo.systems",
        "demo.faults",
    }


def test_the_check_finds_an_import_wherever_it_stands():
    source = """
from typing import TYPE_CHECKING
import importlib
import demographics
from models import demo_notes
if TYPE_CHECKING:
    from demo.world import World
def later():
    import demo.stub
    from demo import inbox
    return importlib.import_module("demo.faults")
"""
    assert demo_imports(source) == [(7, "demo.world"), (9, "demo.stub"), (10, "demo"), (11, "demo.faults")]
