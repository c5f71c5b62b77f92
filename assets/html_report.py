"""The one renderer of report pages (execution quality, P&L, tax lots, exposure,
compliance): a self-contained HTML page and the chart for the Dagster UI.

A page makes no network request: no script, no external style sheet, font or
image; charts are PNGs (rendered locally by `assets.png_charts`) embedded as
`data:` URIs. Numbers are formatted one way everywhere (`format_figure`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Section:
    """A titled part of a page; `body` is HTML built with this module's helpers."""

    title: str
    body: str


def page(title: str, heading: str, sections: Iterable[Section], note: str = "") -> str:
    parts = "".join(f"<h2>{escape(s.title)}</h2>\n{s.body}\n" for s in sections)
    intro = f'<p class="note">{escape(note)}</p>\n' if note else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{escape(heading)}</h1>
{intro}{parts}</body></html>
"""


def figures_table(figures: Mapping[str, float | int], labels: Mapping[str, str]) -> str:
    """The headline: one row per figure, labelled (the key where no label is given)."""
    rows = "".join(
        f"<tr><th>{escape(labels.get(key, key))}</th>"
        f"<td class='num'>{escape(format_figure(value))}</td></tr>"
        for key, value in figures.items()
    )
    return f'<table class="headline">{rows}</table>'


def charts(images: Mapping[str, bytes], titles: Mapping[str, str]) -> str:
    """The charts named in `titles` (in its order) that `images` holds, as a grid."""
    figures = "".join(
        f"<figure><img alt='{escape(title)}' src='{data_uri(images[name])}'>"
        f"<figcaption>{escape(title)}</figcaption></figure>"
        for name, title in titles.items()
        if name in images
    )
    return f'<div class="charts">{figures}</div>'


def table(frame: pd.DataFrame, limit: int | None = None) -> str:
    """A frame as a table ("none" when empty); `limit` rows at most, saying so."""
    if frame.empty:
        return "<p class='note'>none</p>"
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in shown.itertuples(index=False)
    )
    more = (
        f"<p class='note'>first {len(shown):,} of {len(frame):,} rows</p>"
        if len(shown) < len(frame)
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def paragraph(text: str) -> str:
    return f"<p class='note'>{escape(text)}</p>"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def chart_markdown(png: bytes, alt: str) -> str:
    """A chart for Dagster's markdown metadata (the UI renders data: images)."""
    return f"![{alt}]({data_uri(png)})"


def format_figure(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        number = float(value)
        if number != number:  # NaN
            return "-"
        return f"{number:,.4f}" if abs(number) < 100 else f"{number:,.2f}"
    return "" if value is None or value is pd.NaT else str(value)


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(value: object) -> str:
    numeric = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    css = " class='num'" if numeric else ""
    return f"<td{css}>{escape(format_figure(value))}</td>"


_CSS: Final = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.headline th { background: #f5f5f5; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1em; }
figure { margin: 0; } figure img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f8f8f8; padding: 1em; font-size: 0.8em; overflow-x: auto; }
.note { color: #555; font-size: 0.9em; }
"""
