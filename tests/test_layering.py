"""Which package may import which: resources < assets < orchestration.

* `assets.resources` (the stores and the journal reader) imports nothing from the
  rest of `assets`: a resource knows the schema vocabulary (`TableSpec`), never a
  particular table or pipeline.
* The rest of `assets` imports from `assets.resources` only the package (the names in
  its `__all__`: resource classes and the types their verbs take), never one of its
  modules.
* `assets` imports nothing of `orchestration`. `orchestration` (definitions, jobs,
  schedules, the choice of resources by deployment) wires assets to resources, so it
  imports both.

The import graph is then layered, with no cycle.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator

import assets.resources
from orchestration.settings import PROJECT_ROOT


def imports(package: str) -> Iterator[tuple[str, str, str | None]]:
    """(module file, imported module, imported name or None) for every import."""
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        where = str(path.relative_to(PROJECT_ROOT))
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, alias.name, None
            elif isinstance(node, ast.ImportFrom):
                module = imported_module(where, node)
                for alias in node.names:
                    yield where, module, alias.name


def imported_module(where: str, node: ast.ImportFrom) -> str:
    """The absolute name of the module a `from ... import` in file `where` reads, a
    relative one (`from ..x import y`) resolved against the file's package as Python
    resolves it (for a module and its package's __init__.py alike: the folder)."""
    if not node.level:
        return node.module or ""
    package = ".".join(where.split("/")[:-1])
    return importlib.util.resolve_name("." * node.level + (node.module or ""), package)


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_resources_when_imports_are_listed_then_none_comes_from_other_assets() -> None:
    offending = [
        (where, module)
        for where, module, _ in imports("assets/resources")
        if is_under(module, "assets") and not is_under(module, "assets.resources")
    ]

    assert offending == []


def test_assets_when_imports_are_listed_then_none_comes_from_orchestration() -> None:
    offending = [
        (where, module)
        for where, module, _ in imports("assets")
        if is_under(module, "orchestration")
    ]

    assert offending == []


def test_assets_when_imports_are_listed_then_resources_are_used_through_their_api() -> None:
    public = set(assets.resources.__all__)
    offending = [
        (where, module, name)
        for where, module, name in imports("assets")
        if not where.startswith("assets/resources/")
        and is_under(module, "assets.resources")
        and not (module == "assets.resources" and name in public)
    ]

    assert offending == []


def test_imported_module_when_relative_then_resolved_against_the_files_package() -> None:
    def module(where: str, source: str) -> str:
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.ImportFrom)
        return imported_module(where, node)

    here = "assets/warehouse/assets.py"
    assert module(here, "from .tables import X") == "assets.warehouse.tables"
    assert module(here, "from ..resources import X") == "assets.resources"
    assert module(here, "from .. import resources") == "assets"
    assert module("assets/resources/__init__.py", "from .journal import X") == (
        "assets.resources.journal"
    )
    assert module("assets/checks.py", "from orchestration.jobs import X") == "orchestration.jobs"
