"""Which package may import which: the rule between assets/ and orchestration/.

* `orchestration.resources` (the stores and the journal reader) imports nothing
  from `assets`: a resource knows the schema vocabulary (`TableSpec`), never a
  particular table or pipeline.
* `assets` imports from `orchestration` only the package `orchestration.resources`
  (the names in its `__all__`: resource classes and the types their verbs take),
  never one of its modules, and nothing else of `orchestration` (definitions,
  jobs, schedules, settings, the launcher).
* The rest of `orchestration` (definitions, jobs, schedules) wires assets to
  resources, so it imports both.

The import graph is then layered, resources < assets < wiring, with no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import orchestration.resources
from orchestration.settings import PROJECT_ROOT


def imports(package: str) -> Iterator[tuple[str, str, str | None]]:
    """(module file, imported module, imported name or None) for every import."""
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        where = str(path.relative_to(PROJECT_ROOT))
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, alias.name, None
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    yield where, node.module, alias.name


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_resources_when_imports_are_listed_then_none_comes_from_assets() -> None:
    offending = [
        (where, module)
        for where, module, _ in imports("orchestration/resources")
        if is_under(module, "assets")
    ]

    assert offending == []


def test_assets_when_imports_are_listed_then_orchestration_is_only_the_resources_api() -> None:
    public = set(orchestration.resources.__all__)
    offending = [
        (where, module, name)
        for where, module, name in imports("assets")
        if is_under(module, "orchestration")
        and not (module == "orchestration.resources" and name in public)
    ]

    assert offending == []
