"""The report of one validation run (Markdown and HTML), the verdict history's table
and chart, and where they are kept: `<data>/validation/`.

    validation/results/<suite>.json     each suite's latest results (what the verdict reads)
    validation/reports/<run>/report.md  one folder per verdict run, never overwritten
    validation/reports/<run>/report.html
    validation/reports/latest.html      a copy of the newest report
    validation/data_docs/index.html     Great Expectations' data docs
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from assets.resources import Column, ColumnType, TableSpec
from assets.validation.catalogue import Suite
from assets.validation.results import CheckResult, Verdict, skipped_summary

VERDICT_HISTORY: Final = TableSpec(
    name="validation_verdicts",
    description="One row per validation verdict: when, which run, the verdict, and counts.",
    columns=(
        Column("ts", ColumnType.TIMESTAMP, "when the verdict was reached (UTC)"),
        Column("run_id", ColumnType.VARCHAR),
        Column("verdict", ColumnType.SYMBOL, "PASS, CONDITIONAL or FAIL"),
        Column("checks", ColumnType.LONG, "checks counted"),
        Column("warn_failed", ColumnType.LONG),
        Column("error_failed", ColumnType.LONG),
        Column("suites", ColumnType.VARCHAR, "the suites counted, comma-separated"),
        Column("report_path", ColumnType.VARCHAR),
    ),
    keys=("run_id",),
)
SCORE: Final = {Verdict.FAIL: 0, Verdict.CONDITIONAL: 1, Verdict.PASS: 2}


@dataclass(frozen=True)
class SuiteRun:
    """One suite's latest results, as stored for the verdict."""

    suite: Suite
    run_id: str
    finished: str  # ISO-8601 UTC
    results: list[CheckResult]


class ValidationFolder:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "validation"

    @property
    def data_docs(self) -> Path:
        return self.root / "data_docs"

    def save_suite(self, run: SuiteRun) -> Path:
        path = self.root / "results" / f"{run.suite}.json"
        document = {
            "suite": str(run.suite),
            "run_id": run.run_id,
            "finished": run.finished,
            "results": [r.to_dict() for r in run.results],
        }
        _write_atomic(path, json.dumps(document, indent=1, default=str).encode())
        return path

    def latest_suites(self) -> list[SuiteRun]:
        runs = []
        for suite in Suite:
            path = self.root / "results" / f"{suite}.json"
            if not path.exists():
                continue
            data = json.loads(path.read_text())
            runs.append(
                SuiteRun(
                    suite,
                    data["run_id"],
                    data["finished"],
                    [CheckResult.from_dict(r) for r in data["results"]],
                )
            )
        return runs

    def write_report(self, run_id: str, when: pd.Timestamp, verdict: Verdict,
                     runs: Sequence[SuiteRun]) -> Path:  # fmt: skip
        folder = self.root / "reports" / f"{when.strftime('%Y%m%dT%H%M%SZ')}_{run_id[:8]}"
        folder.mkdir(parents=True, exist_ok=True)
        markdown = render_markdown(run_id, when, verdict, runs, self.data_docs)
        (folder / "report.md").write_text(markdown)
        page = render_html(run_id, when, verdict, runs, self.data_docs)
        (folder / "report.html").write_text(page)
        _write_atomic(self.root / "reports" / "latest.html", page.encode())
        _write_atomic(self.root / "reports" / "latest.md", markdown.encode())
        return folder / "report.html"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _figure(result: CheckResult) -> str:
    if result.measured is None:
        return ""
    return f"{result.measured:.6g} {result.unit or ''}".strip()


def _threshold(result: CheckResult) -> str:
    return "" if result.threshold is None else f"{result.threshold:g} {result.unit or ''}".strip()


def _rows(runs: Sequence[SuiteRun]) -> list[dict[str, str]]:
    return [
        {
            "suite": str(run.suite),
            "check": r.name,
            "severity": str(r.severity),
            "result": "SKIP" if not r.exercised else "pass" if r.passed else "FAIL",
            "measured": _figure(r),
            "threshold": _threshold(r),
            "detail": r.detail,
            "run": f"{run.run_id[:8]} {run.finished}",
        }
        for run in runs
        for r in run.results
    ]


