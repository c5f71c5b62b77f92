"""bench.compare: a committed tree against the working tree, runs interleaved, on a real
git repository whose "benchmark" reports a figure read from a file of its own tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import compare

BENCHMARK = """
import json, pathlib
print("some human-readable line")
print(json.dumps({"rows_per_s": float(pathlib.Path("value.txt").read_text()), "name": "x"}))
"""


def repository(tmp_path: Path, committed: str, working: str) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "figure.py").write_text(BENCHMARK)
    (root / "value.txt").write_text(committed)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "before")
    (root / "value.txt").write_text(working)  # uncommitted: the "after" tree
    return root


def test_compare_when_after_is_faster_then_medians_ratio_and_pairs_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, committed="100", working="150")

    code = compare.main(
        ["--before", "HEAD", "--runs", "2", "--metric", "rows_per_s", "--root", str(root),
         "--", sys.executable, "figure.py"]
    )  # fmt: skip

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "pair 1: rows_per_s 100 -> 150"
    result = json.loads(lines[-1])
    figures = result["metrics"]["rows_per_s"]
    assert figures["before"] == [100.0, 100.0] and figures["after"] == [150.0, 150.0]
    assert figures["ratio"] == 1.5
    assert figures["after_above_before"] == 2 and figures["pairs"] == 2


@pytest.mark.parametrize(
    ("ref", "metric", "message"),
    [
        ("HEAD", "p50_us", "no number 'p50_us'; it has ['name', 'rows_per_s']"),
        ("no-such-ref", "rows_per_s", "git archive no-such-ref"),
    ],
    ids=["metric-not-reported", "no-such-ref"],
)
def test_compare_when_it_cannot_compare_then_exit_2_saying_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str, metric: str, message: str
) -> None:
    root = repository(tmp_path, committed="1", working="1")

    code = compare.main(
        ["--before", ref, "--metric", metric, "--root", str(root),
         "--", sys.executable, "figure.py"]
    )  # fmt: skip

    assert code == 2
    assert message in capsys.readouterr().err


def test_run_once_when_the_benchmark_fails_then_its_stderr_is_in_the_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(compare.CompareError, match="exited 3") as info:
        compare.run_once(
            [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"],
            tmp_path,
            timeout_s=60,
        )
    assert "boom" in str(info.value)


def test_summarise_when_runs_differ_in_number_then_refused() -> None:
    with pytest.raises(ValueError, match="as many"):
        compare.summarise([{"x": 1}], [], ["x"])
