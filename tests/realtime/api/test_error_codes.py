"""Every error code the API can send is in the README's error table.

The codes are collected from the source, not listed by hand: the string literals of
every function that builds a problem (`ApiError`, `problem_response`, `problem_bytes`,
`AltBodyRefused`), the `code` of every exception the API maps to a problem, every
risk `RejectReason`, and the WebSocket close reasons and stream errors. A new code
that is not documented fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from realtime.api.errors import HANDLED
from realtime.risk import RejectReason

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "realtime").rglob("*.py"))
BUILDERS = frozenset({"ApiError", "problem_response", "problem_bytes", "AltBodyRefused"})
CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# A row of the error table: its first cell names one or more codes in backticks.
TABLE_ROW = re.compile(r"^\|\s*(`[A-Z0-9_]+`[^|]*)\|")
BACKTICKED = re.compile(r"`([A-Z0-9_]+)`")


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literals(node: ast.AST) -> set[str]:
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and CODE.match(n.value)
    }


def codes_in_source(path: Path) -> set[str]:
    """Codes of the problems and WebSocket errors `path` can build."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
        if any(_called_name(c) in BUILDERS for c in calls):
            # The code may be chosen before the call (`code = "A" if ... else "B"`).
            found |= _literals(function)
        for call in calls:
            if _called_name(call) == "close":  # websocket.close(code=..., reason="CODE")
                found |= {
                    k.value.value
                    for k in call.keywords
                    if k.arg == "reason"
                    if isinstance(k.value, ast.Constant)
                }
            if _called_name(call) == "send_json":  # {"error": "CODE", "detail": ...}
                found |= _literals(call)
    return found


def api_codes() -> set[str]:
    codes: set[str] = {reason.value for reason in RejectReason}
    for exc_type in HANDLED:
        code = getattr(exc_type, "code", None)
        if isinstance(code, str):
            codes.add(code)
    for path in SOURCES:
        codes |= codes_in_source(path)
    return codes


def readme_codes() -> set[str]:
    text = (ROOT / "README.md").read_text()
    codes: set[str] = set()
    for line in text.splitlines():
        row = TABLE_ROW.match(line)
        if row is not None:
            codes |= set(BACKTICKED.findall(row.group(1)))
    return codes


def test_collector_when_run_then_finds_codes_of_every_kind() -> None:
    codes = api_codes()
    # One of each source: a dependency, a risk reason, an exception's code, the
    # slow-client protocol, a code chosen before the call, a WebSocket close reason.
    assert {
        "ACCOUNT_KEY_REQUIRED",
        "POSITION_LIMIT",
        "ORDER_NOT_FOUND",
        "REQUEST_TIMEOUT",
        "UNKNOWN_FIELD",
        "SLOW_CONSUMER",
    } <= codes


def test_readme_error_table_when_read_then_lists_every_code_the_api_can_send() -> None:
    missing = sorted(api_codes() - readme_codes())
    assert not missing, f"README.md's error table lacks {missing}"
