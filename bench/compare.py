"""Interleaved before/after runs of one benchmark: the same-session evidence BENCHMARKS asks for.

    .venv/bin/python -m bench.compare --before main --runs 6 --metric duckdb_rows_per_s \\
        -- .venv/bin/python -m bench.warehouse --rows 1000000

`--before` is a git ref: its tree is exported (`git archive`) to a temporary folder and
the benchmark runs there, with PYTHONPATH set to that folder (and the virtualenv of
whoever runs this); "after" is the working tree of `--root` (default: this checkout),
uncommitted changes included. The runs alternate, before then after, so that a machine
whose speed drifts (these vary up to 2x from day to day and by +-20 % within minutes)
drifts under both alike, and the two runs of a pair are back to back.

Each run's last line is the benchmark's JSON object; `--metric` names the figures to
compare (repeat it for several). Printed: each pair, then per metric both medians, the
ratio of the medians (after / before) and in how many pairs after was above before;
the last line is one JSON object with all of it.

As with any benchmark here, run nothing else heavy beside it: the machine has two cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._stats import emit
from realtime.layout import PROJECT_ROOT


class CompareError(RuntimeError):
    """A run failed or did not report a figure asked for."""


def export(ref: str, root: Path, dest: Path) -> None:
    """The tree of git ref `ref` of the repository at `root`, written into `dest`."""
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", ref], check=False, capture_output=True
    )
    if archive.returncode:
        raise CompareError(f"git archive {ref}: {archive.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def run_once(command: Sequence[str], tree: Path, timeout_s: float) -> dict[str, Any]:
    """Run the benchmark in `tree` and return its last line, parsed."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        done = subprocess.run(
            list(command),
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CompareError(f"{' '.join(command)} in {tree}: no result in {timeout_s:g} s") from exc
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode or not lines:
        tail = "\n".join(done.stderr.splitlines()[-5:])
        raise CompareError(
            f"{' '.join(command)} in {tree} exited {done.returncode} "
            f"({'no output' if not lines else 'output above'}):\n{tail}"
        )
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise CompareError(f"the last line is not JSON: {lines[-1][:200]!r}") from exc
    if not isinstance(result, dict):
        raise CompareError(f"the last line is not a JSON object: {lines[-1][:200]!r}")
    return result


def figure(result: dict[str, Any], metric: str) -> float:
    value = result.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CompareError(f"the run reported no number {metric!r}; it has {sorted(result)}")
    return float(value)


def summarise(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]], metrics: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per metric: the values, the medians, their ratio and the pairs after was above."""
    if len(before) != len(after) or not before:
        raise ValueError("summarise needs as many after runs as before runs, at least one")
    out: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        b = [figure(r, metric) for r in before]
        a = [figure(r, metric) for r in after]
        median_b, median_a = statistics.median(b), statistics.median(a)
        out[metric] = {
            "before": b,
            "after": a,
            "before_median": median_b,
            "after_median": median_a,
            "ratio": round(median_a / median_b, 4) if median_b else None,
            "after_above_before": sum(x > y for x, y in zip(a, b, strict=True)),
            "pairs": len(b),
        }
    return out


def compare(
    command: Sequence[str],
    *,
    before_ref: str,
    runs: int,
    metrics: Sequence[str],
    root: Path = PROJECT_ROOT,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    # Both trees run from their own folder: a relative interpreter path (`.venv/bin/python`)
    # is made absolute here, without resolving its symlink (that would leave the venv).
    if os.sep in command[0] and Path(command[0]).exists():
        command = [os.path.abspath(command[0]), *command[1:]]
    with tempfile.TemporaryDirectory(prefix="bench-before-") as folder:
        before_tree = Path(folder)
        export(before_ref, root, before_tree)
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for i in range(runs):
            before.append(run_once(command, before_tree, timeout_s))
            after.append(run_once(command, root, timeout_s))
            pair = ", ".join(
                f"{m} {figure(before[-1], m):g} -> {figure(after[-1], m):g}" for m in metrics
            )
            print(f"pair {i + 1}: {pair}", flush=True)
    summary = summarise(before, after, metrics)
    for metric, s in summary.items():
        print(
            f"{metric}: before median {s['before_median']:g} "
            f"({min(s['before']):g}-{max(s['before']):g}), after median {s['after_median']:g} "
            f"({min(s['after']):g}-{max(s['after']):g}), ratio {s['ratio']}, "
            f"after above before in {s['after_above_before']} of {s['pairs']} pairs"
        )
    return {
        "benchmark": "compare",
        "before": before_ref,
        "command": list(command),
        "runs": runs,
        "metrics": summary,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git ref of the 'before' tree")
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (default 3)")
    parser.add_argument(
        "--metric", action="append", required=True, help="a figure of the JSON line (repeatable)"
    )
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the 'after' tree")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("command", nargs="+", help="the benchmark, after --")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        result = compare(
            args.command,
            before_ref=args.before,
            runs=args.runs,
            metrics=args.metric,
            root=args.root.resolve(),
            timeout_s=args.timeout,
        )
    except CompareError as exc:
        print(f"bench.compare: {exc}", file=sys.stderr)
        return 2
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