def render_markdown(run_id: str, when: pd.Timestamp, verdict: Verdict,
                    runs: Sequence[SuiteRun], data_docs: Path) -> str:  # fmt: skip
    lines = [
        f"# Validation report: {verdict}",
        "",
        f"Run `{run_id}` at {when.isoformat()}. PASS: every check passed; CONDITIONAL: only "
        "WARN checks failed; FAIL: an ERROR check failed.",
        "",
        f"Suites counted: {', '.join(str(r.suite) for r in runs) or 'none'}; not run yet: "
        f"{', '.join(str(s) for s in Suite if s not in {r.suite for r in runs}) or 'none'}.",
        f"Data docs: {data_docs / 'index.html'}",
        "",
        *_skips(runs),
        "| suite | check | severity | result | measured | threshold | detail | suite run |",
        "| --- | --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    for row in _rows(runs):
        cells = [row[k].replace("|", "\\|").replace("\n", " ") for k in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SKIPS_NOTE: Final = "Skipped (SKIP): not run against this platform, counted by no verdict"


def _skips(runs: Sequence[SuiteRun]) -> list[str]:
    """The skipped checks above the table, so a verdict with skips never reads as a
    plain pass (`results.not_applicable`)."""
    summary = skipped_summary(r for run in runs for r in run.results)
    if not summary:
        return []
    return [f"{SKIPS_NOTE}:", "", *(f"- {line}" for line in summary.splitlines()), ""]


_COLOURS: Final = {Verdict.PASS: "#2e7d32", Verdict.CONDITIONAL: "#ef6c00", Verdict.FAIL: "#c62828"}


def render_html(run_id: str, when: pd.Timestamp, verdict: Verdict,
                runs: Sequence[SuiteRun], data_docs: Path) -> str:  # fmt: skip
    rows = _rows(runs)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {"check": ""}))
    body = "".join(
        "<tr class='{}'>{}</tr>".format(
            {"FAIL": "fail", "SKIP": "skip"}.get(row["result"], "pass"),
            "".join(f"<td>{html.escape(v)}</td>" for v in row.values()),
        )
        for row in rows
    )
    docs = (data_docs / "index.html").as_uri() if data_docs.is_absolute() else str(data_docs)
    skipped = [line[2:] for line in _skips(runs) if line.startswith("- ")]
    skips = (
        f"<p>{html.escape(SKIPS_NOTE)}:</p><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in skipped)
        + "</ul>"
        if skipped
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Validation {verdict}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}tr.fail{{background:#fdecea}}
tr.skip{{background:#fff8e1}}
.verdict{{color:#fff;background:{_COLOURS[verdict]};padding:4px 12px;border-radius:4px}}</style>
</head><body><h1>Validation: <span class="verdict">{verdict}</span></h1>
<p>Run <code>{html.escape(run_id)}</code> at {html.escape(when.isoformat())}.
PASS: every check passed; CONDITIONAL: only WARN checks failed; FAIL: an ERROR check failed.</p>
<p><a href="{html.escape(docs)}">Great Expectations data docs</a></p>{skips}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>
"""


def history_chart(history: pd.DataFrame) -> str:
    """The verdicts over time as a PNG (base64), for the asset's metadata."""
    # Imported here, not with the module: matplotlib is about a second of every Dagster
    # process's start (the code server and each run load the code location).
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 2.4), dpi=100)
    ax = fig.add_subplot()
    if history.empty:
        ax.text(0.5, 0.5, "no verdicts yet", ha="center", va="center")
    else:
        scores = history["verdict"].map({str(k): v for k, v in SCORE.items()})
        ax.step(history["ts"], scores, where="post", color="#555")
        ax.scatter(history["ts"], scores, c=[_COLOURS[Verdict(v)] for v in history["verdict"]])
        ax.set_yticks([0, 1, 2], ["FAIL", "CONDITIONAL", "PASS"])
        ax.set_ylim(-0.5, 2.5)
    ax.set_title("validation verdicts")
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def history_row(
    run_id: str,
    when: pd.Timestamp,
    verdict: Verdict,
    results: Sequence[CheckResult],
    suites: Sequence[str],
    report: Path,
) -> pd.DataFrame:
    failed = [r for r in results if not r.passed]
    row: dict[str, Any] = {
        "ts": [when.tz_convert("UTC").tz_localize(None) if when.tzinfo else when],
        "run_id": [run_id],
        "verdict": [str(verdict)],
        "checks": [len(results)],
        "warn_failed": [sum(r.severity == "WARN" for r in failed)],
        "error_failed": [sum(r.severity == "ERROR" for r in failed)],
        "suites": [",".join(suites)],
        "report_path": [str(report)],
    }
    return pd.DataFrame(row)
