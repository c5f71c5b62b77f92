"""Each reports asset's HTML page: headline figures, charts and tables, written to
the report folder as `<asset>/<day>.html` (its PNGs next to it), and what the
asset puts in its Dagster metadata (the page's path and one chart).

Pages are rendered by the project's one renderer, `assets.html_report` (no
network requests), as the execution-quality report is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from assets.execution_quality.report_folder import ReportFolder
from assets.html_report import Section, chart_markdown, charts, figures_table, page, table

TABLE_ROWS = 500  # rows of a table shown on a page (the warehouse holds them all)


@dataclass(frozen=True)
class ReportPage:
    asset: str
    day: str  # partition key
    heading: str
    figures: Mapping[str, float | int]
    images: Mapping[str, bytes]  # chart name -> PNG; the first is the metadata chart
    chart_titles: Mapping[str, str]
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    note: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> str:
        return page(
            f"{self.asset} {self.day}",
            self.heading,
            [
                Section("Headline", figures_table(self.figures, self.labels)),
                Section("Charts", charts(self.images, self.chart_titles)),
                *(Section(title, table(frame, TABLE_ROWS)) for title, frame in self.tables),
            ],
            note=self.note,
        )


def publish(folder: ReportFolder, report: ReportPage) -> dict[str, dg.MetadataValue]:
    """Write the page and its PNGs; the metadata entries that point at them."""
    for name, png in report.images.items():
        folder.write(f"{report.asset}/{report.day}-{name}.png", png)
    path = folder.write(f"{report.asset}/{report.day}.html", report.render().encode("utf-8"))
    metadata: dict[str, dg.MetadataValue] = {"report_path": dg.MetadataValue.path(str(path))}
    if report.images:
        name, png = next(iter(report.images.items()))
        metadata["chart"] = dg.MetadataValue.md(
            chart_markdown(png, report.chart_titles.get(name, name))
        )
    return metadata
